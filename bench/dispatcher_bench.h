// The transfer stage's figures of `make bench` (issue 5, docs/PERFORMANCE.md): the real
// Dispatcher (libcurl multi) claiming from a real SqliteStore in a fresh directory and
// delivering through the `webhook` connector to a DeliverySink on loopback that answers 200 at
// once. It measures:
//   1. deliveries per second at 64 in flight: N handoffs preloaded, the dispatcher started, and
//      the time until every one is durably confirmed;
//   2. the latency the dispatcher adds: for sequential single deliveries, the commit that makes
//      a handoff due (which wakes the dispatcher through the store's work listener, as the app
//      wires it) → the sink receiving the request, beside a direct libcurl request of a body
//      built the same way → the sink receiving it, alternated in the same run;
//   3. the cost of a claim beside a closed gate: the store's ClaimHandoffs of the open
//      destination's handoffs while another destination's due backlog (none, then
//      `gated_backlog`) waits behind its closed gate and is skipped.
// It asserts nothing about timing; failures() lists what functionally broke (a handoff not
// delivered, delivered twice or dead-lettered, a direct request refused).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/delivery_sink.h"
#include "core/clock.h"

namespace handoff::bench {

struct DispatcherBenchOptions {
  std::string dir = "/tmp";  // where each run's directory and SQLite file go
  int runs = 3;              // throughput runs
  int handoffs = 10000;      // preloaded per throughput run
  int in_flight = 64;        // the dispatcher's max_in_flight and the destination's concurrency
  int latency_runs = 3;
  int deliveries = 1000;  // per latency run: this many dispatcher deliveries and direct requests
  int warmup = 20;        // unmeasured pairs first (connections, caches)
  int timeout_s = 300;    // give up on a run after this long
  int gated_backlog = 20000;  // figure 3: due handoffs of the destination whose gate is closed
  int claims = 300;           // figure 3: claims timed per backlog
  bool keep = false;          // keep each run's directory
};

struct DispatcherThroughput {
  int64_t handoffs = 0;
  Micros preload = 0;              // writing the handoffs (and their inquiries) into the store
  Micros elapsed = 0;              // Start() → every handoff durably confirmed
  Micros last_arrival = 0;         // Start() → the sink's last first delivery
  double cpu_per_delivery_us = 0;  // the whole process: dispatcher, store writer, sink
  double per_second() const {
    return elapsed > 0 ? static_cast<double>(handoffs) * kMicrosPerSecond / elapsed : 0;
  }
};

struct DispatcherLatency {
  int64_t deliveries = 0;
  Micros dispatcher_p50 = 0, dispatcher_p99 = 0;  // due (commit) → sink
  Micros direct_p50 = 0, direct_p99 = 0;          // curl_easy_perform → sink
  Micros commit_p50 = 0, commit_p99 = 0;          // the write making it due (not counted above)
  // Each dispatcher delivery minus the direct request of the same pair: the conservative
  // overhead (a slow dispatcher delivery is not offset by another pair's slow direct one).
  Micros pair_overhead_p50 = 0, pair_overhead_p99 = 0;
  // The difference of the percentiles; noise in either tail can make the p99 negative.
  Micros overhead_p50() const { return dispatcher_p50 - direct_p50; }
  Micros overhead_p99() const { return dispatcher_p99 - direct_p99; }
};

// Figure 3 for one backlog: the time of one claim (kGatedClaimSize handoffs of the open
// destination, then handed back) with `backlog` due handoffs of a closed destination in the same
// workspace.
constexpr int kGatedClaimSize = 8;
struct GatedClaim {
  int64_t backlog = 0;
  int64_t claims = 0;
  Micros p50 = 0, p99 = 0;
};

// Runs the phases, each on a fresh store and dispatcher, and records every functional failure
// instead of stopping. Not thread-safe: one thread drives it. The sink must outlive it.
class DispatcherBench {
 public:
  DispatcherBench(DispatcherBenchOptions options, DeliverySink* sink);

  // Figure 1, run number `run` (from 0); nullopt when the run failed.
  std::optional<DispatcherThroughput> RunThroughput(int run);
  // Figure 2, run number `run` (from 0); nullopt when the run failed.
  std::optional<DispatcherLatency> RunLatency(int run);
  // Figure 3 for a backlog of `backlog`; nullopt when the run failed.
  std::optional<GatedClaim> RunGatedClaim(int64_t backlog);

  // Everything functional that went wrong; empty when all was well.
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  void Fail(std::string what);

  DispatcherBenchOptions options_;
  DeliverySink* sink_;
  std::vector<std::string> failures_;
};

// Prints the medians over the runs with each run's figure and the targets beside them.
void PrintDispatcherTable(const std::vector<DispatcherThroughput>& throughput,
                          const std::vector<DispatcherLatency>& latency,
                          const std::vector<GatedClaim>& gated,
                          const DispatcherBenchOptions& options);

}  // namespace handoff::bench
