// handoff_dispatcher_bench: the transfer stage's figures of `make bench` (issue 5,
// docs/PERFORMANCE.md, bench/dispatcher_bench.h): deliveries per second through the Dispatcher
// at 64 in flight, the latency it adds over a direct libcurl request, and the cost of a claim
// beside a closed gate's backlog. Everything runs in
// this process: a SqliteStore in a fresh directory per run, the real Dispatcher, and a sink on
// loopback. It asserts nothing about timing; it exits 1 only when something functionally broke.

#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/delivery_sink.h"
#include "bench/dispatcher_bench.h"
#include "bench/measure.h"

namespace handoff::bench {
namespace {

int Main(int argc, char** argv) {
  DispatcherBenchOptions o;
  CLI::App app{"handoff's dispatcher benchmark: deliveries/s and the latency the dispatcher adds"};
  app.add_option("--dir", o.dir, "Where each run's directory and SQLite file go")
      ->capture_default_str();
  app.add_option("--runs", o.runs, "Throughput runs")->capture_default_str();
  app.add_option("--handoffs", o.handoffs, "Handoffs preloaded per throughput run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--in-flight", o.in_flight,
                 "The dispatcher's max_in_flight and the destination's concurrency")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--latency-runs", o.latency_runs, "Latency runs")->capture_default_str();
  app.add_option("--deliveries", o.deliveries,
                 "Sequential dispatcher deliveries (and direct requests) per latency run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "Unmeasured pairs before each latency run")
      ->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "Seconds before a throughput run gives up")
      ->capture_default_str();
  app.add_option("--gated-backlog", o.gated_backlog,
                 "Due handoffs behind a closed gate while claims are timed (0: skip the figure)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--claims", o.claims, "Claims timed per backlog")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--keep", o.keep, "Keep each run's directory (the SQLite database)");
  CLI11_PARSE(app, argc, argv);

  // Before any thread exists: curl_global_init is not thread-safe.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto sink = DeliverySink::Start();
  if (!sink.ok()) {
    std::fprintf(stderr, "cannot start the sink: %s\n",
                 std::string(sink.status().message()).c_str());
    return 1;
  }
  std::printf("handoff dispatcher bench — %s; load average %s at start\n", MachineLine().c_str(),
              LoadAverage().c_str());
  std::printf(
      "dispatcher: max_in_flight %d, webhook destination with concurrency %d, SQLite WAL "
      "synchronous=FULL in %s; sink in this process on loopback, answering 200 at once\n\n",
      o.in_flight, o.in_flight, o.dir.c_str());
  std::fflush(stdout);

  DispatcherBench bench(o, sink->get());
  std::vector<DispatcherThroughput> throughput;
  for (int r = 0; r < o.runs; ++r) {
    if (auto run = bench.RunThroughput(r)) throughput.push_back(*run);
  }
  std::vector<DispatcherLatency> latency;
  for (int r = 0; r < o.latency_runs; ++r) {
    if (auto run = bench.RunLatency(r)) latency.push_back(*run);
  }
  std::vector<GatedClaim> gated;
  if (o.gated_backlog > 0) {
    for (int64_t backlog : {int64_t{0}, static_cast<int64_t>(o.gated_backlog)}) {
      if (auto run = bench.RunGatedClaim(backlog)) gated.push_back(*run);
    }
  }
  PrintDispatcherTable(throughput, latency, gated, o);
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
