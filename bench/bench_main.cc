// handoff_bench: the figures of `make bench` (issue 2, docs/PERFORMANCE.md). Starts the real
// `handoff serve` on loopback with a fresh SQLite file per run and an in-process sink as its
// webhook destination, then measures:
//   1. acknowledged inquiries per second at 64 connections (wrk, closed loop), the ack latency
//      there, and the drain until the sink has a delivery for every accepted inquiry;
//   2. the ack latency at 1 connection (wrk);
//   3. end-to-end latency (scheduled send → the sink receiving the delivery) and ack latency
//      at a fixed 1,000 requests/s (open loop, bench/open_loop.cc);
//   4. the server's idle and peak RSS;
// and, for context, the HTTP layer's own ceiling (GET /healthz, no store access).
// Then the same with 1, 2 and 3 `handoff serve` nodes sharing one PostgreSQL database
// (docs/SCALE-OUT.md) on a durable cluster this benchmark starts (bench/postgres_server.h), a
// fresh database per run: the 64 connections split over one wrk per node, the open loop taking
// the nodes in turn; plus where the CPU goes (nodes vs PostgreSQL) and the WAL it writes.
// With --compare B it measures a second binary instead of PostgreSQL: A and B round by round,
// each on its own fresh server, with B / A of the main figures (how PERFORMANCE.md compares).
// It asserts nothing about timing. It exits 1 only when something functionally broke: an
// accepted inquiry never reached the sink, a valid request was refused, the server crashed.

#include <curl/curl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/delivery_sink.h"
#include "bench/handoff_server.h"
#include "bench/measure.h"
#include "bench/open_loop.h"
#include "bench/postgres_server.h"
#include "bench/wrk_runner.h"
#include "fmt/format.h"

namespace handoff::bench {
namespace {

// post_inquiry.lua has 6 distinct runs (area codes): one per wrk process plus the 1-connection
// run must differ, so at most 5 nodes.
constexpr int kMaxNodes = 5;

// The threads a comparison names one by one: the store's writer, the dispatcher, the HTTP I/O
// threads and the benchmark's sink; the rest share a line (core/thread_name.h has the names).
const char* const kMainThreads[] = {"store-writer", "dispatcher", "http-io", kSinkThread};

// "store-writer 131 µs · dispatcher 84 · http-io 50 · sink-http 32 · wal-checkpoint 4 · …",
// most first; threads under 1 µs per inquiry are summed as "others".
std::string ByThread(const std::map<std::string, double>& per_inquiry_us) {
  std::vector<std::pair<double, std::string>> sorted;
  double others = 0;
  for (const auto& [name, us] : per_inquiry_us) {
    if (us >= 1) {
      sorted.emplace_back(us, name);
    } else {
      others += us;
    }
  }
  std::sort(sorted.rbegin(), sorted.rend());
  std::string out;
  for (const auto& [us, name] : sorted) {
    out +=
        fmt::format("{}{} {:.0f}{}", out.empty() ? "" : " · ", name, us, out.empty() ? " µs" : "");
  }
  if (others >= 0.05) out += fmt::format(" · others {:.1f}", others);
  return out.empty() ? "—" : out;
}

struct Options {
  std::string handoff = HANDOFF_BINARY;
  std::string wrk = "wrk";
  std::string lua = HANDOFF_BENCH_DIR "/post_inquiry.lua";
  std::string ceiling_lua = HANDOFF_BENCH_DIR "/http_ceiling.lua";
  std::string dir = "/tmp";
  std::vector<int> http_threads = {1, 2};
  std::vector<int> postgres_nodes = {1, 2, 3};
  int postgres_http_threads = 1;
  // The open-loop rate of the PostgreSQL deployments (and of the SQLite reference beside them).
  double postgres_rate = 100;
  int runs = 3;
  int connections = 64;
  int wrk_threads = 2;
  int duration_s = 10;
  int single_duration_s = 5;
  double rate = 1000;
  int rate_duration_s = 10;
  int rate_runs = 3;
  int drain_timeout_s = 300;
  // The leak backlog phase: seconds of load that leave overdue tasks behind (0: no phase), then
  // seconds of one connection while the first scans find them.
  int backlog_s = 10;
  int backlog_measure_s = 20;
  bool keep = false;
  // --compare: a second handoff binary measured round by round beside `handoff`.
  std::string compare;
};

// What one column of figures runs against.
struct Deployment {
  int http_threads = 1;
  int nodes = 1;                 // `handoff serve` processes
  bool postgres = false;         // the nodes share a PostgreSQL database; otherwise one SQLite file
  std::string handoff = "";      // the binary the nodes run; "" = Options::handoff
  std::string tag = "";          // which binary of a --compare run ("A", "B"); "" otherwise
  std::string task_due = "15m";  // the route's task due time (BenchConfig)
  std::string scan_every = "15s";  // how often the leak rules run
  std::string sqlite_url = "";     // an existing SQLite database to serve; "" = a new one
  std::string Label() const {
    const std::string of = tag.empty() ? "" : fmt::format(" {}", tag);
    if (!postgres) return fmt::format("http_threads={}{}", http_threads, of);
    return fmt::format("postgres {} node{}{}", nodes, nodes == 1 ? "" : "s", of);
  }
};

// The leak backlog phase of one binary (Bench::RunBacklog).
struct BacklogRun {
  std::string tag;
  int64_t overdue = 0;  // inquiries whose task was overdue when the scans began
  int64_t opened = 0;   // leaks the first scan reported opening
  WrkResult single;     // one connection through the first two scans
};

// Figures of the PostgreSQL server itself over one throughput run (load + drain).
struct PostgresFigures {
  double cores_load = 0;          // postgres CPU time / wall time, during the load
  double cpu_per_inquiry_us = 0;  // postgres CPU from the load's start to the drain's end
  double wal_bytes_per_inquiry = 0;
  double fpi_per_inquiry = 0;  // full-page images
  double wal_syncs_per_s = 0;  // WAL flushes per second of load + drain
  double inquiries_per_wal_sync = 0;
  double commits_per_inquiry = 0;  // every committed transaction, reads included
};

// One fresh deployment: 64-connection throughput, drain, then 1-connection latency.
struct ThroughputRun {
  // The 64-connection load: the sum of the wrk processes (one per node); its p50 and p99 are
  // the highest of theirs.
  WrkResult loaded;
  double acked_per_s = 0;  // the sum of each wrk process's acked/s
  int64_t accepted = 0;    // the server's own count after the loaded phase
  Micros drain = 0;        // last first delivery − end of load (0 if none was left)
  double end_to_end_per_s = 0;
  double server_cores_load = 0;   // every node's CPU time / wall time, during the load
  double server_cores_drain = 0;  // … during the drain
  double wrk_cores = 0;
  // The nodes' CPU time from the start of the load to the end of the drain, per accepted
  // inquiry: the whole pipeline's cost of one inquiry, less affected by other load than the
  // rates are.
  double server_cpu_per_inquiry_us = 0;
  // The same per server thread name (summed over the nodes), and for the benchmark's sink
  // ("sink-http"), which shares the cores.
  std::map<std::string, double> cpu_by_thread_us;
  std::optional<PostgresFigures> postgres;
  WrkResult single;
  int64_t idle_rss_kib = 0;  // the highest of the nodes'
  int64_t peak_rss_kib = 0;
  int64_t duplicates = 0;
};

struct OpenLoopRun {
  std::optional<WrkResult> http_ceiling;  // GET /healthz on the same server, before the load
  OpenLoopResult load;
  std::vector<Micros> end_to_end;
  Micros e2e_p50 = 0, e2e_p99 = 0, ack_p50 = 0, ack_p99 = 0;
  int64_t peak_rss_kib = 0;
  int64_t duplicates = 0;
};

struct DeploymentResult {
  Deployment deployment;
  std::vector<ThroughputRun> runs;
  std::vector<OpenLoopRun> open_loops;
};

// The `handoff serve` nodes of one run: one on a fresh SQLite file, or several on a fresh
// PostgreSQL database, which it drops at the end. Not thread-safe.
class Nodes {
 public:
  Nodes(const Options& options, PostgresServer* postgres)
      : options_(options), postgres_(postgres) {}
  ~Nodes() {
    servers_.clear();  // kills what still runs
    if (!db_url_.empty()) (void)postgres_->DropDatabase(db_url_);
  }

  absl::Status Start(const Deployment& d, const std::string& sink_url) {
    if (d.postgres) {
      if (postgres_ == nullptr) return absl::FailedPreconditionError("no PostgreSQL cluster");
      auto url = postgres_->CreateDatabase();
      if (!url.ok()) return url.status();
      db_url_ = *url;
    }
    for (int i = 0; i < d.nodes; ++i) {
      servers_.push_back(std::make_unique<HandoffServer>(
          d.handoff.empty() ? options_.handoff : d.handoff, options_.dir, options_.keep));
      auto s =
          servers_.back()->Start(BenchConfig(sink_url, d.http_threads, d.task_due, d.scan_every),
                                 d.sqlite_url.empty() ? db_url_ : d.sqlite_url);
      if (!s.ok())
        return absl::InternalError(fmt::format("node {}: {}", i + 1, std::string(s.message())));
    }
    return absl::OkStatus();
  }

  // SIGTERM to every node at once, then each must exit 0.
  absl::Status Stop() {
    std::vector<std::thread> stops;
    std::vector<absl::Status> results(servers_.size());
    for (size_t i = 0; i < servers_.size(); ++i) {
      stops.emplace_back([&, i] { results[i] = servers_[i]->Stop(); });
    }
    for (auto& t : stops) t.join();
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok()) {
        return absl::InternalError(
            fmt::format("node {}: {}", i + 1, std::string(results[i].message())));
      }
    }
    return absl::OkStatus();
  }

  int size() const { return static_cast<int>(servers_.size()); }
  HandoffServer& node(int i) { return *servers_[static_cast<size_t>(i)]; }
  // Any node answers for the whole database.
  HandoffServer& first() { return *servers_.front(); }

  Micros CpuMicros() const {
    Micros total = 0;
    for (const auto& s : servers_) total += ProcCpuMicros(s->pid()).value_or(0);
    return total;
  }
  // Every node's threads' CPU by thread name, and the benchmark's own sink thread.
  std::map<std::string, Micros> ThreadCpuMicrosWithSink() const {
    std::map<std::string, Micros> total;
    for (const auto& s : servers_) {
      for (const auto& [name, us] : ThreadCpuMicros(s->pid())) total[name] += us;
    }
    const auto own = ThreadCpuMicros(getpid());
    if (auto sink = own.find(kSinkThread); sink != own.end()) total[kSinkThread] = sink->second;
    return total;
  }
  // The highest of the nodes' /proc/PID/status `field`.
  int64_t MaxStatusKib(const std::string& field) const {
    int64_t most = 0;
    for (const auto& s : servers_)
      most = std::max(most, ProcStatusKib(s->pid(), field).value_or(0));
    return most;
  }
  std::string LogTails() const {
    std::string out;
    for (size_t i = 0; i < servers_.size(); ++i) {
      if (servers_.size() > 1) out += fmt::format("--- node {} ---\n", i + 1);
      out += servers_[i]->LogTail(servers_.size() > 1 ? 2000 : 4000);
    }
    return out;
  }

 private:
  const Options& options_;
  PostgresServer* postgres_;
  std::string db_url_;
  std::vector<std::unique_ptr<HandoffServer>> servers_;
};

// The combined figures of wrk processes run side by side.
WrkResult SumOf(const std::vector<WrkResult>& parts) {
  WrkResult sum = parts.front();
  for (size_t i = 1; i < parts.size(); ++i) {
    const WrkResult& p = parts[i];
    sum.requests += p.requests;
    sum.status_errors += p.status_errors;
    sum.socket_errors += p.socket_errors;
    sum.timeouts += p.timeouts;
    sum.duration = std::max(sum.duration, p.duration);
    sum.p50 = std::max(sum.p50, p.p50);
    sum.p90 = std::max(sum.p90, p.p90);
    sum.p99 = std::max(sum.p99, p.p99);
    sum.p999 = std::max(sum.p999, p.p999);
    sum.max = std::max(sum.max, p.max);
    sum.started = std::min(sum.started, p.started);
    sum.ended = std::max(sum.ended, p.ended);
    sum.wrk_cpu += p.wrk_cpu;
  }
  return sum;
}

// Runs the phases for one deployment against fresh servers and collects their figures;
// records every functional failure instead of stopping. Not thread-safe: one thread drives it.
class Bench {
 public:
  Bench(Options options, DeliverySink* sink) : options_(std::move(options)), sink_(sink) {}

  // The cluster the PostgreSQL deployments use (nullptr: none).
  void set_postgres(PostgresServer* postgres) { postgres_ = postgres; }

  // Everything functional that went wrong; empty when all was well.
  const std::vector<std::string>& failures() const { return failures_; }

  void Fail(std::string what) {
    std::printf("  FAILED: %s\n", what.c_str());
    std::fflush(stdout);
    failures_.push_back(std::move(what));
  }

  // The throughput runs, then the open-loop runs at `rate`.
  DeploymentResult RunAll(const Deployment& d, double rate) {
    DeploymentResult result;
    result.deployment = d;
    for (int r = 0; r < options_.runs; ++r) {
      auto run = RunThroughput(d, r);
      if (run.has_value()) result.runs.push_back(*run);
    }
    result.open_loops = RunOpenLoops(d, rate);
    return result;
  }

  // Round r of a --compare run: throughput run r (while r < runs), then open-loop run r (while
  // r < rate_runs), added to `into`.
  void RunRound(DeploymentResult& into, double rate, int r) {
    if (r < options_.runs) {
      auto run = RunThroughput(into.deployment, r);
      if (run.has_value()) into.runs.push_back(*run);
    }
    if (r < options_.rate_runs) {
      auto run = RunOpen(into.deployment, rate, r);
      if (run.has_value()) into.open_loops.push_back(std::move(*run));
    }
  }

  // The leak backlog phase: what an acknowledgement waits for while the leak rules find a
  // backlog. `backlog_s` of load at 64 connections on a config whose tasks are due a second
  // after their inquiry and whose rules run hourly (one scan at start, on an empty file), then
  // the same file served with the rules every 15 s, where the first scan finds every task
  // overdue and opens a leak for each, while one connection posts for `backlog_measure_s`
  // (the first scan and the one after). SQLite, http_threads 1.
  std::optional<BacklogRun> RunBacklog(const std::string& binary, const std::string& tag) {
    const std::string phase = fmt::format("leak backlog{}", tag.empty() ? "" : " " + tag);
    sink_->Reset();
    Nodes aged(options_, nullptr);
    Deployment d{.http_threads = 1, .handoff = binary, .tag = tag};
    d.task_due = "1s";
    d.scan_every = "1h";
    if (auto s = aged.Start(d, sink_->url()); !s.ok()) {
      Fail(fmt::format("{}: {}", phase, std::string(s.message())));
      return std::nullopt;
    }
    WrkOptions load;
    load.wrk = options_.wrk;
    load.lua = options_.lua;
    load.url = aged.first().BaseUrl() + "/in/" + kBenchSource;
    load.token = kBenchToken;
    load.threads = options_.wrk_threads;
    load.connections = options_.connections;
    load.duration_s = options_.backlog_s;
    load.output_path = aged.first().dir() + "/wrk-backlog.txt";
    auto loaded = RunWrk(load);
    if (!loaded.ok()) {
      Fail(fmt::format("{}: {}", phase, std::string(loaded.status().message())));
      return std::nullopt;
    }
    CheckWrk(*loaded, phase);
    auto accepted = WaitForDrain(aged, loaded->acked(), phase);
    if (!accepted.has_value()) return std::nullopt;
    if (auto s = aged.Stop(); !s.ok()) {
      Fail(fmt::format("{}: {}", phase, std::string(s.message())));
      return std::nullopt;
    }

    // Every task is due a second after its inquiry: let the last ones fall due too.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    BacklogRun run;
    run.tag = tag;
    run.overdue = *accepted;
    Nodes scanned(options_, nullptr);
    d.scan_every = "15s";
    d.sqlite_url = "sqlite:" + aged.first().DbPath();
    if (auto s = scanned.Start(d, sink_->url()); !s.ok()) {
      Fail(fmt::format("{}: restarting on the aged file: {}", phase, std::string(s.message())));
      return std::nullopt;
    }
    WrkOptions single = load;
    single.url = scanned.first().BaseUrl() + "/in/" + kBenchSource;
    single.run = 1;
    single.threads = 1;
    single.connections = 1;
    single.duration_s = options_.backlog_measure_s;
    single.output_path = scanned.first().dir() + "/wrk-backlog-1.txt";
    auto measured = RunWrk(single);
    if (!measured.ok()) {
      Fail(fmt::format("{} (1 connection): {}", phase, std::string(measured.status().message())));
      return std::nullopt;
    }
    run.single = *measured;
    CheckWrk(run.single, phase + " (1 connection)");
    // The first scan's report: "leaks: N open (N new, 0 closed)".
    const std::string log = scanned.first().LogTail(1 << 20);
    const size_t at = log.find("leaks: ");
    if (at != std::string::npos) {
      const size_t open_paren = log.find('(', at);
      if (open_paren != std::string::npos) {
        run.opened = std::strtoll(log.c_str() + open_paren + 1, nullptr, 10);
      }
    }
    if (run.opened < run.overdue) {
      Fail(fmt::format("{}: the first scan opened {} leaks for {} overdue tasks", phase, run.opened,
                       run.overdue));
    }
    if (auto s = scanned.Stop(); !s.ok()) {
      Fail(fmt::format("{}: {}", phase, std::string(s.message())));
    }
    std::printf(
        "  %s: %s overdue tasks, %s leaks opened by the first scan; 1 conn for %d s through the "
        "first two scans: %s acked, ack p50 %s p99 %s p99.9 %s max %s\n",
        phase.c_str(), Thousands(static_cast<double>(run.overdue)).c_str(),
        Thousands(static_cast<double>(run.opened)).c_str(), options_.backlog_measure_s,
        Thousands(static_cast<double>(run.single.acked())).c_str(), Ms(run.single.p50).c_str(),
        Ms(run.single.p99).c_str(), Ms(run.single.p999).c_str(), Ms(run.single.max).c_str());
    std::fflush(stdout);
    return run;
  }

  std::vector<OpenLoopRun> RunOpenLoops(const Deployment& d, double rate) {
    std::vector<OpenLoopRun> runs;
    for (int r = 0; r < options_.rate_runs; ++r) {
      auto run = RunOpen(d, rate, r);
      if (run.has_value()) runs.push_back(std::move(*run));
    }
    return runs;
  }

 private:
  // Waits until the sink has a first delivery for every inquiry the server accepted (its own
  // durable count, which also covers requests wrk gave up on after the server committed them).
  // Returns the accepted count, or nullopt (after recording the failure) on timeout.
  std::optional<int64_t> WaitForDrain(Nodes& nodes, int64_t acked_by_client,
                                      const std::string& phase) {
    Micros deadline = MonotonicMicros() + options_.drain_timeout_s * kMicrosPerSecond;
    int64_t accepted = 0;
    while (true) {
      auto count = nodes.first().AcceptedCount();
      if (count.ok()) accepted = *count;
      int64_t delivered = sink_->distinct();
      if (sink_->malformed() > 0) {
        // The sink answered 400 to those, so they will never count as delivered.
        Fail(fmt::format("{}: {} deliveries had no inquiry.id in their body", phase,
                         sink_->malformed()));
        return std::nullopt;
      }
      // Requests in flight when wrk stopped may still be committed and delivered between the
      // two reads above: only a count that held still across the sink's read is compared.
      auto held = [&] {
        auto again = nodes.first().AcceptedCount();
        return again.ok() && *again == accepted;
      };
      if (count.ok() && accepted >= acked_by_client && delivered >= accepted && held()) {
        if (delivered > accepted) {
          Fail(fmt::format("{}: the sink got {} distinct inquiries but the server accepted {}",
                           phase, delivered, accepted));
        }
        return accepted;
      }
      if (MonotonicMicros() > deadline) {
        std::string queues;
        if (auto q = nodes.first().QueueDepths(); q.ok()) {
          for (const auto& [name, n] : *q) queues += fmt::format(" {}={}", name, n);
        }
        Fail(fmt::format(
            "{}: after {} s the sink has {} of the {} accepted inquiries ({} acked to the "
            "client); queues:{}\n{}",
            phase, options_.drain_timeout_s, delivered, accepted, acked_by_client, queues,
            nodes.LogTails()));
        return std::nullopt;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }

  void CheckWrk(const WrkResult& w, const std::string& phase) {
    if (w.status_errors > 0) {
      Fail(fmt::format("{}: {} of {} valid requests were refused (non-2xx)", phase, w.status_errors,
                       w.requests));
    }
    if (w.socket_errors > 0 || w.timeouts > 0) {
      std::printf("  note: %s: %lld socket errors, %lld timeouts (wrk gives up after 2 s)\n",
                  phase.c_str(), static_cast<long long>(w.socket_errors),
                  static_cast<long long>(w.timeouts));
    }
  }

  // options_.connections in total, split over one wrk process per node (run i posts with
  // post_inquiry.lua's run number i), all at once; each process's figures.
  absl::StatusOr<std::vector<WrkResult>> RunLoadedWrk(Nodes& nodes) {
    const int n = nodes.size();
    std::vector<WrkOptions> wrks(static_cast<size_t>(n));
    std::vector<absl::StatusOr<WrkResult>> results(static_cast<size_t>(n),
                                                   absl::UnknownError("not run"));
    for (int i = 0; i < n; ++i) {
      WrkOptions& wrk = wrks[static_cast<size_t>(i)];
      wrk.wrk = options_.wrk;
      wrk.lua = options_.lua;
      wrk.url = nodes.node(i).BaseUrl() + "/in/" + kBenchSource;
      wrk.token = kBenchToken;
      wrk.run = i;
      wrk.connections = options_.connections / n + (i < options_.connections % n ? 1 : 0);
      wrk.threads = std::min(wrk.connections, std::max(1, options_.wrk_threads / n));
      wrk.duration_s = options_.duration_s;
      wrk.output_path = nodes.node(i).dir() + "/wrk-64.txt";
    }
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back(
          [&, i] { results[static_cast<size_t>(i)] = RunWrk(wrks[static_cast<size_t>(i)]); });
    }
    for (auto& t : threads) t.join();
    std::vector<WrkResult> parts;
    for (int i = 0; i < n; ++i) {
      auto& r = results[static_cast<size_t>(i)];
      if (!r.ok()) {
        return absl::Status(r.status().code(), fmt::format("wrk on node {}: {}", i + 1,
                                                           std::string(r.status().message())));
      }
      parts.push_back(*r);
    }
    return parts;
  }

  std::optional<ThroughputRun> RunThroughput(const Deployment& d, int r) {
    const std::string phase = fmt::format("{} run {}/{}", d.Label(), r + 1, options_.runs);
    sink_->Reset();
    Nodes nodes(options_, postgres_);
    if (auto s = nodes.Start(d, sink_->url()); !s.ok()) {
      Fail(fmt::format("{}: {}", phase, std::string(s.message())));
      return std::nullopt;
    }
    ThroughputRun run;
    // Let start-up allocations settle before calling the RSS "idle".
    std::this_thread::sleep_for(std::chrono::seconds(1));
    run.idle_rss_kib = nodes.MaxStatusKib("VmRSS");

    std::optional<PostgresCounters> pg_before;
    Micros pg_cpu_before = 0;
    if (d.postgres) {
      if (auto c = postgres_->Counters(); c.ok()) pg_before = *c;
      pg_cpu_before = postgres_->CpuMicros().value_or(0);
    }
    Micros cpu_before = nodes.CpuMicros();
    const std::map<std::string, Micros> threads_before = nodes.ThreadCpuMicrosWithSink();
    auto parts = RunLoadedWrk(nodes);
    if (!parts.ok()) {
      Fail(fmt::format("{}: {}", phase, std::string(parts.status().message())));
      return std::nullopt;
    }
    Micros cpu_loaded = nodes.CpuMicros();
    Micros pg_cpu_loaded = d.postgres ? postgres_->CpuMicros().value_or(0) : 0;
    run.loaded = SumOf(*parts);
    for (const auto& p : *parts) run.acked_per_s += p.per_second();
    CheckWrk(run.loaded, phase);
    auto accepted = WaitForDrain(nodes, run.loaded.acked(), phase);
    if (!accepted.has_value()) return std::nullopt;
    Micros drained_at = MonotonicMicros();
    Micros cpu_drained = nodes.CpuMicros();
    const std::map<std::string, Micros> threads_drained = nodes.ThreadCpuMicrosWithSink();
    Micros pg_cpu_drained = d.postgres ? postgres_->CpuMicros().value_or(0) : 0;
    run.accepted = *accepted;
    Micros last = sink_->last_first_delivery();
    run.drain = std::max<Micros>(0, last - run.loaded.ended);
    run.end_to_end_per_s =
        static_cast<double>(run.accepted) * kMicrosPerSecond / (last - run.loaded.started);
    Micros load_wall = run.loaded.ended - run.loaded.started;
    run.server_cores_load = static_cast<double>(cpu_loaded - cpu_before) / load_wall;
    run.server_cores_drain = static_cast<double>(cpu_drained - cpu_loaded) /
                             std::max<Micros>(1, drained_at - run.loaded.ended);
    run.wrk_cores = static_cast<double>(run.loaded.wrk_cpu) / load_wall;
    if (run.accepted > 0) {
      run.server_cpu_per_inquiry_us =
          static_cast<double>(cpu_drained - cpu_before) / static_cast<double>(run.accepted);
      for (const auto& [name, us] : threads_drained) {
        auto before = threads_before.find(name);
        const Micros used = us - (before != threads_before.end() ? before->second : 0);
        run.cpu_by_thread_us[name] = static_cast<double>(used) / static_cast<double>(run.accepted);
      }
    }
    if (d.postgres) {
      PostgresFigures pg;
      const double accepted_d = static_cast<double>(std::max<int64_t>(1, run.accepted));
      pg.cores_load = static_cast<double>(pg_cpu_loaded - pg_cpu_before) / load_wall;
      pg.cpu_per_inquiry_us = static_cast<double>(pg_cpu_drained - pg_cpu_before) / accepted_d;
      // pg_stat_wal is flushed by each backend at most once a second: let it catch up. (What
      // the idle nodes commit meanwhile is little: lease renewals, polls.)
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      auto after = postgres_->Counters();
      if (pg_before.has_value() && after.ok()) {
        pg.wal_bytes_per_inquiry =
            static_cast<double>(after->wal_bytes - pg_before->wal_bytes) / accepted_d;
        pg.fpi_per_inquiry = static_cast<double>(after->wal_fpi - pg_before->wal_fpi) / accepted_d;
        const auto syncs = static_cast<double>(after->wal_sync - pg_before->wal_sync);
        pg.wal_syncs_per_s =
            syncs * kMicrosPerSecond / std::max<Micros>(1, drained_at - run.loaded.started);
        pg.inquiries_per_wal_sync = syncs > 0 ? accepted_d / syncs : 0;
        pg.commits_per_inquiry =
            static_cast<double>(after->xact_commit - pg_before->xact_commit) / accepted_d;
      }
      run.postgres = pg;
    }
    run.duplicates = sink_->duplicates();

    // One connection to the first node, with a run number no loaded wrk used.
    WrkOptions wrk;
    wrk.wrk = options_.wrk;
    wrk.lua = options_.lua;
    wrk.url = nodes.first().BaseUrl() + "/in/" + kBenchSource;
    wrk.token = kBenchToken;
    wrk.run = nodes.size();
    wrk.threads = 1;
    wrk.connections = 1;
    wrk.duration_s = options_.single_duration_s;
    wrk.output_path = nodes.first().dir() + "/wrk-1.txt";
    auto single = RunWrk(wrk);
    if (!single.ok()) {
      Fail(fmt::format("{} (1 connection): {}", phase, std::string(single.status().message())));
      return std::nullopt;
    }
    run.single = *single;
    CheckWrk(run.single, phase + " (1 connection)");
    auto accepted_all =
        WaitForDrain(nodes, run.accepted + run.single.acked(), phase + " (1 connection)");
    if (!accepted_all.has_value()) return std::nullopt;
    run.duplicates = sink_->duplicates();
    run.peak_rss_kib = nodes.MaxStatusKib("VmHWM");
    if (auto s = nodes.Stop(); !s.ok())
      Fail(fmt::format("{}: {}", phase, std::string(s.message())));

    std::printf(
        "  %s: %s acked/s (%s in %.1f s), ack p50 %s p99 %s; drained %.2f s after the load → "
        "%s delivered/s end to end; 1 conn: p50 %s p99 %s; server %.2f cores under load, "
        "%.2f while draining, %.0f µs CPU per inquiry, wrk %.2f; RSS %s idle, %s peak\n",
        phase.c_str(), Thousands(run.acked_per_s).c_str(),
        Thousands(static_cast<double>(run.loaded.acked())).c_str(),
        static_cast<double>(run.loaded.duration) / kMicrosPerSecond, Ms(run.loaded.p50).c_str(),
        Ms(run.loaded.p99).c_str(), static_cast<double>(run.drain) / kMicrosPerSecond,
        Thousands(run.end_to_end_per_s).c_str(), Ms(run.single.p50).c_str(),
        Ms(run.single.p99).c_str(), run.server_cores_load, run.server_cores_drain,
        run.server_cpu_per_inquiry_us, run.wrk_cores, Mib(run.idle_rss_kib).c_str(),
        Mib(run.peak_rss_kib).c_str());
    std::printf("    CPU per inquiry by thread: %s\n", ByThread(run.cpu_by_thread_us).c_str());
    if (run.postgres.has_value()) {
      const PostgresFigures& pg = *run.postgres;
      std::printf(
          "    postgres: %.2f cores under load, %.0f µs CPU per inquiry; WAL %s per inquiry "
          "(%.2f full-page images), %.0f WAL flushes/s (%.1f inquiries each), %.1f commits per "
          "inquiry\n",
          pg.cores_load, pg.cpu_per_inquiry_us,
          fmt::format("{:.1f} KiB", pg.wal_bytes_per_inquiry / 1024).c_str(), pg.fpi_per_inquiry,
          pg.wal_syncs_per_s, pg.inquiries_per_wal_sync, pg.commits_per_inquiry);
    }
    std::fflush(stdout);
    return run;
  }

  // One fresh deployment at a fixed rate, the open loop taking the nodes in turn; the first
  // SQLite run also measures the HTTP ceiling.
  std::optional<OpenLoopRun> RunOpen(const Deployment& d, double rate, int r) {
    const std::string phase = fmt::format("{} open loop at {}/s, run {}/{}", d.Label(),
                                          Thousands(rate), r + 1, options_.rate_runs);
    sink_->Reset();
    Nodes nodes(options_, postgres_);
    if (auto s = nodes.Start(d, sink_->url()); !s.ok()) {
      Fail(fmt::format("{}: {}", phase, std::string(s.message())));
      return std::nullopt;
    }
    OpenLoopOptions load;
    for (int i = 0; i < nodes.size(); ++i) {
      load.urls.push_back(nodes.node(i).BaseUrl() + "/in/" + kBenchSource);
    }
    load.headers = {"Content-Type: application/json",
                    std::string("X-Handoff-Token: ") + kBenchToken};
    OpenLoopRun run;
    WrkOptions ceiling;
    ceiling.wrk = options_.wrk;
    ceiling.lua = options_.ceiling_lua;
    ceiling.url = nodes.first().BaseUrl() + "/healthz";
    ceiling.threads = options_.wrk_threads;
    ceiling.connections = options_.connections;
    ceiling.duration_s = options_.single_duration_s;
    ceiling.output_path = nodes.first().dir() + "/wrk-healthz.txt";
    if (r > 0 || d.postgres || rate != options_.rate) {
      // Measured once per http_threads value, on SQLite (the HTTP layer is the same).
    } else if (auto c = RunWrk(ceiling); c.ok()) {
      run.http_ceiling = *c;
      std::printf(
          "  http_threads=%d HTTP ceiling: GET /healthz %s/s at %d connections, p50 %s p99 %s\n",
          d.http_threads, Thousands(c->per_second()).c_str(), options_.connections,
          Ms(c->p50).c_str(), Ms(c->p99).c_str());
    } else {
      Fail(fmt::format("{}: GET /healthz: {}", phase, std::string(c.status().message())));
    }
    load.rate = rate;
    load.duration_s = options_.rate_duration_s;
    // The same shape of body as post_inquiry.lua, distinct per request.
    load.body = [](int64_t n) {
      return fmt::format(
          R"({{"name":"  Open Loop {0} ","email":"OL-{0}@Example.com","phone":"(707) 5{1:02d}-{2:04d}",)"
          R"("message":"Water heater leaking in the garage, please call back today.",)"
          R"("service":"water heater"}})",
          n, (n / 10000) % 100, n % 10000);
    };
    auto result = RunOpenLoop(load);
    if (!result.ok()) {
      Fail(fmt::format("{}: {}", phase, std::string(result.status().message())));
      return std::nullopt;
    }
    run.load = std::move(*result);
    if (run.load.failed > 0) {
      Fail(fmt::format("{}: {} of {} requests were not acknowledged (first: {})", phase,
                       run.load.failed, run.load.sent, run.load.first_failure));
    }
    if (!WaitForDrain(nodes, run.load.acked, phase).has_value()) return std::nullopt;
    auto arrivals = sink_->arrivals();
    run.end_to_end.reserve(run.load.sent_at.size());
    for (const auto& [id, sent] : run.load.sent_at) {
      auto it = arrivals.find(id);
      if (it == arrivals.end()) {
        Fail(fmt::format("{}: acked inquiry {} never reached the sink", phase, id));
        continue;
      }
      run.end_to_end.push_back(it->second - sent);
    }
    run.duplicates = sink_->duplicates();
    run.peak_rss_kib = nodes.MaxStatusKib("VmHWM");
    if (auto s = nodes.Stop(); !s.ok())
      Fail(fmt::format("{}: {}", phase, std::string(s.message())));
    std::vector<Micros> e2e = run.end_to_end;
    std::vector<Micros> ack = run.load.ack_latencies;
    run.e2e_p50 = Percentile(e2e, 50);
    run.e2e_p99 = Percentile(e2e, 99);
    run.ack_p50 = Percentile(ack, 50);
    run.ack_p99 = Percentile(ack, 99);
    std::printf(
        "  %s: %s sent in %.1f s (most in flight %d, worst send lag %s); ack p50 %s p99 %s; "
        "end to end p50 %s p99 %s max %s\n",
        phase.c_str(), Thousands(static_cast<double>(run.load.sent)).c_str(),
        static_cast<double>(run.load.ended - run.load.started) / kMicrosPerSecond,
        run.load.max_in_flight, Ms(run.load.max_send_lag).c_str(), Ms(Percentile(ack, 50)).c_str(),
        Ms(Percentile(ack, 99)).c_str(), Ms(Percentile(e2e, 50)).c_str(),
        Ms(Percentile(e2e, 99)).c_str(), Ms(Percentile(e2e, 100)).c_str());
    std::fflush(stdout);
    return run;
  }

  Options options_;
  DeliverySink* sink_;
  PostgresServer* postgres_ = nullptr;
  std::vector<std::string> failures_;
};

// The median of a figure over the runs, e.g. Med(runs, [](r){ return r.loaded.p99; }).
template <typename Run, typename F>
double Med(const std::vector<Run>& runs, F figure) {
  std::vector<double> values;
  for (const auto& r : runs) values.push_back(static_cast<double>(figure(r)));
  return Median(values);
}

// The median over the runs of one thread's CPU per inquiry (0 for a thread a run lacked).
double MedThread(const std::vector<ThroughputRun>& runs, const std::string& name) {
  return Med(runs, [&name](const ThroughputRun& r) {
    auto it = r.cpu_by_thread_us.find(name);
    return it != r.cpu_by_thread_us.end() ? it->second : 0.0;
  });
}

// "131 / 84 / 50 / 32 µs": kMainThreads' medians.
std::string MainThreads(const std::vector<ThroughputRun>& runs) {
  std::string out;
  for (const char* name : kMainThreads) {
    out += fmt::format("{}{:.0f}", out.empty() ? "" : " / ", MedThread(runs, name));
  }
  return out + " µs";
}

// The cells both tables show, one deployment (or its open-loop runs) at a time.
std::string AckedEachRun(const DeploymentResult& t) {
  std::string s;
  for (const auto& r : t.runs) s += (s.empty() ? "" : " ") + Thousands(r.acked_per_s);
  return s;
}
std::string LoadedAck(const DeploymentResult& t) {
  return fmt::format("{:.2f} / {:.2f} ms",
                     Med(t.runs, [](const auto& r) { return r.loaded.p50; }) / 1000,
                     Med(t.runs, [](const auto& r) { return r.loaded.p99; }) / 1000);
}
std::string Drain(const DeploymentResult& t) {
  return fmt::format("{:.2f} s",
                     Med(t.runs, [](const auto& r) { return r.drain; }) / kMicrosPerSecond);
}
std::string DeliveredPerSecond(const DeploymentResult& t) {
  return Thousands(Med(t.runs, [](const auto& r) { return r.end_to_end_per_s; }));
}
std::string SingleAck(const DeploymentResult& t) {
  return fmt::format("{:.2f} / {:.2f} ms",
                     Med(t.runs, [](const auto& r) { return r.single.p50; }) / 1000,
                     Med(t.runs, [](const auto& r) { return r.single.p99; }) / 1000);
}
std::string ServerCores(const DeploymentResult& t) {
  return fmt::format("{:.2f}", Med(t.runs, [](const auto& r) { return r.server_cores_load; }));
}
std::string OpenLoopEndToEnd(const std::vector<OpenLoopRun>& runs) {
  return fmt::format("{:.2f} / {:.2f} ms",
                     Med(runs, [](const auto& r) { return r.e2e_p50; }) / 1000,
                     Med(runs, [](const auto& r) { return r.e2e_p99; }) / 1000);
}
std::string OpenLoopEndToEndEachRun(const std::vector<OpenLoopRun>& runs) {
  std::string s;
  for (const auto& r : runs) s += fmt::format("{}{:.1f}", s.empty() ? "" : " ", r.e2e_p99 / 1000.0);
  return s + " ms";
}
std::string OpenLoopAck(const std::vector<OpenLoopRun>& runs) {
  return fmt::format("{:.2f} / {:.2f} ms",
                     Med(runs, [](const auto& r) { return r.ack_p50; }) / 1000,
                     Med(runs, [](const auto& r) { return r.ack_p99; }) / 1000);
}

// One row of a figures table: the name, each cell right-aligned in `width` columns, then the
// note. A cell wider than its column (the runs of a row can be) still gets a space before it.
void PrintRow(const std::string& name, const std::vector<std::string>& cells, int width,
              const std::string& note) {
  std::string line = fmt::format("  {:<44}", name);
  for (const auto& c : cells) line += fmt::format(" {:>{}}", c, width - 1);
  line += fmt::format("   {}", note);
  std::printf("%s\n", line.c_str());
}

void PrintTable(const std::vector<DeploymentResult>& results, const Options& o) {
  std::vector<std::string> heads;
  for (const auto& t : results) heads.push_back(t.deployment.Label());
  auto row = [](const std::string& name, const std::vector<std::string>& cells,
                const std::string& target) { PrintRow(name, cells, 20, target); };
  auto per = [&](auto f) {
    std::vector<std::string> cells;
    for (const auto& t : results) cells.push_back(t.runs.empty() ? "—" : f(t));
    return cells;
  };
  auto open = [&](auto f) {
    std::vector<std::string> cells;
    for (const auto& t : results) cells.push_back(t.open_loops.empty() ? "—" : f(t.open_loops));
    return cells;
  };

  std::printf(
      "\nFigures: medians of %d runs of %d s at %d connections (then %d s at 1 connection) and of "
      "%d open-loop runs of %d s at %s/s\n\n",
      o.runs, o.duration_s, o.connections, o.single_duration_s, o.rate_runs, o.rate_duration_s,
      Thousands(o.rate).c_str());
  row("figure", heads, "target");
  row(fmt::format("acked inquiries/s, {} connections", o.connections), per([](const auto& t) {
        return Thousands(Med(t.runs, [](const auto& r) { return r.acked_per_s; }));
      }),
      "≥ 10,000/s (goal 25,000/s)");
  row("  … each run", per(AckedEachRun), "");
  row(fmt::format("ack p50 / p99, {} connections", o.connections), per(LoadedAck), "p99 ≤ 5 ms");
  row("drain after the load stops", per(Drain), "");
  row("delivered/s end to end (accepted/(load+drain))", per(DeliveredPerSecond),
      "every accepted inquiry delivered");
  row("ack p50 / p99, 1 connection", per(SingleAck), "p50 < 1 ms");
  row(fmt::format("end to end p50 / p99 at {}/s", Thousands(o.rate)), open(OpenLoopEndToEnd),
      "p99 ≤ 50 ms");
  row("  … e2e p99 of each run", open(OpenLoopEndToEndEachRun), "");
  row(fmt::format("ack p50 / p99 at {}/s", Thousands(o.rate)), open(OpenLoopAck), "");
  row(fmt::format("context: GET /healthz/s, {} connections", o.connections),
      open([](const auto& runs) {
        return runs[0].http_ceiling ? Thousands(runs[0].http_ceiling->per_second())
                                    : std::string("—");
      }),
      "the HTTP layer alone");
  row("server RSS idle / peak", per([&](const auto& t) {
        int64_t peak = 0;
        for (const auto& r : t.runs) peak = std::max(peak, r.peak_rss_kib);
        for (const auto& r : t.open_loops) peak = std::max(peak, r.peak_rss_kib);
        return fmt::format("{:.0f} / {:.0f} MiB",
                           Med(t.runs, [](const auto& r) { return r.idle_rss_kib; }) / 1024,
                           static_cast<double>(peak) / 1024);
      }),
      "");
  row("server CPU under load (cores)", per(ServerCores), "");
  row("server CPU per inquiry (all threads)", per([](const auto& t) {
        return fmt::format("{:.0f} µs",
                           Med(t.runs, [](const auto& r) { return r.server_cpu_per_inquiry_us; }));
      }),
      "10,000/s on 2 cores needs < 200 µs");
  row("  … writer / dispatcher / HTTP / sink",
      per([](const auto& t) { return MainThreads(t.runs); }),
      "the sink is the benchmark's, on the same cores");
  row("wrk CPU under load (cores)", per([](const auto& t) {
        return fmt::format("{:.2f}", Med(t.runs, [](const auto& r) { return r.wrk_cores; }));
      }),
      "");
  row("duplicate deliveries (same inquiry twice)", per([](const auto& t) {
        int64_t d = 0;
        for (const auto& r : t.runs) d += r.duplicates;
        for (const auto& r : t.open_loops) d += r.duplicates;
        return std::to_string(d);
      }),
      "0 expected (no failures injected)");
}

// B / A of the main figures, for each pair of columns of a --compare run (A, B, A, B, …).
void PrintRatios(const std::vector<DeploymentResult>& results, const Options& o) {
  std::printf("\nB / A (medians; below 1 is B faster for latencies, above 1 for rates)\n");
  for (size_t i = 0; i + 1 < results.size(); i += 2) {
    const DeploymentResult& a = results[i];
    const DeploymentResult& b = results[i + 1];
    auto ratio = [](double of_b, double of_a) {
      return of_a > 0 ? fmt::format("{:.2f}", of_b / of_a) : std::string("—");
    };
    auto runs = [&](auto figure) {
      if (a.runs.empty() || b.runs.empty()) return std::string("—");
      return ratio(Med(b.runs, figure), Med(a.runs, figure));
    };
    auto open = [&](auto figure) {
      if (a.open_loops.empty() || b.open_loops.empty()) return std::string("—");
      return ratio(Med(b.open_loops, figure), Med(a.open_loops, figure));
    };
    std::printf(
        "  http_threads=%d: acked/s %s; ack p50 %s, p99 %s at %d connections; ack p50 %s, p99 "
        "%s at 1 connection; end to end p50 %s, p99 %s at %s/s; CPU per inquiry %s\n",
        a.deployment.http_threads, runs([](const auto& r) { return r.acked_per_s; }).c_str(),
        runs([](const auto& r) { return r.loaded.p50; }).c_str(),
        runs([](const auto& r) { return r.loaded.p99; }).c_str(), o.connections,
        runs([](const auto& r) { return r.single.p50; }).c_str(),
        runs([](const auto& r) { return r.single.p99; }).c_str(),
        open([](const auto& r) { return r.e2e_p50; }).c_str(),
        open([](const auto& r) { return r.e2e_p99; }).c_str(), Thousands(o.rate).c_str(),
        runs([](const auto& r) { return r.server_cpu_per_inquiry_us; }).c_str());
    if (!a.runs.empty() && !b.runs.empty()) {
      std::string by_thread;
      for (const char* name : kMainThreads) {
        by_thread += fmt::format("{}{} {}", by_thread.empty() ? "" : ", ", name,
                                 ratio(MedThread(b.runs, name), MedThread(a.runs, name)));
      }
      std::printf("    CPU per inquiry by thread: %s\n", by_thread.c_str());
    }
    // Runs of one round share the machine's mood: their ratios show how steady a gain is.
    if (!a.runs.empty() && a.runs.size() == b.runs.size()) {
      std::vector<std::string> each;
      size_t ahead = 0;
      for (size_t r = 0; r < a.runs.size(); ++r) {
        each.push_back(ratio(b.runs[r].acked_per_s, a.runs[r].acked_per_s));
        if (b.runs[r].acked_per_s > a.runs[r].acked_per_s) ++ahead;
      }
      std::printf("    acked/s B / A round by round: %s (B ahead in %zu of %zu)\n",
                  fmt::format("{}", fmt::join(each, " · ")).c_str(), ahead, a.runs.size());
    }
  }
}

// PostgreSQL deployments beside the SQLite one measured in the same run (nullptr: none).
void PrintPostgresTable(const std::vector<DeploymentResult>& postgres,
                        const DeploymentResult* sqlite, const Options& o) {
  std::vector<const DeploymentResult*> columns;
  if (sqlite != nullptr) columns.push_back(sqlite);
  for (const auto& p : postgres) columns.push_back(&p);
  std::vector<std::string> heads;
  for (const auto* t : columns) {
    heads.push_back(t->deployment.postgres ? t->deployment.Label()
                                           : fmt::format("sqlite, {}", t->deployment.Label()));
  }
  auto row = [](const std::string& name, const std::vector<std::string>& cells,
                const std::string& note) { PrintRow(name, cells, 22, note); };
  auto per = [&](auto f) {
    std::vector<std::string> cells;
    for (const auto* t : columns) cells.push_back(t->runs.empty() ? "—" : f(*t));
    return cells;
  };
  auto open = [&](auto f) {
    std::vector<std::string> cells;
    for (const auto* t : columns) cells.push_back(t->open_loops.empty() ? "—" : f(t->open_loops));
    return cells;
  };
  // Only the PostgreSQL columns (the SQLite one shows "—").
  auto pg = [&](auto f) {
    std::vector<std::string> cells;
    for (const auto* t : columns) {
      bool has = !t->runs.empty() && t->deployment.postgres && t->runs[0].postgres.has_value();
      cells.push_back(has ? f(*t) : "—");
    }
    return cells;
  };
  auto acked = [](const DeploymentResult& t) {
    return Med(t.runs, [](const auto& r) { return r.acked_per_s; });
  };
  auto e2e_p99 = [](const std::vector<OpenLoopRun>& runs) {
    return Med(runs, [](const auto& r) { return r.e2e_p99; });
  };
  // This column's figure ÷ the SQLite one's.
  auto ratio = [&](const DeploymentResult& t, double value, double sqlite_value) {
    if (sqlite == nullptr || !t.deployment.postgres || sqlite_value <= 0) {
      return std::string("—");
    }
    return fmt::format("{:.2f}×", value / sqlite_value);
  };

  std::printf(
      "\nPostgreSQL (durable cluster: fsync, full_page_writes, synchronous_commit on; a fresh "
      "database per run; server.http_threads %d on every node): medians of %d runs of %d s at "
      "%d connections in total (one wrk per node, %d/N connections each; then %d s at 1 "
      "connection to node 1) and of %d open-loop runs of %d s at %s/s (round robin over the "
      "nodes)\n\n",
      o.postgres_http_threads, o.runs, o.duration_s, o.connections, o.connections,
      o.single_duration_s, o.rate_runs, o.rate_duration_s, Thousands(o.postgres_rate).c_str());
  row("figure", heads, "");
  row(fmt::format("acked inquiries/s, {} connections", o.connections),
      per([&](const auto& t) { return Thousands(acked(t)); }), "wrk per node, summed");
  row("  … each run", per(AckedEachRun), "");
  row("  … ÷ SQLite", per([&](const auto& t) {
        return ratio(t, acked(t), sqlite != nullptr && !sqlite->runs.empty() ? acked(*sqlite) : 0);
      }),
      "");
  row(fmt::format("ack p50 / p99, {} connections", o.connections), per(LoadedAck),
      "the highest of the wrk processes'");
  row("drain after the load stops", per(Drain), "");
  row("delivered/s end to end (accepted/(load+drain))", per(DeliveredPerSecond),
      "every accepted inquiry delivered");
  row("ack p50 / p99, 1 connection", per(SingleAck), "");
  row(fmt::format("end to end p50 / p99 at {}/s", Thousands(o.postgres_rate)),
      open(OpenLoopEndToEnd), "");
  row("  … e2e p99 of each run", open(OpenLoopEndToEndEachRun), "");
  row("  … e2e p99 ÷ SQLite", per([&](const auto& t) {
        if (t.open_loops.empty()) return std::string("—");
        return ratio(
            t, e2e_p99(t.open_loops),
            sqlite != nullptr && !sqlite->open_loops.empty() ? e2e_p99(sqlite->open_loops) : 0);
      }),
      "");
  row(fmt::format("ack p50 / p99 at {}/s", Thousands(o.postgres_rate)), open(OpenLoopAck), "");
  row("handoff CPU under load (cores, all nodes)", per(ServerCores), "");
  row("postgres CPU under load (cores)", pg([](const auto& t) {
        return fmt::format("{:.2f}",
                           Med(t.runs, [](const auto& r) { return r.postgres->cores_load; }));
      }),
      "postmaster and all its processes");
  row("CPU per inquiry: handoff / postgres", per([](const auto& t) {
        double nodes = Med(t.runs, [](const auto& r) { return r.server_cpu_per_inquiry_us; });
        if (!t.deployment.postgres || !t.runs[0].postgres.has_value()) {
          return fmt::format("{:.0f} µs", nodes);
        }
        return fmt::format("{:.0f} / {:.0f} µs", nodes, Med(t.runs, [](const auto& r) {
                             return r.postgres->cpu_per_inquiry_us;
                           }));
      }),
      "load + drain");
  row("WAL per inquiry (full-page images)", pg([](const auto& t) {
        return fmt::format(
            "{:.1f} KiB ({:.2f})",
            Med(t.runs, [](const auto& r) { return r.postgres->wal_bytes_per_inquiry; }) / 1024,
            Med(t.runs, [](const auto& r) { return r.postgres->fpi_per_inquiry; }));
      }),
      "");
  row("WAL flushes/s (inquiries per flush)", pg([](const auto& t) {
        return fmt::format(
            "{:.0f} ({:.1f})",
            Med(t.runs, [](const auto& r) { return r.postgres->wal_syncs_per_s; }),
            Med(t.runs, [](const auto& r) { return r.postgres->inquiries_per_wal_sync; }));
      }),
      "group commit");
  row("transactions committed per inquiry", pg([](const auto& t) {
        return fmt::format(
            "{:.1f}", Med(t.runs, [](const auto& r) { return r.postgres->commits_per_inquiry; }));
      }),
      "reads and claims included");
  row("RSS idle / peak (per node, highest)", per([&](const auto& t) {
        int64_t peak = 0;
        for (const auto& r : t.runs) peak = std::max(peak, r.peak_rss_kib);
        for (const auto& r : t.open_loops) peak = std::max(peak, r.peak_rss_kib);
        return fmt::format("{:.0f} / {:.0f} MiB",
                           Med(t.runs, [](const auto& r) { return r.idle_rss_kib; }) / 1024,
                           static_cast<double>(peak) / 1024);
      }),
      "");
  row("duplicate deliveries (same inquiry twice)", per([](const auto& t) {
        int64_t d = 0;
        for (const auto& r : t.runs) d += r.duplicates;
        for (const auto& r : t.open_loops) d += r.duplicates;
        return std::to_string(d);
      }),
      "0 expected (no failures injected)");
}

// "1,2,3" → {1, 2, 3}; "" or "0" → {}.
std::optional<std::vector<int>> ParseNodeCounts(const std::string& text) {
  std::vector<int> counts;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    char* end = nullptr;
    long n = std::strtol(item.c_str(), &end, 10);
    if (end == item.c_str() || *end != '\0' || n < 0 || n > kMaxNodes) return std::nullopt;
    if (n > 0) counts.push_back(static_cast<int>(n));
  }
  return counts;
}

int Main(int argc, char** argv) {
  Options o;
  std::string postgres_nodes = "1,2,3";
  CLI::App app{"handoff's benchmark: ingest throughput, ack and end-to-end latency, RSS"};
  app.add_option("--handoff", o.handoff, "The handoff binary")->capture_default_str();
  app.add_option("--wrk", o.wrk, "The wrk binary")->capture_default_str();
  app.add_option("--lua", o.lua, "The wrk script that posts inquiries")->capture_default_str();
  app.add_option("--ceiling-lua", o.ceiling_lua, "The wrk script for GET /healthz")
      ->capture_default_str();
  app.add_option("--dir", o.dir,
                 "Where each run's directory and SQLite file (and the PostgreSQL cluster) go")
      ->capture_default_str();
  app.add_option("--http-threads", o.http_threads, "server.http_threads values to measure")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--postgres-nodes", postgres_nodes,
                 "Node counts to measure on one PostgreSQL database (\"\" or 0: none)")
      ->capture_default_str();
  app.add_option("--postgres-rate", o.postgres_rate,
                 "Open-loop requests per second against the PostgreSQL nodes (and the SQLite "
                 "reference beside them)")
      ->capture_default_str();
  app.add_option("--postgres-http-threads", o.postgres_http_threads,
                 "server.http_threads of every PostgreSQL node (the SQLite column of the same "
                 "value is the ratio's reference)")
      ->capture_default_str();
  app.add_option("--runs", o.runs, "Throughput runs per deployment")->capture_default_str();
  app.add_option("--connections", o.connections, "wrk connections (in total, over the nodes)")
      ->capture_default_str();
  app.add_option("--wrk-threads", o.wrk_threads, "wrk threads (in total, over the nodes)")
      ->capture_default_str();
  app.add_option("--duration", o.duration_s, "Seconds of each throughput run")
      ->capture_default_str();
  app.add_option("--single-duration", o.single_duration_s, "Seconds of each 1-connection run")
      ->capture_default_str();
  app.add_option("--rate", o.rate, "Open-loop requests per second")->capture_default_str();
  app.add_option("--rate-runs", o.rate_runs, "Open-loop runs per deployment")
      ->capture_default_str();
  app.add_option("--rate-duration", o.rate_duration_s, "Seconds of each open-loop run")
      ->capture_default_str();
  app.add_option("--drain-timeout", o.drain_timeout_s,
                 "Seconds to wait for every accepted inquiry to reach the sink")
      ->capture_default_str();
  app.add_option("--backlog", o.backlog_s,
                 "Seconds of load that leave overdue tasks for the leak backlog phase (0: none)")
      ->capture_default_str();
  app.add_option("--backlog-measure", o.backlog_measure_s,
                 "Seconds of one connection while the first leak scans find that backlog")
      ->capture_default_str();
  app.add_option("--compare", o.compare,
                 "A second handoff binary (B) to measure beside --handoff (A): each round runs A "
                 "then B, or B then A, alternately; SQLite only; prints both and B/A ratios");
  app.add_flag("--keep", o.keep,
               "Keep each run's directory (config, database, logs, wrk output) and the "
               "PostgreSQL log");
  CLI11_PARSE(app, argc, argv);
  auto node_counts = ParseNodeCounts(postgres_nodes);
  if (!node_counts.has_value()) {
    std::fprintf(stderr, "--postgres-nodes: a comma-separated list of 0 to %d, not '%s'\n",
                 kMaxNodes, postgres_nodes.c_str());
    return 2;
  }
  o.postgres_nodes = *node_counts;
  if (!o.compare.empty()) {
    // The comparison is of the binaries on SQLite: PostgreSQL's figures would double its length.
    o.postgres_nodes.clear();
  }
  for (int n : o.postgres_nodes) {
    if (o.connections < n) {
      std::fprintf(stderr, "--connections %d cannot be split over %d nodes\n", o.connections, n);
      return 2;
    }
  }

  // Before any thread exists: curl_global_init is not thread-safe.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto sink = DeliverySink::Start();
  if (!sink.ok()) {
    std::fprintf(stderr, "cannot start the sink: %s\n",
                 std::string(sink.status().message()).c_str());
    return 1;
  }
  std::printf("handoff bench — %s; load average %s at start\n", MachineLine().c_str(),
              LoadAverage().c_str());
  std::printf(
      "server: %s serve, SQLite WAL synchronous=FULL in %s, loopback; sink in this process\n"
      "load: %d × wrk -t%d -c%d -d%ds (then -t1 -c1 -d%ds) with %s; %d × open loop %s/s for %d "
      "s\n\n",
      o.handoff.c_str(), o.dir.c_str(), o.runs, o.wrk_threads, o.connections, o.duration_s,
      o.single_duration_s, o.lua.c_str(), o.rate_runs, Thousands(o.rate).c_str(),
      o.rate_duration_s);
  if (!o.postgres_nodes.empty()) {
    std::string counts;
    for (int n : o.postgres_nodes) counts += (counts.empty() ? "" : ",") + std::to_string(n);
    std::printf(
        "then PostgreSQL: %s node(s) on one database, the same load split over the nodes; open "
        "loop %s/s\n\n",
        counts.c_str(), Thousands(o.postgres_rate).c_str());
  }
  std::fflush(stdout);

  Bench bench(o, sink->get());
  std::vector<DeploymentResult> results;
  if (o.compare.empty()) {
    for (int t : o.http_threads) results.push_back(bench.RunAll({.http_threads = t}, o.rate));
    PrintTable(results, o);
  } else {
    std::printf("compare: A = %s, B = %s, round by round\n\n", o.handoff.c_str(),
                o.compare.c_str());
    for (int t : o.http_threads) {
      DeploymentResult a;
      a.deployment = {.http_threads = t, .handoff = o.handoff, .tag = "A"};
      DeploymentResult b;
      b.deployment = {.http_threads = t, .handoff = o.compare, .tag = "B"};
      for (int r = 0; r < std::max(o.runs, o.rate_runs); ++r) {
        // Alternate which goes first, so a drift in the machine's speed favours neither.
        DeploymentResult* first = r % 2 == 0 ? &a : &b;
        DeploymentResult* second = r % 2 == 0 ? &b : &a;
        bench.RunRound(*first, o.rate, r);
        bench.RunRound(*second, o.rate, r);
      }
      results.push_back(std::move(a));
      results.push_back(std::move(b));
    }
    PrintTable(results, o);
    PrintRatios(results, o);
  }
  if (o.backlog_s > 0) {
    std::printf(
        "\nLeak backlog: %d s at %d connections with tasks due in 1 s, then the same file "
        "with leak scans every 15 s and 1 connection for %d s; load average %s\n",
        o.backlog_s, o.connections, o.backlog_measure_s, LoadAverage().c_str());
    std::fflush(stdout);
    if (o.compare.empty()) {
      bench.RunBacklog(o.handoff, "");
    } else {
      bench.RunBacklog(o.handoff, "A");
      bench.RunBacklog(o.compare, "B");
    }
  }

  if (!o.postgres_nodes.empty()) {
    // The SQLite reference: the run above with the nodes' http_threads, with open loops at the
    // PostgreSQL rate (measured now if it differs); measured in full if there was none.
    DeploymentResult reference;
    bool have_reference = false;
    for (const auto& r : results) {
      if (r.deployment.http_threads == o.postgres_http_threads) {
        reference = r;
        have_reference = true;
      }
    }
    const Deployment sqlite{.http_threads = o.postgres_http_threads};
    std::printf("\nSQLite reference for PostgreSQL (%s, open loop at %s/s); load average %s\n",
                sqlite.Label().c_str(), Thousands(o.postgres_rate).c_str(), LoadAverage().c_str());
    std::fflush(stdout);
    if (!have_reference) {
      reference = bench.RunAll(sqlite, o.postgres_rate);
    } else if (o.postgres_rate != o.rate) {
      reference.open_loops = bench.RunOpenLoops(sqlite, o.postgres_rate);
    } else {
      std::printf("  (the runs above)\n");
    }

    std::vector<DeploymentResult> postgres_results;
    std::printf(
        "\nPostgreSQL: starting a durable cluster (fsync, full_page_writes, synchronous_commit "
        "on) in %s; load average %s\n",
        o.dir.c_str(), LoadAverage().c_str());
    std::fflush(stdout);
    PostgresServer postgres(o.dir, o.keep);
    if (auto s = postgres.Start(); !s.ok()) {
      bench.Fail(
          fmt::format("cannot start the PostgreSQL cluster (--postgres-nodes '' skips it): {}",
                      std::string(s.message())));
    } else {
      std::printf("  cluster %s in %s\n", postgres.admin_url().c_str(), postgres.dir().c_str());
      std::fflush(stdout);
      bench.set_postgres(&postgres);
      for (int n : o.postgres_nodes) {
        std::printf("  load average %s\n", LoadAverage().c_str());
        std::fflush(stdout);
        postgres_results.push_back(
            bench.RunAll({.http_threads = o.postgres_http_threads, .nodes = n, .postgres = true},
                         o.postgres_rate));
      }
      bench.set_postgres(nullptr);
      if (auto s = postgres.Stop(); !s.ok()) {
        bench.Fail(fmt::format("stopping the PostgreSQL cluster: {}", std::string(s.message())));
      }
    }
    PrintPostgresTable(postgres_results, &reference, o);
  }

  std::printf(
      "\nFor scale, the same receive → transform → deliver flow on this machine "
      "(../shared/DESIGN.md):\n"
      "  Node-RED 4.1.8 ≈ 1,200 requests/s at 64 connections (p99 144 ms, persists nothing, "
      "223 MiB RSS)\n"
      "  n8n 2.8.4      ≈ 47 requests/s (p99 2 s, 734+ MiB RSS)\n");
  std::printf("\nload average %s at the end\n", LoadAverage().c_str());
  if (!bench.failures().empty()) {
    std::printf("\n%zu functional failure(s):\n", bench.failures().size());
    for (const auto& f : bench.failures()) std::printf("  - %s\n", f.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace handoff::bench

int main(int argc, char** argv) { return handoff::bench::Main(argc, argv); }
