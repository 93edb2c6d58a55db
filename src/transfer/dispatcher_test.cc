// The dispatcher against real parts: a SqliteStore in a temp dir and an HttpServer sink on
// loopback. Outcomes are awaited by polling the store with a generous deadline; the FakeClock
// only moves when a test advances it.
#include "transfer/dispatcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "core/id.h"
#include "core/status.h"
#include "fmt/format.h"
#include "http/http_server.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"
#include "transfer/connectors/webhook/webhook_connector.h"

namespace handoff {
namespace {

constexpr Micros kStart = 1767225600 * kMicrosPerSecond;  // 2026-01-01T00:00:00Z
constexpr const char* kWorkspace = "harbor";
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// A loopback HTTP peer that records what it receives and answers from a script.
class Sink {
 public:
  using Script = std::function<HttpResponse(const HttpRequest&, int n)>;

  explicit Sink(Script script) : script_(std::move(script)) {
    auto server =
        HttpServer::Start(HttpServerOptions{}, [this](HttpRequest&& req, HttpResponder respond) {
          HttpResponse response;
          {
            std::lock_guard<std::mutex> lock(mu_);
            requests_.push_back(req);
            response = script_(requests_.back(), static_cast<int>(requests_.size()));
          }
          respond(std::move(response));
        });
    EXPECT_TRUE(server.ok()) << server.status();
    if (server.ok()) server_ = *std::move(server);
  }
  ~Sink() {
    if (server_) server_->Stop(kMicrosPerSecond);
  }

  std::string Url(const std::string& path = "/hook") const {
    return fmt::format("http://127.0.0.1:{}{}", server_ ? server_->port() : 0, path);
  }
  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  Script script_;
  mutable std::mutex mu_;
  std::vector<HttpRequest> requests_;
  std::unique_ptr<HttpServer> server_;
};

// A listening TCP socket that never accepts: connections complete in the kernel's backlog and
// then hear nothing (a destination that never answers), and a non-blocking accept() tells
// whether anyone connected at all (the SSRF canary).
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() {
    for (int c : held_) close(c);
    close(fd_);
  }
  uint16_t port() const { return port_; }
  bool SawConnection() {
    int c = accept(fd_, nullptr, nullptr);
    if (c < 0) return false;
    close(c);
    return true;
  }
  // Like SawConnection, but keeps the connection open (silent) until the listener goes, so
  // the client's request stays in flight.
  bool HoldConnection() {
    int c = accept(fd_, nullptr, nullptr);
    if (c < 0) return false;
    held_.push_back(c);
    return true;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> held_;
};

HttpResponse Respond(int status, std::string body = "{}",
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

DestinationConfig Destination(std::string name, std::string url) {
  DestinationConfig d;
  d.name = std::move(name);
  d.connector = "webhook";
  d.url = std::move(url);
  d.secrets = {kSecret};
  d.headers = {{"X-Workspace", "harbor"}};
  d.retry = {10 * kMicrosPerSecond, 20 * kMicrosPerSecond};
  d.allow_private = true;
  d.timeout = 10 * kMicrosPerSecond;
  return d;
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    config_.workspace = kWorkspace;
    RegisterBuiltinConnectors(registry_);
  }

  void TearDown() override {
    if (dispatcher_) dispatcher_->Stop();
    dispatcher_.reset();
    if (store_) store_->Shutdown();
    store_.reset();
  }

  // Starts the dispatcher, woken by the store's commits as the app wires it.
  void StartDispatcher(DispatcherOptions options = {}) {
    // Jitter at its midpoint: retry delays are exactly the configured ones.
    options.random = [] { return 0.5; };
    options.idle_poll = 200 * kMicrosPerMilli;
    dispatcher_ = std::make_unique<Dispatcher>(&config_, &registry_, store_.get(), &clock_,
                                               std::move(options));
    store_->SetWorkListener([d = dispatcher_.get()](Stage stage) {
      if (stage == Stage::kTransfer) d->Wake();
    });
    dispatcher_->Start();
  }

  // Stores an inquiry (with a contact and a task) and one pending handoff per destination.
  std::vector<std::string> AddInquiry(const std::vector<std::string>& destinations) {
    Inquiry inquiry;
    inquiry.id = NewUuidV7(clock_.Now());
    inquiry.workspace = kWorkspace;
    inquiry.source = "website";
    inquiry.channel = Channel::kForm;
    inquiry.received_at = clock_.Now();
    inquiry.occurred_at = clock_.Now();
    inquiry.received.name = "Dana";
    inquiry.normalized.email = "dana@example.com";
    inquiry.message = "no hot water";
    inquiry.stage = Stage::kTrigger;
    inquiry.status = "routed";
    Contact contact;
    contact.id = NewUuidV7(clock_.Now());
    contact.workspace = kWorkspace;
    contact.name = "Dana";
    contact.email = fmt::format("dana+{}@example.com", ++inquiries_);
    inquiry.contact_id = contact.id;
    Task task;
    task.id = NewUuidV7(clock_.Now());
    task.workspace = kWorkspace;
    task.inquiry_id = inquiry.id;
    task.owner = "ana";
    task.title = "Call Dana";
    task.created_at = clock_.Now();
    std::vector<Handoff> handoffs;
    for (const std::string& d : destinations) {
      Handoff h;
      h.id = NewUuidV7(clock_.Now());
      h.workspace = kWorkspace;
      h.inquiry_id = inquiry.id;
      h.destination = d;
      h.next_attempt_at = clock_.Now();
      h.created_at = clock_.Now();
      handoffs.push_back(h);
    }
    inquiry_id_ = inquiry.id;
    absl::Status s = store_->Write([&](WriteTx& tx) -> absl::Status {
      RETURN_IF_ERROR(tx.InsertInquiry(inquiry));
      RETURN_IF_ERROR(tx.UpsertContact(contact));
      RETURN_IF_ERROR(tx.InsertTask(task));
      for (const Handoff& h : handoffs) RETURN_IF_ERROR(tx.InsertHandoff(h));
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s.message();
    std::vector<std::string> ids;
    for (const Handoff& h : handoffs) ids.push_back(h.id);
    return ids;
  }

  // Polls until the handoff satisfies `pred` (generous deadline; not a timing assertion).
  Handoff WaitFor(const std::string& id, const std::function<bool(const Handoff&)>& pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    Handoff last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto h = store_->GetHandoff(kWorkspace, id);
      if (h.ok()) {
        last = *h;
        if (pred(last)) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "handoff " << id << " stuck in state " << last.state << " after "
                  << last.attempts << " attempts (" << last.last_error << ")";
    return last;
  }
  Handoff WaitForState(const std::string& id, const std::string& state, int attempts) {
    return WaitFor(id,
                   [&](const Handoff& h) { return h.state == state && h.attempts == attempts; });
  }

  std::vector<Event> Events() {
    auto events = store_->ListEvents(kWorkspace, inquiry_id_);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<Event>{};
  }
  std::vector<std::string> EventKinds() {
    std::vector<std::string> kinds;
    for (const Event& e : Events()) kinds.push_back(e.kind);
    return kinds;
  }
  Inquiry GetInquiry() {
    auto i = store_->GetInquiry(kWorkspace, inquiry_id_);
    EXPECT_TRUE(i.ok()) << i.status();
    return i.ok() ? *i : Inquiry{};
  }

  testing::TempDir dir_;
  FakeClock clock_{kStart};
  Config config_;
  ConnectorRegistry registry_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::string inquiry_id_;
  int inquiries_ = 0;
};

std::string HeaderOf(const HttpRequest& r, const char* name) {
  auto v = r.Header(name);
  return v ? std::string(*v) : "";
}

TEST_F(DispatcherTest, DeliversSignedWebhookAndConfirms) {
  Sink sink([](const HttpRequest&, int) { return Respond(201, R"({"id":"rec_77"})"); });
  config_.destinations = {Destination("crm", sink.Url())};
  auto ids = AddInquiry({"crm"});
  StartDispatcher();

  Handoff h = WaitForState(ids[0], "confirmed", 1);
  EXPECT_EQ(h.remote_id, "rec_77");
  EXPECT_EQ(h.last_status, 201);
  EXPECT_EQ(h.confirmed_at, kStart);

  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/hook");
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/json");
  EXPECT_EQ(HeaderOf(r, "x-workspace"), "harbor");
  EXPECT_EQ(HeaderOf(r, "webhook-id"), ids[0]);
  EXPECT_EQ(HeaderOf(r, "idempotency-key"), ids[0]);
  EXPECT_EQ(HeaderOf(r, "webhook-timestamp"), std::to_string(kStart / kMicrosPerSecond));
  // The receiver's check: the signature verifies over the raw body it got.
  EXPECT_EQ(HeaderOf(r, "webhook-signature"),
            *SignStandardWebhook(kSecret, ids[0], kStart / kMicrosPerSecond, r.body));
  nlohmann::json body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["handoff_id"], ids[0]);
  EXPECT_EQ(body["inquiry"]["id"], inquiry_id_);
  EXPECT_EQ(body["contact"]["email"], "dana+1@example.com");
  EXPECT_EQ(body["task"]["owner"], "ana");

  // The journal shows the confirmed attempt and the settled inquiry.
  auto wait_events = [&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (EventKinds().size() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  wait_events();
  std::vector<Event> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, "handoff.confirmed");
  EXPECT_EQ(events[0].stage, Stage::kTransfer);
  EXPECT_EQ(events[0].detail["status"], 201);
  EXPECT_EQ(events[0].detail["attempt"], 1);
  EXPECT_EQ(events[0].detail["outcome"], "confirmed");
  EXPECT_EQ(events[0].detail["destination"], "crm");
  EXPECT_EQ(events[0].detail["handoff_id"], ids[0]);
  EXPECT_TRUE(events[0].detail.contains("latency_ms"));
  EXPECT_EQ(events[0].detail["excerpt"], R"({"id":"rec_77"})");
  EXPECT_EQ(events[0].detail["remote_id"], "rec_77");
  EXPECT_EQ(events[1].kind, "inquiry.delivered");
  Inquiry inquiry = GetInquiry();
  EXPECT_EQ(inquiry.status, "delivered");
  EXPECT_EQ(inquiry.stage, Stage::kTransfer);
  EXPECT_EQ(dispatcher_->counters().confirmed, 1);
}

TEST_F(DispatcherTest, ServerErrorIsRetriedWithTheSameWebhookId) {
  Sink sink([](const HttpRequest&, int n) { return n == 1 ? Respond(500, "boom") : Respond(200); });
  config_.destinations = {Destination("crm", sink.Url())};
  auto ids = AddInquiry({"crm"});
  StartDispatcher();

  Handoff failed = WaitForState(ids[0], "failed", 1);
  EXPECT_EQ(failed.last_status, 500);
  EXPECT_EQ(failed.next_attempt_at, kStart + 10 * kMicrosPerSecond);
  EXPECT_EQ(failed.last_error, "HTTP 500");
  EXPECT_EQ(failed.last_response_excerpt, "boom");

  clock_.Advance(10 * kMicrosPerSecond);
  dispatcher_->Wake();
  Handoff confirmed = WaitForState(ids[0], "confirmed", 2);
  EXPECT_EQ(confirmed.last_status, 200);

  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(HeaderOf(requests[0], "webhook-id"), HeaderOf(requests[1], "webhook-id"));
  EXPECT_EQ(HeaderOf(requests[1], "webhook-timestamp"),
            std::to_string(kStart / kMicrosPerSecond + 10));
  EXPECT_EQ(requests[0].body, requests[1].body);

  std::vector<std::string> kinds = EventKinds();
  EXPECT_EQ(kinds, (std::vector<std::string>{"handoff.retry_scheduled", "handoff.confirmed",
                                             "inquiry.delivered"}));
}

TEST_F(DispatcherTest, RetryAfterIsHonoured) {
  Sink sink([](const HttpRequest&, int) { return Respond(429, "{}", {{"Retry-After", "30"}}); });
  config_.destinations = {Destination("crm", sink.Url())};
  auto ids = AddInquiry({"crm"});
  StartDispatcher();

  Handoff h = WaitForState(ids[0], "failed", 1);
  EXPECT_EQ(h.last_status, 429);
  // The schedule says 10 s; the destination asked for 30 s.
  EXPECT_EQ(h.next_attempt_at, kStart + 30 * kMicrosPerSecond);
}

TEST_F(DispatcherTest, ClientErrorIsDeadAtOnce) {
  Sink sink([](const HttpRequest&, int) { return Respond(404, "no such hook"); });
  config_.destinations = {Destination("crm", sink.Url())};
  auto ids = AddInquiry({"crm"});
  StartDispatcher();

  Handoff h = WaitForState(ids[0], "dead", 1);
  EXPECT_EQ(h.last_status, 404);
  EXPECT_EQ(h.last_error, "HTTP 404");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (GetInquiry().status != "attention" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(GetInquiry().status, "attention");
  EXPECT_EQ(EventKinds(), (std::vector<std::string>{"handoff.dead", "inquiry.attention"}));
  EXPECT_EQ(sink.requests().size(), 1u);
}

TEST_F(DispatcherTest, DeadAfterTheLastScheduledAttempt) {
  Sink sink([](const HttpRequest&, int) { return Respond(503); });
  config_.destinations = {Destination("crm", sink.Url())};  // 3 attempts: now, +10 s, +20 s
  auto ids = AddInquiry({"crm"});
  StartDispatcher();

  WaitForState(ids[0], "failed", 1);
  clock_.Advance(10 * kMicrosPerSecond);
  dispatcher_->Wake();
  Handoff second = WaitForState(ids[0], "failed", 2);
  EXPECT_EQ(second.next_attempt_at, kStart + 30 * kMicrosPerSecond);
  clock_.Advance(20 * kMicrosPerSecond);
  dispatcher_->Wake();
  Handoff dead = WaitForState(ids[0], "dead", 3);
  EXPECT_NE(dead.last_error.find("attempts exhausted"), std::string::npos) << dead.last_error;
  EXPECT_EQ(sink.requests().size(), 3u);
  EXPECT_EQ(dispatcher_->counters().retried, 2);
  EXPECT_EQ(dispatcher_->counters().dead, 1);
}

TEST_F(DispatcherTest, InquirySettlesOnlyWhenEveryHandoffIsTerminal) {
  Sink good([](const HttpRequest&, int) { return Respond(200); });
  Sink flaky([](const HttpRequest&, int n) { return n == 1 ? Respond(502) : Respond(200); });
  config_.destinations = {Destination("a", good.Url()), Destination("b", flaky.Url())};
  auto ids = AddInquiry({"a", "b"});
  StartDispatcher();

  WaitForState(ids[0], "confirmed", 1);
  WaitForState(ids[1], "failed", 1);
  EXPECT_EQ(GetInquiry().status, "routed") << "settled while a handoff was still retrying";
  clock_.Advance(10 * kMicrosPerSecond);
  dispatcher_->Wake();
  WaitForState(ids[1], "confirmed", 2);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (GetInquiry().status != "delivered" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(GetInquiry().status, "delivered");
  std::vector<std::string> kinds = EventKinds();
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "inquiry.delivered"), 1);
}

TEST_F(DispatcherTest, AnyDeadHandoffNeedsAttention) {
  Sink good([](const HttpRequest&, int) { return Respond(200); });
  Sink gone([](const HttpRequest&, int) { return Respond(410); });
  config_.destinations = {Destination("a", good.Url()), Destination("b", gone.Url())};
  auto ids = AddInquiry({"a", "b"});
  StartDispatcher();
  WaitForState(ids[0], "confirmed", 1);
  Handoff dead = WaitForState(ids[1], "dead", 1);
  EXPECT_EQ(dead.last_error, "destination gone (HTTP 410)");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (GetInquiry().status != "attention" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(GetInquiry().status, "attention");
}

TEST_F(DispatcherTest, SsrfGuardRefusesPrivateAddressesWithoutConnecting) {
  Listener canary;
  DestinationConfig literal =
      Destination("literal", fmt::format("http://127.0.0.1:{}/", canary.port()));
  DestinationConfig named =
      Destination("named", fmt::format("http://localhost:{}/", canary.port()));
  DestinationConfig mapped =
      Destination("mapped", fmt::format("http://[::ffff:127.0.0.1]:{}/", canary.port()));
  literal.allow_private = named.allow_private = mapped.allow_private = false;
  config_.server.allow_private_destinations = false;
  config_.destinations = {literal, named, mapped};
  auto ids = AddInquiry({"literal", "named", "mapped"});
  StartDispatcher();

  for (const std::string& id : ids) {
    Handoff h = WaitForState(id, "dead", 1);
    EXPECT_EQ(h.last_error, "destination address refused (private/loopback)") << h.destination;
    EXPECT_EQ(h.last_status, 0);
  }
  EXPECT_FALSE(canary.SawConnection());
}

TEST_F(DispatcherTest, ServerWideAllowanceLetsLoopbackThrough) {
  Sink sink([](const HttpRequest&, int) { return Respond(200); });
  DestinationConfig d = Destination("crm", sink.Url());
  d.allow_private = false;
  config_.server.allow_private_destinations = true;
  config_.destinations = {d};
  auto ids = AddInquiry({"crm"});
  StartDispatcher();
  WaitForState(ids[0], "confirmed", 1);
}

TEST_F(DispatcherTest, SilentDestinationTimesOutAndIsRetried) {
  Listener silent;
  DestinationConfig d = Destination("crm", fmt::format("http://127.0.0.1:{}/", silent.port()));
  d.timeout = 300 * kMicrosPerMilli;
  config_.destinations = {d};
  auto ids = AddInquiry({"crm"});
  StartDispatcher();
  Handoff h = WaitForState(ids[0], "failed", 1);
  EXPECT_EQ(h.last_status, 0);
  EXPECT_NE(h.last_error.find("transport error"), std::string::npos) << h.last_error;
  EXPECT_EQ(h.next_attempt_at, kStart + 10 * kMicrosPerSecond);
}

TEST_F(DispatcherTest, RefusedConnectionIsRetried) {
  uint16_t closed_port;
  {
    Listener l;  // bound then closed: nothing listens there any more
    closed_port = l.port();
  }
  config_.destinations = {Destination("crm", fmt::format("http://127.0.0.1:{}/", closed_port))};
  auto ids = AddInquiry({"crm"});
  StartDispatcher();
  Handoff h = WaitForState(ids[0], "failed", 1);
  EXPECT_NE(h.last_error.find("transport error"), std::string::npos) << h.last_error;
}

TEST_F(DispatcherTest, UnknownDestinationOrSchemeIsDead) {
  DestinationConfig file = Destination("file", "file:///etc/passwd");
  config_.destinations = {file};
  auto ids = AddInquiry({"removed", "file"});
  StartDispatcher();
  Handoff removed = WaitForState(ids[0], "dead", 1);
  EXPECT_NE(removed.last_error.find("unknown destination 'removed'"), std::string::npos)
      << removed.last_error;
  Handoff scheme = WaitForState(ids[1], "dead", 1);
  EXPECT_NE(scheme.last_error.find("not http or https"), std::string::npos) << scheme.last_error;
}

TEST_F(DispatcherTest, BuildFailureIsDead) {
  DestinationConfig d = Destination("crm", "http://127.0.0.1:1/");
  d.secrets = {"whsec_%%%"};
  config_.destinations = {d};
  auto ids = AddInquiry({"crm"});
  StartDispatcher();
  Handoff h = WaitForState(ids[0], "dead", 1);
  EXPECT_NE(h.last_error.find("could not build the request"), std::string::npos) << h.last_error;
}

TEST_F(DispatcherTest, RedirectIsNotFollowed) {
  Sink target([](const HttpRequest&, int) { return Respond(200); });
  Sink redirect([&](const HttpRequest&, int) {
    return Respond(302, "", {{"Location", target.Url("/elsewhere")}});
  });
  config_.destinations = {Destination("crm", redirect.Url())};
  auto ids = AddInquiry({"crm"});
  StartDispatcher();
  Handoff h = WaitForState(ids[0], "dead", 1);
  EXPECT_NE(h.last_error.find("redirect not followed"), std::string::npos) << h.last_error;
  EXPECT_TRUE(target.requests().empty());
}

TEST_F(DispatcherTest, StopReleasesUnfinishedClaims) {
  Listener silent;
  DestinationConfig d = Destination("crm", fmt::format("http://127.0.0.1:{}/", silent.port()));
  d.timeout = 60 * kMicrosPerSecond;
  config_.destinations = {d};
  auto ids = AddInquiry({"crm"});
  DispatcherOptions options;
  options.stop_grace = 100 * kMicrosPerMilli;
  StartDispatcher(options);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (dispatcher_->in_flight() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(dispatcher_->in_flight(), 1);
  dispatcher_->Stop();

  // Untouched, and claimable again at once (not only after its lease would have expired).
  auto h = store_->GetHandoff(kWorkspace, ids[0]);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->state, "pending");
  EXPECT_EQ(h->attempts, 0);
  std::vector<std::string> tokens;
  auto claimed = store_->ClaimHandoffs(10, clock_.Now(), kMicrosPerMinute, &tokens);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id, ids[0]);
}

TEST_F(DispatcherTest, ManyHandoffsAllDeliveredOnce) {
  Sink sink([](const HttpRequest&, int) { return Respond(200); });
  config_.destinations = {Destination("crm", sink.Url())};
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    auto more = AddInquiry({"crm"});
    ids.insert(ids.end(), more.begin(), more.end());
  }
  DispatcherOptions options;
  options.max_in_flight = 8;
  options.claim_batch = 5;
  StartDispatcher(options);
  for (const std::string& id : ids) WaitForState(id, "confirmed", 1);
  auto requests = sink.requests();
  EXPECT_EQ(requests.size(), ids.size());
  std::set<std::string> seen;
  for (const HttpRequest& r : requests) seen.insert(HeaderOf(r, "webhook-id"));
  EXPECT_EQ(seen.size(), ids.size());
}

}  // namespace
}  // namespace handoff

namespace handoff {
namespace {

// Per-destination gates: breaker, concurrency, rate limit (transfer/destination_gate.h).
class DispatcherGateTest : public DispatcherTest {
 protected:
  // Waits until `sink` has seen `n` requests, then a little longer to show no more come.
  static void ExpectRequestsSettleAt(const Sink& sink, size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (sink.requests().size() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    EXPECT_EQ(sink.requests().size(), n);
  }

  Dispatcher::DestinationHealth HealthOf(const std::string& destination) {
    for (const auto& h : dispatcher_->Health()) {
      if (h.destination == destination) return h;
    }
    ADD_FAILURE() << "no health for " << destination;
    return {};
  }
};

TEST_F(DispatcherGateTest, AnOpenBreakerStopsOnlyItsOwnDestination) {
  std::atomic<bool> down_is_up{false};
  Sink down([&](const HttpRequest&, int) {
    return down_is_up.load() ? Respond(200, R"({"id":"ok"})") : Respond(503, "{}");
  });
  Sink up(
      [](const HttpRequest&, int n) { return Respond(200, fmt::format(R"({{"id":"u{}"}})", n)); });
  DestinationConfig d = Destination("down", down.Url());
  d.concurrency = 1;
  d.breaker = {
      .failure_ratio = 1.0, .min_requests = 3, .window = 3, .open_for = 60 * kMicrosPerSecond};
  config_.destinations = {d, Destination("up", up.Url())};
  std::vector<std::string> down_ids, up_ids;
  for (int i = 0; i < 6; ++i) {
    auto ids = AddInquiry({"down", "up"});
    down_ids.push_back(ids[0]);
    up_ids.push_back(ids[1]);
  }
  StartDispatcher();

  // The healthy destination gets everything at once; the failing one three tries, then none.
  for (const std::string& id : up_ids) WaitForState(id, "confirmed", 1);
  ExpectRequestsSettleAt(down, 3);
  EXPECT_EQ(HealthOf("down").breaker, "open");
  EXPECT_EQ(HealthOf("down").open_until, kStart + 60 * kMicrosPerSecond);
  EXPECT_EQ(HealthOf("up").breaker, "closed");
  int untouched = 0;
  for (const std::string& id : down_ids) {
    if (store_->GetHandoff(kWorkspace, id)->attempts == 0) ++untouched;
  }
  EXPECT_EQ(untouched, 3) << "handoffs behind an open breaker wait without an attempt";

  // A minute later one probe goes through; it succeeds, so the breaker closes and the rest
  // (the waiting ones and the retries, now due) are delivered.
  down_is_up.store(true);
  clock_.Advance(60 * kMicrosPerSecond);
  dispatcher_->Wake();
  for (const std::string& id : down_ids) {
    WaitFor(id, [](const Handoff& h) { return h.state == "confirmed"; });
  }
  EXPECT_EQ(HealthOf("down").breaker, "closed");
  EXPECT_EQ(HealthOf("down").times_opened, 1);
}

TEST_F(DispatcherGateTest, ConcurrencyIsCappedPerDestination) {
  Listener silent;  // accepts connections in the kernel and never answers
  DestinationConfig d = Destination("slow", fmt::format("http://127.0.0.1:{}/hook", silent.port()));
  d.concurrency = 2;
  config_.destinations = {d};
  for (int i = 0; i < 5; ++i) AddInquiry({"slow"});
  StartDispatcher();
  int connections = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (connections < 2 && std::chrono::steady_clock::now() < deadline) {
    if (silent.HoldConnection()) ++connections;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(connections, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_FALSE(silent.HoldConnection()) << "a third request went out";
  EXPECT_EQ(HealthOf("slow").in_flight, 2);
  EXPECT_EQ(dispatcher_->in_flight(), 2);
}

TEST_F(DispatcherGateTest, RateLimitSpacesRequestsOnTheClock) {
  Sink sink(
      [](const HttpRequest&, int n) { return Respond(200, fmt::format(R"({{"id":"r{}"}})", n)); });
  DestinationConfig d = Destination("crm", sink.Url());
  d.rate_per_second = 1;
  d.rate_burst = 1;
  config_.destinations = {d};
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(AddInquiry({"crm"})[0]);
  StartDispatcher();
  ExpectRequestsSettleAt(sink, 1);
  clock_.Advance(kMicrosPerSecond);
  dispatcher_->Wake();
  ExpectRequestsSettleAt(sink, 2);
  clock_.Advance(kMicrosPerSecond);
  dispatcher_->Wake();
  ExpectRequestsSettleAt(sink, 3);
  for (const std::string& id : ids) WaitForState(id, "confirmed", 1);
}

TEST_F(DispatcherGateTest, RetryAfterPausesTheWholeDestination) {
  Sink sink([](const HttpRequest&, int n) {
    if (n == 1) return Respond(429, "{}", {{"Retry-After", "30"}});
    return Respond(200, R"({"id":"ok"})");
  });
  DestinationConfig d = Destination("crm", sink.Url());
  d.concurrency = 1;
  config_.destinations = {d};
  AddInquiry({"crm"});
  std::string second = AddInquiry({"crm"})[0];
  StartDispatcher();
  ExpectRequestsSettleAt(sink, 1);
  EXPECT_EQ(store_->GetHandoff(kWorkspace, second)->attempts, 0)
      << "the other handoff waits out the destination's Retry-After too";
  clock_.Advance(30 * kMicrosPerSecond);
  dispatcher_->Wake();
  WaitForState(second, "confirmed", 1);
}

}  // namespace
}  // namespace handoff
