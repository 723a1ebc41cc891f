// The SQLite connection machinery's functions: error mapping, the case fold, the writer's
// pragmas and reader connections (sqlite_db.h).
#include "store/sqlite/sqlite_db.h"

#include <string>
#include <utility>

namespace smsconsent::sqlite_detail {

// ---- Error mapping ----------------------------------------------------------------------

namespace {

Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }

}  // namespace

// Turns a SQLite result code into a Status whose message says what we were doing. Unique
// violations are kAlreadyExists only here, as a fallback: callers that know what a constraint
// means check for it themselves and word the message.
Status SqlError(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg +=
      db != nullptr && sqlite3_extended_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (sqlite ";
  msg += std::to_string(rc);
  msg += ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      // Another process holds the write lock longer than the busy timeout; retrying later
      // can succeed.
      return Unavailable(std::move(msg));
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return Unavailable(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss(std::move(msg));
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return AlreadyExists(std::move(msg));
      }
      return Internal(std::move(msg));
    default:
      return Internal(std::move(msg));
  }
}

bool IsUniqueViolation(int rc) {
  return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

// ---- A case fold for search --------------------------------------------------------------

namespace {

// Simple lower-casing of the scripts contact names in our markets use: ASCII, Latin-1
// (Æ Ø Å Ä Ö Ü É …), Latin Extended-A (Ł Ś Ž Ő …), Greek and Cyrillic. SQLite's own LIKE only
// folds ASCII, and we do not want ICU in the store; PostgreSQL's lower() does the same job
// there. Code points outside these ranges, and malformed bytes, are copied unchanged.
char32_t LowerCodePoint(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x178) return 0xFF;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c % 2 == 1) ? c + 1 : c;
    if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
    return (c % 2 == 0) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

}  // namespace

std::string FoldCase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(LowerCodePoint(b)));
      ++i;
      continue;
    }
    // Only two-byte sequences can hold the letters we fold (U+0080..U+07FF).
    if ((b & 0xE0) == 0xC0 && i + 1 < s.size() &&
        (static_cast<unsigned char>(s[i + 1]) & 0xC0) == 0x80) {
      char32_t c =
          (static_cast<char32_t>(b & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
      char32_t l = c >= 0x80 ? LowerCodePoint(c) : c;
      out.push_back(static_cast<char>(0xC0 | (l >> 6)));
      out.push_back(static_cast<char>(0x80 | (l & 0x3F)));
      i += 2;
      continue;
    }
    out.push_back(static_cast<char>(b));
    ++i;
  }
  return out;
}

void SqlFoldCase(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc != 1 || sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  const unsigned char* p = sqlite3_value_text(argv[0]);
  int n = sqlite3_value_bytes(argv[0]);
  std::string folded =
      FoldCase(std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n)));
  sqlite3_result_text(ctx, folded.data(), static_cast<int>(folded.size()), SQLITE_TRANSIENT);
}

// ---- The writer's settings and reader connections ------------------------------------------

Status ApplyPragmas(Connection& impl, bool in_memory) {
  SMSC_RETURN_IF_ERROR(impl.Exec("PRAGMA foreign_keys = ON", "enabling foreign keys"));
  SMSC_ASSIGN_OR_RETURN(std::string mode, impl.PragmaText("journal_mode = WAL"));
  if (!in_memory && mode != "wal") {
    return Unavailable("cannot switch '" + impl.path + "' to WAL journal mode (got '" + mode +
                       "'); is the file on a filesystem without shared-memory support?");
  }
  // FULL: in WAL mode every commit fsyncs the WAL, so an acknowledged write survives a power
  // loss. NORMAL would only fsync at checkpoints.
  SMSC_RETURN_IF_ERROR(impl.Exec("PRAGMA synchronous = FULL", "setting synchronous = FULL"));
  // When an item of a CommitBatch fails, the batch is written again with a savepoint per
  // item, whose undo journal (the original of every page the item changes) would otherwise
  // spill to a temporary file after 64 KiB. It is only for rolling back within a
  // transaction, never needed for durability or recovery, so memory is the right place for it.
  SMSC_RETURN_IF_ERROR(impl.Exec("PRAGMA temp_store = MEMORY", "setting temp_store = MEMORY"));
  // The writer touches the contacts, statuses, events and messages indexes at random places
  // (one per new phone number); SQLite's default 2 MiB page cache would re-read those pages
  // from the file on nearly every write.
  SMSC_RETURN_IF_ERROR(impl.Exec("PRAGMA cache_size = -32768", "setting cache_size (32 MiB)"));
  return Status::Ok();
}

Status OpenReader(const std::string& path, Connection& conn) {
  conn.path = path;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  conn.db.reset(raw);
  if (rc != SQLITE_OK) return SqlError(raw, rc, "opening a reader connection");
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  rc = sqlite3_create_function_v2(raw, "smsc_fold", 1,
                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                                  &SqlFoldCase, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqlError(raw, rc, "registering smsc_fold()");
  SMSC_RETURN_IF_ERROR(conn.Exec("PRAGMA cache_size = -8192", "setting cache_size (8 MiB)"));
  return conn.Exec("PRAGMA query_only = ON", "making a reader connection read-only");
}

}  // namespace smsconsent::sqlite_detail
