// JSON shapes of the domain objects, shared by the CLI's --json output and the HTTP API, so
// that one object always looks the same wherever it is printed.
#pragma once

#include <nlohmann/json.hpp>

#include "app/consent_service.h"

namespace smsconsent {

nlohmann::json ToJson(const Account& a);
// {"id", "account", "email", "name", "role", "created_at", "updated_at"}; never the hash.
nlohmann::json ToJson(const User& u);
nlohmann::json ToJson(const SenderNumber& n);
nlohmann::json ToJson(const Contact& c);
nlohmann::json ToJson(const ConsentEvent& e);  // evidence parsed back into an object
nlohmann::json ToJson(const OutboxItem& o);
nlohmann::json ToJson(const SegmentInfo& s);
nlohmann::json ToJson(const NumberStatus& s);
nlohmann::json ToJson(const QueuedReply& r);
// An inbound message's decision as stored, with its message_id and whether it was a duplicate.
nlohmann::json DecisionJson(const InboundResult& r);
nlohmann::json ToJson(const LedgerCheck& c);
// The message with its decision parsed back into an object and "replies" (outbox items).
nlohmann::json ToJson(const MessageWithReplies& m);

}  // namespace smsconsent
