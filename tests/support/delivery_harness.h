// Test support for the transfer stage: loopback peers standing in for destinations, and a
// harness that runs deliveries through the real Dispatcher and SqliteStore on a FakeClock.
// Contract tests script a ContractServer's answers per the service's documented format
// (../shared/formats/README.md) and assert on the requests it recorded.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "http/http_server.h"
#include "model/records.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"
#include "transfer/connector.h"
#include "transfer/dispatcher.h"

namespace handoff::testing {

// 2026-01-01T00:00:00Z, the harness clock's start.
inline constexpr Micros kHarnessStart = 1767225600 * kMicrosPerSecond;
inline constexpr const char* kHarnessWorkspace = "harbor";

HttpResponse Respond(int status, std::string body = "{}",
                     std::vector<std::pair<std::string, std::string>> headers = {});
// A request header's value, "" when absent.
std::string HeaderOf(const HttpRequest& r, const char* name);

// A loopback HTTP peer that records every request and answers from a script. `n` counts the
// requests so far, from 1.
class ContractServer {
 public:
  using Script = std::function<HttpResponse(const HttpRequest&, int n)>;
  explicit ContractServer(Script script);
  ~ContractServer();

  std::string Url(const std::string& path = "/hook") const;
  uint16_t port() const;
  std::vector<HttpRequest> requests() const;

 private:
  Script script_;
  mutable std::mutex mu_;
  std::vector<HttpRequest> requests_;
  std::unique_ptr<HttpServer> server_;
};

// A listening TCP socket that never accepts: connections complete in the kernel's backlog and
// then hear nothing (a destination that never answers), and a non-blocking accept() tells
// whether anyone connected at all (the SSRF canary).
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  uint16_t port() const { return port_; }
  bool SawConnection();
  // Like SawConnection, but keeps the connection open (silent) until the listener goes.
  bool HoldConnection();

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> held_;
};

// Accepts each connection, reads whatever arrives, and resets it (RST) without answering:
// the "connection reset by peer" case.
class ResettingListener {
 public:
  ResettingListener();
  ~ResettingListener();
  uint16_t port() const { return port_; }
  int connections() const;

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
};

// The real dispatcher and store with one inquiry per AddInquiry call. Not thread-safe.
class DeliveryHarness {
 public:
  DeliveryHarness();
  ~DeliveryHarness();

  Config& config() { return config_; }
  FakeClock& clock() { return clock_; }
  Store& store() { return *store_; }
  ConnectorRegistry& registry() { return registry_; }
  const std::string& inquiry_id() const { return inquiry_id_; }

  // Starts the dispatcher, woken by the store's commits as the app wires it. Retry delays are
  // exactly the configured ones (jitter at its midpoint).
  void Start(DispatcherOptions options = {});
  void Stop();
  Dispatcher& dispatcher() { return *dispatcher_; }

  // A sample inquiry (Dana Roe, phone and email, a message, a contact, a task owned by "ana"
  // due in 5 minutes), adjusted by `edit`, stored with one pending handoff per destination.
  // Returns the handoff ids in order.
  std::vector<std::string> AddInquiry(
      const std::vector<std::string>& destinations,
      const std::function<void(Inquiry&, Contact&, Task&)>& edit = nullptr);

  // Polls until the handoff satisfies `pred` (generous deadline; not a timing assertion).
  Handoff WaitFor(const std::string& id, const std::function<bool(const Handoff&)>& pred);
  Handoff WaitForState(const std::string& id, const std::string& state, int attempts);
  // Moves the FakeClock to the handoff's next attempt and wakes the dispatcher.
  void AdvanceToNextAttempt(const std::string& id);

  std::vector<Event> Events();
  std::vector<std::string> EventKinds();
  Inquiry GetInquiry();

 private:
  TempDir dir_;
  FakeClock clock_{kHarnessStart};
  Config config_;
  ConnectorRegistry registry_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::string inquiry_id_;
  int inquiries_ = 0;
};

}  // namespace handoff::testing
