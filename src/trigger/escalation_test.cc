#include "trigger/escalation.h"

#include <gtest/gtest.h>

#include "core/id.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_clock.h"
#include "trigger/task_actions.h"

namespace handoff {
namespace {

// Escalation steps run against a real SQLite store on a FakeClock: no sleeping.
class EscalationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "ws";
    config_.team = {TeamMember{"ana", "Ana Ortiz", "", "", "", 1},
                    TeamMember{"ben", "Ben Cho", "", "", "", 2},
                    TeamMember{"maria", "Maria Lopez", "", "", "", 3}};
    DestinationConfig chat;
    chat.name = "team-chat";
    chat.connector = "slack";
    DestinationConfig sms;
    sms.name = "sms";
    sms.connector = "twilio_sms";
    config_.destinations = {chat, sms};
    RouteConfig calls;
    calls.name = "calls";
    calls.when_channels = {"call"};
    calls.assign_strategy = "round_robin";
    calls.assign_pool = {{"ana"}, {"ben"}};
    calls.task_title = "Call back";
    calls.task_due = 10 * kMicrosPerMinute;
    calls.notify = {{"team-chat", "", 1}};
    calls.escalate = {{5 * kMicrosPerMinute, "maria", "", "", 1},
                      {10 * kMicrosPerMinute, "", "", "next", 2},
                      {15 * kMicrosPerMinute, "owner", "sms", "", 3}};
    config_.routes = {calls};
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    runner_ = std::make_unique<EscalationRunner>(&config_, store_.get(), &clock_);
  }
  void TearDown() override {
    runner_.reset();
    store_->Shutdown();
  }

  // An open task owned by ana, created now, as the trigger stage creates it.
  Task NewTask() {
    Inquiry i;
    i.id = NewUuidV7(clock_.Now());
    i.workspace = "ws";
    i.source = "line";
    i.channel = Channel::kCall;
    i.received_at = clock_.Now();
    Task t;
    t.id = NewUuidV7(clock_.Now());
    t.workspace = "ws";
    t.inquiry_id = i.id;
    t.route = "calls";
    t.owner = "ana";
    t.title = "Call back";
    t.created_at = clock_.Now();
    t.due_at = t.created_at + 10 * kMicrosPerMinute;
    t.next_escalation_at = t.created_at + 5 * kMicrosPerMinute;
    EXPECT_TRUE(store_
                    ->Write([&](WriteTx& tx) {
                      absl::Status s = tx.InsertInquiry(i);
                      return s.ok() ? tx.InsertTask(t) : s;
                    })
                    .ok());
    return t;
  }

  int Run() {
    auto ran = runner_->RunDue();
    EXPECT_TRUE(ran.ok()) << ran.status();
    return ran.ok() ? *ran : -1;
  }

  std::vector<Event> Escalations(const Task& t) {
    std::vector<Event> out;
    auto events = store_->ListEvents("ws", t.inquiry_id);
    for (const Event& e : *events) {
      if (e.kind.rfind("escalation.", 0) == 0) out.push_back(e);
    }
    return out;
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  Config config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EscalationRunner> runner_;
};

TEST_F(EscalationTest, AnUnacknowledgedTaskRunsTheWholeChainInOrder) {
  Task t = NewTask();
  clock_.Advance(5 * kMicrosPerMinute - 1);
  EXPECT_EQ(Run(), 0);  // not yet

  clock_.Advance(1);
  EXPECT_EQ(Run(), 1);
  EXPECT_EQ(Run(), 0);  // each step once
  auto handoffs = *store_->ListHandoffs("ws", t.inquiry_id);
  ASSERT_EQ(handoffs.size(), 1u);
  EXPECT_EQ(handoffs[0].purpose, "escalate");
  EXPECT_EQ(handoffs[0].recipient, "maria");
  EXPECT_EQ(handoffs[0].destination, "team-chat");  // the route's notify destination
  EXPECT_EQ(handoffs[0].state, "pending");

  clock_.Advance(5 * kMicrosPerMinute);
  EXPECT_EQ(Run(), 1);
  EXPECT_EQ(store_->GetTask("ws", t.id)->owner, "ben");  // reassigned to the next in the pool

  clock_.Advance(5 * kMicrosPerMinute);
  EXPECT_EQ(Run(), 1);
  handoffs = *store_->ListHandoffs("ws", t.inquiry_id);
  ASSERT_EQ(handoffs.size(), 2u);
  EXPECT_EQ(handoffs[1].recipient, "ben");  // "owner" is whoever owns it now
  EXPECT_EQ(handoffs[1].destination, "sms");

  clock_.Advance(60 * kMicrosPerMinute);
  EXPECT_EQ(Run(), 0);  // the chain has ended
  Task after = *store_->GetTask("ws", t.id);
  EXPECT_EQ(after.escalation_step, 3);
  EXPECT_EQ(after.next_escalation_at, 0);
  EXPECT_EQ(after.state, "open");

  std::vector<Event> events = Escalations(t);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, "escalation.step");
  EXPECT_EQ(events[0].detail["step"], 1);
  EXPECT_EQ(events[0].detail["of"], 3);
  EXPECT_EQ(events[0].detail["notify"]["to"], "maria");
  EXPECT_EQ(events[1].detail["reassign"], nlohmann::json({{"from", "ana"}, {"to", "ben"}}));
  EXPECT_EQ(events[2].detail["notify"]["via"], "sms");
  EXPECT_EQ(events[3].kind, "escalation.ended");
  EXPECT_EQ(events[3].detail["steps"], 3);
  EXPECT_EQ(events[3].detail["owner"], "ben");
}

TEST_F(EscalationTest, AcknowledgingStopsTheChain) {
  Task t = NewTask();
  clock_.Advance(6 * kMicrosPerMinute);
  EXPECT_EQ(Run(), 1);
  auto change = std::make_shared<TaskChange>();
  ASSERT_TRUE(
      store_
          ->Write(ChangeTaskState("ws", t.id, TaskStep::kAcknowledge, "api", clock_.Now(), change))
          .ok());
  clock_.Advance(60 * kMicrosPerMinute);
  EXPECT_EQ(Run(), 0);
  EXPECT_EQ(Escalations(t).size(), 1u);
  EXPECT_EQ(store_->GetTask("ws", t.id)->owner, "ana");
  EXPECT_EQ(store_->ListHandoffs("ws", t.inquiry_id)->size(), 1u);
}

TEST_F(EscalationTest, ALateScanCatchesUpOneStepAtATime) {
  Task t = NewTask();
  clock_.Advance(3 * kMicrosPerHour);  // e.g. the server was down
  EXPECT_EQ(Run(), 1);
  EXPECT_EQ(Run(), 1);
  EXPECT_EQ(Run(), 1);
  EXPECT_EQ(Run(), 0);
  EXPECT_EQ(Escalations(t).back().kind, "escalation.ended");
}

TEST_F(EscalationTest, AChainTheConfigNoLongerHasStops) {
  Task t = NewTask();
  config_.routes[0].escalate.clear();
  clock_.Advance(6 * kMicrosPerMinute);
  EXPECT_EQ(Run(), 0);
  EXPECT_EQ(store_->GetTask("ws", t.id)->next_escalation_at, 0);
  EXPECT_TRUE(Escalations(t).empty());
}

TEST_F(EscalationTest, TheThreadRunsStepsAsTheyComeDue) {
  Task t = NewTask();
  clock_.Advance(6 * kMicrosPerMinute);
  EscalationRunner live(&config_, store_.get(), &clock_, {10 * 1000, 100});
  live.Start();
  for (int i = 0; i < 500 && Escalations(t).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  live.Stop();
  EXPECT_EQ(Escalations(t).size(), 1u);
}

}  // namespace
}  // namespace handoff
