#include "bench/postgres_server.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <vector>

#include "bench/measure.h"
#include "fmt/format.h"
#include "libpq-fe.h"
#include "tests/support/postgres_cluster.h"

namespace handoff::bench {
namespace {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};

// The fields of /proc/PID/stat after the command name: [1] ppid, [11] utime, [12] stime,
// [13] cutime, [14] cstime (clock ticks).
std::optional<std::vector<int64_t>> ProcStat(pid_t pid) {
  std::string stat = ReadWholeFile(fmt::format("/proc/{}/stat", pid));
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) return std::nullopt;
  std::istringstream in(stat.substr(close + 2));
  std::vector<int64_t> fields;
  std::string f;
  while (in >> f && fields.size() < 15) {
    try {
      fields.push_back(std::stoll(f));
    } catch (const std::exception&) {
      fields.push_back(0);  // the state letter
    }
  }
  if (fields.size() < 15) return std::nullopt;
  return fields;
}

}  // namespace

PostgresServer::PostgresServer(std::string parent_dir, bool keep) : keep_(keep) {
  std::string tmpl = parent_dir + "/handoff-bench-pg-XXXXXX";
  if (mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
}

PostgresServer::~PostgresServer() {
  if (dir_.empty()) return;
  if (!admin_url_.empty()) (void)Stop();
  if (!keep_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

absl::Status PostgresServer::Start() {
  if (dir_.empty()) return absl::InternalError("could not create the cluster's directory");
  testing::PostgresClusterOptions options;
  options.durable = true;
  auto url = testing::StartPostgresCluster(dir_, options);
  if (!url.ok()) return url.status();
  admin_url_ = *url;
  return absl::OkStatus();
}

absl::Status PostgresServer::Stop() {
  if (admin_url_.empty()) return absl::OkStatus();
  admin_url_.clear();
  return testing::StopPostgresCluster(dir_);
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase() {
  if (admin_url_.empty()) return absl::FailedPreconditionError("the cluster is not running");
  return testing::CreateDatabase(admin_url_);
}

absl::Status PostgresServer::DropDatabase(const std::string& url) {
  if (admin_url_.empty()) return absl::FailedPreconditionError("the cluster is not running");
  return testing::DropDatabase(admin_url_, url);
}

std::optional<Micros> PostgresServer::CpuMicros() const {
  std::string pid_file = ReadWholeFile(dir_ + "/data/postmaster.pid");
  pid_t postmaster = static_cast<pid_t>(std::atol(pid_file.c_str()));
  if (postmaster <= 0) return std::nullopt;
  auto own = ProcStat(postmaster);
  if (!own.has_value()) return std::nullopt;
  // Exited children (autovacuum workers, the sessions of dropped databases) are in the
  // postmaster's cutime and cstime once it has reaped them.
  int64_t ticks = (*own)[11] + (*own)[12] + (*own)[13] + (*own)[14];
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto child = ProcStat(static_cast<pid_t>(std::atol(name.c_str())));
    if (child.has_value() && (*child)[1] == postmaster) ticks += (*child)[11] + (*child)[12];
  }
  return ticks * kMicrosPerSecond / sysconf(_SC_CLK_TCK);
}

absl::StatusOr<PostgresCounters> PostgresServer::Counters() const {
  if (admin_url_.empty()) return absl::FailedPreconditionError("the cluster is not running");
  std::unique_ptr<PGconn, ConnCloser> conn(PQconnectdb(admin_url_.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        fmt::format("connect {}: {}", admin_url_, PQerrorMessage(conn.get())));
  }
  std::unique_ptr<PGresult, ResultClearer> r(PQexec(
      conn.get(),
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, w.wal_records, w.wal_fpi, "
      "w.wal_write, w.wal_sync, (SELECT sum(xact_commit) FROM pg_stat_database)::bigint "
      "FROM pg_stat_wal w"));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
    return absl::InternalError(
        fmt::format("reading pg_stat_wal: {}", PQresultErrorMessage(r.get())));
  }
  auto field = [&](int i) { return std::atoll(PQgetvalue(r.get(), 0, i)); };
  PostgresCounters c;
  c.wal_bytes = field(0);
  c.wal_records = field(1);
  c.wal_fpi = field(2);
  c.wal_write = field(3);
  c.wal_sync = field(4);
  c.xact_commit = field(5);
  return c;
}

}  // namespace handoff::bench
