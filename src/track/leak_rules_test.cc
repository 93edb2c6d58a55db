#include "track/leak_rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tests/support/test_clock.h"

namespace handoff {
namespace {

Config TestConfig() {
  Config c;
  c.workspace = "ws";
  SourceConfig form;
  form.name = "website";
  SourceConfig line;
  line.name = "main-line";
  c.sources = {form, line};
  c.alerts.unassigned = 5 * kMin;
  c.alerts.unconfirmed_handoff = 2 * kMin;
  c.alerts.unacknowledged_task = 0;  // `due`
  c.alerts.missed_call = 10 * kMin;
  return c;
}

InquiryOutcome ArrivedInquiry(const std::string& id, const std::string& source, Micros at) {
  InquiryOutcome o;
  o.id = id;
  o.source = source;
  o.received_at = at;
  o.route = "leads";
  o.stage = Stage::kTransfer;
  o.status = "delivered";
  return o;
}

Task OwnedTask(const std::string& id, Micros due, const std::string& state) {
  Task t;
  t.id = id;
  t.owner = "ana";
  t.due_at = due;
  t.state = state;
  return t;
}

Handoff HandoffTo(const std::string& id, const std::string& dest, const std::string& state,
                  Micros created) {
  Handoff h;
  h.id = id;
  h.destination = dest;
  h.state = state;
  h.created_at = created;
  return h;
}

std::set<std::string> Keys(const std::vector<Leak>& leaks) {
  std::set<std::string> out;
  for (const Leak& l : leaks) out.insert(l.key);
  return out;
}

const Leak* Find(const std::vector<Leak>& leaks, const std::string& key) {
  for (const Leak& l : leaks) {
    if (l.key == key) return &l;
  }
  return nullptr;
}

// One scripted history with a known set of leaks, and as many near misses that are not leaks.
TEST(LeakRules, ScriptedHistoryReportsExactlyItsLeaks) {
  const Config config = TestConfig();
  const Micros now = kT0 + 60 * kMin;
  LeakInputs in;

  // 1. Unrouted for 6 minutes: a leak. 2. Unrouted for 4 minutes: not yet.
  InquiryOutcome unrouted = ArrivedInquiry("i1", "website", now - 6 * kMin);
  unrouted.route.clear();
  unrouted.stage = Stage::kEnrich;
  unrouted.status = "enriched";
  InquiryOutcome young = ArrivedInquiry("i2", "website", now - 4 * kMin);
  young.route.clear();
  // 3. Routed by a route that assigns nobody: a leak.
  InquiryOutcome no_owner = ArrivedInquiry("i3", "website", now - 30 * kMin);
  // 4. Task past due and open: overdue. 5. Past due but acknowledged: fine. 6. Not yet due.
  InquiryOutcome overdue = ArrivedInquiry("i4", "website", now - 40 * kMin);
  overdue.task = OwnedTask("t4", now - 1 * kMin, "open");
  InquiryOutcome acked = ArrivedInquiry("i5", "website", now - 40 * kMin);
  acked.task = OwnedTask("t5", now - 20 * kMin, "acknowledged");
  InquiryOutcome due_later = ArrivedInquiry("i6", "website", now - 10 * kMin);
  due_later.task = OwnedTask("t6", now + 5 * kMin, "open");
  // 7. A missed call acknowledged but not done 12 minutes past due (grace 10m): a leak, and not
  //    also an overdue task. 8. A missed call 5 minutes past due: within its grace.
  InquiryOutcome call = ArrivedInquiry("i7", "main-line", now - 30 * kMin);
  call.kind = "missed_call";
  call.task = OwnedTask("t7", now - 12 * kMin, "acknowledged");
  InquiryOutcome recent_call = ArrivedInquiry("i8", "main-line", now - 15 * kMin);
  recent_call.kind = "missed_call";
  recent_call.task = OwnedTask("t8", now - 5 * kMin, "open");
  // 9. Handoffs: failing for 3 minutes (leak), pending for 1 minute (not yet), dead (leak),
  //    confirmed (fine), and an alert handoff that failed (never a leak of its own).
  InquiryOutcome handed = ArrivedInquiry("i9", "website", now - 50 * kMin);
  handed.task = OwnedTask("t9", now + 50 * kMin, "open");
  handed.handoffs = {HandoffTo("h1", "crm", "failed", now - 3 * kMin),
                     HandoffTo("h2", "crm", "pending", now - 1 * kMin),
                     HandoffTo("h3", "sheet", "dead", now - 45 * kMin),
                     HandoffTo("h4", "team-chat", "confirmed", now - 45 * kMin)};
  handed.handoffs[0].attempts = 2;
  handed.handoffs[0].last_error = "HTTP 503";
  Handoff alert = HandoffTo("h5", "team-chat", "dead", now - 45 * kMin);
  alert.purpose = "alert";
  handed.handoffs.push_back(alert);
  // 10. A synthetic probe with every problem: counted only as a failed probe (its deadline,
  //     5 minutes by default, long past), never as a business leak.
  InquiryOutcome probe = ArrivedInquiry("i10", "website", now - 50 * kMin);
  probe.synthetic = true;
  probe.handoffs = {HandoffTo("h6", "crm", "dead", now - 50 * kMin)};

  in.outcomes = {unrouted,  young, no_owner,    overdue, acked,
                 due_later, call,  recent_call, handed,  probe};
  const std::vector<Leak> leaks = DetectLeaks(config, in, now);
  EXPECT_EQ(Keys(leaks), (std::set<std::string>{"unassigned:i1", "unassigned:i3", "overdue_task:t4",
                                                "missed_call:t7", "unconfirmed_handoff:h1",
                                                "dead_handoff:h3", "probe_failed:i10"}));

  const Leak* unassigned = Find(leaks, "unassigned:i1");
  ASSERT_NE(unassigned, nullptr);
  EXPECT_EQ(unassigned->group, "unassigned:website");
  EXPECT_EQ(unassigned->since, now - 1 * kMin);
  EXPECT_NE(unassigned->reason.find("not routed 6m"), std::string::npos) << unassigned->reason;
  const Leak* no_owner_leak = Find(leaks, "unassigned:i3");
  ASSERT_NE(no_owner_leak, nullptr);
  EXPECT_NE(no_owner_leak->reason.find("route 'leads' gave it no owner"), std::string::npos);
  const Leak* task = Find(leaks, "overdue_task:t4");
  ASSERT_NE(task, nullptr);
  EXPECT_EQ(task->group, "overdue:ana");
  EXPECT_EQ(task->owner, "ana");
  EXPECT_EQ(task->inquiry_id, "i4");
  const Leak* missed = Find(leaks, "missed_call:t7");
  ASSERT_NE(missed, nullptr);
  EXPECT_EQ(missed->group, "missed_call:main-line");
  EXPECT_EQ(missed->since, now - 2 * kMin);
  const Leak* failing = Find(leaks, "unconfirmed_handoff:h1");
  ASSERT_NE(failing, nullptr);
  EXPECT_EQ(failing->group, "handoff:crm");
  EXPECT_EQ(failing->destination, "crm");
  EXPECT_NE(failing->reason.find("HTTP 503"), std::string::npos) << failing->reason;
  EXPECT_NE(failing->reason.find("2 attempts"), std::string::npos) << failing->reason;
  const Leak* dead = Find(leaks, "dead_handoff:h3");
  ASSERT_NE(dead, nullptr);
  EXPECT_EQ(dead->group, "handoff:sheet");
}

TEST(LeakRules, ThresholdsComeFromTheConfig) {
  Config config = TestConfig();
  const Micros now = kT0;
  LeakInputs in;
  InquiryOutcome late = ArrivedInquiry("i1", "website", now - 20 * kMin);
  late.task = OwnedTask("t1", now - 3 * kMin, "open");
  in.outcomes = {late};
  EXPECT_EQ(DetectLeaks(config, in, now).size(), 1u);  // `due`: leaking since its due time
  config.alerts.unacknowledged_task = 5 * kMin;        // `due + 5m`
  EXPECT_TRUE(DetectLeaks(config, in, now).empty());
  config.alerts.unacknowledged_task = 3 * kMin;  // exactly at the limit counts
  EXPECT_EQ(DetectLeaks(config, in, now).size(), 1u);
}

TEST(LeakRules, CanceledInquiriesNeedNoOwner) {
  const Config config = TestConfig();
  LeakInputs in;
  InquiryOutcome canceled = ArrivedInquiry("i1", "website", kT0 - 60 * kMin);
  canceled.status = "canceled";
  in.outcomes = {canceled};
  EXPECT_TRUE(DetectLeaks(config, in, kT0).empty());
}

TEST(LeakRules, ConfiguredSilenceMakesASilentSourceLeak) {
  Config config = TestConfig();
  config.sources[0].expect_every = 2 * kMicrosPerDay;
  LeakInputs in;
  // Nothing in the window; the entry counts know its last arrival 3 days ago.
  in.last_arrival["website"] = kT0 - 3 * kMicrosPerDay;
  std::vector<Leak> leaks = DetectLeaks(config, in, kT0);
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].key, "silent_source:website");
  EXPECT_EQ(leaks[0].group, "silent:website");
  EXPECT_EQ(leaks[0].since, kT0 - 3 * kMicrosPerDay);
  EXPECT_TRUE(leaks[0].inquiry_id.empty());
  // One day of silence is within its expected gap.
  in.last_arrival["website"] = kT0 - kMicrosPerDay;
  EXPECT_TRUE(DetectLeaks(config, in, kT0).empty());
}

TEST(LeakRules, LearnedSilenceNeedsEnoughHistory) {
  const Config config = TestConfig();
  SourceConfig source;
  source.name = "website";
  std::vector<Micros> arrivals;
  // Eight gaps of 1h and one of 2h: p90 (nearest rank, 9 gaps → 9th) is 2h, so 6h.
  for (int i = 0; i < 9; ++i) arrivals.push_back(kT0 + i * kMicrosPerHour);
  arrivals.push_back(arrivals.back() + 2 * kMicrosPerHour);
  EXPECT_EQ(ExpectedGap(source, arrivals), 6 * kMicrosPerHour);
  // Too few arrivals: unknown.
  arrivals.resize(kMinLearnedGaps);
  EXPECT_EQ(ExpectedGap(source, arrivals), 0);
  // Never shorter than an hour, however busy the source.
  std::vector<Micros> busy;
  for (int i = 0; i < 20; ++i) busy.push_back(kT0 + i * kMicrosPerMinute);
  EXPECT_EQ(ExpectedGap(source, busy), kMicrosPerHour);

  // Through DetectLeaks: 10 arrivals an hour apart, then 4 hours of silence (> 3h learned).
  LeakInputs in;
  for (int i = 0; i < 10; ++i) {
    InquiryOutcome o = ArrivedInquiry("i" + std::to_string(i), "website", kT0 + i * kMicrosPerHour);
    o.task = OwnedTask("t" + std::to_string(i), kT0 + i * kMicrosPerHour, "done");
    in.outcomes.push_back(o);
  }
  const Micros last = kT0 + 9 * kMicrosPerHour;
  EXPECT_TRUE(DetectLeaks(config, in, last + 2 * kMicrosPerHour).empty());
  std::vector<Leak> leaks = DetectLeaks(config, in, last + 4 * kMicrosPerHour);
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].kind, "silent_source");
  EXPECT_NE(leaks[0].reason.find("learned"), std::string::npos) << leaks[0].reason;
}

TEST(LeakRules, GroupTitlesSayWhatIsWrong) {
  EXPECT_EQ(LeakGroupTitle("handoff:crm"), "handoffs to crm are not confirmed");
  EXPECT_EQ(LeakGroupTitle("overdue:ana"), "tasks of ana are past due and not acknowledged");
  EXPECT_EQ(LeakGroupTitle("silent:website"), "website has stopped sending inquiries");
  EXPECT_EQ(LeakGroupTitle("unassigned:website"), "inquiries from website have no owner");
  EXPECT_EQ(LeakGroupTitle("missed_call:main-line"),
            "missed calls on main-line are not being called back");
}

}  // namespace
}  // namespace handoff
