// KeySerializer: tasks of one key run one at a time and in order, other keys are not held up,
// and a long chain of tasks that end at once runs as a loop.
#include "app/key_serializer.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace smsconsent {
namespace {

TEST(KeySerializer, TasksOfOneKeyWaitForDoneAndRunInOrder) {
  KeySerializer s;
  std::vector<std::string> ran;
  s.Run("a", [&] { ran.push_back("a1"); });  // runs now, stays running until Done("a")
  s.Run("a", [&] { ran.push_back("a2"); });
  s.Run("a", [&] { ran.push_back("a3"); });
  s.Run("b", [&] { ran.push_back("b1"); });  // another key: not held up by "a"
  EXPECT_EQ(ran, (std::vector<std::string>{"a1", "b1"}));
  EXPECT_EQ(s.busy_keys(), 2u);

  s.Done("a");
  EXPECT_EQ(ran, (std::vector<std::string>{"a1", "b1", "a2"}));
  s.Done("a");
  s.Done("b");
  EXPECT_EQ(ran, (std::vector<std::string>{"a1", "b1", "a2", "a3"}));
  EXPECT_EQ(s.busy_keys(), 1u);  // a3 still running
  s.Done("a");
  EXPECT_EQ(s.busy_keys(), 0u);

  s.Run("a", [&] { ran.push_back("a4"); });  // a free key runs at once again
  EXPECT_EQ(ran.back(), "a4");
  s.Done("a");
  s.Done("a");  // one Done too many releases nothing and breaks nothing
  EXPECT_EQ(s.busy_keys(), 0u);
}

// Tasks that end inside themselves (a message refused before its commit) start the next one
// from Done; 200,000 of them queued behind one key must not nest 200,000 calls deep.
TEST(KeySerializer, AChainOfTasksEndingAtOnceRunsAsALoop) {
  KeySerializer s;
  constexpr int kTasks = 200'000;
  int ran = 0;
  int max_depth = 0;
  int depth = 0;
  s.Run("k", [] {});  // holds the key while the others queue
  for (int i = 0; i < kTasks; ++i) {
    s.Run("k", [&] {
      ++ran;
      max_depth = std::max(max_depth, ++depth);
      s.Done("k");
      --depth;
    });
  }
  EXPECT_EQ(ran, 0);
  s.Done("k");
  EXPECT_EQ(ran, kTasks);
  EXPECT_EQ(max_depth, 1);
  EXPECT_EQ(s.busy_keys(), 0u);
}

}  // namespace
}  // namespace smsconsent
