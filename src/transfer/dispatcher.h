// The transfer stage's engine: drains the handoff outbox through libcurl's multi interface.
// One thread claims due handoffs, asks each destination's connector to build the request,
// runs up to max_in_flight transfers concurrently (and, per destination, no more than its gate
// allows: concurrency, rate limit, Retry-After pause, circuit breaker), classifies the answers and
// writes each outcome (attempt count, next attempt or dead-letter, timeline events, the inquiry's
// delivered/attention status) through the store's group commit without waiting for it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "store/store.h"
#include "transfer/connector.h"
#include "transfer/destination_gate.h"
#include "transfer/oauth2.h"
#include "transfer/retry_schedule.h"
#include "trigger/task_link.h"

namespace handoff {

struct DispatcherOptions {
  int max_in_flight = 64;  // concurrent transfers, all destinations together
  int claim_batch = 64;    // handoffs claimed per store call
  // Raised to 5 × the longest destination timeout + 30 s unless the store renews claims
  // (Store::shared()).
  Micros lease = 60 * kMicrosPerSecond;
  // Only this workspace's handoffs ("" = every workspace): each workspace of a deployment has
  // its own dispatcher with its own destinations.
  std::string workspace = {};
  Micros idle_poll = 1 * kMicrosPerSecond;    // re-check the outbox when nothing woke us
  Micros stop_grace = 10 * kMicrosPerSecond;  // Stop() waits this long for in-flight transfers
  size_t max_response_bytes = 64 * 1024;      // response body kept for classification
  double jitter = 0.2;                        // retry delays vary by ±20%
  UniformRandom random;                       // jitter source; null = seeded from the OS
  // Called for each attempt's outcome ("confirmed", "retry", "dead") with the request's latency
  // (metrics). On the dispatcher's thread; may be null.
  std::function<void(const Handoff& handoff, std::string_view outcome, double latency_ms)>
      on_attempt = nullptr;
};

// Counters since construction, for metrics. Each is monotonic. Outcomes are counted when
// decided, before their write commits (write_errors counts the writes that then failed).
struct DispatcherCounters {
  int64_t attempts = 0;  // attempts with an outcome (HTTP, transport, or refused before sending)
  int64_t confirmed = 0;
  int64_t retried = 0;  // attempts that scheduled another one
  int64_t dead = 0;
  int64_t write_errors = 0;  // outcome writes that did not commit (e.g. the lease was lost)
  // Claimed handoffs given back unstarted because their destination's gate had no room left
  // (a batch can hold more for one destination than its share of the claim).
  int64_t handed_back = 0;
  int64_t claims = 0;  // claim queries made on the store
};

// Thread-safe: Start, Stop, Wake and counters() may be called from any thread. The config,
// registry, store and clock must outlive the dispatcher. Each destination's `retry` list is
// used as given (the config loader fills in DefaultRetrySchedule() when it is absent).
class Dispatcher {
 public:
  Dispatcher(const Config* config, const ConnectorRegistry* registry, Store* store,
             const Clock* clock, DispatcherOptions options = {});
  ~Dispatcher();  // Stops first.

  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Starts the dispatcher thread. No-op if already started or stopped.
  void Start();
  // Stops claiming, waits up to options.stop_grace for in-flight transfers, releases the
  // claims of those still unfinished (they are retried later, with the same webhook-id), waits
  // for the outcome writes already submitted to settle, and joins. Idempotent.
  void Stop();
  // Tells the dispatcher that handoffs may have become due (e.g. the store's work listener
  // reported Stage::kTransfer). Cheap; interrupts the dispatcher's wait.
  void Wake();

  DispatcherCounters counters() const;

  // Each destination's gate as last seen by the dispatcher thread: breaker state, requests in
  // flight, when an open breaker half-opens, how often it opened. For /readyz and metrics.
  struct DestinationHealth {
    std::string destination;
    std::string breaker;  // "closed", "open", "half_open"
    int in_flight = 0;
    Micros open_until = 0;
    int64_t times_opened = 0;
  };
  std::vector<DestinationHealth> Health() const;
  int in_flight() const { return in_flight_.load(); }

 private:
  struct Transfer;
  struct Outcome;
  // The claimed batch's inquiry contexts (Store::ReadInquiryContexts), or why they are unread.
  using ContextRead = absl::StatusOr<std::map<InquiryRef, InquiryContext>>;

  void Run();
  // Claims up to the free slots and starts a transfer for each; returns how many it claimed.
  int ClaimAndStart();
  // Starts the request for one claimed handoff; false when no request went out (the outcome,
  // if any, was recorded without one).
  bool StartOne(Handoff handoff, std::string lease_token, const ContextRead& contexts);
  // Builds the request for the transfer's current step and hands it to curl; false when no
  // request went out (a build failure is recorded as the attempt's outcome).
  bool Launch(std::unique_ptr<Transfer> transfer);
  // Fills in what a delivery about an inquiry shows (the inquiry, its task, contact, owner; for
  // a notice its recipient and ack link) from the batch's `contexts`. False when it cannot go
  // ahead now (a gone inquiry is recorded as a permanent failure; a failed read keeps the claim
  // until it expires).
  bool LoadInquiryContext(const Handoff& handoff, const std::string& lease_token,
                          const ContextRead& contexts, Transfer& t);
  // Persists a confirmed step (progress and a handoff.step_confirmed event) before the next.
  void RecordStep(const Transfer& transfer, int status, double latency_ms,
                  const DeliveryOutcome& outcome, const std::string& excerpt);
  // Delivers through a local connector (the inbox) inside the outcome's own transaction.
  void RecordLocal(std::unique_ptr<Transfer> transfer);
  // Tells the destination's gate how a request it let through ended.
  void SettleGate(const std::string& destination, const DeliveryOutcome& outcome);
  // Copies every gate's state into health_ for Health().
  void PublishHealth();
  void DrainCompletions();
  void Complete(std::unique_ptr<Transfer> transfer, int curl_result);
  // Writes an attempt's outcome (handoff row, events, inquiry status) without blocking.
  // `local`, when set, runs first inside the same transaction and returns the record's id.
  using LocalDelivery = std::function<absl::StatusOr<std::string>(WriteTx&)>;
  void Record(const Handoff& handoff, const std::string& lease_token, int http_status,
              double latency_ms, const DeliveryOutcome& outcome, const std::string& excerpt,
              LocalDelivery local = nullptr);
  // Submits an outcome write, counted so Stop() can wait for it to settle.
  void SubmitOutcomeWrite(const std::string& handoff_id, WriteFn write, Durability durability);
  void AbandonInFlight();
  int IdleWaitMillis();
  const RetrySchedule* ScheduleFor(const std::string& destination) const;
  // The destination's OAuth2 token state (destinations with an oauth2 block only).
  TokenCache::Lookup TokenFor(const DestinationConfig& destination);
  // Relaunches the transfers parked after a 401 once their destination has a fresh token.
  void ResumeAwaitingToken();
  // Gives the claims of parked transfers back (on stop).
  void ReleaseAwaitingToken();

  const Config* config_;
  const ConnectorRegistry* registry_;
  Store* store_;
  const Clock* clock_;
  DispatcherOptions options_;
  Micros lease_;
  const TaskLinkSigner link_signer_;  // the ack link of notify/escalate deliveries
  std::map<std::string, std::unique_ptr<RetrySchedule>> schedules_;
  std::map<std::string, DestinationGate> gates_;  // dispatcher thread only
  mutable std::mutex health_mu_;
  std::vector<DestinationHealth> health_;  // guarded by health_mu_
  // Some destinations may reach private addresses and others may not (see StartOne).
  bool mixed_private_policy_ = false;

  void* multi_;  // CURLM*, kept out of this header so callers need no curl include
  std::map<void*, std::unique_ptr<Transfer>> transfers_;  // by CURL* easy handle
  // Transfers answered 401 with a token just invalidated: they keep their claim and retry
  // once with the next token (dispatcher thread only).
  std::vector<std::unique_ptr<Transfer>> awaiting_token_;
  std::unique_ptr<TokenCache> tokens_;  // set when a destination uses OAuth2
  // Claims that would find nothing are not made (dispatcher thread only): the last claim found
  // fewer claimable handoffs than it asked for (with these destinations' gates closed), which
  // holds until a Wake (set from any thread) or next_claim_at_ (a retry, gate or idle poll
  // due); or, with every gate closed, handoffs of unknown destinations were already sought,
  // which holds until next_claim_at_.
  bool outbox_empty_ = false;
  std::vector<std::string> short_claim_skip_;
  bool orphans_sought_ = false;
  Micros next_claim_at_ = 0;
  std::atomic<bool> woken_{false};

  std::mutex lifecycle_mu_;
  std::thread thread_;
  bool started_ = false;
  std::atomic<bool> stopping_{false};

  std::mutex writes_mu_;
  std::condition_variable writes_cv_;
  int pending_writes_ = 0;

  std::atomic<int> in_flight_{0};
  std::atomic<int64_t> attempts_{0}, confirmed_{0}, retried_{0}, dead_{0}, write_errors_{0},
      handed_back_{0}, claims_{0};
};

}  // namespace handoff
