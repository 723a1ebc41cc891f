// What a CLI command works on: the store named by --db, the service over it and the bulk
// service, with the system clock. For commands kept outside main.cc (export, proof, bulk,
// import, job).
#pragma once

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

#include "app/bulk.h"
#include "app/consent_service.h"
#include "app/system_clock.h"
#include "store/store.h"

namespace smsconsent::cli {

struct Session {
  SystemClock clock;
  std::unique_ptr<ConsentStore> store;
  std::unique_ptr<ConsentService> service;
  std::unique_ptr<BulkService> bulk;
};

// `chunk_rows`: rows per transaction of the jobs this session runs (0: the default).
inline Result<std::unique_ptr<Session>> OpenSession(const std::string& db, int chunk_rows = 0) {
  auto s = std::make_unique<Session>();
  SMSC_ASSIGN_OR_RETURN(s->store, OpenStore(db));
  s->service = std::make_unique<ConsentService>(*s->store, s->clock);
  BulkService::Options options;
  if (chunk_rows > 0) options.chunk_rows = chunk_rows;
  // For tests of resumption: a short lease lets a re-run take over a killed run's job soon.
  if (const char* lease = std::getenv("SMSCONSENT_JOB_LEASE_MS"); lease && *lease) {
    options.lease_ms = std::max<int64_t>(1, std::atoll(lease));
  }
  s->bulk = std::make_unique<BulkService>(*s->service, *s->store, s->clock, options);
  return s;
}

}  // namespace smsconsent::cli
