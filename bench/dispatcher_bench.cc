#include "bench/dispatcher_bench.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "bench/measure.h"
#include "config/config.h"
#include "core/id.h"
#include "core/status.h"
#include "fmt/format.h"
#include "model/records.h"
#include "store/store.h"
#include "transfer/connector.h"
#include "transfer/dispatcher.h"

namespace handoff::bench {
namespace {

constexpr const char* kWorkspace = "bench";
constexpr const char* kDestination = "sink";
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr int kPreloadBatch = 1000;  // handoffs (with their inquiries) per preload transaction
constexpr Micros kDeliveryTimeout = 10 * kMicrosPerSecond;

// One fresh store and dispatcher in a directory of their own, wired as src/app/app.cc wires
// them: the store's work listener wakes the dispatcher when a commit adds transfer work. The
// listener also notes when that commit happened: the moment the handoff became due.
class Rig {
 public:
  static absl::StatusOr<std::unique_ptr<Rig>> Create(const DispatcherBenchOptions& options,
                                                     const std::string& sink_url) {
    std::unique_ptr<Rig> rig(new Rig());
    std::string tmpl = options.dir + "/handoff-dispatcher-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      return absl::UnavailableError(fmt::format("cannot create a directory in {}", options.dir));
    }
    rig->dir_ = tmpl;
    rig->keep_ = options.keep;

    Config& c = rig->config_;
    c.workspace = kWorkspace;
    TeamMember ana;
    ana.id = "ana";
    ana.name = "Ana Ortiz";
    ana.email = "ana@bench.example";
    c.team.push_back(ana);
    DestinationConfig d;
    d.name = kDestination;
    d.connector = "webhook";
    d.url = sink_url;
    d.secrets = {kSecret};
    d.timeout = kDeliveryTimeout;
    d.retry = DefaultRetrySchedule();
    d.allow_private = true;
    d.concurrency = options.in_flight;
    c.destinations.push_back(d);
    RegisterBuiltinConnectors(rig->registry_);

    auto store = OpenStore("sqlite:" + rig->dir_ + "/bench.db", SystemClock::Get());
    if (!store.ok()) return store.status();
    rig->store_ = *std::move(store);
    DispatcherOptions dispatcher;
    dispatcher.max_in_flight = options.in_flight;
    rig->dispatcher_ =
        std::make_unique<Dispatcher>(&rig->config_, &rig->registry_, rig->store_.get(),
                                     SystemClock::Get(), std::move(dispatcher));
    Rig* raw = rig.get();
    rig->store_->SetWorkListener([raw](Stage stage) {
      if (stage != Stage::kTransfer) return;
      raw->last_due_.store(MonotonicMicros());
      raw->dispatcher_->Wake();
    });
    return rig;
  }

  ~Rig() {
    if (dispatcher_) dispatcher_->Stop();
    if (store_) {
      store_->SetWorkListener(nullptr);
      dispatcher_.reset();
      store_->Shutdown();
      store_.reset();
    }
    if (!keep_ && !dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  Store& store() { return *store_; }
  Dispatcher& dispatcher() { return *dispatcher_; }
  const DestinationConfig& destination() const { return config_.destinations[0]; }
  const TeamMember& owner() const { return config_.team[0]; }
  const Connector& webhook() const { return *registry_.Find("webhook"); }
  // When the store last committed a write that added transfer work, on MonotonicMicros().
  Micros last_due() const { return last_due_.load(); }

 private:
  Rig() = default;

  std::string dir_;
  bool keep_ = false;
  Config config_;
  ConnectorRegistry registry_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::atomic<Micros> last_due_{0};
};

// A routed inquiry with its contact, its task and one handoff due now: what the trigger stage
// leaves in the outbox.
struct Sample {
  Inquiry inquiry;
  Contact contact;
  Task task;
  Handoff handoff;
};

Sample MakeSample(int64_t n, Micros now) {
  Sample s;
  Inquiry& i = s.inquiry;
  i.id = NewUuidV7(now);
  i.workspace = kWorkspace;
  i.source = "bench";
  i.channel = Channel::kForm;
  i.received_at = now;
  i.occurred_at = now;
  i.received.name = fmt::format("  Bench Caller {} ", n);
  i.received.email = fmt::format("B-{}@Example.com", n);
  i.received.phone = fmt::format("(415) 2{:02d}-{:04d}", (n / 10000) % 100, n % 10000);
  i.normalized.name = fmt::format("Bench Caller {}", n);
  i.normalized.email = fmt::format("b-{}@example.com", n);
  i.normalized.phone = fmt::format("+14152{:02d}{:04d}", (n / 10000) % 100, n % 10000);
  i.message = "Water heater leaking in the garage, please call back today.";
  i.service = "water heater";
  i.raw_content_type = "application/json";
  i.raw_payload = nlohmann::json({{"name", i.received.name},
                                  {"email", i.received.email},
                                  {"phone", i.received.phone},
                                  {"message", i.message},
                                  {"service", i.service}})
                      .dump();
  i.stage = Stage::kTrigger;
  i.status = "routed";
  s.contact.id = NewUuidV7(now);
  s.contact.workspace = kWorkspace;
  s.contact.name = i.normalized.name;
  s.contact.email = i.normalized.email;
  s.contact.phone = i.normalized.phone;
  s.contact.created_at = now;
  s.contact.updated_at = now;
  i.contact_id = s.contact.id;
  s.task.id = NewUuidV7(now);
  s.task.workspace = kWorkspace;
  s.task.inquiry_id = i.id;
  s.task.route = "bench leads";
  s.task.owner = "ana";
  s.task.title = "Call back " + i.normalized.name;
  s.task.due_at = now + 15 * kMicrosPerMinute;
  s.task.created_at = now;
  s.handoff.id = NewUuidV7(now);
  s.handoff.workspace = kWorkspace;
  s.handoff.inquiry_id = i.id;
  s.handoff.destination = kDestination;
  s.handoff.next_attempt_at = now;
  s.handoff.created_at = now;
  return s;
}

absl::Status InsertSample(WriteTx& tx, const Sample& s) {
  RETURN_IF_ERROR(tx.InsertInquiry(s.inquiry));
  RETURN_IF_ERROR(tx.UpsertContact(s.contact));
  RETURN_IF_ERROR(tx.InsertTask(s.task));
  return tx.InsertHandoff(s.handoff);
}

// Writes samples 0 … count − 1 made by `make`, kPreloadBatch to a transaction. Each batch is
// built before its write, off the writer thread.
absl::Status Preload(Store& store, int64_t count, const std::function<Sample(int64_t)>& make) {
  for (int64_t n = 0; n < count; n += kPreloadBatch) {
    const int64_t end = std::min<int64_t>(n + kPreloadBatch, count);
    std::vector<Sample> batch;
    for (int64_t k = n; k < end; ++k) batch.push_back(make(k));
    RETURN_IF_ERROR(store.Write([&batch](WriteTx& tx) -> absl::Status {
      for (const Sample& sample : batch) RETURN_IF_ERROR(InsertSample(tx, sample));
      return absl::OkStatus();
    }));
  }
  return absl::OkStatus();
}

// The baseline: one libcurl easy handle, reused so its connection stays open as the
// dispatcher's multi handle keeps its own, with the options the dispatcher sets for a webhook.
// Not thread-safe.
class DirectClient {
 public:
  DirectClient() : easy_(curl_easy_init()) {}
  ~DirectClient() {
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
  }
  DirectClient(const DirectClient&) = delete;
  DirectClient& operator=(const DirectClient&) = delete;

  // Sends `request` and returns its HTTP status; `sent_at` gets the time just before
  // curl_easy_perform. Everything else (headers list, options) is set up before that.
  absl::StatusOr<long> Send(const OutboundRequest& request, Micros* sent_at) {
    if (easy_ == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
      headers = curl_slist_append(headers, fmt::format("{}: {}", name, value).c_str());
    }
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(easy_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROXY, "");
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(kDeliveryTimeout / 1000));
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "handoff/0.1");
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy_, CURLOPT_POST, 1L);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Discard);
    *sent_at = MonotonicMicros();
    CURLcode rc = curl_easy_perform(easy_);
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) return absl::UnavailableError(curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }

 private:
  static size_t Discard(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

  CURL* easy_;
};

// Polls until the handoff's outcome is durably written; its state, or "" on timeout.
std::string WaitForSettled(Store& store, const std::string& handoff_id) {
  Micros deadline = MonotonicMicros() + kDeliveryTimeout;
  while (MonotonicMicros() < deadline) {
    auto h = store.GetHandoff(kWorkspace, handoff_id);
    if (h.ok() && h->state != "pending" && h->state != "delivering") return h->state;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return "";
}

// Handoffs not yet settled (pending, delivering or failed), from the store's own counts.
absl::StatusOr<int64_t> Unsettled(Store& store) {
  ASSIGN_OR_RETURN(auto depths, store.QueueDepths());
  int64_t n = 0;
  for (const auto& [name, count] : depths) {
    if (name == "handoffs.pending" || name == "handoffs.delivering" || name == "handoffs.failed") {
      n += count;
    }
  }
  return n;
}

}  // namespace

DispatcherBench::DispatcherBench(DispatcherBenchOptions options, DeliverySink* sink)
    : options_(std::move(options)), sink_(sink) {}

void DispatcherBench::Fail(std::string what) {
  std::printf("  FAILED: %s\n", what.c_str());
  std::fflush(stdout);
  failures_.push_back(std::move(what));
}

std::optional<DispatcherThroughput> DispatcherBench::RunThroughput(int run) {
  const std::string phase = fmt::format("throughput run {}/{}", run + 1, options_.runs);
  sink_->Reset();
  auto rig = Rig::Create(options_, sink_->url());
  if (!rig.ok()) {
    Fail(fmt::format("{}: {}", phase, std::string(rig.status().message())));
    return std::nullopt;
  }
  Store& store = (*rig)->store();
  Dispatcher& dispatcher = (*rig)->dispatcher();
  DispatcherThroughput result;
  result.handoffs = options_.handoffs;

  Micros preload_start = MonotonicMicros();
  absl::Status preloaded = Preload(
      store, options_.handoffs, [](int64_t k) { return MakeSample(k, SystemClock::Get()->Now()); });
  if (!preloaded.ok()) {
    Fail(fmt::format("{}: preloading: {}", phase, std::string(preloaded.message())));
    return std::nullopt;
  }
  result.preload = MonotonicMicros() - preload_start;

  const Micros cpu_before = ProcCpuMicros(getpid()).value_or(0);
  const Micros started = MonotonicMicros();
  const Micros deadline = started + options_.timeout_s * kMicrosPerSecond;
  dispatcher.Start();
  while (true) {
    DispatcherCounters c = dispatcher.counters();
    if (c.dead > 0 || c.retried > 0) {
      Fail(fmt::format("{}: {} handoffs retried and {} dead with a sink answering 200", phase,
                       c.retried, c.dead));
      return std::nullopt;
    }
    // The counters move when an answer is in; the store says when its outcome is durable.
    if (c.confirmed >= options_.handoffs) {
      auto unsettled = Unsettled(store);
      if (unsettled.ok() && *unsettled == 0) break;
    }
    if (MonotonicMicros() > deadline) {
      Fail(fmt::format("{}: after {} s, {} of {} handoffs confirmed ({} reached the sink)", phase,
                       options_.timeout_s, c.confirmed, options_.handoffs, sink_->distinct()));
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const Micros finished = MonotonicMicros();
  result.elapsed = finished - started;
  result.last_arrival = sink_->last_first_delivery() - started;
  result.cpu_per_delivery_us =
      static_cast<double>(ProcCpuMicros(getpid()).value_or(0) - cpu_before) /
      static_cast<double>(options_.handoffs);
  if (sink_->distinct() != options_.handoffs || sink_->duplicates() > 0 || sink_->malformed() > 0) {
    Fail(fmt::format("{}: the sink got {} distinct of {} handoffs, {} twice, {} malformed", phase,
                     sink_->distinct(), options_.handoffs, sink_->duplicates(),
                     sink_->malformed()));
  }
  std::printf(
      "  %s: %s handoffs confirmed in %.2f s → %s deliveries/s (last at the sink after %.2f s); "
      "preload %.2f s; %.0f µs process CPU per delivery\n",
      phase.c_str(), Thousands(static_cast<double>(result.handoffs)).c_str(),
      static_cast<double>(result.elapsed) / kMicrosPerSecond,
      Thousands(result.per_second()).c_str(),
      static_cast<double>(result.last_arrival) / kMicrosPerSecond,
      static_cast<double>(result.preload) / kMicrosPerSecond, result.cpu_per_delivery_us);
  std::fflush(stdout);
  return result;
}

std::optional<DispatcherLatency> DispatcherBench::RunLatency(int run) {
  const std::string phase = fmt::format("latency run {}/{}", run + 1, options_.latency_runs);
  sink_->Reset();
  auto created = Rig::Create(options_, sink_->url());
  if (!created.ok()) {
    Fail(fmt::format("{}: {}", phase, std::string(created.status().message())));
    return std::nullopt;
  }
  Rig& rig = **created;
  rig.dispatcher().Start();
  DirectClient direct;
  std::vector<Micros> via_dispatcher, via_direct, commits;
  int64_t n = 0;

  // One handoff made due by a commit, through the dispatcher to the sink, its outcome settled.
  auto dispatch_one = [&](bool measured) -> bool {
    Sample s = MakeSample(n++, SystemClock::Get()->Now());
    const Micros submitted = MonotonicMicros();
    absl::Status w = rig.store().Write([&s](WriteTx& tx) { return InsertSample(tx, s); });
    if (!w.ok()) {
      Fail(fmt::format("{}: writing a handoff: {}", phase, std::string(w.message())));
      return false;
    }
    // The listener ran on the writer thread after the commit and before Write returned; no
    // other write adds transfer work here (the previous outcome has settled).
    const Micros due = rig.last_due();
    auto arrived = sink_->WaitForArrival(s.inquiry.id, kDeliveryTimeout);
    if (!arrived.has_value()) {
      Fail(fmt::format("{}: handoff {} never reached the sink", phase, s.handoff.id));
      return false;
    }
    std::string state = WaitForSettled(rig.store(), s.handoff.id);
    if (state != "confirmed") {
      Fail(fmt::format("{}: handoff {} ended '{}', not confirmed", phase, s.handoff.id, state));
      return false;
    }
    if (measured) {
      via_dispatcher.push_back(*arrived - due);
      commits.push_back(due - submitted);
    }
    return true;
  };
  // The same kind of body, built by the same connector beforehand, sent with plain libcurl.
  auto direct_one = [&](bool measured) -> bool {
    Sample s = MakeSample(n++, SystemClock::Get()->Now());
    std::optional<Task> task = s.task;
    std::optional<Contact> contact = s.contact;
    DeliveryContext ctx{rig.destination(),        s.handoff, s.inquiry, task, contact,
                        SystemClock::Get()->Now()};
    ctx.owner = rig.owner();
    auto request = rig.webhook().BuildRequest(ctx);
    if (!request.ok()) {
      Fail(fmt::format("{}: building a direct request: {}", phase,
                       std::string(request.status().message())));
      return false;
    }
    Micros sent = 0;
    auto status = direct.Send(*request, &sent);
    if (!status.ok() || *status != 200) {
      Fail(fmt::format(
          "{}: a direct request failed: {}", phase,
          status.ok() ? fmt::format("HTTP {}", *status) : std::string(status.status().message())));
      return false;
    }
    auto arrived = sink_->WaitForArrival(s.inquiry.id, kDeliveryTimeout);
    if (!arrived.has_value()) {
      Fail(fmt::format("{}: a direct request answered 200 but is not in the sink", phase));
      return false;
    }
    if (measured) via_direct.push_back(*arrived - sent);
    return true;
  };

  for (int i = 0; i < options_.warmup + options_.deliveries; ++i) {
    const bool measured = i >= options_.warmup;
    // Alternating which goes first spreads any drift over both alike.
    bool ok = i % 2 == 0 ? dispatch_one(measured) && direct_one(measured)
                         : direct_one(measured) && dispatch_one(measured);
    if (!ok) return std::nullopt;
  }

  DispatcherLatency result;
  result.deliveries = static_cast<int64_t>(via_dispatcher.size());
  // Both vectors hold one entry per measured pair, in order (Percentile sorts them: first).
  std::vector<Micros> pair_overhead;
  for (size_t k = 0; k < via_dispatcher.size() && k < via_direct.size(); ++k) {
    pair_overhead.push_back(via_dispatcher[k] - via_direct[k]);
  }
  result.pair_overhead_p50 = Percentile(pair_overhead, 50);
  result.pair_overhead_p99 = Percentile(pair_overhead, 99);
  result.dispatcher_p50 = Percentile(via_dispatcher, 50);
  result.dispatcher_p99 = Percentile(via_dispatcher, 99);
  result.direct_p50 = Percentile(via_direct, 50);
  result.direct_p99 = Percentile(via_direct, 99);
  result.commit_p50 = Percentile(commits, 50);
  result.commit_p99 = Percentile(commits, 99);
  if (sink_->duplicates() > 0) {
    Fail(fmt::format("{}: the sink got {} deliveries twice", phase, sink_->duplicates()));
  }
  std::printf(
      "  %s: %lld sequential pairs: dispatcher (due → sink) p50 %s p99 %s; direct libcurl "
      "p50 %s p99 %s; overhead per pair p50 %s p99 %s, of the percentiles p50 %s p99 %s; the "
      "commit making it due p50 %s p99 %s\n",
      phase.c_str(), static_cast<long long>(result.deliveries), Ms(result.dispatcher_p50).c_str(),
      Ms(result.dispatcher_p99).c_str(), Ms(result.direct_p50).c_str(),
      Ms(result.direct_p99).c_str(), Ms(result.pair_overhead_p50).c_str(),
      Ms(result.pair_overhead_p99).c_str(), Ms(result.overhead_p50()).c_str(),
      Ms(result.overhead_p99()).c_str(), Ms(result.commit_p50).c_str(),
      Ms(result.commit_p99).c_str());
  std::fflush(stdout);
  return result;
}

std::optional<GatedClaim> DispatcherBench::RunGatedClaim(int64_t backlog) {
  const std::string phase = fmt::format("gated claim, backlog {}", backlog);
  auto rig = Rig::Create(options_, sink_->url());
  if (!rig.ok()) {
    Fail(fmt::format("{}: {}", phase, std::string(rig.status().message())));
    return std::nullopt;
  }
  Store& store = (*rig)->store();  // the dispatcher is not started: the claims are the bench's
  constexpr int kOpen = kGatedClaimSize;  // due handoffs of the open destination
  constexpr char kClosed[] = "down";
  const Micros now = SystemClock::Get()->Now();
  absl::Status preloaded = Preload(store, backlog + kOpen, [&](int64_t k) {
    // The closed destination's backlog is due first, as a backlog is.
    Sample sample = MakeSample(k, now - (k < backlog ? backlog - k : 0));
    if (k < backlog) sample.handoff.destination = kClosed;
    return sample;
  });
  if (!preloaded.ok()) {
    Fail(fmt::format("{}: preloading: {}", phase, std::string(preloaded.message())));
    return std::nullopt;
  }
  GatedClaim result;
  result.backlog = backlog;
  std::vector<Micros> times;
  for (int i = 0; i < options_.claims; ++i) {
    std::vector<std::string> tokens;
    const Micros start = MonotonicMicros();
    auto claimed = store.ClaimHandoffs(kOpen, now, kMicrosPerMinute, &tokens, {kClosed},
                                       std::string(kWorkspace));
    times.push_back(MonotonicMicros() - start);
    if (!claimed.ok() || claimed->size() != static_cast<size_t>(kOpen)) {
      Fail(fmt::format("{}: claim {} took {} handoffs of {} ({})", phase, i,
                       claimed.ok() ? claimed->size() : 0, kOpen,
                       claimed.ok() ? "ok" : std::string(claimed.status().message())));
      return std::nullopt;
    }
    for (size_t k = 0; k < claimed->size(); ++k) {
      if ((*claimed)[k].destination != kDestination) {
        Fail(fmt::format("{}: claimed a handoff of {}", phase, (*claimed)[k].destination));
        return std::nullopt;
      }
      store.ReleaseHandoff((*claimed)[k].id, tokens[k]);
    }
  }
  result.claims = static_cast<int64_t>(times.size());
  result.p50 = Percentile(times, 50);
  result.p99 = Percentile(times, 99);
  std::printf("  %s: %lld claims, p50 %lld µs, p99 %lld µs\n", phase.c_str(),
              static_cast<long long>(result.claims), static_cast<long long>(result.p50),
              static_cast<long long>(result.p99));
  std::fflush(stdout);
  return result;
}

namespace {

// The median of a figure over the runs.
template <typename Run, typename F>
double Med(const std::vector<Run>& runs, F figure) {
  std::vector<double> values;
  for (const auto& r : runs) values.push_back(static_cast<double>(figure(r)));
  return Median(values);
}

// Each run's figure, "a · b · c".
template <typename Run, typename F>
std::string Each(const std::vector<Run>& runs, F format) {
  std::string out;
  for (const auto& r : runs) out += (out.empty() ? "" : " · ") + format(r);
  return out;
}

std::string MsPair(double p50_us, double p99_us) {
  return fmt::format("{:.3f} / {:.3f} ms", p50_us / 1000, p99_us / 1000);
}

}  // namespace

void PrintDispatcherTable(const std::vector<DispatcherThroughput>& throughput,
                          const std::vector<DispatcherLatency>& latency,
                          const std::vector<GatedClaim>& gated, const DispatcherBenchOptions& o) {
  auto row = [](const std::string& name, const std::string& median, const std::string& target) {
    // fmt pads by display width, so "µ" and "×" do not shift the columns as printf's would.
    std::printf("%s\n", fmt::format("  {:<60} {:>26}   {}", name, median, target).c_str());
  };
  std::printf(
      "\nDispatcher figures: medians of %d throughput runs (%s handoffs preloaded each) and of %d "
      "latency runs (%d sequential dispatcher deliveries and as many direct requests each)\n\n",
      o.runs, Thousands(o.handoffs).c_str(), o.latency_runs, o.deliveries);
  row("figure", "median", "target");
  if (!throughput.empty()) {
    row(fmt::format("deliveries/s, {} in flight", o.in_flight),
        Thousands(Med(throughput, [](const auto& r) { return r.per_second(); })), "");
    row("  … each run", Each(throughput, [](const auto& r) { return Thousands(r.per_second()); }),
        "");
    row("process CPU per delivery (dispatcher, writer, sink)",
        fmt::format("{:.0f} µs",
                    Med(throughput, [](const auto& r) { return r.cpu_per_delivery_us; })),
        "");
  }
  if (!latency.empty()) {
    const double d50 = Med(latency, [](const auto& r) { return r.dispatcher_p50; });
    const double d99 = Med(latency, [](const auto& r) { return r.dispatcher_p99; });
    const double c50 = Med(latency, [](const auto& r) { return r.direct_p50; });
    const double c99 = Med(latency, [](const auto& r) { return r.direct_p99; });
    row("dispatcher, due → sink, p50 / p99", MsPair(d50, d99), "");
    row("direct libcurl request → sink, p50 / p99", MsPair(c50, c99), "");
    row("dispatcher overhead per pair (dispatcher − direct) p50 / p99",
        MsPair(Med(latency, [](const auto& r) { return r.pair_overhead_p50; }),
               Med(latency, [](const auto& r) { return r.pair_overhead_p99; })),
        "p99 ≤ 2 ms");
    row("  … overhead per pair p99 of each run",
        Each(latency,
             [](const auto& r) {
               return fmt::format("{:.3f}", static_cast<double>(r.pair_overhead_p99) / 1000);
             }) +
            " ms",
        "");
    row("overhead as the difference of the percentiles p50 / p99",
        MsPair(Med(latency, [](const auto& r) { return r.overhead_p50(); }),
               Med(latency, [](const auto& r) { return r.overhead_p99(); })),
        "");
    row("ratio dispatcher / direct, p50 / p99",
        fmt::format("{:.1f}× / {:.1f}×", c50 > 0 ? d50 / c50 : 0, c99 > 0 ? d99 / c99 : 0), "");
    row("context: the commit making it due, p50 / p99",
        MsPair(Med(latency, [](const auto& r) { return r.commit_p50; }),
               Med(latency, [](const auto& r) { return r.commit_p99; })),
        "not in the figures above");
  }
  for (const GatedClaim& g : gated) {
    row(fmt::format("a claim of {} beside a closed gate's {} due, p50 / p99", kGatedClaimSize,
                    Thousands(g.backlog)),
        MsPair(static_cast<double>(g.p50), static_cast<double>(g.p99)),
        "independent of the backlog");
  }
}

}  // namespace handoff::bench
