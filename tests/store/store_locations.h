// Where a store test keeps its data: a SQLite file in a fresh directory, or a fresh schema in
// the PostgreSQL test cluster (pg_test_util.h). Shared by the conformance suite and the
// transfer tests, which take these as parameters; and Must() for their setup steps.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>

#include "pg_test_util.h"
#include "store/store.h"

namespace smsconsent {

// Setup steps that are not what a test checks: a failure throws, and GoogleTest reports the
// exception as the test's failure.
template <typename T>
T Must(Result<T> r, const char* what = "setup") {
  if (!r.ok()) throw std::runtime_error(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}
inline void Must(const Status& s, const char* what = "setup") {
  if (!s.ok()) throw std::runtime_error(std::string(what) + ": " + s.ToString());
}

// Where one test's data lives. Open() may be called again after the previous store was
// destroyed and must reach the same data (that is how persistence is tested); it may also be
// called while another store on the location is open, as several processes sharing one
// database would. Destroying the location removes the data.
class StoreLocation {
 public:
  virtual ~StoreLocation() = default;
  virtual Result<std::unique_ptr<ConsentStore>> Open() = 0;
};

struct StoreFactory {
  std::string name;
  // A fresh, empty location; called once per test.
  std::function<std::unique_ptr<StoreLocation>()> make_location;
  // Why the backend cannot be tested here ("" when it can): the test is skipped with this
  // message, or fails with it in CI (CI=true), where every backend must run.
  std::function<std::string()> unavailable = [] { return std::string(); };
};

// Keeps CTest's test names readable ("…/Sqlite" rather than a byte dump).
inline void PrintTo(const StoreFactory& f, std::ostream* os) { *os << f.name; }

// A database file in a fresh temporary directory, opened through OpenStore("sqlite:…").
class SqliteLocation : public StoreLocation {
 public:
  SqliteLocation() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "smsconsent-store-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
  }
  ~SqliteLocation() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Result<std::unique_ptr<ConsentStore>> Open() override {
    return OpenStore("sqlite:" + (dir_ / "smsconsent.db").string());
  }

 private:
  std::filesystem::path dir_;
};

inline StoreFactory SqliteFactory() {
  return {"Sqlite", [] { return std::make_unique<SqliteLocation>(); }};
}

// A schema of its own in the test cluster's database (SMSCONSENT_TEST_POSTGRES_URL), opened
// through OpenStore("postgresql://…?schema=…"); dropped with everything in it afterwards. A
// schema is much cheaper than a database per test (CREATE DATABASE copies a template and
// checkpoints).
class PgLocation : public StoreLocation {
 public:
  PgLocation() : schema_(testing_pg::NewSchemaName()) {}
  ~PgLocation() override {
    try {
      testing_pg::DropSchema(schema_);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "dropping test schema " << schema_ << ": " << e.what();
    }
  }
  Result<std::unique_ptr<ConsentStore>> Open() override {
    return OpenStore(testing_pg::StoreUrl(schema_));
  }

 private:
  std::string schema_;
};

inline StoreFactory PostgresFactory() {
  return {"Postgres", [] { return std::make_unique<PgLocation>(); }, testing_pg::Unavailable};
}

}  // namespace smsconsent
