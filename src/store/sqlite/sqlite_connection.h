// A thin layer over the SQLite C API: one connection with its cache of prepared statements, and
// a borrowed statement that binds parameters, steps and reads columns. All SQL the store runs
// goes through here, parameterized, and every statement is reset after use so no connection
// keeps a read snapshot open (which would stop WAL checkpoints).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;
struct sqlite3_stmt;

namespace handoff {

class SqliteConnection;

// Converts a SQLite result code into a Status whose code tells the caller what to do next
// (AlreadyExists for a unique violation, Unavailable for I/O and busy errors, …).
absl::Status SqliteStatus(int rc, const std::string& message);

// True for result codes after which the database file's state is unknown (I/O error,
// corruption): the store must stop acknowledging writes.
bool IsSqliteIoFailure(int rc);

// One execution of a cached prepared statement. Resets the statement when destroyed.
// Not thread-safe; lives on the stack of the thread that owns the connection.
class SqliteStatement {
 public:
  SqliteStatement(SqliteConnection* conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  SqliteStatement(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Binds parameter `index` (1-based). Values are not copied: they must outlive the steps.
  // A failed bind (e.g. a value over SQLite's size limit) is reported by the next Step/Run.
  void BindInt(int index, int64_t value);
  void BindDouble(int index, double value);
  void BindText(int index, std::string_view value);
  void BindBlob(int index, std::string_view value);

  // Steps once: true when a row is ready to read, false when the statement is done.
  absl::StatusOr<bool> Step();
  // Steps to completion, for statements that return no rows.
  absl::Status Run();

  int64_t Int(int column) const;
  double Double(int column) const;
  // The column's bytes exactly as stored (TEXT or BLOB; embedded NULs kept).
  std::string Text(int column) const;
  // The same bytes without a copy, valid until the next Step (a look-up key, a JSON parse).
  std::string_view TextView(int column) const;
  bool IsNull(int column) const;

 private:
  void NoteBind(int rc);

  SqliteConnection* conn_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = 0;
};

// One SQLite connection and its prepared statements. Not thread-safe: one thread uses it at a
// time (the writer thread, or a reader that borrowed it from the pool).
class SqliteConnection {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  // Opens (creating it in kReadWrite mode) the database file at `path`.
  static absl::StatusOr<std::unique_ptr<SqliteConnection>> Open(const std::string& path, Mode mode);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Runs SQL without parameters (DDL, PRAGMA settings, transaction control at startup).
  absl::Status Exec(const std::string& sql);
  // The first column of the first row of `sql` as text, or "" if there is no row.
  absl::StatusOr<std::string> QueryText(const std::string& sql);

  // The cached statement for `sql`, prepared on first use. `sql` must have static storage
  // duration: the cache is keyed by its address, which keeps lookups cheap on the hot path.
  absl::StatusOr<SqliteStatement> Prepare(const char* sql);
  // The same for SQL built at run time (a small, bounded set of variants), keyed by its text.
  absl::StatusOr<SqliteStatement> PrepareDynamic(const std::string& sql);

  int64_t changes() const;
  int64_t last_insert_rowid() const;
  bool in_transaction() const;
  // The primary or extended code of the last failed step on this connection.
  int last_error() const { return last_error_; }
  void set_last_error(int rc) { last_error_ = rc; }
  sqlite3* db() const { return db_; }

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  absl::StatusOr<sqlite3_stmt*> Compile(const std::string& sql);

  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> static_stmts_;
  std::unordered_map<std::string, sqlite3_stmt*> dynamic_stmts_;
  int last_error_ = 0;
};

}  // namespace handoff
