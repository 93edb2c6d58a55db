#include "track/leak_monitor.h"

#include <gtest/gtest.h>

#include <set>

#include "core/id.h"
#include "core/status.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_clock.h"
#include "track/leak_rules.h"

namespace handoff {
namespace {

// The monitor against a real SQLite store on a FakeClock: scripted histories, exact counts.
class LeakMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "ws";
    config_.business.name = "Harbor Plumbing";
    config_.team = {TeamMember{"ana", "Ana Ortiz", "", "", "", 1},
                    TeamMember{"maria", "Maria Lopez", "", "", "", 2}};
    SourceConfig form;
    form.name = "website";
    config_.sources = {form};
    DestinationConfig crm;
    crm.name = "crm";
    crm.connector = "hubspot";
    DestinationConfig chat;
    chat.name = "team-chat";
    chat.connector = "slack";
    DestinationConfig sms;
    sms.name = "sms";
    sms.connector = "twilio_sms";
    config_.destinations = {crm, chat, sms};
    config_.alerts.via = {{"team-chat", "", 1}, {"sms", "maria", 2}};
    config_.alerts.unassigned = 5 * kMin;
    config_.alerts.unconfirmed_handoff = 2 * kMin;
    config_.alerts.repeat = 60 * kMin;
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    monitor_ = std::make_unique<LeakMonitor>(&config_, store_.get(), &clock_);
  }
  void TearDown() override {
    monitor_.reset();
    store_->Shutdown();
  }

  // An inquiry received now with an open task owned by ana (due in `due`) and one pending
  // handoff to `destination` ("" = none). Returns the inquiry id; the task and handoff ids are
  // in last_task_ / last_handoff_.
  std::string Add(Micros due, const std::string& destination) {
    const Micros now = clock_.Now();
    Inquiry i;
    i.id = NewUuidV7(now);
    i.workspace = "ws";
    i.source = "website";
    i.channel = Channel::kForm;
    i.received_at = now;
    i.occurred_at = now;
    i.stage = Stage::kTransfer;
    i.status = "routed";
    Task t;
    t.id = NewUuidV7(now);
    t.workspace = "ws";
    t.inquiry_id = i.id;
    t.route = "leads";
    t.owner = "ana";
    t.created_at = now;
    t.due_at = now + due;
    Handoff h;
    h.id = NewUuidV7(now);
    h.workspace = "ws";
    h.inquiry_id = i.id;
    h.destination = destination;
    h.created_at = now;
    h.next_attempt_at = now + kMicrosPerDay;  // out of the way of claims made by the test
    EXPECT_TRUE(store_
                    ->Write([&](WriteTx& tx) -> absl::Status {
                      RETURN_IF_ERROR(tx.InsertInquiry(i));
                      RETURN_IF_ERROR(tx.InsertTask(t));
                      if (destination.empty()) return absl::OkStatus();
                      return tx.InsertHandoff(h);
                    })
                    .ok());
    last_task_ = t;
    last_handoff_ = h;
    return i.id;
  }

  LeakScan Scan() {
    auto scan = monitor_->Scan();
    EXPECT_TRUE(scan.ok()) << scan.status();
    return scan.ok() ? *scan : LeakScan{};
  }

  std::vector<Handoff> Alerts() {
    auto alerts = store_->ListAlertHandoffs("ws", 0, 500);
    EXPECT_TRUE(alerts.ok());
    return alerts.ok() ? *alerts : std::vector<Handoff>{};
  }

  std::vector<std::string> EventKinds(const std::string& inquiry_id) {
    std::vector<std::string> out;
    auto events = store_->ListEvents("ws", inquiry_id);
    EXPECT_TRUE(events.ok());
    if (!events.ok()) return out;
    for (const Event& e : *events) out.push_back(e.kind);
    return out;
  }

  // Marks the handoff confirmed, as the dispatcher would.
  void Confirm(const Handoff& h) {
    ASSERT_TRUE(store_
                    ->Write([&](WriteTx& tx) -> absl::Status {
                      Handoff done = h;
                      done.state = "confirmed";
                      done.confirmed_at = clock_.Now();
                      return tx.UpdateHandoff(done, "");
                    })
                    .ok());
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  Config config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<LeakMonitor> monitor_;
  Task last_task_;
  Handoff last_handoff_;
};

TEST_F(LeakMonitorTest, ABrokenDestinationIsOneAlertWithACountThenOneRecovery) {
  // Three inquiries whose CRM handoffs never get confirmed, and one that is fine.
  std::vector<Handoff> stuck;
  std::vector<std::string> ids;
  for (int k = 0; k < 3; ++k) {
    ids.push_back(Add(60 * kMin, "crm"));
    stuck.push_back(last_handoff_);
    clock_.Advance(10 * kMicrosPerSecond);
  }
  Add(60 * kMin, "");
  EXPECT_EQ(Scan().opened, 0);  // nothing is late yet

  clock_.Advance(3 * kMin);
  LeakScan first = Scan();
  EXPECT_EQ(first.opened, 3);
  EXPECT_EQ(first.open, 3);
  EXPECT_EQ(first.alerts, 2);  // one group, two channels
  std::vector<Handoff> alerts = Alerts();
  ASSERT_EQ(alerts.size(), 2u);
  for (const Handoff& a : alerts) {
    EXPECT_EQ(a.purpose, "alert");
    EXPECT_TRUE(a.inquiry_id.empty());
    EXPECT_EQ(a.state, "pending");
    EXPECT_NE(
        a.text.find("Leak alert (Harbor Plumbing): handoffs to crm are not confirmed: 3 open"),
        std::string::npos)
        << a.text;
  }
  EXPECT_EQ(alerts[0].recipient.empty() ? alerts[1].recipient : alerts[0].recipient, "maria");
  // Each leak is on its inquiry's timeline.
  EXPECT_EQ(EventKinds(ids[0]), std::vector<std::string>{"leak.opened"});

  // More of the same: counted in the open group, no new alert.
  clock_.Advance(1 * kMin);
  LeakScan again = Scan();
  EXPECT_EQ(again.opened, 0);
  EXPECT_EQ(again.alerts, 0);
  auto groups = *store_->ListAlertGroups("ws", 0, 10);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].key, "handoff:crm");
  EXPECT_EQ(groups[0].open, 3);

  // Two heal: the group stays open with one.
  Confirm(stuck[0]);
  Confirm(stuck[1]);
  LeakScan healing = Scan();
  EXPECT_EQ(healing.closed, 2);
  EXPECT_EQ(healing.open, 1);
  EXPECT_EQ(healing.alerts, 0);
  EXPECT_EQ(EventKinds(ids[0]), (std::vector<std::string>{"leak.opened", "leak.closed"}));

  // The last heals: one recovery notice per channel, the group closed.
  Confirm(stuck[2]);
  LeakScan healed = Scan();
  EXPECT_EQ(healed.closed, 1);
  EXPECT_EQ(healed.open, 0);
  EXPECT_EQ(healed.alerts, 2);
  alerts = Alerts();
  ASSERT_EQ(alerts.size(), 4u);
  EXPECT_NE(alerts[0].text.find("Recovered (Harbor Plumbing): no longer handoffs to crm are not "
                                "confirmed"),
            std::string::npos)
      << alerts[0].text;
  EXPECT_NE(alerts[0].text.find("3 leaks in all"), std::string::npos) << alerts[0].text;
  groups = *store_->ListAlertGroups("ws", kT0, 10);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_NE(groups[0].closed_at, 0);
  EXPECT_TRUE(store_->ListLeaks("ws", LeakFilter{})->empty());
  EXPECT_EQ(store_->ListLeaks("ws", LeakFilter{kT0, 100})->size(), 3u);
}

TEST_F(LeakMonitorTest, AnOpenGroupIsRemindedEveryRepeat) {
  Add(1 * kMin, "");  // an overdue task once its minute is up
  clock_.Advance(2 * kMin);
  EXPECT_EQ(Scan().alerts, 2);
  clock_.Advance(30 * kMin);
  EXPECT_EQ(Scan().alerts, 0);
  clock_.Advance(31 * kMin);
  EXPECT_EQ(Scan().alerts, 2);
  std::vector<Handoff> alerts = Alerts();
  ASSERT_EQ(alerts.size(), 4u);
  EXPECT_EQ(alerts[0].text.rfind("Still leaking (Harbor Plumbing): tasks of ana are past due", 0),
            0u)
      << alerts[0].text;
}

TEST_F(LeakMonitorTest, AcknowledgingTheTaskClosesItsLeak) {
  std::string id = Add(1 * kMin, "");
  Task task = last_task_;
  clock_.Advance(2 * kMin);
  EXPECT_EQ(Scan().opened, 1);
  clock_.Advance(1 * kMin);
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) {
                    Task acked = task;
                    acked.state = "acknowledged";
                    acked.acknowledged_at = clock_.Now();
                    return tx.UpdateTask(acked);
                  })
                  .ok());
  LeakScan scan = Scan();
  EXPECT_EQ(scan.closed, 1);
  EXPECT_EQ(scan.open, 0);
  std::vector<Event> events = *store_->ListEvents("ws", id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].detail["leak"], "overdue_task");
  EXPECT_EQ(events[1].kind, "leak.closed");
  EXPECT_EQ(events[1].detail["open_for_ms"], 60'000);
}

TEST_F(LeakMonitorTest, WithoutAlertChannelsLeaksAreStillRecorded) {
  config_.alerts.via.clear();
  Add(1 * kMin, "");
  clock_.Advance(2 * kMin);
  LeakScan scan = Scan();
  EXPECT_EQ(scan.opened, 1);
  EXPECT_EQ(scan.alerts, 0);
  EXPECT_TRUE(Alerts().empty());
  auto groups = *store_->ListAlertGroups("ws", 0, 10);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].alerted_at, 0);
  // A channel added later tells the still-open group at the next scan.
  config_.alerts.via = {{"team-chat", "", 1}};
  EXPECT_EQ(Scan().alerts, 1);
}

TEST_F(LeakMonitorTest, ABacklogIsOpenedAndClosedInBoundedWritesAndCountedOnce) {
  // Five overdue tasks at two leaks per write: three writes open them, one more keeps the group.
  monitor_->set_max_changes_per_write(2);
  std::vector<std::string> ids;
  std::vector<Task> tasks;
  for (int k = 0; k < 5; ++k) {
    ids.push_back(Add(1 * kMin, ""));
    tasks.push_back(last_task_);
  }
  clock_.Advance(2 * kMin);
  LeakScan first = Scan();
  EXPECT_EQ(first.opened, 5);
  EXPECT_EQ(first.open, 5);
  EXPECT_EQ(first.writes, 4);
  EXPECT_EQ(first.alerts, 2);  // one group, told once on each channel
  for (const std::string& id : ids) {
    EXPECT_EQ(EventKinds(id), std::vector<std::string>{"leak.opened"});
  }
  auto groups = *store_->ListAlertGroups("ws", 0, 10);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].open, 5);
  EXPECT_EQ(groups[0].total, 5);
  EXPECT_NE(Alerts()[0].text.find(": 5 open"), std::string::npos) << Alerts()[0].text;

  // Nothing changed: only the groups' write, and no leak opened twice.
  clock_.Advance(1 * kMin);
  LeakScan again = Scan();
  EXPECT_EQ(again.opened, 0);
  EXPECT_EQ(again.open, 5);
  EXPECT_EQ(again.writes, 1);
  EXPECT_EQ(store_->ListLeaks("ws", LeakFilter{})->size(), 5u);

  // All five acknowledged: three writes close them, the group recovers with five in all.
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    for (Task t : tasks) {
                      t.state = "acknowledged";
                      t.acknowledged_at = clock_.Now();
                      RETURN_IF_ERROR(tx.UpdateTask(t));
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  LeakScan healed = Scan();
  EXPECT_EQ(healed.closed, 5);
  EXPECT_EQ(healed.open, 0);
  EXPECT_EQ(healed.writes, 4);
  EXPECT_EQ(healed.alerts, 2);
  for (const std::string& id : ids) {
    EXPECT_EQ(EventKinds(id), (std::vector<std::string>{"leak.opened", "leak.closed"}));
  }
  EXPECT_TRUE(store_->ListLeaks("ws", LeakFilter{})->empty());
  EXPECT_NE(Alerts()[0].text.find("5 leaks in all"), std::string::npos) << Alerts()[0].text;
}

// A scan reads its window a page at a time: what it finds over many small pages is what the
// rules find over the whole window at once, including a source's gap learned from arrivals that
// no single page holds.
TEST_F(LeakMonitorTest, AWindowReadInPagesFindsWhatTheWholeWindowShows) {
  monitor_->set_outcomes_per_page(2);
  for (int k = 0; k < 10; ++k) {
    if (k % 2 == 0) {
      Add(1 * kMin, "crm");  // overdue, and never confirmed
    } else {
      Add(24 * 60 * kMin, "");  // nothing wrong
    }
    clock_.Advance(10 * kMin);
  }
  // Ten arrivals ten minutes apart teach a gap of an hour; two hours later the source is silent.
  clock_.Advance(110 * kMin);
  auto window =
      store_->ListInquiryOutcomes("ws", clock_.Now() - config_.alerts.lookback, clock_.Now() + 1);
  ASSERT_TRUE(window.ok()) << window.status();
  ASSERT_EQ(window->size(), 10u);
  LeakInputs whole;
  whole.outcomes = *std::move(window);
  std::multiset<std::string> want;
  for (const Leak& l : DetectLeaks(config_, whole, clock_.Now())) want.insert(l.kind);
  EXPECT_EQ(want, (std::multiset<std::string>{
                      "overdue_task", "overdue_task", "overdue_task", "overdue_task",
                      "overdue_task", "silent_source", "unconfirmed_handoff", "unconfirmed_handoff",
                      "unconfirmed_handoff", "unconfirmed_handoff", "unconfirmed_handoff"}));

  LeakScan scan = Scan();
  EXPECT_EQ(scan.opened, 11);
  absl::StatusOr<std::vector<Leak>> open = store_->ListLeaks("ws", LeakFilter{});
  ASSERT_TRUE(open.ok()) << open.status();
  std::multiset<std::string> got;
  for (const Leak& l : *open) got.insert(l.kind);
  EXPECT_EQ(got, want);

  // One new arrival, and a window too short to learn a gap from: the silent leak closes because
  // the window (read in pages) holds something newer than its last arrival.
  clock_.Advance(1 * kMin);
  Add(24 * 60 * kMin, "");
  config_.alerts.lookback = 30 * kMin;
  EXPECT_GE(Scan().closed, 1);
  open = store_->ListLeaks("ws", LeakFilter{});
  ASSERT_TRUE(open.ok()) << open.status();
  for (const Leak& l : *open) {
    EXPECT_NE(l.kind, "silent_source") << l.reason;
  }
}

TEST_F(LeakMonitorTest, ASilentSourceStaysOpenUntilItSendsAgain) {
  config_.sources[0].expect_every = 60 * kMin;
  Add(24 * 60 * kMin, "");
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) {
                    return tx.CountEntry("ws", "website", "accepted", "", clock_.Now(), 1);
                  })
                  .ok());
  clock_.Advance(61 * kMin);
  LeakScan scan = Scan();
  EXPECT_EQ(scan.opened, 1);
  auto leaks = *store_->ListLeaks("ws", LeakFilter{});
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].kind, "silent_source");
  // The window moves past its last inquiry: still silent, still open.
  config_.alerts.lookback = 30 * kMin;
  EXPECT_EQ(Scan().closed, 0);
  // It sends again: closed.
  clock_.Advance(1 * kMin);
  Add(24 * 60 * kMin, "");
  EXPECT_EQ(Scan().closed, 1);
}

}  // namespace
}  // namespace handoff
