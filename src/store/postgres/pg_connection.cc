#include "store/postgres/pg_connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <utility>

#include "core/status.h"
#include "fmt/format.h"
#include "store/postgres/pg_text.h"

namespace handoff {
namespace {

// Statements queued in pipeline mode before their results are read back.
constexpr size_t kMaxPending = 256;
// The last replan (MaybeReplan) happens at this many statements or the first step past it.
constexpr int64_t kLastReplan = int64_t{4} << 20;

}  // namespace

PgParams& PgParams::Text(std::string_view value) {
  values_.push_back(EncodePgText(value));
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::Literal(std::string value) {
  values_.push_back(std::move(value));
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::Int(int64_t value) {
  values_.push_back(std::to_string(value));
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::Double(double value) {
  values_.push_back(fmt::format("{}", value));
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::Bytes(std::string_view value) {
  values_.emplace_back(value);
  formats_.push_back(1);
  return *this;
}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}

int PgResult::rows() const { return result_ == nullptr ? 0 : PQntuples(result_); }

int64_t PgResult::affected() const {
  if (result_ == nullptr) return 0;
  const char* n = PQcmdTuples(result_);
  if (n == nullptr || *n == '\0') return 0;
  return std::strtoll(n, nullptr, 10);
}

bool PgResult::IsNull(int row, int col) const { return PQgetisnull(result_, row, col) != 0; }

std::string PgResult::Text(int row, int col) const {
  return DecodePgText(
      std::string_view(PQgetvalue(result_, row, col), PQgetlength(result_, row, col)));
}

int64_t PgResult::Int(int row, int col) const {
  const char* v = PQgetvalue(result_, row, col);
  const int len = PQgetlength(result_, row, col);
  int64_t out = 0;
  std::from_chars(v, v + len, out);
  return out;
}

double PgResult::Double(int row, int col) const {
  return std::strtod(PQgetvalue(result_, row, col), nullptr);
}

bool PgResult::Bool(int row, int col) const {
  const char* v = PQgetvalue(result_, row, col);
  return v != nullptr && v[0] == 't';
}

std::string PgResult::Bytes(int row, int col) const {
  size_t n = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, col)), &n);
  if (raw == nullptr) return std::string();
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

absl::Status PgStatus(std::string_view sqlstate, std::string_view message) {
  std::string text(message);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (sqlstate == "23505") return absl::AlreadyExistsError(text);
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
    return absl::AbortedError(text);
  }
  if (sqlstate.starts_with("08") || sqlstate.starts_with("57") || sqlstate.starts_with("53") ||
      sqlstate.empty()) {
    return absl::UnavailableError(text.empty() ? "the PostgreSQL connection was lost" : text);
  }
  return absl::InternalError(fmt::format("PostgreSQL error {}: {}", sqlstate, text));
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Open(const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr) return absl::ResourceExhaustedError("libpq could not allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return absl::UnavailableError(fmt::format("cannot connect to PostgreSQL: {}", why));
  }
  auto out = std::unique_ptr<PgConnection>(new PgConnection(conn));
  // Timestamps are integers of microseconds and every string is UTF-8 (pg_text.h).
  absl::Status set = out->Run("SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'");
  if (!set.ok()) return set;
  return out;
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool PgConnection::broken() const { return PQstatus(conn_) != CONNECTION_OK; }

int PgConnection::backend_pid() const { return PQbackendPID(conn_); }

absl::Status PgConnection::Check(PGresult* result, std::string_view sql) {
  const ExecStatusType st = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return absl::OkStatus();
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string message =
      result != nullptr ? PQresultErrorMessage(result) : std::string(PQerrorMessage(conn_));
  absl::Status status = PgStatus(state == nullptr ? "" : state, message);
  if (status.code() != absl::StatusCode::kInternal) return status;
  // The statement helps whoever reads the log; its parameters (lead data) are never included.
  return absl::Status(status.code(), fmt::format("{} (in: {})", std::string(status.message()),
                                                 std::string(sql.substr(0, 120))));
}

void PgConnection::MaybeReplan() {
  if (executions_ < replan_at_ || pipelined_) return;
  replan_at_ = replan_at_ >= kLastReplan ? INT64_MAX : replan_at_ * 8;
  PgResult dropped(PQexec(conn_, "DEALLOCATE ALL"));
  if (Check(dropped.raw_result(), "DEALLOCATE ALL").ok()) prepared_.clear();
}

absl::StatusOr<std::string> PgConnection::Prepared(const std::string& sql) {
  ++executions_;
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  std::string name = fmt::format("s{}", prepared_.size() + 1);
  if (pipelined_) {
    if (PQsendPrepare(conn_, name.c_str(), sql.c_str(), 0, nullptr) == 0) {
      return absl::UnavailableError(fmt::format("PostgreSQL: {}", PQerrorMessage(conn_)));
    }
    // Known from now on; forgotten again if the Parse fails (ReadPending).
    pending_.push_back(Pending{.sql = sql, .prepare = true, .keep = false, .check = nullptr});
  } else {
    PgResult prepared(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
    RETURN_IF_ERROR(Check(prepared.raw_result(), sql));
  }
  prepared_.emplace(sql, name);
  return name;
}

PgParams::Wire PgParams::ToWire() const {
  Wire wire;
  wire.values.reserve(values_.size());
  wire.lengths.reserve(values_.size());
  for (const std::string& v : values_) {
    wire.values.push_back(v.data());
    wire.lengths.push_back(static_cast<int>(v.size()));
  }
  return wire;
}

bool PgConnection::SendPrepared(const std::string& name, const std::string& sql,
                                const PgParams& params, bool keep, PgCheck check) {
  const PgParams::Wire wire = params.ToWire();
  if (PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(params.size()), wire.values.data(),
                          wire.lengths.data(), params.formats_.data(), 0) == 0) {
    NoteError(absl::UnavailableError(fmt::format("PostgreSQL: {}", PQerrorMessage(conn_))));
    return false;
  }
  pending_.push_back(
      Pending{.sql = sql, .prepare = false, .keep = keep, .check = std::move(check)});
  // A long run of statements is read back part way, so neither side's socket buffer fills up
  // while the other waits for it (the connection is in blocking mode).
  if (!keep && pending_.size() >= kMaxPending) {
    if (FlushRequest().ok()) {
      while (!pending_.empty()) ReadPending();
    }
  }
  return true;
}

absl::StatusOr<PgResult> PgConnection::Exec(const std::string& sql, const PgParams& params) {
  MaybeReplan();
  absl::StatusOr<std::string> name = Prepared(sql);
  if (!name.ok()) {
    if (!pipelined_) return name.status();
    NoteError(name.status());
    return pipeline_error_;
  }
  if (pipelined_) {
    if (!SendPrepared(*name, sql, params, /*keep=*/true, nullptr)) return pipeline_error_;
    absl::Status flushed = FlushRequest();
    if (!flushed.ok()) return flushed;
    std::optional<PgResult> mine;
    while (!pending_.empty() && !mine) mine = ReadPending();
    // An earlier statement's failure is this call's too: the server skipped this one.
    if (!pipeline_error_.ok()) return pipeline_error_;
    if (!mine) return absl::InternalError("PostgreSQL: the pipeline lost a result");
    return std::move(*mine);
  }
  const PgParams::Wire wire = params.ToWire();
  PgResult result(PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                                 wire.values.data(), wire.lengths.data(), params.formats_.data(),
                                 0));
  absl::Status ok = Check(result.raw_result(), sql);
  if (!ok.ok()) return ok;
  return result;
}

absl::Status PgConnection::EnterPipeline() {
  if (pipelined_) return absl::OkStatus();
  MaybeReplan();
  if (PQenterPipelineMode(conn_) == 0) {
    return absl::UnavailableError(
        fmt::format("PostgreSQL: cannot enter pipeline mode: {}", PQerrorMessage(conn_)));
  }
  pipelined_ = true;
  pipeline_error_ = absl::OkStatus();
  return absl::OkStatus();
}

absl::Status PgConnection::ExitPipeline() {
  if (!pipelined_) return absl::OkStatus();
  if (!pending_.empty() || PQexitPipelineMode(conn_) == 0) {
    return absl::InternalError(fmt::format(
        "PostgreSQL: cannot leave pipeline mode with results unread: {}", PQerrorMessage(conn_)));
  }
  pipelined_ = false;
  return absl::OkStatus();
}

void PgConnection::Send(const std::string& sql, const PgParams& params, PgCheck check) {
  absl::StatusOr<std::string> name = Prepared(sql);
  if (!name.ok()) {
    NoteError(name.status());
    return;
  }
  SendPrepared(*name, sql, params, /*keep=*/false, std::move(check));
}

void PgConnection::SendPlain(const std::string& sql) {
  if (PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 0) {
    NoteError(absl::UnavailableError(fmt::format("PostgreSQL: {}", PQerrorMessage(conn_))));
    return;
  }
  pending_.push_back(Pending{.sql = sql, .prepare = false, .keep = false, .check = nullptr});
}

absl::Status PgConnection::FlushRequest() {
  if (PQsendFlushRequest(conn_) == 0 || PQflush(conn_) != 0) {
    NoteError(absl::UnavailableError(fmt::format("PostgreSQL: {}", PQerrorMessage(conn_))));
    pending_.clear();
    return pipeline_error_;
  }
  return absl::OkStatus();
}

void PgConnection::NoteError(absl::Status status) {
  if (pipeline_error_.ok()) pipeline_error_ = std::move(status);
}

std::optional<PgResult> PgConnection::ReadPending() {
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  PgResult result(PQgetResult(conn_));
  if (result.raw_result() == nullptr) {
    // The connection went away: nothing more will arrive.
    NoteError(Check(nullptr, p.sql));
    pending_.clear();
    return std::nullopt;
  }
  // Each statement's results end with a null result.
  if (PGresult* end = PQgetResult(conn_); end != nullptr) PQclear(end);
  const ExecStatusType st = PQresultStatus(result.raw_result());
  if (p.prepare) {
    if (st != PGRES_COMMAND_OK) prepared_.erase(p.sql);
  }
  if (st == PGRES_PIPELINE_ABORTED) return std::nullopt;  // skipped after an earlier error
  absl::Status ok = Check(result.raw_result(), p.sql);
  if (!ok.ok()) {
    NoteError(std::move(ok));
    return std::nullopt;
  }
  if (p.check) NoteError(p.check(result));
  if (p.keep) return result;
  return std::nullopt;
}

absl::Status PgConnection::ReadSync() {
  PgResult sync(PQgetResult(conn_));
  if (sync.raw_result() == nullptr || PQresultStatus(sync.raw_result()) != PGRES_PIPELINE_SYNC) {
    const absl::Status lost = Check(sync.raw_result(), "(pipeline sync)");
    return lost.ok() ? absl::InternalError("PostgreSQL: the pipeline is out of step") : lost;
  }
  return absl::OkStatus();
}

absl::Status PgConnection::Settle(bool sync) {
  if (sync) {
    if (PQpipelineSync(conn_) == 0) {
      NoteError(absl::UnavailableError(fmt::format("PostgreSQL: {}", PQerrorMessage(conn_))));
      pending_.clear();
      sync = false;
    }
  } else if (!pending_.empty()) {
    (void)FlushRequest();
  }
  while (!pending_.empty()) ReadPending();
  if (sync) NoteError(ReadSync());
  // After an error the server ignores everything up to a sync: send one and read it, so the
  // next statements run (in a transaction, the failed one, until ROLLBACK TO).
  if (!broken() && PQpipelineStatus(conn_) == PQ_PIPELINE_ABORTED) {
    if (PQpipelineSync(conn_) == 0) {
      NoteError(absl::UnavailableError(fmt::format("PostgreSQL: {}", PQerrorMessage(conn_))));
    } else {
      NoteError(ReadSync());
    }
  }
  absl::Status out = std::move(pipeline_error_);
  pipeline_error_ = absl::OkStatus();
  return out;
}

absl::Status PgConnection::Run(const std::string& sql) {
  if (pipelined_) return absl::InternalError("PostgreSQL: Run is not available in pipeline mode");
  PgResult result(PQexec(conn_, sql.c_str()));
  return Check(result.raw_result(), sql);
}

}  // namespace handoff
