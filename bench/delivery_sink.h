// The benchmark's destination: an HttpServer on loopback, in the benchmark's process, that
// answers every delivery 200 and records when each inquiry id (the delivered body's
// inquiry.id) first arrived, on MonotonicMicros(). Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "http/http_server.h"

namespace handoff::bench {

// The name of the sink's I/O thread, by which the benchmark finds its CPU time.
inline constexpr char kSinkThread[] = "sink-http";

class DeliverySink {
 public:
  // Starts listening on 127.0.0.1 with a free port and one I/O thread.
  static absl::StatusOr<std::unique_ptr<DeliverySink>> Start();
  ~DeliverySink();

  std::string url() const;

  // Forgets every delivery seen so far (between runs).
  void Reset();
  // Distinct inquiries delivered since the last Reset.
  int64_t distinct() const;
  // Deliveries of an inquiry already delivered (the same inquiry id again).
  int64_t duplicates() const;
  // Deliveries whose body had no readable inquiry.id (answered 400, so they are retried).
  int64_t malformed() const;
  // When the latest first delivery arrived (0 if none).
  Micros last_first_delivery() const;
  // Each delivered inquiry id with the time its first delivery arrived.
  std::unordered_map<std::string, Micros> arrivals() const;
  // Blocks until the inquiry's first delivery has arrived and returns when it did, or nullopt
  // after `timeout` without it.
  std::optional<Micros> WaitForArrival(const std::string& inquiry_id, Micros timeout) const;

 private:
  DeliverySink() = default;
  void OnDelivery(const HttpRequest& request, Micros arrived, HttpResponder& respond);

  mutable std::mutex mu_;
  mutable std::condition_variable arrived_;
  std::unordered_map<std::string, Micros> arrivals_;
  int64_t duplicates_ = 0;
  int64_t malformed_ = 0;
  Micros last_first_delivery_ = 0;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace handoff::bench
