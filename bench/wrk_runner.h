// Runs wrk (closed loop: each connection sends its next request when the previous one is
// answered) with a script of bench/ (post_inquiry.lua, http_ceiling.lua) and reads the figures
// its done() prints.
// Not thread-safe: one run at a time per caller.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/clock.h"

namespace handoff::bench {

struct WrkOptions {
  std::string wrk = "wrk";  // the wrk binary (looked up on PATH)
  std::string lua;          // the script
  std::string url;          // http://127.0.0.1:PORT/in/bench
  std::string token;        // the source token, passed to the script
  int run = 0;              // passed to the script so runs use distinct emails/phones
  int threads = 2;
  int connections = 64;
  int duration_s = 10;
  std::string output_path;  // wrk's whole output is kept here
};

struct WrkResult {
  int64_t requests = 0;       // answered requests (any status)
  int64_t status_errors = 0;  // answered with a status >= 400
  int64_t socket_errors = 0;  // connect + read + write errors
  int64_t timeouts = 0;
  Micros duration = 0;                                  // as wrk measured it
  Micros p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;  // ack latency
  Micros started = 0, ended = 0;                        // MonotonicMicros() around the wrk process
  Micros wrk_cpu = 0;                                   // CPU time wrk used (user + system)

  int64_t acked() const { return requests - status_errors; }
  double per_second() const {
    return duration > 0 ? static_cast<double>(acked()) * kMicrosPerSecond / duration : 0;
  }
};

// Runs wrk to completion. Fails if wrk cannot run, exits non-zero or prints no figures.
absl::StatusOr<WrkResult> RunWrk(const WrkOptions& options);

}  // namespace handoff::bench
