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
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/id.h"
#include "core/status.h"
#include "fmt/format.h"
#include "http/http_server.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "tests/support/delivery_harness.h"
#include "transfer/connectors/webhook/webhook_connector.h"

namespace handoff {
namespace {

constexpr Micros kStart = testing::kHarnessStart;
constexpr const char* kWorkspace = testing::kHarnessWorkspace;
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

using testing::ContractServer;
using testing::Respond;
using Sink = testing::ContractServer;
using Listener = testing::SilentListener;

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

// The shared delivery harness, under the names these tests grew up with.
class DispatcherTest : public ::testing::Test {
 protected:
  void StartDispatcher(DispatcherOptions options = {}) { h_.Start(std::move(options)); }
  std::vector<std::string> AddInquiry(const std::vector<std::string>& destinations) {
    auto ids = h_.AddInquiry(destinations);
    inquiry_id_ = h_.inquiry_id();
    return ids;
  }
  Handoff WaitFor(const std::string& id, const std::function<bool(const Handoff&)>& pred) {
    return h_.WaitFor(id, pred);
  }
  Handoff WaitForState(const std::string& id, const std::string& state, int attempts) {
    return h_.WaitForState(id, state, attempts);
  }
  std::vector<Event> Events() { return h_.Events(); }
  std::vector<std::string> EventKinds() { return h_.EventKinds(); }
  Inquiry GetInquiry() { return h_.GetInquiry(); }

  testing::DeliveryHarness h_;
  Config& config_ = h_.config();
  FakeClock& clock_ = h_.clock();
  Store* store_ = &h_.store();
  std::string inquiry_id_;
};

using testing::HeaderOf;

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
  EXPECT_EQ(h_.dispatcher().counters().confirmed, 1);
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
  h_.dispatcher().Wake();
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

// A confirmation is committed without waiting for a sync (lost in a power cut, the handoff is
// delivered again under the same id); a failure, which alerts and schedules act on, is synced.
TEST_F(DispatcherTest, AConfirmationIsCommittedDeferredAndAFailureSynced) {
  auto* sqlite = dynamic_cast<SqliteStore*>(store_);
  ASSERT_NE(sqlite, nullptr);
  Sink crm([](const HttpRequest&, int) { return Respond(201, R"({"id":"rec_1"})"); });
  Sink gone([](const HttpRequest&, int) { return Respond(404, "no such hook"); });
  config_.destinations = {Destination("crm", crm.Url()), Destination("gone", gone.Url())};
  auto confirmed = AddInquiry({"crm"});
  const int64_t deferred_before = sqlite->deferred_commits();
  StartDispatcher();
  // A synced write queued after the outcome's commit returns once that commit is counted.
  auto settle = [&] { ASSERT_TRUE(store_->Write([](WriteTx&) { return absl::OkStatus(); }).ok()); };

  WaitForState(confirmed[0], "confirmed", 1);
  settle();
  EXPECT_EQ(sqlite->deferred_commits(), deferred_before + 1);

  auto dead = AddInquiry({"gone"});
  WaitForState(dead[0], "dead", 1);
  settle();
  EXPECT_EQ(sqlite->deferred_commits(), deferred_before + 1);
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
  h_.dispatcher().Wake();
  Handoff second = WaitForState(ids[0], "failed", 2);
  EXPECT_EQ(second.next_attempt_at, kStart + 30 * kMicrosPerSecond);
  clock_.Advance(20 * kMicrosPerSecond);
  h_.dispatcher().Wake();
  Handoff dead = WaitForState(ids[0], "dead", 3);
  EXPECT_NE(dead.last_error.find("attempts exhausted"), std::string::npos) << dead.last_error;
  EXPECT_EQ(sink.requests().size(), 3u);
  EXPECT_EQ(h_.dispatcher().counters().retried, 2);
  EXPECT_EQ(h_.dispatcher().counters().dead, 1);
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
  h_.dispatcher().Wake();
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
  while (h_.dispatcher().in_flight() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(h_.dispatcher().in_flight(), 1);
  h_.dispatcher().Stop();

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

// A claimed batch reads its inquiries' contexts in one go (Store::ReadInquiryContexts): each
// request still carries its own inquiry, contact and task, also when two handoffs of one inquiry
// share the batch; a handoff whose inquiry is gone is dead without a request.
TEST_F(DispatcherTest, EachDeliveryOfABatchCarriesItsOwnInquiry) {
  Sink sink([](const HttpRequest&, int) { return Respond(200); });
  config_.destinations = {Destination("crm", sink.Url()), Destination("sheet", sink.Url())};
  std::map<std::string, std::string> inquiry_of;  // handoff id -> inquiry id
  for (int i = 0; i < 6; ++i) {
    for (const std::string& id : AddInquiry({"crm", "sheet"})) inquiry_of[id] = inquiry_id_;
  }
  Handoff orphan;
  orphan.id = NewUuidV7(kStart);
  orphan.workspace = kWorkspace;
  orphan.inquiry_id = NewUuidV7(kStart);  // never stored
  orphan.destination = "crm";
  orphan.next_attempt_at = kStart;
  orphan.created_at = kStart;
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.InsertHandoff(orphan); }).ok());
  DispatcherOptions options;
  options.claim_batch = 16;  // the whole outbox in one claim
  StartDispatcher(options);

  Handoff dead = WaitForState(orphan.id, "dead", 1);
  EXPECT_EQ(dead.last_error, "the inquiry no longer exists");
  for (const auto& [id, inquiry] : inquiry_of) WaitForState(id, "confirmed", 1);
  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), inquiry_of.size());
  for (const HttpRequest& r : requests) {
    const std::string handoff = HeaderOf(r, "webhook-id");
    ASSERT_TRUE(inquiry_of.contains(handoff)) << handoff;
    const std::string& inquiry = inquiry_of[handoff];
    nlohmann::json body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["inquiry"]["id"], inquiry);
    absl::StatusOr<Inquiry> stored = store_->GetInquiry(kWorkspace, inquiry);
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ(body["contact"]["id"], stored->contact_id);
    EXPECT_EQ(body["contact"]["email"], stored->normalized.email);
    EXPECT_EQ(body["task"]["inquiry_id"], inquiry);
  }
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
    for (const auto& h : h_.dispatcher().Health()) {
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
  h_.dispatcher().Wake();
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
  EXPECT_EQ(h_.dispatcher().in_flight(), 2);
  // The claim was sized to the gate: nothing was leased only to be handed back.
  EXPECT_EQ(h_.dispatcher().counters().handed_back, 0);
}

// With every gate closed, a commit (a Wake) brings nothing claimable: its handoffs are for the
// closed destinations. The only ones that could be claimed, for destinations no longer in the
// config, are sought once per poll, not once per commit (each search walks the gated backlog).
TEST_F(DispatcherGateTest, WithEveryGateClosedWakesMakeNoClaimsUntilThePoll) {
  Listener silent;
  DestinationConfig d = Destination("slow", fmt::format("http://127.0.0.1:{}/hook", silent.port()));
  d.concurrency = 1;
  config_.destinations = {d};
  for (int i = 0; i < 3; ++i) AddInquiry({"slow"});
  StartDispatcher();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!silent.HoldConnection() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(h_.dispatcher().in_flight(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the first claims settle

  const int64_t claims_before = h_.dispatcher().counters().claims;
  for (int i = 0; i < 20; ++i) {
    AddInquiry({"slow"});
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(h_.dispatcher().counters().claims, claims_before)
      << "commits behind a closed gate made the dispatcher walk the outbox";

  // A handoff for a destination removed from the config is still found, at the next poll. The
  // clock moves on at every look (a loop that read the time before one move sets its next poll
  // from the time after it).
  auto removed = AddInquiry({"removed"});
  Handoff dead = WaitFor(removed[0], [&](const Handoff& h) {
    if (h.state == "dead") return true;
    clock_.Advance(2 * kMicrosPerSecond);
    h_.dispatcher().Wake();
    return false;
  });
  EXPECT_EQ(dead.attempts, 1);
  EXPECT_NE(dead.last_error.find("unknown destination 'removed'"), std::string::npos)
      << dead.last_error;
}

TEST_F(DispatcherGateTest, ABatchClaimedForTwoGatesHandsBackOnlyTheSurplus) {
  Listener silent;
  const std::string url = fmt::format("http://127.0.0.1:{}/hook", silent.port());
  DestinationConfig narrow = Destination("narrow", url);
  narrow.concurrency = 1;
  DestinationConfig wide = Destination("wide", url);
  wide.concurrency = 3;
  config_.destinations = {narrow, wide};
  // Four handoffs for `narrow` come first in the outbox; the claim takes 1 + 3 = 4 of them.
  for (int i = 0; i < 4; ++i) AddInquiry({"narrow"});
  clock_.Advance(kMicrosPerMilli);  // the outbox is ordered by due time
  for (int i = 0; i < 3; ++i) AddInquiry({"wide"});
  StartDispatcher();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (h_.dispatcher().in_flight() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(HealthOf("narrow").in_flight, 1);
  EXPECT_EQ(HealthOf("wide").in_flight, 3);
  // The first claim got the four `narrow` handoffs and could start one; the next claim skipped
  // the full `narrow` gate and took the three `wide` ones.
  EXPECT_EQ(h_.dispatcher().counters().handed_back, 3);
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
  h_.dispatcher().Wake();
  ExpectRequestsSettleAt(sink, 2);
  clock_.Advance(kMicrosPerSecond);
  h_.dispatcher().Wake();
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
  h_.dispatcher().Wake();
  WaitForState(second, "confirmed", 1);
}

// A three-step connector like a CRM's: "contact", then "note" and "task" that need the
// contact's id. Each step POSTs to <url>/<step name> and captures the answer's id.
class ThreeStepConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override {
    static constexpr const char* kSteps[] = {"contact", "note", "task"};
    if (ctx.progress.step < 0 || ctx.progress.step > 2) {
      return absl::InternalError("no such step");
    }
    OutboundRequest r;
    r.step_name = kSteps[ctx.progress.step];
    r.url = ctx.destination.url + "/" + r.step_name;
    r.body = nlohmann::json{{"contact_id", ctx.progress.Get("contact_id")}}.dump();
    return r;
  }
  DeliveryOutcome Classify(const DeliveryContext& ctx, int status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const override {
    DeliveryOutcome o = ClassifyHttpStatus(status, headers, ctx.now);
    if (o.kind != DeliveryOutcome::Kind::kConfirmed) return o;
    std::string id = nlohmann::json::parse(body, nullptr, false).value("id", "");
    if (ctx.progress.step == 0) return StepConfirmed({{"contact_id", id}}, "contact");
    if (ctx.progress.step == 1) return StepConfirmed({{"note_id", id}}, "note");
    return Confirmed(ctx.progress.Get("contact_id") + "/" + ctx.progress.Get("note_id") + "/" + id);
  }
};

// Keeps the record in the store itself: an event stands in for the inbox row.
class LocalConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext&) const override {
    return absl::InternalError("a local connector builds no request");
  }
  DeliveryOutcome Classify(const DeliveryContext&, int,
                           const std::vector<std::pair<std::string, std::string>>&,
                           const std::string&) const override {
    return Permanent("a local connector classifies nothing");
  }
  bool local() const override { return true; }
  absl::StatusOr<std::string> DeliverLocally(const DeliveryContext& ctx,
                                             WriteTx& tx) const override {
    Event e;
    e.workspace = ctx.inquiry.workspace;
    e.inquiry_id = ctx.inquiry.id;
    e.at = ctx.now;
    e.stage = Stage::kTransfer;
    e.kind = "test.local_record";
    e.detail = {{"owner", ctx.owner ? ctx.owner->name : ""}};
    RETURN_IF_ERROR(tx.AppendEvent(e));
    return "local:" + ctx.inquiry.id;
  }
};

class DispatcherStepsTest : public DispatcherTest {
 protected:
  void SetUp() override {
    h_.registry().Register(
        ConnectorSpec{.name = "three_steps",
                      .note = "test",
                      .settings = {},
                      .default_token_url = "",
                      .token_basic_auth = false,
                      .make = [] { return std::make_unique<ThreeStepConnector>(); }});
    h_.registry().Register(
        ConnectorSpec{.name = "local",
                      .note = "test",
                      .settings = {},
                      .default_token_url = "",
                      .token_basic_auth = false,
                      .make = [] { return std::make_unique<LocalConnector>(); }});
  }
};

TEST_F(DispatcherStepsTest, AFailedStepIsRetriedWithoutRepeatingTheConfirmedOnes) {
  Sink sink([](const HttpRequest& r, int n) {
    if (r.path == "/crm/contact") return Respond(201, R"({"id":"c1"})");
    if (r.path == "/crm/note" && n == 2) return Respond(503);
    if (r.path == "/crm/note") return Respond(201, R"({"id":"n1"})");
    return Respond(201, R"({"id":"t1"})");
  });
  DestinationConfig d = Destination("crm", sink.Url("/crm"));
  d.connector = "three_steps";
  config_.destinations = {d};
  auto ids = AddInquiry({"crm"});
  StartDispatcher();

  Handoff failed = WaitForState(ids[0], "failed", 1);
  EXPECT_EQ(failed.progress, (nlohmann::json{{"step", 1}, {"values", {{"contact_id", "c1"}}}}))
      << "the confirmed contact step is kept for the retry";
  clock_.Advance(10 * kMicrosPerSecond);
  h_.dispatcher().Wake();
  Handoff done = WaitForState(ids[0], "confirmed", 2);
  EXPECT_EQ(done.remote_id, "c1/n1/t1");

  std::vector<std::string> paths;
  for (const HttpRequest& r : sink.requests()) paths.push_back(r.path);
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/crm/contact", "/crm/note", "/crm/note", "/crm/task"}))
      << "the contact is created once";
  for (const HttpRequest& r : sink.requests()) {
    if (r.path != "/crm/contact") {
      EXPECT_EQ(nlohmann::json::parse(r.body)["contact_id"], "c1");
    }
  }
  std::vector<std::string> steps;
  for (const Event& e : Events()) {
    if (e.kind == "handoff.step_confirmed") steps.push_back(e.detail["step_name"]);
  }
  EXPECT_EQ(steps, (std::vector<std::string>{"contact", "note"}));
}

TEST_F(DispatcherStepsTest, ReplayOfADeadMultiStepHandoffResumesAtTheFailedStep) {
  Sink sink([](const HttpRequest& r, int n) {
    if (r.path == "/crm/contact") return Respond(201, R"({"id":"c1"})");
    if (r.path == "/crm/note" && n == 2) return Respond(400, R"({"error":"bad"})");
    return Respond(201, R"({"id":"x"})");
  });
  DestinationConfig d = Destination("crm", sink.Url("/crm"));
  d.connector = "three_steps";
  config_.destinations = {d};
  auto ids = AddInquiry({"crm"});
  StartDispatcher();
  WaitForState(ids[0], "dead", 1);
  HandoffReplayFilter filter;
  filter.handoff_id = ids[0];
  absl::Status s = store_->Write([&](WriteTx& tx) -> absl::Status {
    return tx.ReviveDeadHandoffs(kWorkspace, filter, clock_.Now()).status();
  });
  ASSERT_TRUE(s.ok()) << s;
  Handoff done = WaitForState(ids[0], "confirmed", 1);
  EXPECT_EQ(done.remote_id, "c1/x/x");
  int contacts = 0;
  for (const HttpRequest& r : sink.requests()) contacts += r.path == "/crm/contact";
  EXPECT_EQ(contacts, 1);
}

TEST_F(DispatcherStepsTest, ALocalConnectorCommitsItsRecordWithTheConfirmation) {
  DestinationConfig d = Destination("inbox", "");
  d.connector = "local";
  config_.destinations = {d};
  auto ids = AddInquiry({"inbox"});
  StartDispatcher();
  Handoff h = WaitForState(ids[0], "confirmed", 1);
  EXPECT_EQ(h.remote_id, "local:" + inquiry_id_);
  bool recorded = false;
  for (const Event& e : Events()) {
    if (e.kind == "test.local_record") {
      recorded = true;
      EXPECT_EQ(e.detail["owner"], "Ana Lima") << "the task owner's team entry is passed";
    }
  }
  EXPECT_TRUE(recorded);
  EXPECT_EQ(GetInquiry().status, "delivered");
}

}  // namespace
}  // namespace handoff
