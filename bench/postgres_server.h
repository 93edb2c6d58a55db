// The benchmark's PostgreSQL 15 server: one throwaway cluster per benchmark run, started with a
// production server's durability (fsync, full_page_writes and synchronous_commit on; see
// tests/support/postgres_cluster.h) in a directory of its own, a fresh database per measured
// run, and what the benchmark asks of it: the CPU its processes used, and how much WAL it wrote
// and flushed. Not thread-safe: one thread drives it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"

namespace handoff::bench {

// Cluster-wide counters at one moment, to subtract.
struct PostgresCounters {
  int64_t wal_bytes = 0;  // pg_current_wal_lsn() in bytes (exact, immediate)
  // pg_stat_wal (flushed by each backend at most once a second: read them a second or more
  // after the work of interest).
  int64_t wal_records = 0;
  int64_t wal_fpi = 0;      // full-page images
  int64_t wal_write = 0;    // WAL buffers written out
  int64_t wal_sync = 0;     // WAL files flushed to disk (fdatasync)
  int64_t xact_commit = 0;  // pg_stat_database, every database: committed transactions
};

class PostgresServer {
 public:
  // `parent_dir` is where the cluster's directory is made; `keep` leaves its log behind.
  PostgresServer(std::string parent_dir, bool keep);
  ~PostgresServer();  // stops the cluster if it still runs and removes its directory

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // initdb and start (durable settings); returns once it accepts connections.
  absl::Status Start();
  absl::Status Stop();

  const std::string& dir() const { return dir_; }
  const std::string& admin_url() const { return admin_url_; }

  // A new, empty database; its URL. handoff creates its tables on first start.
  absl::StatusOr<std::string> CreateDatabase();
  absl::Status DropDatabase(const std::string& url);

  // CPU time (user + system) used so far by the postmaster and every process it started
  // (backends, WAL writer, checkpointer, autovacuum…), exited ones included.
  std::optional<Micros> CpuMicros() const;
  absl::StatusOr<PostgresCounters> Counters() const;

 private:
  std::string dir_;
  bool keep_;
  std::string admin_url_;
};

}  // namespace handoff::bench
