#include "track/scorecard.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace handoff {
namespace {

constexpr Micros kFrom = 1'800'000'000'000'000;
constexpr Micros kUntil = kFrom + 7 * kMicrosPerDay;
constexpr Micros kDeadline = 15 * kMicrosPerMinute;  // alerts.unconfirmed_handoff

// Two routes: "quote" requires a way to reach the lead and delivers to the CRM; "general"
// requires nothing and delivers to the inbox. Leaks are told on Slack.
Config ScorecardConfig() {
  Config c;
  RouteConfig quote;
  quote.name = "quote";
  quote.require = {{"contact.phone", "contact.email"}};
  quote.deliver = {"crm"};
  quote.task_due = kMicrosPerHour;
  RouteConfig general;
  general.name = "general";
  general.deliver = {"inbox"};
  general.task_due = kMicrosPerHour;
  c.routes = {quote, general};
  c.alerts.via = {NotifyTarget{.via = "slack", .to = "", .line = 0}};
  c.alerts.unconfirmed_handoff = kDeadline;
  c.alerts.unassigned = 5 * kMicrosPerMinute;
  // The scripted week's probe is still inside its deadline: it counts neither way unless a test
  // says otherwise (ProbesThatFailLowerVisibility).
  c.probes.deadline = 30 * kMicrosPerDay;
  return c;
}

InquiryOutcome Outcome(const std::string& id, const std::string& source, const std::string& route,
                       Micros at = kFrom + kMicrosPerHour) {
  InquiryOutcome o;
  o.id = id;
  o.source = source;
  o.route = route;
  o.received_at = at;
  o.has_email = true;
  return o;
}

// A deliver handoff created at `created`, confirmed `after` later (0 = not confirmed).
Handoff Deliver(const std::string& destination, Micros created, Micros after,
                const std::string& state = "confirmed") {
  Handoff h;
  h.destination = destination;
  h.created_at = created;
  h.confirmed_at = after == 0 ? 0 : created + after;
  h.state = after == 0 && state == "confirmed" ? "pending" : state;
  return h;
}

// An owned task created with its inquiry, due an hour later.
Task OwnedTask(const InquiryOutcome& o, const std::string& owner = "ana") {
  Task t;
  t.inquiry_id = o.id;
  t.owner = owner;
  t.created_at = o.received_at;
  t.due_at = o.received_at + kMicrosPerHour;
  return t;
}

Leak LeakOf(const InquiryOutcome& o, const std::string& group, Micros opened_at) {
  Leak l;
  l.kind = "unconfirmed_handoff";
  l.key = "unconfirmed_handoff:" + o.id;
  l.inquiry_id = o.id;
  l.source = o.source;
  l.route = o.route;
  l.group = group;
  l.value = o.value;
  l.opened_at = opened_at;
  return l;
}

AlertGroup Group(const std::string& key, Micros opened_at, Micros alerted_at,
                 Micros closed_at = 0) {
  AlertGroup g;
  g.key = key;
  g.opened_at = opened_at;
  g.alerted_at = alerted_at;
  g.closed_at = closed_at;
  return g;
}

ScoreInputs ScoreWindow() {
  ScoreInputs in;
  in.from = kFrom;
  in.until = kUntil;
  return in;
}

const CheckScore& Check(const PathScore& p, const std::string& name) {
  for (const CheckScore& c : p.checks) {
    if (c.check == name) return c;
  }
  ADD_FAILURE() << "no check " << name;
  static const CheckScore none;
  return none;
}

const PathScore* FindPath(const Scorecard& card, const std::string& source,
                          const std::string& route) {
  for (const PathScore& p : card.paths) {
    if (p.source == source && p.route == route) return &p;
  }
  return nullptr;
}

// One path whose deliver handoffs confirm `in_time` of `total` within the deadline; the others
// are dead.
ScoreInputs DeliveriesInTime(int in_time, int total) {
  ScoreInputs in = ScoreWindow();
  for (int i = 0; i < total; ++i) {
    InquiryOutcome o = Outcome("i" + std::to_string(i), "web", "quote");
    o.handoffs.push_back(i < in_time ? Deliver("crm", o.received_at, kMicrosPerMinute)
                                     : Deliver("crm", o.received_at, 0, "dead"));
    in.outcomes.push_back(std::move(o));
  }
  return in;
}

TEST(Scorecard, ShareMapsToScoreByThresholds) {
  struct Case {
    int64_t ok, total;
    int score;
  };
  const std::vector<Case> cases = {
      {1, 1, 5},    {49, 50, 5},    {98, 100, 5}, {979, 1000, 4}, {97, 100, 4}, {93, 100, 4},
      {92, 100, 3}, {929, 1000, 3}, {4, 5, 3},    {80, 100, 3},   {79, 100, 2}, {1, 2, 2},
      {50, 100, 2}, {49, 100, 1},   {0, 5, 1},    {0, 0, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ScoreShare(c.ok, c.total), c.score) << c.ok << " of " << c.total;
  }
}

TEST(Scorecard, RatingFollowsTheRubric) {
  EXPECT_EQ(ScoreRating(0), "no data");
  EXPECT_EQ(ScoreRating(1), "disconnected");
  EXPECT_EQ(ScoreRating(2), "disconnected");
  EXPECT_EQ(ScoreRating(3), "partial");
  EXPECT_EQ(ScoreRating(4), "strong");
  EXPECT_EQ(ScoreRating(5), "reducing leakage");
}

TEST(Scorecard, TransferScoresAtEachThresholdBoundary) {
  struct Case {
    int in_time, total, score;
  };
  const std::vector<Case> cases = {{50, 50, 5},  {49, 50, 5}, {48, 50, 4},  {93, 100, 4},
                                   {92, 100, 3}, {4, 5, 3},   {79, 100, 2}, {1, 2, 2},
                                   {49, 100, 1}, {0, 3, 1}};
  for (const Case& c : cases) {
    const Scorecard card =
        ComputeScorecard(ScorecardConfig(), DeliveriesInTime(c.in_time, c.total));
    ASSERT_EQ(card.paths.size(), 1u);
    const CheckScore& t = Check(card.paths[0], "transfer");
    EXPECT_EQ(t.score, c.score) << c.in_time << " of " << c.total;
    EXPECT_EQ(t.figures["deliveries"], c.total);
    EXPECT_EQ(t.figures["confirmed_in_time"], c.in_time);
    EXPECT_EQ(t.figures["dead"], c.total - c.in_time);
  }
}

TEST(Scorecard, TransferCountsDeliveriesConfirmedWithinTheDeadline) {
  ScoreInputs in = ScoreWindow();
  InquiryOutcome o = Outcome("a", "web", "quote");
  const Micros t = o.received_at;
  o.handoffs = {
      Deliver("crm", t, 1 * kMicrosPerMinute),
      Deliver("crm", t, 2 * kMicrosPerMinute),
      Deliver("crm", t, 3 * kMicrosPerMinute),
      Deliver("crm", t, kDeadline),                             // exactly on the deadline: in time
      Deliver("crm", t, kDeadline + 1),                         // a microsecond late
      Deliver("crm", t, 0, "dead"),                             // gave up
      Deliver("crm", t, 0, "failed"),                           // still retrying, past its deadline
      Deliver("crm", kUntil - kMicrosPerMinute, 0, "pending"),  // not due at the window's end
  };
  Handoff notify = Deliver("slack", t, 0, "dead");
  notify.purpose = "notify";  // only deliveries count
  o.handoffs.push_back(notify);
  in.outcomes = {o};

  const Scorecard card = ComputeScorecard(ScorecardConfig(), in);
  const CheckScore& c = Check(card.paths[0], "transfer");
  EXPECT_EQ(c.figures["deliveries"], 7);
  EXPECT_EQ(c.figures["confirmed_in_time"], 4);
  EXPECT_EQ(c.figures["confirmed_late"], 1);
  EXPECT_EQ(c.figures["unconfirmed"], 2);
  EXPECT_EQ(c.figures["dead"], 1);
  EXPECT_EQ(c.figures["not_yet_due"], 1);
  EXPECT_EQ(c.figures["deadline_ms"], 900'000);
  // Nearest rank over [1m, 2m, 3m, 15m, 15m + 1us]: p50 is the 3rd, p95 the 5th.
  EXPECT_EQ(c.figures["p50_ms"], 180'000);
  EXPECT_EQ(c.figures["p95_ms"], 900'000);
  EXPECT_DOUBLE_EQ(c.figures["share"].get<double>(), 4.0 / 7.0);
  EXPECT_EQ(c.score, 2);  // 57%
  EXPECT_EQ(c.summary, "4 of 7 (57%) deliveries confirmed within 15m, 1 dead");
}

TEST(Scorecard, ContextReadsTheTaskWhenTheRouteRequiresAndReachabilityOtherwise) {
  ScoreInputs in = ScoreWindow();
  InquiryOutcome complete = Outcome("q1", "web", "quote");
  complete.task = OwnedTask(complete);
  InquiryOutcome lacking = Outcome("q2", "web", "quote");
  lacking.task = OwnedTask(lacking);
  lacking.task->missing = {"contact.phone|contact.email"};  // the task, not has_email, decides
  InquiryOutcome no_task = Outcome("q3", "web", "quote");   // no task: reachability decides
  no_task.has_email = false;
  no_task.has_phone = true;
  InquiryOutcome phone_only = Outcome("g1", "web", "general");
  phone_only.has_email = false;
  phone_only.has_phone = true;
  InquiryOutcome unreachable = Outcome("g2", "web", "general");
  unreachable.has_email = false;
  in.outcomes = {complete, lacking, no_task, phone_only, unreachable};

  const Scorecard card = ComputeScorecard(ScorecardConfig(), in);
  const CheckScore& quote = Check(*FindPath(card, "web", "quote"), "context");
  EXPECT_EQ(quote.figures["inquiries"], 3);
  EXPECT_EQ(quote.figures["with_context"], 2);
  EXPECT_EQ(quote.figures["missing"]["contact.phone|contact.email"], 1);
  EXPECT_EQ(quote.score, 2);  // 66%
  const CheckScore& general = Check(*FindPath(card, "web", "general"), "context");
  EXPECT_EQ(general.figures["with_context"], 1);
  EXPECT_EQ(general.score, 2);  // 50%
  const CheckScore& overall = Check(card.overall, "context");
  EXPECT_EQ(overall.figures["inquiries"], 5);
  EXPECT_EQ(overall.figures["with_context"], 3);
  EXPECT_EQ(overall.figures["missing"]["contact.phone|contact.email"], 2);
  EXPECT_EQ(overall.score, 2);  // 60%
}

TEST(Scorecard, TriggerCountsOwnersAndTasksAnsweredBeforeDue) {
  ScoreInputs in = ScoreWindow();
  auto owned = [](const std::string& id) {
    InquiryOutcome o = Outcome(id, "web", "quote");
    o.task = OwnedTask(o);
    return o;
  };
  InquiryOutcome acked = owned("a");
  acked.task->acknowledged_at = acked.received_at + 10 * kMicrosPerMinute;
  InquiryOutcome acked_late = owned("b");
  acked_late.task->acknowledged_at = acked_late.received_at + 90 * kMicrosPerMinute;
  InquiryOutcome done = owned("c");
  done.task->done_at = done.received_at + 20 * kMicrosPerMinute;
  InquiryOutcome overdue = owned("d");
  InquiryOutcome not_due = owned("e");
  not_due.received_at = kUntil - 10 * kMicrosPerMinute;
  not_due.task = OwnedTask(not_due);
  InquiryOutcome unowned = Outcome("f", "web", "quote");
  InquiryOutcome just_arrived = Outcome("g", "web", "quote", kUntil - kMicrosPerMinute);
  InquiryOutcome canceled = Outcome("h", "web", "quote");
  canceled.status = "canceled";
  in.outcomes = {acked, acked_late, done, overdue, not_due, unowned, just_arrived, canceled};

  const Scorecard card = ComputeScorecard(ScorecardConfig(), in);
  const CheckScore& c = Check(card.paths[0], "trigger");
  EXPECT_EQ(c.figures["inquiries"], 6);  // not the one 1m old, nor the canceled one
  EXPECT_EQ(c.figures["owned"], 5);
  EXPECT_EQ(c.figures["tasks_due"], 4);  // not the one due after the window's end
  EXPECT_EQ(c.figures["acknowledged_in_time"], 2);
  EXPECT_DOUBLE_EQ(c.figures["owned_share"].get<double>(), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(c.figures["acknowledged_share"].get<double>(), 0.5);
  // Nearest rank over [10m, 20m, 90m].
  EXPECT_EQ(c.figures["p50_ms"], 1'200'000);
  EXPECT_EQ(c.figures["p95_ms"], 5'400'000);
  EXPECT_EQ(c.score, 2);  // owners 83% → 3, acknowledgement 50% → 2: the weaker
}

TEST(Scorecard, EntryCountsAcceptedAgainstRejectedForThePathsSource) {
  ScoreInputs in = ScoreWindow();
  in.outcomes = {Outcome("a", "web", "quote")};
  in.entry_counts = {{"web", "accepted", "", 90, 0},
                     {"web", "updated", "", 3, 0},
                     {"web", "duplicate", "", 4, 0},
                     {"web", "spam", "", 9, 0},
                     {"web", "rejected", "bad_signature", 5, 0},
                     {"web", "rejected", "too_large", 2, 0},
                     {"phone", "rejected", "bad_signature", 50, 0}};
  const Scorecard card = ComputeScorecard(ScorecardConfig(), in);
  const CheckScore& web = Check(*FindPath(card, "web", "quote"), "entry");
  EXPECT_EQ(web.figures["accepted"], 90);
  EXPECT_EQ(web.figures["updated"], 3);
  EXPECT_EQ(web.figures["duplicate"], 4);
  EXPECT_EQ(web.figures["spam"], 9);
  EXPECT_EQ(web.figures["rejected"], 7);
  EXPECT_EQ(web.figures["rejected_reasons"]["bad_signature"], 5);
  EXPECT_EQ(web.figures["rejected_reasons"]["too_large"], 2);
  EXPECT_EQ(web.score, 4);  // 93 of 100
  EXPECT_EQ(web.summary, "93 of 100 (93%) deliveries accepted, 4 duplicates");
  // A source that only rejects still has a path, with nothing else to score.
  const PathScore* phone = FindPath(card, "phone", "");
  ASSERT_NE(phone, nullptr);
  EXPECT_EQ(phone->inquiries, 0);
  EXPECT_EQ(Check(*phone, "entry").score, 1);
  EXPECT_EQ(phone->score, 1);
  // Overall: 93 of 150.
  EXPECT_EQ(Check(card.overall, "entry").figures["rejected"], 57);
  EXPECT_EQ(Check(card.overall, "entry").score, 2);
}

TEST(Scorecard, OpenSilentSourceLeakDropsEntryToOne) {
  ScoreInputs in = ScoreWindow();
  in.entry_counts = {{"web", "accepted", "", 100, 0}, {"ads", "accepted", "", 100, 0}};
  in.outcomes = {Outcome("a", "web", "quote"), Outcome("b", "ads", "quote")};
  Leak web_silent;
  web_silent.kind = "silent_source";
  web_silent.key = "silent_source:web";
  web_silent.source = "web";
  web_silent.group = "silent:web";
  web_silent.opened_at = kUntil - kMicrosPerHour;
  Leak ads_silent = web_silent;  // healed within the window: no longer lowers Entry
  ads_silent.key = "silent_source:ads";
  ads_silent.source = "ads";
  ads_silent.group = "silent:ads";
  ads_silent.closed_at = kUntil - kMicrosPerMinute;
  Leak mail_silent = web_silent;  // a source with nothing at all in the window
  mail_silent.key = "silent_source:mail";
  mail_silent.source = "mail";
  mail_silent.group = "silent:mail";
  in.leaks = {web_silent, ads_silent, mail_silent};

  const Scorecard card = ComputeScorecard(ScorecardConfig(), in);
  const CheckScore& web = Check(*FindPath(card, "web", "quote"), "entry");
  EXPECT_EQ(web.score, 1);
  EXPECT_EQ(web.figures["silent_sources"], nlohmann::json::array({"web"}));
  EXPECT_EQ(Check(*FindPath(card, "ads", "quote"), "entry").score, 5);
  const PathScore* mail = FindPath(card, "mail", "");
  ASSERT_NE(mail, nullptr);
  EXPECT_EQ(Check(*mail, "entry").score, 1);
  EXPECT_EQ(mail->leaks, 1);
  EXPECT_EQ(mail->score, 1);
  EXPECT_EQ(Check(card.overall, "entry").score, 1);
}

TEST(Scorecard, VisibilityCountsLeaksWhoseGroupWasAlertedWhileOpen) {
  ScoreInputs in = ScoreWindow();
  std::vector<InquiryOutcome> os;
  for (int i = 0; i < 5; ++i) os.push_back(Outcome("i" + std::to_string(i), "web", "quote"));
  in.outcomes = os;
  const Micros t = kFrom + 2 * kMicrosPerDay;
  in.leaks = {LeakOf(os[0], "handoff:crm", t), LeakOf(os[1], "handoff:crm", t + kMicrosPerHour),
              LeakOf(os[2], "overdue:ana", t),  // its group was never alerted
              LeakOf(os[3], "overdue:bo", t)};  // its group closed before the leak opened
  Leak closed = LeakOf(os[4], "unassigned:web", t - kMicrosPerDay);
  closed.closed_at = t - kMicrosPerHour;  // closed before its group's later alert: not told
  in.leaks.push_back(closed);
  in.alert_groups = {Group("handoff:crm", t, t), Group("overdue:ana", t, 0),
                     Group("overdue:bo", kFrom, kFrom, t - 1), Group("unassigned:web", t, t)};

  const Scorecard card = ComputeScorecard(ScorecardConfig(), in);
  const CheckScore& c = Check(card.overall, "visibility");
  EXPECT_EQ(c.figures["leaks"], 5);
  EXPECT_EQ(c.figures["alerted"], 2);
  EXPECT_EQ(c.score, 1);  // 40%
  EXPECT_EQ(c.summary, "2 of 5 (40%) leaks alerted");
}

TEST(Scorecard, VisibilityIsOneWhenNobodyIsToldAndNoDataWithoutLeaks) {
  ScoreInputs in = ScoreWindow();
  in.outcomes = {Outcome("a", "web", "quote")};
  Config told = ScorecardConfig();
  EXPECT_EQ(Check(ComputeScorecard(told, in).overall, "visibility").score, 0);
  Config untold = ScorecardConfig();
  untold.alerts.via.clear();
  const Scorecard card = ComputeScorecard(untold, in);
  const CheckScore& c = Check(card.overall, "visibility");
  EXPECT_EQ(c.score, 1);
  EXPECT_EQ(c.summary, "no alert channel: nobody is told (0 leaks)");
}

// The scripted week: web→quote (4 inquiries, one leaked), web→general (2, both leaked),
// ads→quote (2, clean), and one synthetic probe that leaks everything.
ScoreInputs Week() {
  ScoreInputs in = ScoreWindow();
  auto inquiry = [](const std::string& id, const std::string& source, const std::string& route,
                    double value, Micros confirm_after) {
    InquiryOutcome o = Outcome(id, source, route);
    o.value = value;
    o.task = OwnedTask(o);
    o.task->acknowledged_at = o.received_at + 5 * kMicrosPerMinute;
    const std::string dest = route == "quote" ? "crm" : "inbox";
    o.handoffs = {confirm_after == 0 ? Deliver(dest, o.received_at, 0, "dead")
                                     : Deliver(dest, o.received_at, confirm_after)};
    return o;
  };
  const Micros m = kMicrosPerMinute;
  in.outcomes = {inquiry("w1", "web", "quote", 100, m),  inquiry("w2", "web", "quote", 200, m),
                 inquiry("w3", "web", "quote", 300, m),  inquiry("w4", "web", "quote", 400, 0),
                 inquiry("g1", "web", "general", 50, 0), inquiry("g2", "web", "general", 60, 0),
                 inquiry("a1", "ads", "quote", 1000, m), inquiry("a2", "ads", "quote", 1000, m)};
  InquiryOutcome probe = inquiry("p1", "web", "quote", 5000, 0);
  probe.synthetic = true;
  probe.task->owner = "";
  probe.has_email = false;
  in.outcomes.push_back(probe);
  const Micros t = kFrom + kMicrosPerDay;
  in.leaks = {LeakOf(in.outcomes[3], "handoff:crm", t), LeakOf(in.outcomes[4], "handoff:inbox", t),
              LeakOf(in.outcomes[5], "handoff:inbox", t), LeakOf(probe, "handoff:crm", t)};
  Leak overdue = LeakOf(in.outcomes[5], "overdue:ana", t);  // a second leak, same inquiry
  overdue.kind = "overdue_task";
  in.leaks.push_back(overdue);
  in.alert_groups = {Group("handoff:crm", t, t), Group("handoff:inbox", t, t),
                     Group("overdue:ana", t, 0)};
  in.entry_counts = {{"web", "accepted", "", 6, 0}, {"ads", "accepted", "", 2, 0}};
  return in;
}

TEST(Scorecard, ScriptedWeekScoresEveryPathAndTheOverallRow) {
  const Scorecard card = ComputeScorecard(ScorecardConfig(), Week());
  ASSERT_EQ(card.paths.size(), 3u);
  // Sorted by source, then route.
  EXPECT_EQ(card.paths[0].source, "ads");
  EXPECT_EQ(card.paths[1].route, "general");
  EXPECT_EQ(card.paths[2].route, "quote");

  const PathScore& ads = card.paths[0];
  EXPECT_EQ(ads.inquiries, 2);
  EXPECT_EQ(ads.destinations, std::vector<std::string>{"crm"});
  EXPECT_EQ(Check(ads, "transfer").score, 5);
  EXPECT_EQ(Check(ads, "visibility").score, 0);  // nothing leaked
  EXPECT_EQ(ads.score, 5);
  EXPECT_EQ(ads.rating, "reducing leakage");
  EXPECT_EQ(ads.leaks, 0);

  const PathScore& quote = card.paths[2];
  EXPECT_EQ(quote.inquiries, 4);  // the probe is left out
  EXPECT_EQ(Check(quote, "transfer").figures["deliveries"], 4);
  EXPECT_EQ(Check(quote, "transfer").score, 2);  // 75%
  EXPECT_EQ(Check(quote, "context").score, 5);
  EXPECT_EQ(Check(quote, "trigger").score, 5);
  EXPECT_EQ(Check(quote, "visibility").score, 5);  // its one leak was alerted
  EXPECT_EQ(quote.score, 2);                       // capped by Transfer
  EXPECT_EQ(quote.rating, "disconnected");
  EXPECT_EQ(quote.leaks, 1);
  EXPECT_EQ(quote.leaked, 1);
  EXPECT_DOUBLE_EQ(quote.value_at_risk, 400);

  const PathScore& general = card.paths[1];
  EXPECT_EQ(general.leaks, 3);
  EXPECT_EQ(general.leaked, 2);
  EXPECT_DOUBLE_EQ(general.value_at_risk, 110);
  EXPECT_EQ(Check(general, "visibility").figures["alerted"], 2);
  EXPECT_EQ(Check(general, "visibility").score, 2);  // 2 of 3
  EXPECT_EQ(Check(general, "transfer").score, 1);    // 0 of 2
  EXPECT_EQ(general.score, 1);

  const PathScore& all = card.overall;
  EXPECT_EQ(all.inquiries, 8);
  EXPECT_EQ(Check(all, "entry").score, 5);
  EXPECT_EQ(Check(all, "transfer").figures["deliveries"], 8);
  EXPECT_EQ(Check(all, "transfer").figures["confirmed_in_time"], 5);
  EXPECT_EQ(Check(all, "transfer").score, 2);  // 62%
  EXPECT_EQ(Check(all, "context").score, 5);
  EXPECT_EQ(Check(all, "trigger").figures["owned"], 8);
  EXPECT_EQ(Check(all, "trigger").score, 5);
  EXPECT_EQ(Check(all, "visibility").figures["leaks"], 4);
  EXPECT_EQ(Check(all, "visibility").figures["alerted"], 3);
  EXPECT_EQ(Check(all, "visibility").score, 2);  // 75%
  EXPECT_EQ(all.score, 2);
  EXPECT_EQ(all.leaks, 4);
  EXPECT_EQ(all.leaked, 3);
  EXPECT_DOUBLE_EQ(all.value_at_risk, 510);
}

TEST(Scorecard, SyntheticInquiriesCountOnlyAsProbes) {
  // Probes still running (their deadline not come) change nothing at all.
  const Config config = ScorecardConfig();
  ScoreInputs with = Week();
  ScoreInputs without = with;
  without.outcomes.pop_back();
  without.leaks.erase(without.leaks.begin() + 3);
  // A probe on a path of its own must not create that path.
  InquiryOutcome lone = Outcome("p2", "probe", "quote");
  lone.synthetic = true;
  with.outcomes.push_back(lone);
  const Scorecard a = ComputeScorecard(config, with);
  const Scorecard b = ComputeScorecard(config, without);
  EXPECT_EQ(ScorecardJson(a), ScorecardJson(b));
  EXPECT_EQ(FindPath(a, "probe", "quote"), nullptr);
}

TEST(Scorecard, ProbesThatFailLowerVisibility) {
  Config config = ScorecardConfig();
  config.probes.deadline = 5 * kMicrosPerMinute;
  ScoreInputs in = ScoreWindow();
  in.outcomes.push_back(Outcome("r1", "web", "quote"));
  // Ten probes of web: nine confirmed within the deadline, one never.
  for (int i = 0; i < 10; ++i) {
    InquiryOutcome p = Outcome("p" + std::to_string(i), "web", "quote");
    p.synthetic = true;
    p.stage = Stage::kTransfer;
    p.handoffs = {Deliver("probe-hook", p.received_at, i < 9 ? kMicrosPerMinute : 0,
                          i < 9 ? "confirmed" : "failed")};
    in.outcomes.push_back(p);
  }
  const Scorecard card = ComputeScorecard(config, in);
  const PathScore* web = FindPath(card, "web", "quote");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->inquiries, 1);  // probes are not inquiries
  const CheckScore& v = web->checks[4];
  ASSERT_EQ(v.check, "visibility");
  EXPECT_EQ(v.figures["probes"]["due"], 10);
  EXPECT_EQ(v.figures["probes"]["passed"], 9);
  EXPECT_EQ(v.score, 3);  // 90%: under 93%, at least 80%
  EXPECT_NE(v.summary.find("9 of 10 (90%) probes passed"), std::string::npos) << v.summary;
}

TEST(Scorecard, FixFirstRanksByValueAtRiskThenLeakedCount) {
  const Scorecard week = ComputeScorecard(ScorecardConfig(), Week());
  // web→quote risks 400, web→general 110; ads→quote leaked nothing and is not listed.
  ASSERT_EQ(week.fix_first.size(), 2u);
  EXPECT_EQ(week.paths[week.fix_first[0]].route, "quote");
  EXPECT_EQ(week.paths[week.fix_first[1]].route, "general");

  ScoreInputs in = ScoreWindow();
  auto leaked = [&in](const std::string& id, const std::string& source, double value) {
    InquiryOutcome o = Outcome(id, source, "quote");
    o.value = value;
    in.leaks.push_back(LeakOf(o, "handoff:crm", kFrom));
    in.outcomes.push_back(std::move(o));
  };
  leaked("a1", "a", 500);
  // Two more leaks on a's one inquiry: more leaks, but still one leaked inquiry.
  for (const char* group : {"overdue:ana", "unassigned:a"}) {
    in.leaks.push_back(LeakOf(in.outcomes[0], group, kFrom));
  }
  leaked("b1", "b", 250);
  leaked("b2", "b", 250);
  leaked("c1", "c", 1000);
  in.outcomes.push_back(Outcome("d1", "d", "quote"));
  const Scorecard card = ComputeScorecard(ScorecardConfig(), in);
  ASSERT_EQ(card.fix_first.size(), 3u);
  EXPECT_EQ(card.paths[card.fix_first[0]].source, "c");
  // b ties a on 500 and has fewer leaks (2 against 3), but more leaked inquiries (2 against 1).
  EXPECT_EQ(card.paths[card.fix_first[1]].source, "b");
  EXPECT_EQ(card.paths[card.fix_first[2]].source, "a");
}

TEST(Scorecard, PathWithLeaksButNoInquiriesScoresOnlyWhatItHasData) {
  ScoreInputs in = ScoreWindow();
  // A dead handoff of an inquiry received before the window, still leaking in it.
  InquiryOutcome old = Outcome("old", "web", "quote", kFrom - kMicrosPerDay);
  old.value = 900;
  in.leaks = {LeakOf(old, "handoff:crm", kFrom - kMicrosPerHour)};
  in.alert_groups = {Group("handoff:crm", kFrom - kMicrosPerHour, kFrom - kMicrosPerHour)};
  const Scorecard card = ComputeScorecard(ScorecardConfig(), in);
  ASSERT_EQ(card.paths.size(), 1u);
  const PathScore& p = card.paths[0];
  EXPECT_EQ(p.inquiries, 0);
  EXPECT_EQ(p.destinations, std::vector<std::string>{"crm"});
  EXPECT_EQ(Check(p, "entry").score, 0);
  EXPECT_EQ(Check(p, "transfer").score, 0);
  EXPECT_EQ(Check(p, "context").score, 0);
  EXPECT_EQ(Check(p, "trigger").score, 0);
  EXPECT_EQ(Check(p, "visibility").score, 5);
  EXPECT_EQ(p.score, 5);
  EXPECT_EQ(p.leaks, 1);
  EXPECT_EQ(p.leaked, 0);  // value at risk counts the window's inquiries only
  EXPECT_DOUBLE_EQ(p.value_at_risk, 0);
  ASSERT_EQ(card.fix_first.size(), 1u);
  EXPECT_NE(ScorecardText(card).find("1. web -> quote -> crm: value at risk 0"), std::string::npos);
}

TEST(Scorecard, EmptyWindowHasNoDataAnywhere) {
  const Scorecard card = ComputeScorecard(ScorecardConfig(), ScoreWindow());
  EXPECT_TRUE(card.paths.empty());
  EXPECT_TRUE(card.fix_first.empty());
  EXPECT_EQ(card.overall.inquiries, 0);
  ASSERT_EQ(card.overall.checks.size(), 5u);
  for (const CheckScore& c : card.overall.checks) EXPECT_EQ(c.score, 0) << c.check;
  EXPECT_EQ(card.overall.score, 0);
  EXPECT_EQ(card.overall.rating, "no data");
  const nlohmann::json j = ScorecardJson(card);
  EXPECT_EQ(j["paths"], nlohmann::json::array());
  EXPECT_EQ(j["overall"]["score"], 0);
  EXPECT_NE(ScorecardText(card).find("nothing leaked in this window"), std::string::npos);
}

TEST(Scorecard, JsonCarriesScoresFiguresAndTheRanking) {
  const nlohmann::json j = ScorecardJson(ComputeScorecard(ScorecardConfig(), Week()));
  EXPECT_EQ(j["from"], "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(j["thresholds_percent"], nlohmann::json::array({98, 93, 80, 50}));
  ASSERT_EQ(j["paths"].size(), 3u);
  const nlohmann::json& quote = j["paths"][2];
  EXPECT_EQ(quote["route"], "quote");
  EXPECT_EQ(quote["score"], 2);
  EXPECT_EQ(quote["rating"], "disconnected");
  EXPECT_EQ(quote["value_at_risk"], 400.0);
  ASSERT_EQ(quote["checks"].size(), 5u);
  EXPECT_EQ(quote["checks"][1]["check"], "transfer");
  EXPECT_EQ(quote["checks"][1]["figures"]["confirmed_in_time"], 3);
  ASSERT_EQ(j["fix_first"].size(), 2u);
  EXPECT_EQ(j["fix_first"][0]["path"], 2);
  EXPECT_EQ(j["fix_first"][0]["leaked"], 1);
  EXPECT_EQ(j["fix_first"][1]["value_at_risk"], 110.0);
}

TEST(Scorecard, TextShowsTheTableAndWhatToFixFirst) {
  const std::string text = ScorecardText(ComputeScorecard(ScorecardConfig(), Week()));
  const std::string table =
      "path                     inquiries  entry  transfer  context  trigger  visibility  score\n"
      "overall                          8      5         2        5        5           2  2 "
      "disconnected\n"
      "ads -> quote -> crm              2      5         5        5        5           -  5 "
      "reducing leakage\n"
      "web -> general -> inbox          2      5         1        5        5           2  1 "
      "disconnected\n"
      "web -> quote -> crm              4      5         2        5        5           5  2 "
      "disconnected\n";
  EXPECT_NE(text.find(table), std::string::npos) << text;
  EXPECT_NE(text.find("  transfer    2  5 of 8 (62%) deliveries confirmed within 15m, 3 dead\n"),
            std::string::npos)
      << text;
  const std::string fix =
      "Fix this first\n"
      "  1. web -> quote -> crm: value at risk 400 in 1 leaked inquiry, 1 leak\n"
      "     weakest: transfer 2: 3 of 4 (75%) deliveries confirmed within 15m, 1 dead\n"
      "  2. web -> general -> inbox: value at risk 110 in 2 leaked inquiries, 3 leaks\n"
      "     weakest: transfer 1: 0 of 2 (0%) deliveries confirmed within 15m, 2 dead\n";
  EXPECT_NE(text.find(fix), std::string::npos) << text;
}

}  // namespace
}  // namespace handoff
