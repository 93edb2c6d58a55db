// A thin layer over libpq: one connection with its cache of prepared statements, parameters
// built as text (strings through EncodePgText, see pg_text.h) or binary (bytea), and a result
// that reads rows back. Every statement the PostgreSQL store runs goes through here,
// parameterized.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct pg_conn;
struct pg_result;

namespace handoff {

// The parameters of one statement, $1, $2, … in the order added.
class PgParams {
 public:
  // A string: escaped for a text column by EncodePgText.
  PgParams& Text(std::string_view value);
  // Already valid for a text column (an array literal built from encoded strings).
  PgParams& Literal(std::string value);
  PgParams& Int(int64_t value);
  PgParams& Double(double value);
  // Raw bytes for a bytea column, sent in binary.
  PgParams& Bytes(std::string_view value);

  size_t size() const { return values_.size(); }

 private:
  friend class PgConnection;
  std::vector<std::string> values_;
  std::vector<int> formats_;
};

// The rows of one statement's result. Not copyable; moves.
class PgResult {
 public:
  explicit PgResult(pg_result* result) : result_(result) {}
  PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const;
  // Rows an INSERT/UPDATE/DELETE touched.
  int64_t affected() const;
  bool IsNull(int row, int col) const;
  // A text column, decoded by DecodePgText: the bytes that were stored.
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  double Double(int row, int col) const;
  bool Bool(int row, int col) const;
  // A bytea column's bytes.
  std::string Bytes(int row, int col) const;

  pg_result* raw_result() const { return result_; }

 private:
  pg_result* result_;
};

// One PostgreSQL connection. Not thread-safe: one thread uses it at a time.
class PgConnection {
 public:
  // Connects to `url` (postgresql://… or a libpq key=value string). Unavailable when the
  // server cannot be reached, with libpq's reason (the password never appears in it).
  static absl::StatusOr<std::unique_ptr<PgConnection>> Open(const std::string& url);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs `sql` with `params` as a prepared statement, prepared once per connection.
  absl::StatusOr<PgResult> Exec(const std::string& sql, const PgParams& params);
  absl::StatusOr<PgResult> Exec(const std::string& sql) { return Exec(sql, PgParams()); }
  // Runs one or more statements without parameters (DDL, transaction control) in one round
  // trip.
  absl::Status Run(const std::string& sql);

  // True once the connection is lost: the owner drops it and opens another.
  bool broken() const;
  int backend_pid() const;
  pg_conn* raw() const { return conn_; }

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  absl::Status Check(pg_result* result, std::string_view sql);

  pg_conn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // sql → statement name
};

// The Status for a failed statement: its SQLSTATE picks the code (AlreadyExists for a unique
// violation, Aborted for a deadlock or serialization failure, Unavailable when the connection
// or server went away, Internal otherwise).
absl::Status PgStatus(std::string_view sqlstate, std::string_view message);

}  // namespace handoff
