// Runs the real `handoff serve` binary for one benchmark run: a fresh directory with the bench
// config and a new SQLite file (or a PostgreSQL database several nodes share), the server on a
// free loopback port, and what the benchmark asks of it (its accepted count and queue depths over
// the API, its memory from /proc). Not thread-safe: one thread drives it.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace handoff::bench {

constexpr char kBenchSource[] = "bench";
constexpr char kBenchToken[] = "bench-token-0123456789abcdef";
constexpr char kBenchAdminToken[] = "bench-admin-token-0123456789";

// The workspace config of every run: one `json` source `bench` (token), one `webhook`
// destination at `sink_url` (allow_private), and one route from the source to it.
std::string BenchConfig(const std::string& sink_url, int http_threads);

// The same, with tasks due `task_due` after their inquiry and the leak rules run every
// `scan_every` (the backlog phase: tasks overdue by the thousand for the first scan to find).
std::string BenchConfig(const std::string& sink_url, int http_threads, const std::string& task_due,
                        const std::string& scan_every);

class HandoffServer {
 public:
  // `parent_dir` is where the run's own directory is made; `keep` leaves it behind.
  HandoffServer(std::string binary, std::string parent_dir, bool keep);
  ~HandoffServer();  // kills the server if it still runs, removes the directory unless kept

  HandoffServer(const HandoffServer&) = delete;
  HandoffServer& operator=(const HandoffServer&) = delete;

  // Writes `config_yaml`, starts the server on 127.0.0.1:0 with a new SQLite database (or, when
  // `db_url` is not empty, on that database: `postgresql://…`), and waits until /readyz answers
  // 200 (up to 30 s).
  absl::Status Start(const std::string& config_yaml, const std::string& db_url = "");
  // SIGTERM and wait (up to 60 s, then SIGKILL); OK only on a clean exit 0.
  absl::Status Stop();

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  std::string BaseUrl() const;
  const std::string& dir() const { return dir_; }
  std::string DbPath() const { return dir_ + "/bench.db"; }
  // The last `max_bytes` of the server's log.
  std::string LogTail(size_t max_bytes = 4000) const;

  // Inquiries the bench source accepted so far (the server's own durable entry counter).
  absl::StatusOr<int64_t> AcceptedCount() const;
  // Queue depths from /readyz, e.g. {"enrich":0,"trigger":3,"transfer":120}.
  absl::StatusOr<std::map<std::string, int64_t>> QueueDepths() const;

 private:
  std::string binary_;
  std::string dir_;
  bool keep_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace handoff::bench
