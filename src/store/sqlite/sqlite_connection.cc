#include "store/sqlite/sqlite_connection.h"

#include <sqlite3.h>

#include <utility>

#include "fmt/format.h"
#include "store/sqlite/wal_write_buffer.h"

namespace handoff {
namespace {

// Error messages name the statement by its opening words only: SQL text never carries lead
// data (everything is a bound parameter), but a short prefix keeps logs readable.
std::string SqlPrefix(sqlite3_stmt* stmt) {
  const char* sql = sqlite3_sql(stmt);
  if (sql == nullptr) return "?";
  std::string s(sql);
  if (s.size() > 60) s = s.substr(0, 60) + "…";
  return s;
}

}  // namespace

absl::Status SqliteStatus(int rc, const std::string& message) {
  std::string text = fmt::format("sqlite: {}", message);
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return absl::OkStatus();
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return absl::AlreadyExistsError(text);
      }
      return absl::FailedPreconditionError(text);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return absl::UnavailableError(text);
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::ResourceExhaustedError(text);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(text);
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return absl::InvalidArgumentError(text);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::FailedPreconditionError(text);
    default:
      return absl::InternalError(text);
  }
}

bool IsSqliteIoFailure(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : conn_(other.conn_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}

SqliteStatement::~SqliteStatement() {
  if (stmt_ != nullptr) sqlite3_reset(stmt_);
}

void SqliteStatement::NoteBind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void SqliteStatement::BindInt(int index, int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_, index, value));
}

void SqliteStatement::BindDouble(int index, double value) {
  NoteBind(sqlite3_bind_double(stmt_, index, value));
}

void SqliteStatement::BindText(int index, std::string_view value) {
  NoteBind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8));
}

void SqliteStatement::BindBlob(int index, std::string_view value) {
  // A zero-length blob needs a non-null pointer, or SQLite binds NULL instead.
  static const char kEmpty = 0;
  NoteBind(sqlite3_bind_blob64(stmt_, index, value.empty() ? &kEmpty : value.data(), value.size(),
                               SQLITE_STATIC));
}

absl::StatusOr<bool> SqliteStatement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    conn_->set_last_error(bind_rc_);
    return SqliteStatus(bind_rc_, fmt::format("binding a parameter of \"{}\": {}", SqlPrefix(stmt_),
                                              sqlite3_errstr(bind_rc_)));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  int extended = sqlite3_extended_errcode(conn_->db());
  conn_->set_last_error(extended);
  return SqliteStatus(extended,
                      fmt::format("{} (in \"{}\")", sqlite3_errmsg(conn_->db()), SqlPrefix(stmt_)));
}

absl::Status SqliteStatement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

int64_t SqliteStatement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

double SqliteStatement::Double(int column) const { return sqlite3_column_double(stmt_, column); }

std::string SqliteStatement::Text(int column) const { return std::string(TextView(column)); }

std::string_view SqliteStatement::TextView(int column) const {
  // Read as a blob so TEXT comes back byte-for-byte, embedded NULs included.
  const void* data = sqlite3_column_blob(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || n <= 0) return std::string_view();
  return std::string_view(static_cast<const char*>(data), static_cast<size_t>(n));
}

bool SqliteStatement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

absl::StatusOr<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path,
                                                                         Mode mode) {
  // SQLite's memory statistics take a process-wide mutex on every allocation, which the
  // writer makes by the million. This can only be switched off before SQLite initializes; if
  // something else in the process initialized it first, the call fails and nothing changes.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  // NOMUTEX: each connection is used by one thread at a time, so SQLite's own per-connection
  // mutex would be pure overhead.
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  flags |= mode == Mode::kReadWrite ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
                                    : SQLITE_OPEN_READONLY;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, WalWriteBufferVfsName());
  if (rc != SQLITE_OK) {
    std::string message = fmt::format("opening {}: {}", path,
                                      db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return SqliteStatus(rc, message);
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<SqliteConnection>(new SqliteConnection(db));
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : static_stmts_) sqlite3_finalize(stmt);
  for (auto& [sql, stmt] : dynamic_stmts_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::Status SqliteConnection::Exec(const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return absl::OkStatus();
  std::string message = error != nullptr ? error : sqlite3_errstr(rc);
  sqlite3_free(error);
  int extended = sqlite3_extended_errcode(db_);
  last_error_ = extended;
  return SqliteStatus(extended, message);
}

absl::StatusOr<std::string> SqliteConnection::QueryText(const std::string& sql) {
  absl::StatusOr<sqlite3_stmt*> compiled = Compile(sql);
  if (!compiled.ok()) return compiled.status();
  std::string out;
  absl::Status status;
  {
    SqliteStatement stmt(this, *compiled);
    absl::StatusOr<bool> row = stmt.Step();
    if (!row.ok()) {
      status = row.status();
    } else if (*row) {
      out = stmt.Text(0);
    }
  }
  sqlite3_finalize(*compiled);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<sqlite3_stmt*> SqliteConnection::Compile(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    std::string message =
        fmt::format("preparing \"{}\": {}", sql.substr(0, 60), sqlite3_errmsg(db_));
    sqlite3_finalize(stmt);
    return SqliteStatus(sqlite3_extended_errcode(db_), message);
  }
  return stmt;
}

absl::StatusOr<SqliteStatement> SqliteConnection::Prepare(const char* sql) {
  auto it = static_stmts_.find(sql);
  if (it != static_stmts_.end()) return SqliteStatement(this, it->second);
  absl::StatusOr<sqlite3_stmt*> stmt = Compile(sql);
  if (!stmt.ok()) return stmt.status();
  static_stmts_.emplace(sql, *stmt);
  return SqliteStatement(this, *stmt);
}

absl::StatusOr<SqliteStatement> SqliteConnection::PrepareDynamic(const std::string& sql) {
  auto it = dynamic_stmts_.find(sql);
  if (it != dynamic_stmts_.end()) return SqliteStatement(this, it->second);
  absl::StatusOr<sqlite3_stmt*> stmt = Compile(sql);
  if (!stmt.ok()) return stmt.status();
  dynamic_stmts_.emplace(sql, *stmt);
  return SqliteStatement(this, *stmt);
}

int64_t SqliteConnection::changes() const { return sqlite3_changes64(db_); }

int64_t SqliteConnection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

bool SqliteConnection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace handoff
