#include "trigger/trigger_stage.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/id.h"
#include "core/time_format.h"
#include "gtest/gtest.h"
#include "tests/support/stage_run.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_clock.h"

namespace handoff {
namespace {

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

  std::string Route(Channel channel, nlohmann::json fields = nlohmann::json::object(),
                    std::string message = "") {
    Inquiry i;
    i.id = NewUuidV7(clock_.Now());
    i.workspace = "ws";
    i.source = "line";
    i.channel = channel;
    i.received_at = i.occurred_at = clock_.Now() - 30 * kMicrosPerSecond;
    i.normalized.name = "Tom";
    i.fields = std::move(fields);
    i.message = std::move(message);
    testing::RunStageOn(*store_, i, Stage::kTrigger, clock_.Now(),
                        [&](const WorkItem& item) { return stage_->Process(item); });
    return i.id;
  }

  std::vector<std::string> Kinds(const std::string& id) {
    return testing::EventKinds(*store_, "ws", id);
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
  EXPECT_EQ(i.route, "calls");
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
  EXPECT_EQ(i.stage, Stage::kTrigger);
  EXPECT_EQ(i.route, "");
  EXPECT_TRUE(store_->ListTasks("ws", id)->empty());
  EXPECT_TRUE(store_->ListHandoffs("ws", id)->empty());
  EXPECT_EQ(Kinds(id), std::vector<std::string>{"unrouted"});
}

// A web route with the richer options, on a business open 09:00-17:00 mon-fri in Los Angeles.
class TriggerStageRoutingTest : public TriggerStageTest {
 protected:
  void SetUp() override {
    TriggerStageTest::SetUp();
    config_.business.timezone = "America/Los_Angeles";
    for (int d = 0; d < 5; ++d) config_.business.hours.days[d] = {OpenWindow{9 * 60, 17 * 60}};
    for (int d = 5; d < 7; ++d) config_.business.hours.days[d].clear();
    config_.team.push_back(TeamMember{"ben", "Ben Cho", "", "", "", 2});
    RouteConfig web;
    web.name = "web";
    web.when_channels = {"form"};
    web.require = {{"contact.phone", "contact.email"}, {"message"}};
    web.assign_strategy = "round_robin";
    web.assign_pool = {{"ana"}, {"ben"}};
    web.assign_sticky = true;
    web.task_title = "Reply to {{contact.name}}";
    web.task_due = 15 * kMicrosPerMinute;
    web.task_business_time = true;
    config_.routes.push_back(web);
    Restart();
  }
  void Restart() { stage_ = std::make_unique<TriggerStage>(&config_, store_.get(), &clock_); }
  Task OnlyTask(const std::string& id) {
    auto tasks = *store_->ListTasks("ws", id);
    EXPECT_EQ(tasks.size(), 1u);
    return tasks.empty() ? Task{} : tasks[0];
  }
  nlohmann::json Detail(const std::string& id) { return (*store_->ListEvents("ws", id))[0].detail; }
};

TEST_F(TriggerStageRoutingTest, BusinessTimeDeadlinesCountOnlyOpenHours) {
  // Monday 2026-11-30 16:55 local (+30 s before "now"): 5 minutes left today, 10 tomorrow.
  clock_.Set(*ParseRfc3339("2026-12-01T00:55:30Z"));
  std::string id = Route(Channel::kForm, {}, "hello");
  Task t = OnlyTask(id);
  EXPECT_EQ(FormatRfc3339(t.due_at), "2026-12-01T17:10:00.000Z");  // Tuesday 09:10 local
  EXPECT_EQ(Detail(id)["task"]["business_time"], true);
  EXPECT_EQ(Detail(id)["task"]["due_local"], "2026-12-01 09:10 PST");
  // Friday 16:55 before a Monday holiday: 5 minutes on Friday, the rest on Tuesday morning.
  config_.business.holidays = {DateRange{20'794, 20'794}};  // Monday 2026-12-07
  Restart();
  clock_.Set(*ParseRfc3339("2026-12-05T00:55:30Z"));  // Friday 2026-12-04 16:55:30 PST
  EXPECT_EQ(FormatRfc3339(OnlyTask(Route(Channel::kForm, {}, "hello")).due_at),
            "2026-12-08T17:10:00.000Z");
  // Across the spring-forward change (Sunday 2027-03-14): due Monday 09:10 on the local clock,
  // which is now PDT (UTC-7), not PST.
  config_.business.holidays.clear();
  Restart();
  clock_.Set(*ParseRfc3339("2027-03-13T00:55:30Z"));  // Friday 2027-03-12 16:55:30 PST
  EXPECT_EQ(FormatRfc3339(OnlyTask(Route(Channel::kForm, {}, "hello")).due_at),
            "2027-03-15T16:10:00.000Z");  // Monday 09:10 PDT (UTC-7)
  // The wall-clock route is unaffected by hours.
  std::string call = Route(Channel::kCall);
  Inquiry i = *store_->GetInquiry("ws", call);
  EXPECT_EQ(OnlyTask(call).due_at, i.received_at + 10 * kMicrosPerMinute);
}

TEST_F(TriggerStageRoutingTest, MissingRequiredContextIsListedOnTheTask) {
  clock_.Set(*ParseRfc3339("2026-11-30T18:00:30Z"));
  std::string id = Route(Channel::kForm);  // a name only: no phone, email or message
  Task t = OnlyTask(id);
  EXPECT_EQ(t.missing, (std::vector<std::string>{"contact.phone|contact.email", "message"}));
  EXPECT_EQ(Detail(id)["task"]["missing"], nlohmann::json(t.missing));
  // With a phone and a message, both requirements are recorded as present.
  Inquiry full;
  full.id = NewUuidV7(clock_.Now());
  full.workspace = "ws";
  full.source = "web";
  full.channel = Channel::kForm;
  full.received_at = clock_.Now();
  full.normalized.phone = "+14155550142";
  full.message = "hello";
  testing::RunStageOn(*store_, full, Stage::kTrigger, clock_.Now(),
                      [&](const WorkItem& item) { return stage_->Process(item); });
  EXPECT_TRUE(OnlyTask(full.id).missing.empty());
  EXPECT_EQ(Detail(full.id)["context"],
            nlohmann::json({{"present", {"contact.phone|contact.email", "message"}},
                            {"missing", nlohmann::json::array()}}));
}

TEST_F(TriggerStageRoutingTest, OwnersComeFromTheStrategyAndTheJournalSaysWhy) {
  clock_.Set(*ParseRfc3339("2026-11-30T18:00:30Z"));
  std::string first = Route(Channel::kForm, {}, "hi");
  std::string second = Route(Channel::kForm, {}, "hi");
  EXPECT_EQ(OnlyTask(first).owner, "ana");
  EXPECT_EQ(OnlyTask(second).owner, "ben");
  EXPECT_EQ(Detail(first)["owner"]["reason"], "round robin slot 0");
  EXPECT_EQ(Detail(second)["owner"]["name"], "Ben Cho");
  EXPECT_EQ(Detail(second)["task"]["owner"], "ben");
  // A returning contact whose last inquiry Ben owned goes back to Ben, out of turn.
  std::string back =
      Route(Channel::kForm, {{"history", {{"returning", true}, {"last_owner", "ben"}}}}, "hi");
  EXPECT_EQ(OnlyTask(back).owner, "ben");
  EXPECT_EQ(Detail(back)["owner"]["reason"], "sticky: owned the contact's last inquiry");
}

TEST_F(TriggerStageRoutingTest, NotifiesTheOwnerAndTextsTheCallerBackOncePerWindow) {
  clock_.Set(*ParseRfc3339("2026-11-30T18:00:30Z"));
  RouteConfig& calls = config_.routes[0];
  calls.notify = {{"chat", "owner", 1}, {"chat", "", 2}};
  calls.reply = ReplyConfig{"sms", "Sorry we missed you, {{contact.name}}. We call back soon.",
                            24 * kMicrosPerHour, 3};
  calls.escalate = {{5 * kMicrosPerMinute, "ben", "chat", "", 4}};
  Restart();
  auto missed_call = [&](const std::string& phone) {
    Inquiry i;
    i.id = NewUuidV7(clock_.Now());
    i.workspace = "ws";
    i.source = "line";
    i.channel = Channel::kCall;
    i.received_at = i.occurred_at = clock_.Now();
    i.normalized.name = "Tom";
    i.normalized.phone = phone;
    testing::RunStageOn(*store_, i, Stage::kTrigger, clock_.Now(),
                        [&](const WorkItem& item) { return stage_->Process(item); });
    return i.id;
  };
  std::string id = missed_call("+14155550123");
  std::vector<Handoff> handoffs = *store_->ListHandoffs("ws", id);
  std::map<std::string, std::vector<std::string>> by_purpose;
  for (const Handoff& h : handoffs) {
    by_purpose[h.purpose].push_back(h.destination + ":" + h.recipient);
  }
  for (auto& [purpose, list] : by_purpose) std::sort(list.begin(), list.end());
  EXPECT_EQ(by_purpose["deliver"], (std::vector<std::string>{"crm:", "sheet:"}));
  EXPECT_EQ(by_purpose["notify"], (std::vector<std::string>{"chat:", "chat:ana"}));
  EXPECT_EQ(by_purpose["reply"], std::vector<std::string>{"sms:lead"});
  for (const Handoff& h : handoffs) {
    if (h.purpose == "reply") {
      EXPECT_EQ(h.text, "Sorry we missed you, Tom. We call back soon.");
    }
  }
  EXPECT_EQ(OnlyTask(id).next_escalation_at, OnlyTask(id).created_at + 5 * kMicrosPerMinute);
  nlohmann::json journaled = Detail(id)["handoffs"];
  EXPECT_EQ(journaled.size(), 5u);

  // The same caller an hour later: no second text; another caller gets theirs.
  clock_.Advance(kMicrosPerHour);
  auto replies_of = [&](const std::string& id) {
    std::vector<Handoff> all = *store_->ListHandoffs("ws", id);
    return std::count_if(all.begin(), all.end(),
                         [](const Handoff& h) { return h.purpose == "reply"; });
  };
  std::string again = missed_call("+14155550123");
  EXPECT_EQ(replies_of(again), 0);
  EXPECT_EQ(Detail(again)["reply"]["skipped"], "already texted within once_per");
  std::string other = missed_call("+14155550199");
  EXPECT_EQ(replies_of(other), 1);
  // A day later the first caller is texted again.
  clock_.Advance(24 * kMicrosPerHour);
  std::string next_day = missed_call("+14155550123");
  EXPECT_EQ(replies_of(next_day), 1);
  // No phone, no text.
  std::string anonymous = missed_call("");
  EXPECT_EQ(Detail(anonymous)["reply"]["skipped"], "no phone number to text");
}

}  // namespace
}  // namespace handoff
