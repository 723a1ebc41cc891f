// `smsconsent reviews list|confirm|dismiss`: possible opt-outs waiting for a person. Confirming
// records the contact's own opt-out from the flagged message; dismissing changes no status.
#include "cli/review_commands.h"

#include <iomanip>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/config.h"
#include "app/json_views.h"
#include "app/reviews.h"
#include "cli/output.h"
#include "cli/session.h"

namespace smsconsent::cli {
namespace {

using nlohmann::json;

struct ReviewArgs {
  int64_t account = 0;
  int64_t id = 0;
  std::string state = "open";
  int64_t after = 0;
  int limit = 50;
  int64_t highlight_after_s = kDefaultReviewHighlightAfterS;
  std::string note;
  std::string actor = "cli";
};

// Runs `fn` with a ReviewService over the --db store.
template <typename Fn>
int WithReviews(const std::string& db, int64_t highlight_after_s, Fn fn) {
  auto s = OpenSession(db);
  if (!s.ok()) return Output::Fail(s.status());
  ReviewService reviews(*(*s)->service, *(*s)->store, (*s)->clock, highlight_after_s * 1000);
  return fn(reviews);
}

std::string Age(int64_t ms) {
  const int64_t s = ms / 1000;
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 48 * 3600) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

void PrintEntry(std::ostream& os, const ReviewEntry& e) {
  const ReviewItem& r = e.item;
  os << std::setw(4) << r.id << "  " << ReviewStateName(r.state) << (e.overdue ? " OVERDUE" : "")
     << "  " << Age(e.age_ms) << "  " << r.from << " -> " << r.to << "\n      \"" << r.body
     << "\"\n      " << r.rule << ": " << r.explanation << "\n";
  if (r.state != ReviewState::kOpen) {
    os << "      " << ReviewStateName(r.state) << " by " << r.reviewed_by
       << (r.note.empty() ? "" : ": " + r.note) << "\n";
  }
}

}  // namespace

void AddReviewCommands(CLI::App& cli, const std::string& db, const bool& json_out,
                       std::function<int()>& run) {
  auto args = std::make_shared<ReviewArgs>();
  auto* reviews = cli.add_subcommand("reviews", "possible opt-outs waiting for a person");
  reviews->require_subcommand(1);

  auto* list = reviews->add_subcommand("list", "list review items, oldest first");
  list->add_option("--account", args->account, "account id")->required();
  list->add_option("--state", args->state, "open, confirmed, dismissed or all")
      ->capture_default_str();
  list->add_option("--after", args->after, "cursor: items with a greater id");
  list->add_option("--limit", args->limit, "page size")
      ->check(CLI::Range(1, ReviewService::kMaxPage))
      ->capture_default_str();
  list->add_option("--highlight-after-s", args->highlight_after_s,
                   "open items older than this many seconds are marked overdue")
      ->check(CLI::Range(int64_t{1}, int64_t{30} * 24 * 3600))
      ->capture_default_str();
  list->callback([&run, &db, &json_out, args] {
    run = [&db, &json_out, args]() -> int {
      ReviewQuery q;
      q.after_id = args->after;
      q.limit = args->limit;
      if (args->state != "all") {
        auto state = ParseReviewState(args->state);
        if (!state.ok()) return Output::Fail(state.status());
        q.state = *state;
      }
      return WithReviews(db, args->highlight_after_s, [&](ReviewService& service) {
        auto entries = service.List(args->account, q);
        if (!entries.ok()) return Output::Fail(entries.status());
        json doc = json::array();
        for (const ReviewEntry& e : *entries) doc.push_back(ToJson(e));
        return Output{json_out}.Print(doc, [&](std::ostream& os) {
          if (entries->empty()) os << "no review items\n";
          for (const ReviewEntry& e : *entries) PrintEntry(os, e);
        });
      });
    };
  });

  for (const bool confirm : {true, false}) {
    auto* cmd = reviews->add_subcommand(
        confirm ? "confirm" : "dismiss",
        confirm ? "confirm a possible opt-out: record it as the contact's own opt-out"
                : "dismiss a possible opt-out: no status changes");
    cmd->add_option("id", args->id, "the review item's id")->required();
    cmd->add_option("--account", args->account, "account id")->required();
    cmd->add_option("--note", args->note, "why (kept with the item)");
    cmd->add_option("--actor", args->actor, "who decides, recorded with the item")
        ->capture_default_str();
    cmd->callback([&run, &db, &json_out, args, confirm] {
      run = [&db, &json_out, args, confirm]() -> int {
        return WithReviews(db, kDefaultReviewHighlightAfterS, [&](ReviewService& service) {
          ReviewDecision d;
          d.account_id = args->account;
          d.id = args->id;
          d.actor = args->actor;
          d.note = args->note;
          auto e = confirm ? service.Confirm(d) : service.Dismiss(d);
          if (!e.ok()) return Output::Fail(e.status());
          return Output{json_out}.Print(ToJson(*e), [&](std::ostream& os) {
            os << "review item " << e->item.id << " " << ReviewStateName(e->item.state)
               << (confirm ? ": " + e->item.from + " opted out (own request)" : "") << "\n";
          });
        });
      };
    });
  }
}

}  // namespace smsconsent::cli
