#include "store/postgres/pg_connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <utility>

#include "fmt/format.h"
#include "store/postgres/pg_text.h"

namespace handoff {

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

absl::StatusOr<PgResult> PgConnection::Exec(const std::string& sql, const PgParams& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = fmt::format("s{}", prepared_.size() + 1);
    PgResult prepared(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
    absl::Status ok = Check(prepared.raw_result(), sql);
    if (!ok.ok()) return ok;
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  const size_t n = params.values_.size();
  std::vector<const char*> values(n);
  std::vector<int> lengths(n);
  for (size_t i = 0; i < n; ++i) {
    values[i] = params.values_[i].data();
    lengths[i] = static_cast<int>(params.values_[i].size());
  }
  PgResult result(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(n), values.data(),
                                 lengths.data(), params.formats_.data(), 0));
  absl::Status ok = Check(result.raw_result(), sql);
  if (!ok.ok()) return ok;
  return result;
}

absl::Status PgConnection::Run(const std::string& sql) {
  PgResult result(PQexec(conn_, sql.c_str()));
  return Check(result.raw_result(), sql);
}

}  // namespace handoff
