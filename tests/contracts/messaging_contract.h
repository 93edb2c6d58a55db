// Shared steps of the messaging connectors' contract tests (slack, teams, twilio_sms,
// google_sheets): a destination pointed at a loopback peer, one delivery through the real
// dispatcher, and the transport and retry checks every connector must pass the same way.
// Each connector's file adds the checks of its own wire format and quirks.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tests/support/delivery_harness.h"

namespace handoff::testing {

inline constexpr Micros kContractStart = kHarnessStart;
// The schedule every contract destination uses: the first retry comes 10 s after a failure
// unless the service asked for longer.
inline constexpr Micros kFirstRetry = 10 * kMicrosPerSecond;
inline constexpr const char* kPublicUrl = "https://handoff.example.com";
// A name a lead could type to ping a whole channel, format text or hide a link.
inline constexpr const char* kHostileLeadName = "<!channel> *x* <http://evil|click>";

// The destination's settings for a peer at `base` ("http://127.0.0.1:<port>", no slash).
using SettingsFor = std::function<nlohmann::json(const std::string& base)>;

inline std::string LoopbackBase(uint16_t port) { return fmt::format("http://127.0.0.1:{}", port); }

inline HttpResponse RespondText(int status, std::string body,
                                std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse r = Respond(status, std::move(body), std::move(headers));
  r.content_type = "text/plain";
  return r;
}

class MessagingContractTest : public ::testing::Test {
 protected:
  MessagingContractTest() { h_.config().business.public_url = kPublicUrl; }

  // Configures destination "dest" (connector, settings for `base`, a 10 s then 20 s retry
  // schedule), adds the harness's sample inquiry adjusted by `edit`, starts the dispatcher and
  // returns the handoff id.
  std::string Deliver(const std::string& connector, const nlohmann::json& settings,
                      const std::function<void(Inquiry&, Contact&, Task&)>& edit = nullptr,
                      Micros timeout = 5 * kMicrosPerSecond) {
    DestinationConfig d;
    d.name = "dest";
    d.connector = connector;
    d.settings = settings;
    d.retry = {kFirstRetry, 20 * kMicrosPerSecond};
    d.allow_private = true;
    d.timeout = timeout;
    h_.config().destinations = {d};
    auto ids = h_.AddInquiry({"dest"}, edit);
    h_.Start();
    return ids.at(0);
  }

  // The first attempt gets `first`, every later one `then`; expects a retry at
  // kContractStart + `expected_delay` and the handoff confirmed by the second attempt. Returns
  // the handoff as the failed first attempt left it.
  Handoff ExpectRetriedAfter(const std::string& connector, const SettingsFor& settings,
                             HttpResponse first, HttpResponse then, Micros expected_delay) {
    ContractServer server([&](const HttpRequest&, int n) { return n == 1 ? first : then; });
    std::string id = Deliver(connector, settings(LoopbackBase(server.port())));
    Handoff failed = h_.WaitForState(id, "failed", 1);
    EXPECT_EQ(failed.last_status, first.status);
    EXPECT_EQ(failed.next_attempt_at, kContractStart + expected_delay) << failed.last_error;
    h_.AdvanceToNextAttempt(id);
    Handoff confirmed = h_.WaitForState(id, "confirmed", 2);
    EXPECT_EQ(confirmed.last_status, then.status);
    EXPECT_EQ(server.requests().size(), 2u);
    return failed;
  }

  // A peer that accepts and never answers: the attempt times out and is retried.
  void ExpectTimeoutIsRetried(const std::string& connector, const SettingsFor& settings) {
    SilentListener silent;
    std::string id =
        Deliver(connector, settings(LoopbackBase(silent.port())), nullptr, 300 * kMicrosPerMilli);
    Handoff h = h_.WaitForState(id, "failed", 1);
    EXPECT_EQ(h.last_status, 0);
    EXPECT_NE(h.last_error.find("transport error"), std::string::npos) << h.last_error;
    EXPECT_EQ(h.next_attempt_at, kContractStart + kFirstRetry);
  }

  // A peer that resets the connection mid-request: retried, never dead.
  void ExpectResetIsRetried(const std::string& connector, const SettingsFor& settings) {
    ResettingListener resetting;
    std::string id = Deliver(connector, settings(LoopbackBase(resetting.port())));
    Handoff h = h_.WaitForState(id, "failed", 1);
    EXPECT_EQ(h.last_status, 0);
    EXPECT_NE(h.last_error.find("transport error"), std::string::npos) << h.last_error;
    EXPECT_GE(resetting.connections(), 1);
  }

  // A refusal the same request would meet again: dead after one attempt, the reason naming
  // `reason_part`.
  void ExpectDead(const std::string& connector, const SettingsFor& settings, HttpResponse refusal,
                  const std::string& reason_part) {
    ContractServer server([&](const HttpRequest&, int) { return refusal; });
    std::string id = Deliver(connector, settings(LoopbackBase(server.port())));
    Handoff h = h_.WaitForState(id, "dead", 1);
    EXPECT_EQ(h.last_status, refusal.status);
    EXPECT_NE(h.last_error.find(reason_part), std::string::npos) << h.last_error;
    EXPECT_EQ(server.requests().size(), 1u);
  }

  std::string TimelineUrl() const {
    return fmt::format("{}/inquiries/{}", kPublicUrl, h_.inquiry_id());
  }

  DeliveryHarness h_;
};

}  // namespace handoff::testing
