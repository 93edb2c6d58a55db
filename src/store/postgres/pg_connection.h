// A thin layer over libpq: one connection with its cache of prepared statements, parameters
// built as text (strings through EncodePgText, see pg_text.h) or binary (bytea), and a result
// that reads rows back. Every statement the PostgreSQL store runs goes through here,
// parameterized.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
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
  // libpq's view of the values: pointers into values_ and their lengths.
  struct Wire {
    std::vector<const char*> values;
    std::vector<int> lengths;
  };
  Wire ToWire() const;

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

// Checks a pipelined statement's result when it arrives (PgConnection::Send): OK, or the error
// that statement's caller fails with (a row that was not there to update, say).
using PgCheck = std::function<absl::Status(const PgResult&)>;

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

  // Pipeline mode (libpq), for a connection that sends many statements in a row: Send queues a
  // statement without waiting for it; Exec sends its own and reads every result before it, in
  // order; Settle reads them all. So a run of writes costs one round trip instead of one each.
  // After a failed statement the server skips the rest until a sync: Exec and Settle return the
  // first error (the statements behind it did nothing), and Settle resynchronizes, leaving an
  // open transaction in its failed state for ROLLBACK TO. Run is not available meanwhile.
  absl::Status EnterPipeline();
  // Leaves pipeline mode; everything sent must have been settled.
  absl::Status ExitPipeline();
  // Queues a prepared statement; `check`, if given, judges its result when it arrives.
  void Send(const std::string& sql, const PgParams& params, PgCheck check = nullptr);
  // Queues one statement without parameters (transaction control, NOTIFY), unprepared.
  void SendPlain(const std::string& sql);
  // Reads every queued result and returns the first error since the last Settle. With `sync`
  // it ends the pipeline's implicit batch too (PQpipelineSync), as a COMMIT must be followed.
  absl::Status Settle(bool sync = false);

  // True once the connection is lost: the owner drops it and opens another.
  bool broken() const;
  int backend_pid() const;
  pg_conn* raw() const { return conn_; }

 private:
  // A statement sent in pipeline mode whose result has not been read yet.
  struct Pending {
    std::string sql;
    bool prepare = false;  // the Parse of a statement first used in this pipeline
    bool keep = false;     // Exec's own statement: its result is returned
    PgCheck check;
  };

  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  absl::Status Check(pg_result* result, std::string_view sql);
  // The prepared statement's name for `sql`, preparing it first (in pipeline mode, queued).
  absl::StatusOr<std::string> Prepared(const std::string& sql);
  bool SendPrepared(const std::string& name, const std::string& sql, const PgParams& params,
                    bool keep, PgCheck check);
  // Reads the oldest pending result; returns it when it is Exec's own.
  std::optional<PgResult> ReadPending();
  absl::Status ReadSync();
  void NoteError(absl::Status status);
  absl::Status FlushRequest();

  // Drops every prepared statement once the connection has run `replan_at_` statements (1,024,
  // then 8 times as many each time, up to 4 million), so each is planned again for the tables
  // as they are now. PostgreSQL settles on a prepared statement's generic plan after five runs
  // and keeps it until the table's statistics change; on a new database that plan was made for
  // empty tables, and can read a workspace's every row through any index that starts with
  // `workspace` where the primary key finds one (until autovacuum first analyzes the table,
  // up to a minute later).
  void MaybeReplan();

  pg_conn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // sql → statement name
  int64_t executions_ = 0;
  int64_t replan_at_ = 1024;
  bool pipelined_ = false;
  std::deque<Pending> pending_;
  absl::Status pipeline_error_;  // the first error since the last Settle
};

// The Status for a failed statement: its SQLSTATE picks the code (AlreadyExists for a unique
// violation, Aborted for a deadlock or serialization failure, Unavailable when the connection
// or server went away, Internal otherwise).
absl::Status PgStatus(std::string_view sqlstate, std::string_view message);

}  // namespace handoff
