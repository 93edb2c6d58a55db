#include "transfer/dispatcher.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "core/check.h"
#include "core/status.h"
#include "core/thread_name.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "transfer/ssrf_guard.h"

namespace handoff {
namespace {

constexpr size_t kExcerptBytes = 200;
constexpr size_t kMaxReasonBytes = 300;
constexpr size_t kMaxResponseHeaders = 100;
constexpr size_t kMaxHeaderLine = 8 * 1024;
// A claim must outlive the transfer it covers, or another worker could deliver it again
// while this one is still waiting for the answer.
constexpr Micros kLeaseMargin = 30 * kMicrosPerSecond;
constexpr int kMaxStepsPerClaim = 5;
constexpr const char* kRefusedReason = "destination address refused (private/loopback)";

void GlobalInitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Only printable ASCII survives: excerpts and reasons end up in JSON event details, on
// timelines and in logs, and a response cut at 200 bytes may end mid-UTF-8 sequence.
std::string Sanitize(std::string_view in, size_t max) {
  std::string out;
  out.reserve(std::min(in.size(), max));
  for (char ch : in.substr(0, max)) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\n' || c == '\r' || c == '\t') {
      out.push_back(' ');
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(ch);
    } else {
      out.push_back('?');
    }
  }
  return out;
}

std::string_view KindName(DeliveryOutcome::Kind kind) {
  switch (kind) {
    case DeliveryOutcome::Kind::kConfirmed:
      return "confirmed";
    case DeliveryOutcome::Kind::kRetryable:
      return "retryable";
    case DeliveryOutcome::Kind::kPermanent:
      return "permanent";
  }
  return "retryable";
}

Event TransferEvent(const Handoff& h, Micros at, std::string kind, nlohmann::json detail) {
  Event e;
  e.workspace = h.workspace;
  e.inquiry_id = h.inquiry_id;
  e.at = at;
  e.stage = Stage::kTransfer;
  e.kind = std::move(kind);
  e.detail = std::move(detail);
  return e;
}

}  // namespace

// One transfer in flight: everything its callbacks and its classification need, owned here
// so that the pointers handed to curl stay valid until the easy handle is removed.
struct Dispatcher::Transfer {
  Handoff handoff;
  std::string lease_token;
  const DestinationConfig* destination = nullptr;
  const Connector* connector = nullptr;
  Inquiry inquiry;
  std::optional<Task> task;
  std::optional<Contact> contact;
  std::optional<TeamMember> owner;
  std::optional<TeamMember> recipient;  // notify/escalate: the person told
  std::string ack_url;                  // notify/escalate: the task's one-click link
  std::string public_url;
  DeliveryProgress progress;  // steps confirmed so far, in this attempt or earlier ones
  std::optional<AccessToken> access_token;
  OutboundRequest request;

  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  curl_slist* recipients = nullptr;  // mail: RCPT TO
  size_t upload_offset = 0;          // mail: how much of the message curl has read
  bool allow_private = false;
  bool auth_retried = false;  // a 401 already made this attempt fetch a fresh token
  bool refused = false;       // the SSRF guard refused an address curl tried to connect to
  size_t max_body = 0;
  std::vector<std::pair<std::string, std::string>> response_headers;
  std::string response_body;

  ~Transfer() { ResetRequest(); }

  // Frees the previous step's curl state so the transfer can carry the next step.
  void ResetRequest() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (header_list != nullptr) curl_slist_free_all(header_list);
    if (recipients != nullptr) curl_slist_free_all(recipients);
    easy = nullptr;
    header_list = nullptr;
    recipients = nullptr;
    upload_offset = 0;
    refused = false;
    response_headers.clear();
    response_body.clear();
  }

  DeliveryContext Context(Micros now) const {
    DeliveryContext ctx{*destination, handoff, inquiry, task, contact, now};
    ctx.progress = progress;
    ctx.access_token = access_token;
    ctx.public_url = public_url;
    ctx.owner = owner;
    ctx.recipient = recipient;
    ctx.ack_url = ack_url;
    return ctx;
  }

  // Feeds the mail message to curl's SMTP upload.
  static size_t OnRead(char* buffer, size_t size, size_t nitems, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::string& body = t->request.body;
    const size_t n = std::min(size * nitems, body.size() - t->upload_offset);
    std::memcpy(buffer, body.data() + t->upload_offset, n);
    t->upload_offset += n;
    return n;
  }

  static size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t n = size * nmemb;
    // Past the cap the rest is read and dropped: aborting would turn a large 2xx into a
    // transport error and a needless retry.
    if (t->response_body.size() < t->max_body) {
      t->response_body.append(data, std::min(n, t->max_body - t->response_body.size()));
    }
    return n;
  }

  static size_t OnHeader(char* data, size_t size, size_t nmemb, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t n = size * nmemb;
    std::string_view line(data, std::min(n, kMaxHeaderLine));
    // A status line starts a new header block (e.g. after "100 Continue"): only the final
    // response's headers count.
    if (line.starts_with("HTTP/")) {
      t->response_headers.clear();
      return n;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || t->response_headers.size() >= kMaxResponseHeaders) {
      return n;
    }
    t->response_headers.emplace_back(AsciiLowered(TrimAsciiWhitespace(line.substr(0, colon))),
                                     std::string(TrimAsciiWhitespace(line.substr(colon + 1))));
    return n;
  }

  // The SSRF guard runs on the address curl is about to connect to, after name resolution,
  // so that a hostname resolving (or re-resolving) to a private address is refused too.
  static curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(user);
    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
    if (!t->allow_private && RefusedRange(&address->addr, address->addrlen).has_value()) {
      t->refused = true;
      return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  }
};

Dispatcher::Dispatcher(const Config* config, const ConnectorRegistry* registry, Store* store,
                       const Clock* clock, DispatcherOptions options)
    : config_(config),
      registry_(registry),
      store_(store),
      clock_(clock),
      options_(std::move(options)),
      lease_(options_.lease),
      link_signer_(TaskLinkSigner::ForConfig(*config)) {
  options_.max_in_flight = std::max(1, options_.max_in_flight);
  options_.claim_batch = std::max(1, options_.claim_batch);
  if (!options_.random) options_.random = MakeUniformRandom();
  int guarded = 0;
  for (const DestinationConfig& d : config_->destinations) {
    if (!d.allow_private && !config_->server.allow_private_destinations) ++guarded;
    // One claim covers every step of a delivery (a CRM's lookup, record and follow-up: up to
    // four requests) and a token refresh after a 401.
    // A shared store renews claims while this node lives, so there the lease is only how soon
    // a dead node's deliveries move on.
    if (!store_->shared()) lease_ = std::max(lease_, kMaxStepsPerClaim * d.timeout + kLeaseMargin);
    schedules_[d.name] = std::make_unique<RetrySchedule>(d.retry, options_.jitter, options_.random);
    GateOptions gate;
    gate.concurrency = d.concurrency;
    gate.rate_per_second = d.rate_per_second;
    gate.burst = d.rate_burst;
    gate.failure_ratio = d.breaker.failure_ratio;
    gate.min_requests = d.breaker.min_requests;
    gate.window = d.breaker.window;
    gate.open_for = d.breaker.open_for;
    gates_.emplace(d.name, DestinationGate(gate));
  }
  PublishHealth();
  mixed_private_policy_ = guarded > 0 && guarded < static_cast<int>(config_->destinations.size());
  GlobalInitCurl();
  multi_ = curl_multi_init();
  HANDOFF_CHECK(multi_ != nullptr, "curl_multi_init failed (out of memory)");
  for (const DestinationConfig& d : config_->destinations) {
    if (d.oauth2.configured() && !tokens_) {
      tokens_ = std::make_unique<TokenCache>(clock_, [this] { Wake(); });
    }
  }
}

Dispatcher::~Dispatcher() {
  Stop();
  tokens_.reset();  // its callback wakes the curl multi handle freed below
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

void Dispatcher::Start() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (started_ || stopping_.load()) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void Dispatcher::Stop() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  stopping_.store(true);
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::Wake() {
  woken_.store(true);
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

DispatcherCounters Dispatcher::counters() const {
  return DispatcherCounters{attempts_.load(), confirmed_.load(),    retried_.load(),
                            dead_.load(),     write_errors_.load(), handed_back_.load(),
                            claims_.load()};
}

std::vector<Dispatcher::DestinationHealth> Dispatcher::Health() const {
  std::lock_guard<std::mutex> lock(health_mu_);
  return health_;
}

void Dispatcher::PublishHealth() {
  std::vector<DestinationHealth> health;
  health.reserve(gates_.size());
  for (const auto& [name, gate] : gates_) {
    health.push_back(
        {name, std::string(gate.BreakerName()), gate.in_flight(),
         gate.breaker() == DestinationGate::BreakerState::kOpen ? gate.open_until() : 0,
         gate.times_opened()});
  }
  std::lock_guard<std::mutex> lock(health_mu_);
  health_ = std::move(health);
}

void Dispatcher::SettleGate(const std::string& destination, const DeliveryOutcome& outcome) {
  auto it = gates_.find(destination);
  if (it == gates_.end()) return;
  const Micros now = clock_->Now();
  DestinationGate& gate = it->second;
  const DestinationGate::BreakerState before = gate.breaker();
  const bool failure = outcome.kind == DeliveryOutcome::Kind::kRetryable;
  gate.OnFinish(now, failure, outcome.retry_after ? now + *outcome.retry_after : 0);
  if (gate.breaker() != before) {
    if (gate.breaker() == DestinationGate::BreakerState::kOpen) {
      spdlog::warn("transfer: destination '{}' keeps failing; pausing it until {} (breaker open)",
                   destination, FormatRfc3339(gate.open_until()));
    } else {
      spdlog::info("transfer: destination '{}' recovered (breaker {})", destination,
                   gate.BreakerName());
    }
  }
  PublishHealth();
}

const RetrySchedule* Dispatcher::ScheduleFor(const std::string& destination) const {
  auto it = schedules_.find(destination);
  return it == schedules_.end() ? nullptr : it->second.get();
}

void Dispatcher::Run() {
  NameThisThread("dispatcher");
  auto* multi = static_cast<CURLM*>(multi_);
  std::optional<std::chrono::steady_clock::time_point> stop_deadline;
  while (true) {
    int running = 0;
    curl_multi_perform(multi, &running);
    DrainCompletions();

    int wait_ms = 0;
    if (stopping_.load()) {
      if (!stop_deadline) {
        stop_deadline = std::chrono::steady_clock::now() +
                        std::chrono::microseconds(std::max<Micros>(options_.stop_grace, 0));
      }
      ReleaseAwaitingToken();
      if (transfers_.empty()) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      *stop_deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) {
        AbandonInFlight();
        break;
      }
      wait_ms = static_cast<int>(std::min<int64_t>(left, 100));
    } else {
      // Something claimed: send it at once and look for more.
      if (ClaimAndStart() > 0) continue;
      wait_ms = IdleWaitMillis();
      next_claim_at_ = clock_->Now() + static_cast<Micros>(wait_ms) * kMicrosPerMilli;
    }
    curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
  }

  // Outcome callbacks capture `this`: the dispatcher must outlive every submitted write.
  std::unique_lock<std::mutex> lock(writes_mu_);
  writes_cv_.wait(lock, [this] { return pending_writes_ == 0; });
}

int Dispatcher::IdleWaitMillis() {
  const int idle_ms = static_cast<int>(std::max<Micros>(options_.idle_poll / kMicrosPerMilli, 1));
  // With every slot busy, curl's own socket events and timeouts wake the loop.
  if (static_cast<int>(transfers_.size()) >= options_.max_in_flight) return idle_ms;
  auto next = store_->NextAvailable(Stage::kTransfer, options_.workspace);
  if (!next.ok() || !next->has_value()) return idle_ms;
  const Micros now = clock_->Now();
  Micros until = **next - now;
  if (until <= 0) {
    // Due work may be waiting on a gate (a rate limit, a pause, an open breaker): wake when the
    // soonest gate could open rather than a whole idle poll later.
    Micros soonest = 0;
    for (const auto& [name, gate] : gates_) {
      Micros chance = gate.NextChance(now);
      if (chance > now && (soonest == 0 || chance < soonest)) soonest = chance;
    }
    if (soonest > 0) until = soonest - now;
  }
  // Due but not claimable means leased (our own in-flight transfers, or a claim left to
  // expire): its outcome commit wakes us through the work listener, so spinning gains nothing.
  if (until <= 0) return idle_ms;
  return static_cast<int>(
      std::min<Micros>(idle_ms, (until + kMicrosPerMilli - 1) / kMicrosPerMilli));
}

int Dispatcher::ClaimAndStart() {
  ResumeAwaitingToken();
  const int free_slots = options_.max_in_flight - static_cast<int>(transfers_.size()) -
                         static_cast<int>(awaiting_token_.size());
  if (free_slots <= 0) return 0;
  const Micros now = clock_->Now();
  const bool timer_due = now >= next_claim_at_;
  if (woken_.exchange(false) || timer_due) {
    // A commit made handoffs claimable, or a retry, a gate or the idle poll came due.
    outbox_empty_ = false;
  }
  // Handoffs for destinations no longer in the config come from before a reload (or from a
  // node with another config), never from this node's commits: looking for them once per
  // poll is enough. (The store reads each destination's handoffs apart, so that look costs a
  // seek per destination, not a walk of the gated backlog.)
  if (timer_due) orphans_sought_ = false;
  // Destinations whose gate is closed are not even claimed: their backlog must not crowd out
  // the handoffs of healthy destinations. Nor are those still waiting for an OAuth2 token.
  // The claim takes no more than the open gates admit together: a handoff claimed only to be
  // given back costs a write on a shared store.
  std::vector<std::string> skip;
  if (tokens_) {
    for (const DestinationConfig& d : config_->destinations) {
      if (d.oauth2.configured() && TokenFor(d).state == TokenCache::State::kPending) {
        skip.push_back(d.name);
      }
    }
  }
  int admitted = 0;
  for (auto& [name, gate] : gates_) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    const int room = gate.Headroom(now);
    if (room == 0) skip.push_back(name);
    admitted += room;
  }
  // Claiming again what the last claim could not find would only walk past the same in-flight
  // rows, once per socket event of every transfer. Unless a gate changed since (it
  // was short with the same gates closed), nothing new can be claimable until a Wake or
  // next_claim_at_.
  if (outbox_empty_ && skip == short_claim_skip_) return 0;
  // With every known gate closed, only handoffs for destinations no longer in the config can
  // come back (they are claimed to be recorded as failed); those appear only with a commit.
  if (admitted == 0 && orphans_sought_) return 0;
  if (admitted == 0) orphans_sought_ = true;
  const int limit = std::min(free_slots, options_.claim_batch);
  const int wanted = admitted > 0 ? std::min(limit, admitted) : limit;
  std::vector<std::string> tokens;
  claims_.fetch_add(1);
  auto claimed = store_->ClaimHandoffs(wanted, now, lease_, &tokens, skip, options_.workspace);
  if (!claimed.ok()) {
    spdlog::error("transfer: claiming handoffs failed: {}",
                  std::string(claimed.status().message()));
    return 0;
  }
  outbox_empty_ = static_cast<int>(claimed->size()) < wanted;
  if (outbox_empty_) short_claim_skip_ = skip;
  HANDOFF_CHECK(tokens.size() == claimed->size(), "ClaimHandoffs returned mismatched tokens");
  std::vector<size_t> starting;
  std::vector<InquiryRef> about;
  for (size_t i = 0; i < claimed->size(); ++i) {
    const Handoff& h = (*claimed)[i];
    auto gate = gates_.find(h.destination);
    if (gate != gates_.end()) {
      // The batch may hold more for one destination than its own gate lets through now (the
      // claim was sized for all open gates together): the rest go back to the outbox at once.
      if (!gate->second.MayStart(now)) {
        store_->ReleaseHandoff(h.id, tokens[i]);
        handed_back_.fetch_add(1);
        outbox_empty_ = false;
        continue;
      }
      gate->second.OnStart(now);
    }
    starting.push_back(i);
    if (h.purpose != "alert") about.push_back(InquiryRef{h.workspace, h.inquiry_id});
  }
  // What the deliveries show, read for the whole batch at once: one read transaction instead
  // of three per delivery.
  ContextRead contexts = std::map<InquiryRef, InquiryContext>();
  if (!about.empty()) contexts = store_->ReadInquiryContexts(about);
  int started = 0;
  for (size_t i : starting) {
    Handoff& h = (*claimed)[i];
    auto gate = gates_.find(h.destination);
    if (StartOne(std::move(h), std::move(tokens[i]), contexts)) {
      ++started;
    } else if (gate != gates_.end()) {
      gate->second.OnFinish(now, /*failure=*/false);  // nothing went out: give the slot back
    }
  }
  PublishHealth();
  return started;
}

bool Dispatcher::StartOne(Handoff handoff, std::string lease_token, const ContextRead& contexts) {
  const DestinationConfig* dest = config_->FindDestination(handoff.destination);
  if (dest == nullptr) {
    Record(handoff, lease_token, 0, 0,
           Permanent(Sanitize(fmt::format("unknown destination '{}' (no longer in the config)",
                                          handoff.destination),
                              kMaxReasonBytes)),
           "");
    return false;
  }
  const Connector* connector = registry_->Find(dest->connector);
  if (connector == nullptr) {
    Record(handoff, lease_token, 0, 0,
           Permanent(
               Sanitize(fmt::format("unknown connector '{}'", dest->connector), kMaxReasonBytes)),
           "");
    return false;
  }

  auto t = std::make_unique<Transfer>();
  t->destination = dest;
  t->connector = connector;
  if (handoff.purpose == "alert") {
    // A leak alert belongs to no inquiry: its text is the whole message.
    t->inquiry.workspace = handoff.workspace;
    for (const TeamMember& m : config_->team) {
      if (m.id == handoff.recipient) t->recipient = m;
    }
  } else if (!LoadInquiryContext(handoff, lease_token, contexts, *t)) {
    return false;
  }
  t->public_url = config_->business.public_url;
  t->progress = DeliveryProgress::FromJson(handoff.progress);
  t->handoff = std::move(handoff);
  t->lease_token = std::move(lease_token);
  t->allow_private = dest->allow_private || config_->server.allow_private_destinations;
  t->max_body = options_.max_response_bytes;

  if (connector->local()) {
    RecordLocal(std::move(t));
    return false;  // nothing went out over the network
  }
  if (dest->oauth2.configured()) {
    TokenCache::Lookup token = TokenFor(*dest);
    if (token.state == TokenCache::State::kFailed) {
      t->handoff.progress = t->progress.ToJson();
      Record(t->handoff, t->lease_token, 0, 0, Retryable(Sanitize(token.error, kMaxReasonBytes)),
             "");
      return false;
    }
    if (token.state == TokenCache::State::kPending) {
      // The token expired between the claim and now: wait for the fetch with the others.
      store_->ReleaseHandoff(t->handoff.id, t->lease_token);
      return false;
    }
    t->access_token = token.token;
  }
  return Launch(std::move(t));
}

bool Dispatcher::LoadInquiryContext(const Handoff& handoff, const std::string& lease_token,
                                    const ContextRead& contexts, Transfer& t) {
  if (!contexts.ok()) {
    // Keeping the claim until its lease expires backs off a struggling store for free.
    spdlog::warn("transfer: reading the inquiry of handoff {} failed: {}", handoff.id,
                 std::string(contexts.status().message()));
    return false;
  }
  auto found = contexts->find(InquiryRef{handoff.workspace, handoff.inquiry_id});
  if (found == contexts->end()) {
    // Its timeline and status went with it: as for a leak alert, the handoff's row is all
    // there is to record on. (Settling the missing inquiry would fail the write, and the
    // handoff would be claimed again forever.)
    Handoff orphan = handoff;
    orphan.inquiry_id.clear();
    Record(orphan, lease_token, 0, 0, Permanent("the inquiry no longer exists"), "");
    return false;
  }
  t.inquiry = found->second.inquiry;
  t.task = found->second.task;
  t.contact = found->second.contact;
  if (t.task) {
    for (const TeamMember& m : config_->team) {
      if (m.id == t.task->owner) t.owner = m;
    }
  }
  if (handoff.purpose == "notify" || handoff.purpose == "escalate") {
    for (const TeamMember& m : config_->team) {
      if (m.id == handoff.recipient) t.recipient = m;
    }
    // Every notification carries the link that acknowledges its task, while it is open.
    if (t.task && t.task->state == "open") {
      t.ack_url = link_signer_.Url(*config_, t.task->id, clock_->Now());
    }
  }
  return true;
}

TokenCache::Lookup Dispatcher::TokenFor(const DestinationConfig& destination) {
  const ConnectorSpec* spec = registry_->FindSpec(destination.connector);
  return tokens_->Get(destination, spec != nullptr ? spec->default_token_url : "",
                      destination.allow_private || config_->server.allow_private_destinations,
                      spec != nullptr && spec->token_basic_auth);
}

void Dispatcher::ResumeAwaitingToken() {
  if (awaiting_token_.empty()) return;
  std::vector<std::unique_ptr<Transfer>> still_waiting;
  for (auto& t : awaiting_token_) {
    TokenCache::Lookup token = TokenFor(*t->destination);
    if (token.state == TokenCache::State::kPending) {
      still_waiting.push_back(std::move(t));
      continue;
    }
    if (token.state == TokenCache::State::kFailed) {
      Record(t->handoff, t->lease_token, 401, 0, Retryable(Sanitize(token.error, kMaxReasonBytes)),
             "");
      continue;
    }
    t->access_token = token.token;
    auto gate = gates_.find(t->handoff.destination);
    if (gate != gates_.end()) gate->second.OnStart(clock_->Now());
    if (!Launch(std::move(t)) && gate != gates_.end()) {
      gate->second.OnFinish(clock_->Now(), /*failure=*/false);
    }
  }
  awaiting_token_ = std::move(still_waiting);
}

void Dispatcher::ReleaseAwaitingToken() {
  for (auto& t : awaiting_token_) store_->ReleaseHandoff(t->handoff.id, t->lease_token);
  awaiting_token_.clear();
}

bool Dispatcher::Launch(std::unique_ptr<Transfer> t) {
  t->ResetRequest();
  const DestinationConfig* dest = t->destination;
  auto request = t->connector->BuildRequest(t->Context(clock_->Now()));
  if (!request.ok()) {
    t->handoff.progress = t->progress.ToJson();
    Record(t->handoff, t->lease_token, 0, 0,
           Permanent(Sanitize(fmt::format("could not build the request: {}",
                                          std::string(request.status().message())),
                              kMaxReasonBytes)),
           "");
    return false;
  }
  t->request = *std::move(request);
  const bool mail = t->request.mail.has_value();

  CURL* easy = curl_easy_init();
  if (easy == nullptr) {
    spdlog::error("transfer: curl_easy_init failed; handoff {} waits for its lease", t->handoff.id);
    return false;
  }
  t->easy = easy;
  curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(easy, CURLOPT_URL, t->request.url.c_str());
  // Environment proxies would be dialled instead of the destination and bypass the guard;
  // an egress proxy, when wanted, belongs in the config.
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<Micros>(dest->timeout / kMicrosPerMilli, 1)));
  const std::string& ca_file = t->request.ca_file.empty() ? dest->ca_file : t->request.ca_file;
  if (!ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file.c_str());
  if (mail) {
    const OutboundRequest::Mail& m = *t->request.mail;
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, fmt::format("<{}>", m.from).c_str());
    for (const std::string& r : m.recipients) {
      t->recipients = curl_slist_append(t->recipients, fmt::format("<{}>", r).c_str());
    }
    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, t->recipients);
    // smtp:// must upgrade with STARTTLS: credentials and the lead's details never travel in
    // clear text unless the connector says the destination allows it.
    curl_easy_setopt(easy, CURLOPT_USE_SSL,
                     static_cast<long>(m.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    if (!m.username.empty()) {
      curl_easy_setopt(easy, CURLOPT_USERNAME, m.username.c_str());
      curl_easy_setopt(easy, CURLOPT_PASSWORD, m.password.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, &Transfer::OnRead);
    curl_easy_setopt(easy, CURLOPT_READDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(t->request.body.size()));
  } else {
    for (const auto& [name, value] : t->request.headers) {
      t->header_list =
          curl_slist_append(t->header_list, fmt::format("{}: {}", name, value).c_str());
    }
    // curl would otherwise send "Expect: 100-continue" for larger bodies and stall a second on
    // receivers that do not answer it.
    t->header_list = curl_slist_append(t->header_list, "Expect:");
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    // Redirects are an SSRF vector and a moved endpoint is a config problem: never followed.
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "handoff/0.1");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->header_list);
    if (t->request.method == "POST") {
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
    } else if (t->request.method != "GET") {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, t->request.method.c_str());
    }
    if (t->request.method != "GET" || !t->request.body.empty()) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->request.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(t->request.body.size()));
    }
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
  }
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &Transfer::OnOpenSocket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, t.get());
  if (t->allow_private && mixed_private_policy_) {
    // The SSRF check runs only when a connection is opened. A connection opened under a
    // destination's private-address allowance must not be cached, or a guarded destination
    // naming the same host and port could reuse it without the check.
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  }

  if (curl_multi_add_handle(static_cast<CURLM*>(multi_), easy) != CURLM_OK) {
    spdlog::error("transfer: curl_multi_add_handle failed; handoff {} waits for its lease",
                  t->handoff.id);
    return false;
  }
  transfers_.emplace(easy, std::move(t));
  in_flight_.store(static_cast<int>(transfers_.size()));
  return true;
}

void Dispatcher::DrainCompletions() {
  auto* multi = static_cast<CURLM*>(multi_);
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    const CURLcode result = msg->data.result;
    curl_multi_remove_handle(multi, easy);
    auto it = transfers_.find(easy);
    HANDOFF_CHECK(it != transfers_.end(), "curl finished a transfer the dispatcher never added");
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    in_flight_.store(static_cast<int>(transfers_.size()));
    Complete(std::move(t), static_cast<int>(result));
  }
}

void Dispatcher::Complete(std::unique_ptr<Transfer> t, int curl_result) {
  curl_off_t total_us = 0;
  curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total_us);
  const double latency_ms = static_cast<double>(total_us) / 1000.0;
  const auto result = static_cast<CURLcode>(curl_result);
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  const bool mail = t->request.mail.has_value();
  // A mail server's refusal (4xx/5xx reply) ends curl's transfer with an error, but it is an
  // answer the connector classifies, like an HTTP status.
  const bool answered = result == CURLE_OK || (mail && status >= 400);
  t->handoff.progress = t->progress.ToJson();

  if (!answered) {
    // Only a transfer that never got a connection was stopped by the guard; curl may have
    // refused one address of a name and then connected to another.
    if (t->refused && (result == CURLE_COULDNT_CONNECT || result == CURLE_COULDNT_RESOLVE_HOST)) {
      DeliveryOutcome refused = Permanent(kRefusedReason);
      SettleGate(t->handoff.destination, refused);
      Record(t->handoff, t->lease_token, 0, latency_ms, refused, "");
      return;
    }
    DeliveryOutcome o = Retryable(fmt::format("transport error: {}", curl_easy_strerror(result)));
    if (result == CURLE_UNSUPPORTED_PROTOCOL) {
      o = Permanent(mail ? "the destination url's scheme is not smtp or smtps"
                         : "the destination url's scheme is not http or https");
    } else if (result == CURLE_URL_MALFORMAT) {
      o = Permanent("the destination url is malformed");
    } else if (result == CURLE_USE_SSL_FAILED) {
      o = Permanent("the mail server does not offer STARTTLS (required for smtp://)");
    } else if (result == CURLE_LOGIN_DENIED) {
      o = Permanent("the mail server refused the login");
    }
    SettleGate(t->handoff.destination, o);
    Record(t->handoff, t->lease_token, 0, latency_ms, o, "");
    return;
  }

  if (status == 401 && !mail && t->access_token && !t->auth_retried) {
    // The token was revoked or expired early: fetch a fresh one and try this step once more
    // before the 401 counts against the attempt.
    tokens_->Invalidate(t->handoff.destination, t->access_token->token);
    t->auth_retried = true;
    auto gate = gates_.find(t->handoff.destination);
    if (gate != gates_.end()) gate->second.OnFinish(clock_->Now(), /*failure=*/false);
    awaiting_token_.push_back(std::move(t));
    Wake();
    return;
  }
  DeliveryOutcome o = t->connector->Classify(t->Context(clock_->Now()), static_cast<int>(status),
                                             t->response_headers, t->response_body);
  o.reason = Sanitize(o.reason, kMaxReasonBytes);
  SettleGate(t->handoff.destination, o);
  const std::string excerpt = Sanitize(t->response_body, kExcerptBytes);
  if (o.kind == DeliveryOutcome::Kind::kConfirmed && o.more_steps) {
    RecordStep(*t, static_cast<int>(status), latency_ms, o, excerpt);
    for (auto& [key, value] : o.captured) t->progress.values[key] = std::move(value);
    ++t->progress.step;
    t->handoff.progress = t->progress.ToJson();
    // The next step continues the work the gate already admitted: it takes the slot this step
    // gave back without waiting for the gate's rate limit.
    auto gate = gates_.find(t->handoff.destination);
    if (gate != gates_.end()) gate->second.OnStart(clock_->Now());
    if (!Launch(std::move(t)) && gate != gates_.end()) {
      gate->second.OnFinish(clock_->Now(), /*failure=*/false);
    }
    return;
  }
  Record(t->handoff, t->lease_token, static_cast<int>(status), latency_ms, o, excerpt);
}

void Dispatcher::RecordStep(const Transfer& t, int status, double latency_ms,
                            const DeliveryOutcome& outcome, const std::string& excerpt) {
  const Micros now = clock_->Now();
  Handoff updated = t.handoff;
  updated.state = "delivering";
  DeliveryProgress next = t.progress;
  for (const auto& [key, value] : outcome.captured) next.values[key] = value;
  ++next.step;
  updated.progress = next.ToJson();
  nlohmann::json detail = {
      {"handoff_id", t.handoff.id},
      {"destination", t.handoff.destination},
      {"attempt", t.handoff.attempts + 1},
      {"step", t.progress.step},
      {"step_name", t.request.step_name},
      {"status", status},
      {"latency_ms", latency_ms},
      {"captured", outcome.captured},
      {"excerpt", excerpt},
  };
  // Persisted before the next step's answer can be recorded (the store applies writes in
  // order), so a crash or a failure later resumes after this step instead of repeating it.
  SubmitOutcomeWrite(
      t.handoff.id,
      [updated, lease_token = t.lease_token,
       event = TransferEvent(updated, now, "handoff.step_confirmed", std::move(detail))](
          WriteTx& tx) mutable -> absl::Status {
        RETURN_IF_ERROR(tx.UpdateHandoff(updated, lease_token));
        return tx.AppendEvent(event);
      },
      Durability::kSynced);
}

void Dispatcher::RecordLocal(std::unique_ptr<Transfer> t) {
  const Micros now = clock_->Now();
  std::shared_ptr<Transfer> shared(std::move(t));
  // The record and its confirmation commit together: the attempt either kept the record in
  // handoff's own store or did not happen.
  Record(shared->handoff, shared->lease_token, 0, 0, Confirmed(""), "",
         [shared, now, this](WriteTx& tx) -> absl::StatusOr<std::string> {
           return shared->connector->DeliverLocally(shared->Context(now), tx);
         });
  auto gate = gates_.find(shared->handoff.destination);
  if (gate != gates_.end()) gate->second.OnFinish(now, /*failure=*/false);
}

void Dispatcher::Record(const Handoff& handoff, const std::string& lease_token, int http_status,
                        double latency_ms, const DeliveryOutcome& outcome,
                        const std::string& excerpt, LocalDelivery local) {
  const Micros now = clock_->Now();
  Handoff updated = handoff;
  updated.attempts = handoff.attempts + 1;
  updated.last_status = http_status;
  updated.last_response_excerpt = excerpt;

  // One journal entry per attempt, named by its outcome, with everything about the attempt.
  std::string kind;
  nlohmann::json detail = {
      {"handoff_id", handoff.id},    {"destination", handoff.destination},
      {"attempt", updated.attempts}, {"status", http_status},
      {"latency_ms", latency_ms},    {"outcome", KindName(outcome.kind)},
      {"excerpt", excerpt},
  };
  std::string reason = outcome.reason;
  switch (outcome.kind) {
    case DeliveryOutcome::Kind::kConfirmed:
      updated.state = "confirmed";
      updated.confirmed_at = now;
      updated.remote_id = outcome.remote_id;
      updated.last_error.clear();
      kind = "handoff.confirmed";
      detail["remote_id"] = outcome.remote_id;
      if (!handoff.progress.empty()) detail["steps"] = handoff.progress;
      confirmed_.fetch_add(1);
      break;
    case DeliveryOutcome::Kind::kRetryable: {
      const RetrySchedule* schedule = ScheduleFor(handoff.destination);
      std::optional<Micros> delay;
      if (schedule != nullptr)
        delay = schedule->DelayBeforeAttempt(updated.attempts + 1, outcome.retry_after);
      if (delay) {
        updated.state = "failed";
        updated.next_attempt_at = now + *delay;
        updated.last_error = reason;
        kind = "handoff.retry_scheduled";
        detail["next_attempt_at"] = FormatRfc3339(updated.next_attempt_at);
        retried_.fetch_add(1);
      } else {
        reason = fmt::format("attempts exhausted ({}); last: {}", updated.attempts, reason);
        updated.state = "dead";
        updated.last_error = reason;
        kind = "handoff.dead";
        dead_.fetch_add(1);
      }
      break;
    }
    case DeliveryOutcome::Kind::kPermanent:
      updated.state = "dead";
      updated.last_error = reason;
      kind = "handoff.dead";
      dead_.fetch_add(1);
      break;
  }
  if (!reason.empty()) detail["reason"] = reason;
  attempts_.fetch_add(1);
  if (options_.on_attempt) {
    options_.on_attempt(handoff,
                        updated.state == "confirmed" ? "confirmed"
                        : updated.state == "dead"    ? "dead"
                                                     : "retry",
                        latency_ms);
  }
  const bool terminal = updated.state == "confirmed" || updated.state == "dead";
  Event attempt = TransferEvent(updated, now, std::move(kind), std::move(detail));
  // Rendered here rather than on the store's writer; a local delivery adds to it in the write.
  if (!local) RenderDetail(attempt);

  WriteFn write = [updated, lease_token, now, terminal, local = std::move(local),
                   event = std::move(attempt)](WriteTx& tx) mutable -> absl::Status {
    if (local) {
      ASSIGN_OR_RETURN(updated.remote_id, local(tx));
      event.detail["remote_id"] = updated.remote_id;
    }
    RETURN_IF_ERROR(tx.UpdateHandoff(updated, lease_token));
    // A leak alert, or a handoff whose inquiry is gone, has no inquiry: its row (state,
    // attempts, last error) is its whole record.
    if (updated.inquiry_id.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(tx.AppendEvent(event));
    if (!terminal) return absl::OkStatus();

    // The inquiry is settled when every one of its handoffs is: read inside the same
    // transaction so two handoffs finishing together cannot both miss the other.
    ASSIGN_OR_RETURN(HandoffTally tally, tx.TallyHandoffs(updated.workspace, updated.inquiry_id));
    if (tally.unsettled > 0) return absl::OkStatus();
    const bool any_dead = tally.dead > 0;
    RETURN_IF_ERROR(tx.SetInquiryProgress(updated.workspace, updated.inquiry_id, Stage::kTransfer,
                                          any_dead ? "attention" : "delivered"));
    Event settled =
        TransferEvent(updated, now, any_dead ? "inquiry.attention" : "inquiry.delivered",
                      {{"confirmed", tally.confirmed}, {"dead", tally.dead}});
    return tx.AppendEvent(settled);
  };

  // A lost confirmation is a redelivery under the same handoff id (at least once, and the
  // destination recognises the id): it need not wait for a sync. Failures and retries are
  // acted on (alerts, schedules) and are synced, and so is the end of a multi-step delivery,
  // whose steps are synced so that none is repeated (RecordStep).
  const bool deferred =
      outcome.kind == DeliveryOutcome::Kind::kConfirmed && handoff.progress.empty();
  SubmitOutcomeWrite(handoff.id, std::move(write),
                     deferred ? Durability::kDeferred : Durability::kSynced);
}

void Dispatcher::SubmitOutcomeWrite(const std::string& handoff_id, WriteFn write,
                                    Durability durability) {
  {
    std::lock_guard<std::mutex> lock(writes_mu_);
    ++pending_writes_;
  }
  store_->SubmitWrite(
      std::move(write),
      [this, id = handoff_id](absl::Status status) {
        if (!status.ok()) {
          write_errors_.fetch_add(1);
          // Aborted means the lease was lost to another worker, which now owns the handoff.
          spdlog::warn("transfer: recording the outcome of handoff {} failed: {}", id,
                       std::string(status.message()));
        }
        std::lock_guard<std::mutex> lock(writes_mu_);
        --pending_writes_;
        writes_cv_.notify_all();
      },
      durability);
}

void Dispatcher::AbandonInFlight() {
  auto* multi = static_cast<CURLM*>(multi_);
  for (auto& [easy, t] : transfers_) {
    curl_multi_remove_handle(multi, static_cast<CURL*>(easy));
    // The destination may have received it; a later attempt carries the same webhook-id, so
    // the receiver can dedupe.
    store_->ReleaseHandoff(t->handoff.id, t->lease_token);
  }
  transfers_.clear();
  in_flight_.store(0);
}

}  // namespace handoff
