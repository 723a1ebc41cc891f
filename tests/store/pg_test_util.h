// What the tests need to run against PostgreSQL: the test cluster's URL (scripts/test.sh starts
// one with scripts/pg-test-cluster.sh and exports SMSCONSENT_TEST_POSTGRES_URL), a schema of
// their own in it, and a side connection for what a test does behind the store's back.
#pragma once

#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <stdexcept>
#include <string>

namespace smsconsent::testing_pg {

// The cluster's URL, or "" when the tests have none.
inline std::string Url() {
  const char* url = getenv("SMSCONSENT_TEST_POSTGRES_URL");
  return url != nullptr ? std::string(url) : std::string();
}

// Why the PostgreSQL tests cannot run ("" when they can). Outside CI they are skipped with
// this message; in CI (CI=true) they fail with it, so CI never passes without them.
inline std::string Unavailable() {
  if (!Url().empty()) return "";
  return "SMSCONSENT_TEST_POSTGRES_URL is not set: start a cluster with "
         "scripts/pg-test-cluster.sh (scripts/test.sh does) to run the PostgreSQL tests";
}
inline bool InCi() {
  const char* ci = getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// A schema name no other test (process) uses: pid, a counter and a random part.
inline std::string NewSchemaName() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return "t_" + std::to_string(getpid()) + "_" + std::to_string(++counter) + "_" +
         std::to_string(rd() % 1000000);
}

// Runs one SQL text on a connection of its own; throws on failure. Returns the first value
// of the result ("" when there is none).
inline std::string Exec(const std::string& sql, const std::string& url = Url()) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("connecting to the test cluster: " + msg);
  }
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  std::string out;
  if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0) out = PQgetvalue(r, 0, 0);
  std::string err = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    throw std::runtime_error("test SQL failed: " + sql + ": " + err);
  }
  return out;
}

// The URL a store of `schema` opens: its own schema, and its schema as application_name so a
// test can find (and terminate) exactly its backends.
inline std::string StoreUrl(const std::string& schema, int pool = 4) {
  const std::string url = Url();
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "schema=" + schema +
         "&application_name=" + schema + "&pool=" + std::to_string(pool);
}

// Terminates every server backend of the stores opened on `schema`; returns how many.
inline int TerminateBackends(const std::string& schema) {
  return std::stoi(
      Exec("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
           "application_name = '" +
           schema + "'"));
}

inline void DropSchema(const std::string& schema) {
  Exec("SET client_min_messages = warning; DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
}

}  // namespace smsconsent::testing_pg
