// Status rows as versions that still moved since and source on a no-change event wrote them,
// for the stores' tests of the migration that sets them to the pair's last change (SQLite 9,
// PostgreSQL 3; docs/ledger.md, "Status replay").
#pragma once

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "status_shorthands.h"
#include "store/store.h"

namespace smsconsent::legacy_rows {

struct Case {
  int64_t account = 0;
  int64_t number = 0;
  int64_t started = 0;    // START, then a staff opt-in (no change)
  int64_t stopped = 0;    // STOP, then STOP again
  int64_t confirmed = 0;  // a user's opt-out, then the contact's STOP (now their own)
  int64_t tampered = 0;   // a staff opt-in twice, and a row that disagrees with the ledger
  int64_t never = 0;      // a user's not_specified on a contact never asked
};

inline EventDraft Draft(const Contact& c, int64_t number, SubscriptionStatus from,
                        SubscriptionStatus to, Source source, int64_t at_ms) {
  EventDraft d;
  d.contact_id = c.id;
  d.phone = c.phone;
  d.number_id = number;
  d.sender = "+4520123456";
  d.from = from;
  d.to = to;
  d.source = source;
  d.actor = source == Source::kKeyword ? "contact" : "user:alice";
  d.at_ms = at_ms;
  d.evidence = "{}";
  return d;
}

// Commits the ledger of the case's five contacts.
inline Case WriteLedger(ConsentStore& store) {
  auto must = [](auto r) {
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    return std::move(r).value();
  };
  Case k;
  Account a;
  a.name = "legacy";
  a.marketing_sms_access = true;
  k.account = must(store.CreateAccount(a, "")).id;
  SenderNumber n;
  n.account_id = k.account;
  n.number = "+4520123456";
  n.country = "DK";
  k.number = must(store.AddNumber(n)).id;
  auto contact = [&](const std::string& phone) {
    Contact c;
    c.account_id = k.account;
    c.phone = phone;
    return must(store.AddContact(c));
  };
  const Contact started = contact("+4511111111"), stopped = contact("+4522222222"),
                confirmed = contact("+4533333333"), tampered = contact("+4544444444"),
                never = contact("+4555555555");
  k.started = started.id;
  k.stopped = stopped.id;
  k.confirmed = confirmed.id;
  k.tampered = tampered.id;
  k.never = never.id;
  const std::vector<EventDraft> events = {
      Draft(started, k.number, kNone, kIn, Source::kKeyword, 100),
      Draft(started, k.number, kIn, kIn, Source::kManual, 200),
      Draft(stopped, k.number, kNone, kOut, Source::kKeyword, 300),
      Draft(stopped, k.number, kOut, kOut, Source::kKeyword, 400),
      Draft(confirmed, k.number, kNone, kOut, Source::kManual, 500),
      Draft(confirmed, k.number, kOut, kOut, Source::kKeyword, 600),
      Draft(tampered, k.number, kNone, kIn, Source::kManual, 700),
      Draft(tampered, k.number, kIn, kIn, Source::kManual, 800),
      Draft(never, k.number, kNone, kNone, Source::kManual, 900),
  };
  for (const EventDraft& e : events) {
    ChangeSet changes;
    changes.events = {e};
    must(store.Commit(k.account, changes));
  }
  return k;
}

// SQL (table names unqualified) that makes the status rows what the old rule wrote: the
// source and time of each pair's last event. The tampered row also says opted_out.
inline std::string OldRuleRowsSql(const Case& k) {
  auto row = [&](int64_t contact, const char* source, int64_t at, const char* status = nullptr) {
    std::string sql = "UPDATE statuses SET source = '" + std::string(source) +
                      "', updated_at_ms = " + std::to_string(at);
    if (status) sql += ", status = '" + std::string(status) + "'";
    return sql + " WHERE account_id = " + std::to_string(k.account) +
           " AND contact_id = " + std::to_string(contact) + ";\n";
  };
  return row(k.started, "manual", 200) + row(k.stopped, "keyword", 400) +
         row(k.confirmed, "keyword", 600) + row(k.tampered, "manual", 800, "opted_out") +
         row(k.never, "manual", 900);
}

// After the migration: each row has the source and time of its pair's last change, and the
// row that disagreed with the ledger for another reason is as it was.
inline void ExpectLastChanges(ConsentStore& store, const Case& k) {
  auto state = [&](int64_t contact) {
    auto rows = store.GetStatuses(k.account, contact);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok() || rows->size() != 1) {
      ADD_FAILURE() << "contact " << contact << " has no single status row";
      return ConsentState{};
    }
    return rows->front().state;
  };
  ConsentState s = state(k.started);
  EXPECT_EQ(s.status, kIn);
  EXPECT_EQ(s.source, Source::kKeyword);
  EXPECT_EQ(s.updated_at_ms, 100);
  s = state(k.stopped);
  EXPECT_EQ(s.source, Source::kKeyword);
  EXPECT_EQ(s.updated_at_ms, 300);
  EXPECT_TRUE(s.self_opted_out);
  s = state(k.confirmed);
  EXPECT_EQ(s.source, Source::kManual);
  EXPECT_EQ(s.updated_at_ms, 500);
  EXPECT_TRUE(s.self_opted_out);
  s = state(k.tampered);
  EXPECT_EQ(s.status, kOut);
  EXPECT_EQ(s.source, Source::kManual);
  EXPECT_EQ(s.updated_at_ms, 800);
  s = state(k.never);
  EXPECT_EQ(s.status, kNone);
  EXPECT_EQ(s.source, Source::kSystem);
  EXPECT_EQ(s.updated_at_ms, 0);
}

}  // namespace smsconsent::legacy_rows
