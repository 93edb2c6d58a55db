// An open-loop load generator: sends POSTs at a fixed rate whatever the answers do (libcurl
// multi, one thread, as many keep-alive connections as requests in flight), so a slow answer
// never delays the next send; given several URLs (the nodes of a scale-out run), it takes them
// in turn. Each request's latency counts from its *scheduled* send time, so a generator or
// server that falls behind shows up in the figures instead of hiding.
// Not thread-safe: call Run from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"

namespace handoff::bench {

struct OpenLoopOptions {
  // Request n goes to urls[n % urls.size()]: round robin over the nodes of a scale-out run.
  std::vector<std::string> urls;
  std::vector<std::string> headers;  // "Name: value"
  double rate = 1000;                // requests per second
  int duration_s = 10;
  Micros timeout = 10 * kMicrosPerSecond;  // per request
  // The body of the n-th request (0-based).
  std::function<std::string(int64_t n)> body;
};

struct OpenLoopResult {
  int64_t sent = 0;
  int64_t acked = 0;   // answered 202 with an id
  int64_t failed = 0;  // any other answer, or no answer
  std::string first_failure;
  std::vector<Micros> ack_latencies;  // answer time − scheduled send time, per acked request
  // Acked inquiry id → its scheduled send time (MonotonicMicros()).
  std::unordered_map<std::string, Micros> sent_at;
  Micros max_send_lag = 0;  // the most a send started after its scheduled time
  Micros started = 0, ended = 0;
  int max_in_flight = 0;
};

// Sends rate × duration_s requests, evenly spaced, and waits for every answer.
absl::StatusOr<OpenLoopResult> RunOpenLoop(const OpenLoopOptions& options);

}  // namespace handoff::bench
