// The scorecard and map endpoints read a window a page at a time into their builders: against a
// real SQLite store, with pages of a few inquiries, they answer exactly what the pure computations
// give over the whole window read at once.
#include "api/tracking_api.h"

#include <string>
#include <vector>

#include "core/id.h"
#include "core/status.h"
#include "core/time_format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/temp_dir.h"
#include "track/continuity_map.h"
#include "track/scorecard.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr Micros kNow = 1'773'498'725LL * kMicrosPerSecond;  // 2026-03-14T14:32:05Z
constexpr int kInquiries = 36;                               // over the last three days
constexpr Micros kApart = 2 * kMicrosPerHour;

class TrackingApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "acme";
    RouteConfig quote;
    quote.name = "quote";
    quote.require = {{"fields.address"}};
    quote.deliver = {"crm"};
    RouteConfig general;
    general.name = "general";
    general.deliver = {"sheet"};
    config_.routes = {quote, general};
    config_.alerts.via = {NotifyTarget{"slack", ""}};
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    api_ = std::make_unique<TrackingApi>(&config_, store_.get(), &clock_, nullptr);
    api_->set_outcomes_per_page(4);
    Fill();
  }
  void TearDown() override { store_->Shutdown(); }

  // Inquiries of two sources on three routes (one unrouted), with tasks answered in time, late
  // or never, deliveries confirmed in time, late, dead or pending, values, two probes, leaks of
  // some of them (one of an inquiry before the window, one of a silent source) and an alerted
  // group.
  void Fill() {
    const char* routes[] = {"quote", "general", ""};
    for (int n = 0; n < kInquiries; ++n) {
      const Micros at = kNow - (kInquiries - n) * kApart + n * kMicrosPerSecond;
      Inquiry i;
      i.id = NewUuidV7(at);
      i.workspace = "acme";
      i.source = n % 4 == 0 ? "ads" : "web";
      i.channel = Channel::kForm;
      i.received_at = at;
      i.route = routes[n % 3];
      i.status = i.route.empty() ? "unrouted" : "routed";
      i.stage = Stage::kTrigger;
      i.fields["value"] = 100 * (n % 5);
      if (n % 7 == 3) i.fields["synthetic"] = true;
      if (n % 6 != 1) i.normalized.phone = "+14155550100";
      std::vector<Task> tasks;
      std::vector<Handoff> handoffs;
      if (!i.route.empty()) {
        Task t;
        t.id = NewUuidV7(at + 1);
        t.workspace = "acme";
        t.inquiry_id = i.id;
        t.route = i.route;
        t.owner = n % 5 == 4 ? "" : "ana";
        t.title = "Call back";
        t.created_at = at;
        t.due_at = at + 15 * kMicrosPerMinute;
        if (n % 3 == 0) t.missing = {"fields.address"};
        if (n % 4 == 1) t.acknowledged_at = at + 5 * kMicrosPerMinute;
        if (n % 4 == 2) t.done_at = at + 40 * kMicrosPerMinute;
        tasks.push_back(t);
        Handoff h;
        h.id = NewUuidV7(at + 2);
        h.workspace = "acme";
        h.inquiry_id = i.id;
        h.destination = n % 8 == 5 ? "old-crm" : (i.route == "quote" ? "crm" : "sheet");
        h.purpose = "deliver";
        h.created_at = at;
        h.next_attempt_at = at;
        h.state = n % 5 == 0 ? "dead" : n % 5 == 1 ? "pending" : "confirmed";
        if (h.state == "confirmed") h.confirmed_at = at + (n % 3 + 1) * 10 * kMicrosPerMinute;
        handoffs.push_back(h);
        if (n % 6 == 4) {
          // Its owner is told too, and that handoff is the one its leak names.
          Handoff told = h;
          told.id = NewUuidV7(at + 3);
          told.destination = "slack";
          told.purpose = "notify";
          told.state = "failed";
          told.confirmed_at = 0;
          handoffs.insert(handoffs.begin(), told);
        }
      }
      if (n % 5 == 0 || n % 9 == 2 || n % 6 == 4) {
        leaked_.push_back(i);
        leaked_handoff_.push_back(handoffs.empty() ? Handoff{} : handoffs.front());
      }
      ASSERT_TRUE(store_
                      ->Write([&](WriteTx& tx) -> absl::Status {
                        RETURN_IF_ERROR(tx.InsertInquiry(i));
                        for (const Task& t : tasks) RETURN_IF_ERROR(tx.InsertTask(t));
                        for (const Handoff& h : handoffs) RETURN_IF_ERROR(tx.InsertHandoff(h));
                        return tx.CountEntry("acme", i.source, "accepted", "", at, 1);
                      })
                      .ok());
    }
    std::vector<Leak> leaks;
    for (size_t k = 0; k < leaked_.size(); ++k) {
      const Inquiry& i = leaked_[k];
      const Handoff& h = leaked_handoff_[k];
      // Handoff leaks are keyed by the handoff (the map draws them on its edge); an unrouted
      // inquiry's by the inquiry.
      leaks.push_back(Leak{"dead_handoff:" + (h.id.empty() ? i.id : h.id), "acme", "dead_handoff",
                           i.id, i.source, i.route, h.id.empty() ? "crm" : h.destination, "",
                           "handoff:crm", "gave up", 0, i.received_at,
                           i.received_at + kMicrosPerHour, 0});
    }
    leaks.push_back(Leak{"unassigned:gone", "acme", "unassigned", "gone-before-the-window", "web",
                         "general", "", "", "unassigned", "nobody", 0, kNow - 9 * kMicrosPerDay,
                         kNow - 9 * kMicrosPerDay, 0});
    leaks.push_back(Leak{"silent_source:ads", "acme", "silent_source", "", "ads", "", "", "",
                         "source:ads", "quiet", 0, kNow - kMicrosPerHour, kNow - kMicrosPerHour,
                         0});
    ASSERT_TRUE(store_
                    ->Write([&](WriteTx& tx) -> absl::Status {
                      for (const Leak& l : leaks) RETURN_IF_ERROR(tx.InsertLeak(l));
                      return tx.PutAlertGroup(AlertGroup{"handoff:crm", "acme", "crm broken", 3, 5,
                                                         kNow - 2 * kMicrosPerDay,
                                                         kNow - kMicrosPerDay, 0});
                    })
                    .ok());
  }

  json Get(const std::string& target,
           HttpResponse (TrackingApi::*endpoint)(const HttpRequest&) const) {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    HttpResponse resp = ((*api_).*endpoint)(r);
    EXPECT_EQ(resp.status, 200) << resp.body;
    return json::parse(resp.body);
  }

  // The scorecard of [from, until) computed over the whole window read at once.
  Scorecard WholeWindow(Micros from, Micros until) {
    ScoreInputs in;
    in.from = from;
    in.until = until;
    auto outcomes = store_->ListInquiryOutcomes("acme", from, until);
    auto counts = store_->ListEntryCounts("acme", from);
    LeakFilter filter;
    filter.closed_since = from;
    filter.limit = 100000;
    auto leaks = store_->ListLeaks("acme", filter);
    auto groups = store_->ListAlertGroups("acme", from, 100000);
    EXPECT_TRUE(outcomes.ok() && counts.ok() && leaks.ok() && groups.ok());
    in.outcomes = outcomes.value_or(std::vector<InquiryOutcome>{});
    in.entry_counts = counts.value_or(std::vector<EntryCount>{});
    in.leaks = leaks.value_or(std::vector<Leak>{});
    in.alert_groups = groups.value_or(std::vector<AlertGroup>{});
    return ComputeScorecard(config_, in);
  }

  testing::TempDir dir_;
  Config config_;
  FakeClock clock_{kNow};
  std::unique_ptr<Store> store_;
  std::unique_ptr<TrackingApi> api_;
  std::vector<Inquiry> leaked_;
  std::vector<Handoff> leaked_handoff_;  // each one's first handoff (none when unrouted)
};

TEST_F(TrackingApiTest, TheScorecardReadInPagesIsTheScorecardOfTheWholeWindow) {
  const json paged = Get("/api/v1/scorecard?window=7d", &TrackingApi::Scorecard);
  const Micros until = kNow + 1;
  const Scorecard whole = WholeWindow(until - 7 * kMicrosPerDay, until);
  // Not a vacuous comparison: every path, the leaks against them and the old destination.
  ASSERT_EQ(whole.paths.size(), 6u);
  EXPECT_EQ(whole.paths[5].destinations, (std::vector<std::string>{"crm", "old-crm"}));
  EXPECT_EQ(whole.overall.inquiries, kInquiries - 5);  // the probes count only as probes
  EXPECT_GT(whole.overall.leaked, 0);
  EXPECT_GT(whole.overall.value_at_risk, 0);
  EXPECT_FALSE(whole.fix_first.empty());
  EXPECT_EQ(paged, ScorecardJson(whole));
}

TEST_F(TrackingApiTest, EachDayOfTheTrendIsThatDaysScorecard) {
  const json trend = Get("/api/v1/scorecard/trend?days=4", &TrackingApi::ScorecardTrend);
  ASSERT_EQ(trend["days"].size(), 4u);
  const Micros from = kNow + 1 - 4 * kMicrosPerDay;
  int inquiries = 0;
  for (int d = 0; d < 4; ++d) {
    const Micros day = from + d * kMicrosPerDay;
    // The figures of the day's inquiries (its leaks and entry counts the trend cuts out of the
    // whole span's, which the store reads differently for one day).
    const Scorecard whole = WholeWindow(day, day + kMicrosPerDay);
    const json& got = trend["days"][d];
    EXPECT_EQ(got["from"], FormatRfc3339(day));
    EXPECT_EQ(got["overall"]["inquiries"], whole.overall.inquiries) << d;
    for (size_t c = 1; c < kScoreChecks.size() - 1; ++c) {  // transfer, context, trigger
      EXPECT_EQ(got["overall"]["checks"][c]["figures"], whole.overall.checks[c].figures)
          << d << " " << kScoreChecks[c];
    }
    inquiries += got["overall"]["inquiries"].get<int>();
  }
  EXPECT_EQ(inquiries, kInquiries - 5);
}

TEST_F(TrackingApiTest, TheMapReadInPagesIsTheMapOfTheWholeWindow) {
  const json paged = Get("/api/v1/map?window=3d", &TrackingApi::Map);
  MapInputs in;
  in.until = kNow + 1;
  in.from = in.until - 3 * kMicrosPerDay;
  auto outcomes = store_->ListInquiryOutcomes("acme", in.from, in.until);
  auto leaks = store_->ListLeaks("acme", LeakFilter{0, 100000});
  ASSERT_TRUE(outcomes.ok() && leaks.ok());
  in.outcomes = *outcomes;
  in.open_leaks = *leaks;
  const json whole = ContinuityMapJson(config_, in);
  // Edges the config does not imply (an old destination, an owner-less task, unrouted
  // inquiries) come after its own, and the leaks sit on them.
  int old_crm = 0, leaks_on_edges = 0, leaks_on_notify = 0;
  for (const json& e : whole["edges"]) {
    if (e["to"] == "destination:old-crm") old_crm += e["volume"].get<int>();
    leaks_on_edges += e["open_leaks"].get<int>();
    if (e["kind"] == "notify") leaks_on_notify += e["open_leaks"].get<int>();
  }
  EXPECT_GT(old_crm, 0);
  EXPECT_GT(leaks_on_edges, 0);
  EXPECT_GT(leaks_on_notify, 0);
  EXPECT_EQ(paged, whole);
}

}  // namespace
}  // namespace handoff
