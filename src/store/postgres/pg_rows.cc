// PgStore's row readers: store/row_readers.h over a row of a libpq result.
#include <string>

#include "store/postgres/pg_internal.h"
#include "store/row_readers.h"

namespace smsconsent {

using pg::Res;

namespace pg_detail {
namespace {

// Row i of a result, from column `first` on, as store/row_readers.h reads rows.
struct PgRow {
  const Res& res;
  int i;
  int first = 0;
  int64_t Int(int col) const { return res.Int(i, first + col); }
  std::string Text(int col) const { return res.Text(i, first + col); }
  bool Bool(int col) const { return res.Bool(i, first + col); }
};

}  // namespace

Result<Account> ReadAccount(const Res& s, int i) { return store_rows::ReadAccount(PgRow{s, i}); }
Result<SenderNumber> ReadNumber(const Res& s, int i) { return store_rows::ReadNumber(PgRow{s, i}); }
Result<Job> ReadJob(const Res& s, int i) { return store_rows::ReadJob(PgRow{s, i}); }
Contact ReadContact(const Res& s, int i) { return store_rows::ReadContact(PgRow{s, i}); }
// `col`: where the six status columns start.
Result<StatusRow> ReadStatus(const Res& s, int i, int col) {
  return store_rows::ReadStatus(PgRow{s, i, col});
}
Result<ConsentEvent> ReadEvent(const Res& s, int i) { return store_rows::ReadEvent(PgRow{s, i}); }
Result<ReviewItem> ReadReview(const Res& s, int i) { return store_rows::ReadReview(PgRow{s, i}); }
InboundMessage ReadInbound(const Res& s, int i) { return store_rows::ReadInbound(PgRow{s, i}); }
Result<OutboxItem> ReadOutbox(const Res& s, int i) { return store_rows::ReadOutbox(PgRow{s, i}); }
Result<User> ReadUser(const Res& s, int i) { return store_rows::ReadUser(PgRow{s, i}); }
StaffSession ReadSession(const Res& s, int i) { return store_rows::ReadSession(PgRow{s, i}); }

}  // namespace pg_detail

}  // namespace smsconsent
