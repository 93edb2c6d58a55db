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
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/delivery_sink.h"
#include "bench/handoff_server.h"
#include "bench/measure.h"
#include "bench/open_loop.h"
#include "bench/wrk_runner.h"
#include "fmt/format.h"

namespace handoff::bench {
namespace {

struct Options {
  std::string handoff = HANDOFF_BINARY;
  std::string wrk = "wrk";
  std::string lua = HANDOFF_BENCH_DIR "/post_inquiry.lua";
  std::string ceiling_lua = HANDOFF_BENCH_DIR "/http_ceiling.lua";
  std::string dir = "/tmp";
  std::vector<int> http_threads = {1, 2};
  int runs = 3;
  int connections = 64;
  int wrk_threads = 2;
  int duration_s = 10;
  int single_duration_s = 5;
  double rate = 1000;
  int rate_duration_s = 10;
  int rate_runs = 3;
  int drain_timeout_s = 300;
  bool keep = false;
};

// One fresh server: 64-connection throughput, drain, then 1-connection latency.
struct ThroughputRun {
  WrkResult loaded;
  int64_t accepted = 0;  // the server's own count after the loaded phase
  Micros drain = 0;      // last first delivery − end of load (0 if none was left)
  double end_to_end_per_s = 0;
  double server_cores_load = 0;   // server CPU time / wall time, during the load
  double server_cores_drain = 0;  // … during the drain
  double wrk_cores = 0;
  // Server CPU time from the start of the load to the end of the drain, per accepted inquiry:
  // the whole pipeline's cost of one inquiry, less affected by other load than the rates are.
  double server_cpu_per_inquiry_us = 0;
  WrkResult single;
  int64_t idle_rss_kib = 0;
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

struct ThreadsResult {
  int http_threads = 0;
  std::vector<ThroughputRun> runs;
  std::vector<OpenLoopRun> open_loops;
};

// Runs the phases for one http_threads value against fresh servers and collects their figures;
// records every functional failure instead of stopping. Not thread-safe: one thread drives it.
class Bench {
 public:
  Bench(Options options, DeliverySink* sink) : options_(std::move(options)), sink_(sink) {}

  // Everything functional that went wrong; empty when all was well.
  const std::vector<std::string>& failures() const { return failures_; }

  ThreadsResult RunAll(int http_threads) {
    ThreadsResult result;
    result.http_threads = http_threads;
    for (int r = 0; r < options_.runs; ++r) {
      auto run = RunThroughput(http_threads, r);
      if (run.has_value()) result.runs.push_back(*run);
    }
    for (int r = 0; r < options_.rate_runs; ++r) {
      auto run = RunOpen(http_threads, r);
      if (run.has_value()) result.open_loops.push_back(std::move(*run));
    }
    return result;
  }

 private:
  void Fail(std::string what) {
    std::printf("  FAILED: %s\n", what.c_str());
    std::fflush(stdout);
    failures_.push_back(std::move(what));
  }

  // Waits until the sink has a first delivery for every inquiry the server accepted (its own
  // durable count, which also covers requests wrk gave up on after the server committed them).
  // Returns the accepted count, or nullopt (after recording the failure) on timeout.
  std::optional<int64_t> WaitForDrain(HandoffServer& server, int64_t acked_by_client,
                                      const std::string& phase) {
    Micros deadline = MonotonicMicros() + options_.drain_timeout_s * kMicrosPerSecond;
    int64_t accepted = 0;
    while (true) {
      auto count = server.AcceptedCount();
      if (count.ok()) accepted = *count;
      int64_t delivered = sink_->distinct();
      if (sink_->malformed() > 0) {
        // The sink answered 400 to those, so they will never count as delivered.
        Fail(fmt::format("{}: {} deliveries had no inquiry.id in their body", phase,
                         sink_->malformed()));
        return std::nullopt;
      }
      if (count.ok() && accepted >= acked_by_client && delivered >= accepted) {
        if (delivered > accepted) {
          Fail(fmt::format("{}: the sink got {} distinct inquiries but the server accepted {}",
                           phase, delivered, accepted));
        }
        return accepted;
      }
      if (MonotonicMicros() > deadline) {
        std::string queues;
        if (auto q = server.QueueDepths(); q.ok()) {
          for (const auto& [name, n] : *q) queues += fmt::format(" {}={}", name, n);
        }
        Fail(fmt::format(
            "{}: after {} s the sink has {} of the {} accepted inquiries ({} acked to the "
            "client); queues:{}\n{}",
            phase, options_.drain_timeout_s, delivered, accepted, acked_by_client, queues,
            server.LogTail()));
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

  std::optional<ThroughputRun> RunThroughput(int http_threads, int r) {
    const std::string phase =
        fmt::format("http_threads={} run {}/{}", http_threads, r + 1, options_.runs);
    sink_->Reset();
    HandoffServer server(options_.handoff, options_.dir, options_.keep);
    if (auto s = server.Start(BenchConfig(sink_->url(), http_threads)); !s.ok()) {
      Fail(fmt::format("{}: {}", phase, std::string(s.message())));
      return std::nullopt;
    }
    ThroughputRun run;
    // Let start-up allocations settle before calling the RSS "idle".
    std::this_thread::sleep_for(std::chrono::seconds(1));
    run.idle_rss_kib = ProcStatusKib(server.pid(), "VmRSS").value_or(0);

    WrkOptions wrk;
    wrk.wrk = options_.wrk;
    wrk.lua = options_.lua;
    wrk.url = server.BaseUrl() + "/in/" + kBenchSource;
    wrk.token = kBenchToken;
    wrk.run = 0;
    wrk.threads = options_.wrk_threads;
    wrk.connections = options_.connections;
    wrk.duration_s = options_.duration_s;
    wrk.output_path = server.dir() + "/wrk-64.txt";
    Micros cpu_before = ProcCpuMicros(server.pid()).value_or(0);
    auto loaded = RunWrk(wrk);
    if (!loaded.ok()) {
      Fail(fmt::format("{}: {}", phase, std::string(loaded.status().message())));
      return std::nullopt;
    }
    Micros cpu_loaded = ProcCpuMicros(server.pid()).value_or(0);
    run.loaded = *loaded;
    CheckWrk(run.loaded, phase);
    auto accepted = WaitForDrain(server, run.loaded.acked(), phase);
    if (!accepted.has_value()) return std::nullopt;
    Micros drained_at = MonotonicMicros();
    Micros cpu_drained = ProcCpuMicros(server.pid()).value_or(0);
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
    }
    run.duplicates = sink_->duplicates();

    wrk.run = 1;
    wrk.threads = 1;
    wrk.connections = 1;
    wrk.duration_s = options_.single_duration_s;
    wrk.output_path = server.dir() + "/wrk-1.txt";
    auto single = RunWrk(wrk);
    if (!single.ok()) {
      Fail(fmt::format("{} (1 connection): {}", phase, std::string(single.status().message())));
      return std::nullopt;
    }
    run.single = *single;
    CheckWrk(run.single, phase + " (1 connection)");
    auto accepted_all =
        WaitForDrain(server, run.accepted + run.single.acked(), phase + " (1 connection)");
    if (!accepted_all.has_value()) return std::nullopt;
    run.duplicates = sink_->duplicates();
    run.peak_rss_kib = ProcStatusKib(server.pid(), "VmHWM").value_or(0);
    if (auto s = server.Stop(); !s.ok())
      Fail(fmt::format("{}: {}", phase, std::string(s.message())));

    std::printf(
        "  %s: %s acked/s (%s in %.1f s), ack p50 %s p99 %s; drained %.2f s after the load → "
        "%s delivered/s end to end; 1 conn: p50 %s p99 %s; server %.2f cores under load, "
        "%.2f while draining, %.0f µs CPU per inquiry, wrk %.2f; RSS %s idle, %s peak\n",
        phase.c_str(), Thousands(run.loaded.per_second()).c_str(),
        Thousands(static_cast<double>(run.loaded.acked())).c_str(),
        static_cast<double>(run.loaded.duration) / kMicrosPerSecond, Ms(run.loaded.p50).c_str(),
        Ms(run.loaded.p99).c_str(), static_cast<double>(run.drain) / kMicrosPerSecond,
        Thousands(run.end_to_end_per_s).c_str(), Ms(run.single.p50).c_str(),
        Ms(run.single.p99).c_str(), run.server_cores_load, run.server_cores_drain,
        run.server_cpu_per_inquiry_us, run.wrk_cores, Mib(run.idle_rss_kib).c_str(),
        Mib(run.peak_rss_kib).c_str());
    std::fflush(stdout);
    return run;
  }

  // One fresh server at a fixed rate; the first one also measures the HTTP ceiling.
  std::optional<OpenLoopRun> RunOpen(int http_threads, int r) {
    const std::string phase =
        fmt::format("http_threads={} open loop at {}/s, run {}/{}", http_threads,
                    Thousands(options_.rate), r + 1, options_.rate_runs);
    sink_->Reset();
    HandoffServer server(options_.handoff, options_.dir, options_.keep);
    if (auto s = server.Start(BenchConfig(sink_->url(), http_threads)); !s.ok()) {
      Fail(fmt::format("{}: {}", phase, std::string(s.message())));
      return std::nullopt;
    }
    OpenLoopOptions load;
    load.url = server.BaseUrl() + "/in/" + kBenchSource;
    load.headers = {"Content-Type: application/json",
                    std::string("X-Handoff-Token: ") + kBenchToken};
    OpenLoopRun run;
    WrkOptions ceiling;
    ceiling.wrk = options_.wrk;
    ceiling.lua = options_.ceiling_lua;
    ceiling.url = server.BaseUrl() + "/healthz";
    ceiling.threads = options_.wrk_threads;
    ceiling.connections = options_.connections;
    ceiling.duration_s = options_.single_duration_s;
    ceiling.output_path = server.dir() + "/wrk-healthz.txt";
    if (r > 0) {
      // Measured once per http_threads value.
    } else if (auto c = RunWrk(ceiling); c.ok()) {
      run.http_ceiling = *c;
      std::printf(
          "  http_threads=%d HTTP ceiling: GET /healthz %s/s at %d connections, p50 %s p99 %s\n",
          http_threads, Thousands(c->per_second()).c_str(), options_.connections,
          Ms(c->p50).c_str(), Ms(c->p99).c_str());
    } else {
      Fail(fmt::format("{}: GET /healthz: {}", phase, std::string(c.status().message())));
    }
    load.rate = options_.rate;
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
    if (!WaitForDrain(server, run.load.acked, phase).has_value()) return std::nullopt;
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
    run.peak_rss_kib = ProcStatusKib(server.pid(), "VmHWM").value_or(0);
    if (auto s = server.Stop(); !s.ok())
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
  std::vector<std::string> failures_;
};

// The median of a figure over the runs, e.g. Med(runs, [](r){ return r.loaded.p99; }).
template <typename Run, typename F>
double Med(const std::vector<Run>& runs, F figure) {
  std::vector<double> values;
  for (const auto& r : runs) values.push_back(static_cast<double>(figure(r)));
  return Median(values);
}

void PrintTable(const std::vector<ThreadsResult>& results, const Options& o) {
  std::vector<std::string> heads;
  for (const auto& t : results) heads.push_back(fmt::format("http_threads={}", t.http_threads));
  auto row = [&](const std::string& name, const std::vector<std::string>& cells,
                 const std::string& target) {
    std::string line = fmt::format("  {:<44}", name);
    for (const auto& c : cells) line += fmt::format("{:>20}", c);
    line += fmt::format("   {}", target);
    std::printf("%s\n", line.c_str());
  };
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
        return Thousands(Med(t.runs, [](const auto& r) { return r.loaded.per_second(); }));
      }),
      "≥ 10,000/s (goal 25,000/s)");
  row("  … each run", per([](const auto& t) {
        std::string s;
        for (const auto& r : t.runs) s += (s.empty() ? "" : " ") + Thousands(r.loaded.per_second());
        return s;
      }),
      "");
  row(fmt::format("ack p50 / p99, {} connections", o.connections), per([&](const auto& t) {
        return fmt::format("{:.2f} / {:.2f} ms",
                           Med(t.runs, [](const auto& r) { return r.loaded.p50; }) / 1000,
                           Med(t.runs, [](const auto& r) { return r.loaded.p99; }) / 1000);
      }),
      "p99 ≤ 5 ms");
  row("drain after the load stops", per([](const auto& t) {
        return fmt::format("{:.2f} s",
                           Med(t.runs, [](const auto& r) { return r.drain; }) / kMicrosPerSecond);
      }),
      "");
  row("delivered/s end to end (accepted/(load+drain))", per([](const auto& t) {
        return Thousands(Med(t.runs, [](const auto& r) { return r.end_to_end_per_s; }));
      }),
      "every accepted inquiry delivered");
  row("ack p50 / p99, 1 connection", per([&](const auto& t) {
        return fmt::format("{:.2f} / {:.2f} ms",
                           Med(t.runs, [](const auto& r) { return r.single.p50; }) / 1000,
                           Med(t.runs, [](const auto& r) { return r.single.p99; }) / 1000);
      }),
      "p50 < 1 ms");
  row(fmt::format("end to end p50 / p99 at {}/s", Thousands(o.rate)), open([](const auto& runs) {
        return fmt::format("{:.2f} / {:.2f} ms",
                           Med(runs, [](const auto& r) { return r.e2e_p50; }) / 1000,
                           Med(runs, [](const auto& r) { return r.e2e_p99; }) / 1000);
      }),
      "p99 ≤ 50 ms");
  row("  … e2e p99 of each run", open([](const auto& runs) {
        std::string s;
        for (const auto& r : runs)
          s += fmt::format("{}{:.1f}", s.empty() ? "" : " ", r.e2e_p99 / 1000.0);
        return s + " ms";
      }),
      "");
  row(fmt::format("ack p50 / p99 at {}/s", Thousands(o.rate)), open([](const auto& runs) {
        return fmt::format("{:.2f} / {:.2f} ms",
                           Med(runs, [](const auto& r) { return r.ack_p50; }) / 1000,
                           Med(runs, [](const auto& r) { return r.ack_p99; }) / 1000);
      }),
      "");
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
  row("server CPU under load (cores)", per([](const auto& t) {
        return fmt::format("{:.2f}",
                           Med(t.runs, [](const auto& r) { return r.server_cores_load; }));
      }),
      "");
  row("server CPU per inquiry (all threads)", per([](const auto& t) {
        return fmt::format("{:.0f} µs",
                           Med(t.runs, [](const auto& r) { return r.server_cpu_per_inquiry_us; }));
      }),
      "10,000/s on 2 cores needs < 200 µs");
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
  std::printf(
      "\nFor scale, the same receive → transform → deliver flow on this machine "
      "(../shared/DESIGN.md):\n"
      "  Node-RED 4.1.8 ≈ 1,200 requests/s at 64 connections (p99 144 ms, persists nothing, "
      "223 MiB RSS)\n"
      "  n8n 2.8.4      ≈ 47 requests/s (p99 2 s, 734+ MiB RSS)\n");
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"handoff's benchmark: ingest throughput, ack and end-to-end latency, RSS"};
  app.add_option("--handoff", o.handoff, "The handoff binary")->capture_default_str();
  app.add_option("--wrk", o.wrk, "The wrk binary")->capture_default_str();
  app.add_option("--lua", o.lua, "The wrk script that posts inquiries")->capture_default_str();
  app.add_option("--ceiling-lua", o.ceiling_lua, "The wrk script for GET /healthz")
      ->capture_default_str();
  app.add_option("--dir", o.dir, "Where each run's directory and SQLite file go")
      ->capture_default_str();
  app.add_option("--http-threads", o.http_threads, "server.http_threads values to measure")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--runs", o.runs, "Throughput runs per http_threads value")->capture_default_str();
  app.add_option("--connections", o.connections, "wrk connections")->capture_default_str();
  app.add_option("--wrk-threads", o.wrk_threads, "wrk threads")->capture_default_str();
  app.add_option("--duration", o.duration_s, "Seconds of each throughput run")
      ->capture_default_str();
  app.add_option("--single-duration", o.single_duration_s, "Seconds of each 1-connection run")
      ->capture_default_str();
  app.add_option("--rate", o.rate, "Open-loop requests per second")->capture_default_str();
  app.add_option("--rate-runs", o.rate_runs, "Open-loop runs per http_threads value")
      ->capture_default_str();
  app.add_option("--rate-duration", o.rate_duration_s, "Seconds of each open-loop run")
      ->capture_default_str();
  app.add_option("--drain-timeout", o.drain_timeout_s,
                 "Seconds to wait for every accepted inquiry to reach the sink")
      ->capture_default_str();
  app.add_flag("--keep", o.keep, "Keep each run's directory (config, database, logs, wrk output)");
  CLI11_PARSE(app, argc, argv);

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
  std::fflush(stdout);

  Bench bench(o, sink->get());
  std::vector<ThreadsResult> results;
  for (int t : o.http_threads) results.push_back(bench.RunAll(t));
  PrintTable(results, o);
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
