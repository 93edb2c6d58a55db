#include "trigger/trigger_stage.h"

#include <set>

#include "core/id.h"
#include "gtest/gtest.h"
#include "tests/support/stage_run.h"
#include "tests/support/temp_dir.h"

namespace handoff {
namespace {

constexpr Micros kT0 = 1'764'000'000LL * kMicrosPerSecond;

class TriggerStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "ws";
    config_.team = {TeamMember{"ana", "Ana Ortiz", "", "", "", 1}};
    DestinationConfig crm;
    crm.name = "crm";
    DestinationConfig sheet;
    sheet.name = "sheet";
    config_.destinations = {crm, sheet};
    RouteConfig calls;
    calls.name = "calls";
    calls.when_channels = {"call"};
    calls.assign_strategy = "fixed";
    calls.assign_owner = "ana";
    calls.task_title = "Call back {{contact.name}}";
    calls.task_due = 10 * kMicrosPerMinute;
    calls.deliver = {"crm", "sheet"};
    config_.routes = {calls};
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    stage_ = std::make_unique<TriggerStage>(&config_, store_.get(), &clock_);
  }
  void TearDown() override { store_->Shutdown(); }

  std::string Route(Channel channel) {
    Inquiry i;
    i.id = NewUuidV7(clock_.Now());
    i.workspace = "ws";
    i.source = "line";
    i.channel = channel;
    i.received_at = i.occurred_at = clock_.Now() - 30 * kMicrosPerSecond;
    i.normalized.name = "Tom";
    testing::RunStageOn(*store_, i, Stage::kTrigger, clock_.Now(),
                        [&](const WorkItem& item) { return stage_->Process(item); });
    return i.id;
  }

  std::vector<std::string> Kinds(const std::string& id) {
    std::vector<std::string> kinds;
    auto events = store_->ListEvents("ws", id);  // kept alive: the loop reads into it
    for (const Event& e : *events) kinds.push_back(e.kind);
    return kinds;
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  Config config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<TriggerStage> stage_;
};

TEST_F(TriggerStageTest, AssignsOwnerTaskAndOneHandoffPerDestination) {
  std::string id = Route(Channel::kCall);
  Inquiry i = *store_->GetInquiry("ws", id);
  EXPECT_EQ(i.stage, Stage::kTrigger);
  EXPECT_EQ(i.status, "routed");
  auto tasks = *store_->ListTasks("ws", id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].owner, "ana");
  EXPECT_EQ(tasks[0].title, "Call back Tom");
  EXPECT_EQ(tasks[0].route, "calls");
  EXPECT_EQ(tasks[0].due_at, i.received_at + 10 * kMicrosPerMinute);  // due counts from receipt
  auto handoffs = *store_->ListHandoffs("ws", id);
  ASSERT_EQ(handoffs.size(), 2u);
  EXPECT_EQ(handoffs[0].state, "pending");
  EXPECT_NE(handoffs[0].id, handoffs[1].id);
  // One journal entry says all the stage decided.
  EXPECT_EQ(Kinds(id), std::vector<std::string>{"routed"});
  nlohmann::json d = (*store_->ListEvents("ws", id))[0].detail;
  EXPECT_EQ(d["route"], "calls");
  EXPECT_EQ(d["owner"]["id"], "ana");
  EXPECT_EQ(d["task"]["id"], tasks[0].id);
  EXPECT_EQ(d["task"]["title"], "Call back Tom");
  ASSERT_EQ(d["handoffs"].size(), 2u);
  std::set<std::string> journaled = {d["handoffs"][0]["id"], d["handoffs"][1]["id"]};
  EXPECT_EQ(journaled, (std::set<std::string>{handoffs[0].id, handoffs[1].id}));
  // The handoffs are the transfer stage's outbox: claimable now.
  std::vector<std::string> tokens;
  EXPECT_EQ(store_->ClaimHandoffs(10, clock_.Now(), kMicrosPerMinute, &tokens)->size(), 2u);
  EXPECT_TRUE(store_->ClaimWork(Stage::kTrigger, 10, clock_.Now(), kMicrosPerMinute)->empty());
}

TEST_F(TriggerStageTest, AnInquiryNoRouteTakesIsMarkedUnrouted) {
  std::string id = Route(Channel::kForm);
  Inquiry i = *store_->GetInquiry("ws", id);
  EXPECT_EQ(i.status, "unrouted");
  EXPECT_TRUE(store_->ListTasks("ws", id)->empty());
  EXPECT_TRUE(store_->ListHandoffs("ws", id)->empty());
  EXPECT_EQ(Kinds(id), std::vector<std::string>{"unrouted"});
}

}  // namespace
}  // namespace handoff
