#include "track/probes.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"
#include "tests/support/test_clock.h"
#include "track/leak_rules.h"

namespace handoff {
namespace {

class ProbeRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "ws";
    SourceConfig web;
    web.name = "website";
    web.adapter = "form";
    SourceConfig line;
    line.name = "main-line";
    line.adapter = "json";
    line.channel = "call";
    SourceConfig chat;
    chat.name = "chat";
    chat.adapter = "chatwoot";
    config_.sources = {web, line, chat};
    config_.probes.every = 60 * kMin;
    config_.probes.target = "probe-hook";
    RegisterBuiltinSources(registry_);
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    runner_ = std::make_unique<ProbeRunner>(&config_, store_.get(), &clock_, &registry_);
  }
  void TearDown() override {
    runner_.reset();
    store_->Shutdown();
  }

  size_t Sent() {
    auto sent = runner_->SendDue();
    EXPECT_TRUE(sent.ok()) << sent.status();
    return sent.ok() ? sent->size() : 0;
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  Config config_;
  SourceAdapterRegistry registry_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ProbeRunner> runner_;
};

TEST_F(ProbeRunnerTest, ProbesEverySourceAtStartThenEveryPeriod) {
  EXPECT_EQ(Sent(), 3u);
  EXPECT_EQ(Sent(), 0u);
  clock_.Advance(59 * kMin);
  EXPECT_EQ(Sent(), 0u);
  clock_.Advance(1 * kMin);
  EXPECT_EQ(Sent(), 3u);

  // Each probe is a stored, synthetic inquiry waiting for Enrichment, with its channel.
  auto outcomes = store_->ListInquiryOutcomes("ws", kT0, kT0 + 1);
  ASSERT_TRUE(outcomes.ok());
  ASSERT_EQ(outcomes->size(), 3u);
  std::map<std::string, Channel> channels;
  for (const InquiryOutcome& o : *outcomes) {
    EXPECT_TRUE(o.synthetic) << o.id;
    EXPECT_TRUE(o.has_email);
    channels[o.source] = o.channel;
  }
  EXPECT_EQ(channels["website"], Channel::kForm);    // the form adapter's channel
  EXPECT_EQ(channels["main-line"], Channel::kCall);  // the source's own
  EXPECT_EQ(channels["chat"], Channel::kChat);
  auto events = store_->ListEvents("ws", outcomes->front().id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "received");
  EXPECT_EQ((*events)[0].detail["probe"], true);
  auto next = store_->NextAvailable(Stage::kEnrich);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->has_value());
}

TEST_F(ProbeRunnerTest, OnlyTheListedSourcesAndNothingWhenOff) {
  config_.probes.sources = {"main-line"};
  EXPECT_EQ(Sent(), 1u);
  Inquiry probe = runner_->MakeProbe(config_.sources[1], kT0);
  EXPECT_TRUE(IsProbe(probe));
  EXPECT_EQ(probe.fields["kind"], "missed_call");
  config_.probes.every = 0;
  clock_.Advance(120 * kMin);
  EXPECT_EQ(Sent(), 0u);
}

TEST(ProbeFailure, ALateOrUnconfirmedProbeIsALeak) {
  Config config;
  config.probes.deadline = 5 * kMin;
  InquiryOutcome probe;
  probe.id = "p1";
  probe.source = "website";
  probe.synthetic = true;
  probe.received_at = kT0;
  probe.stage = Stage::kTransfer;
  Handoff h;
  h.destination = "probe-hook";
  h.state = "failed";
  h.last_error = "HTTP 503";
  probe.handoffs = {h};
  // Within its deadline: not yet a leak.
  EXPECT_FALSE(ProbeFailure(config, probe, kT0 + 4 * kMin));
  auto leak = ProbeFailure(config, probe, kT0 + 5 * kMin);
  ASSERT_TRUE(leak);
  EXPECT_EQ(leak->key, "probe_failed:p1");
  EXPECT_EQ(leak->group, "probe:website");
  EXPECT_NE(leak->reason.find("0 of 1 handoffs"), std::string::npos) << leak->reason;
  EXPECT_NE(leak->reason.find("HTTP 503"), std::string::npos) << leak->reason;
  // Confirmed in time: passes, however late we look.
  probe.handoffs[0].state = "confirmed";
  probe.handoffs[0].confirmed_at = kT0 + 30 * kMicrosPerSecond;
  EXPECT_FALSE(ProbeFailure(config, probe, kT0 + 60 * kMin));
  // Confirmed, but after the deadline: the path is too slow.
  probe.handoffs[0].confirmed_at = kT0 + 6 * kMin;
  EXPECT_TRUE(ProbeFailure(config, probe, kT0 + 60 * kMin));
  // Never routed.
  InquiryOutcome stuck = probe;
  stuck.stage = Stage::kEnrich;
  stuck.handoffs.clear();
  auto unrouted = ProbeFailure(config, stuck, kT0 + 6 * kMin);
  ASSERT_TRUE(unrouted);
  EXPECT_NE(unrouted->reason.find("not routed"), std::string::npos);
  // DetectLeaks reports it, and only as a probe failure.
  LeakInputs in;
  in.outcomes = {stuck};
  std::vector<Leak> leaks = DetectLeaks(config, in, kT0 + 6 * kMin);
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].kind, "probe_failed");
}

}  // namespace
}  // namespace handoff
