#include "trigger/assignment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>

#include "core/time_format.h"
#include "tests/support/temp_dir.h"

namespace handoff {
namespace {

// Monday 2026-11-30 10:00 in Los Angeles (18:00 UTC); the business opens 09:00-17:00 mon-fri.
const Micros kMondayMorning = *ParseRfc3339("2026-11-30T18:00:00Z");
const Micros kMondayNight = *ParseRfc3339("2026-12-01T05:00:00Z");  // 21:00 local

WeeklyHours NineToFive() {
  WeeklyHours h;
  for (int d = 0; d < 5; ++d) h.days[d] = {OpenWindow{9 * 60, 17 * 60}};
  return h;
}

TeamMember Member(const std::string& id, std::vector<std::string> skills = {},
                  std::vector<std::string> territory = {}) {
  TeamMember m{id, id, "", "", "", 1};
  m.skills = std::move(skills);
  m.territory = std::move(territory);
  return m;
}

// Assignments run inside real write transactions on a real SQLite store, as the trigger stage
// runs them.
class AssignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "ws";
    config_.business.timezone = "America/Los_Angeles";
    config_.business.hours = NineToFive();
    config_.team = {Member("ana", {"water-heater"}, {"941*"}), Member("ben", {"drains"}, {"100??"}),
                    Member("cy", {"drains"}, {"941*"})};
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override { store_->Shutdown(); }

  RouteConfig Route(const std::string& strategy, std::vector<PoolMember> pool) {
    RouteConfig r;
    r.name = "r-" + strategy;
    r.assign_strategy = strategy;
    r.assign_pool = std::move(pool);
    return r;
  }

  // Builds the assigner for the current config (call after changing the team or routes).
  void Build() {
    time_ = std::make_unique<BusinessTime>(BusinessTime::FromLoadedConfig(config_));
    assigner_ = std::make_unique<Assigner>(config_, *time_);
  }

  Assignment Assign(const RouteConfig& route, AssignmentRequest req = {}) {
    if (!assigner_) Build();
    if (req.workspace.empty()) req.workspace = "ws";
    if (req.at == 0) req.at = kMondayMorning;
    Assignment out;
    absl::Status s = store_->Write([&](WriteTx& tx) -> absl::Status {
      auto a = assigner_->Assign(route, req, tx);
      if (!a.ok()) return a.status();
      out = *a;
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  void OpenTask(const std::string& owner, const std::string& state = "open") {
    Task t;
    t.id = "t" + std::to_string(++tasks_);
    t.workspace = "ws";
    t.inquiry_id = "i" + std::to_string(tasks_);
    t.route = "x";
    t.owner = owner;
    t.state = state;
    ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.InsertTask(t); }).ok());
  }

  testing::TempDir dir_;
  FakeClock clock_{kMondayMorning};
  Config config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<BusinessTime> time_;
  std::unique_ptr<Assigner> assigner_;
  int tasks_ = 0;
};

TEST_F(AssignerTest, FixedGivesTheOwner) {
  RouteConfig r = Route("fixed", {});
  r.assign_owner = "ben";
  Assignment a = Assign(r);
  EXPECT_EQ(a.owner, "ben");
  EXPECT_EQ(a.reason, "fixed owner");
}

TEST_F(AssignerTest, RoundRobinTakesThePoolInTurnAndKeepsItsPlaceInTheStore) {
  RouteConfig r = Route("round_robin", {{"ana"}, {"ben"}, {"cy"}});
  std::vector<std::string> owners;
  for (int i = 0; i < 4; ++i) owners.push_back(Assign(r).owner);
  EXPECT_EQ(owners, (std::vector<std::string>{"ana", "ben", "cy", "ana"}));
  // A new assigner (a restart) continues from the stored slot.
  assigner_.reset();
  EXPECT_EQ(Assign(r).owner, "ben");
  EXPECT_EQ(Assign(r).reason, "round robin slot 5");
  // Routes keep separate counters.
  RouteConfig other = Route("round_robin", {{"cy"}, {"ana"}});
  other.name = "other";
  EXPECT_EQ(Assign(other).owner, "cy");
}

TEST_F(AssignerTest, ConcurrentRoundRobinAssignmentsNeverShareASlot) {
  RouteConfig r = Route("round_robin", {{"ana"}, {"ben"}, {"cy"}});
  Build();
  constexpr int kThreads = 8, kEach = 30;
  std::mutex mu;
  std::map<std::string, int> per_owner;
  std::vector<std::string> reasons;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        // Submitted without waiting, so the writer groups many into one transaction.
        Assignment a = Assign(r);
        std::lock_guard<std::mutex> lock(mu);
        ++per_owner[a.owner];
        reasons.push_back(a.reason);
      }
    });
  }
  for (auto& t : threads) t.join();
  // 240 assignments over 3 people: each slot was taken once, so each person got exactly 80.
  EXPECT_EQ(per_owner, (std::map<std::string, int>{{"ana", 80}, {"ben", 80}, {"cy", 80}}));
  std::sort(reasons.begin(), reasons.end());
  EXPECT_EQ(std::unique(reasons.begin(), reasons.end()), reasons.end());
}

TEST_F(AssignerTest, WeightedSpreadsSlotsByWeight) {
  EXPECT_EQ(Assigner::WeightedSequence({{"ana", 3}, {"ben", 1}}),
            (std::vector<std::string>{"ana", "ana", "ben", "ana"}));
  EXPECT_EQ(Assigner::WeightedSequence({{"ana", 2}, {"ben", 1}, {"cy", 1}}),
            (std::vector<std::string>{"ana", "ben", "cy", "ana"}));
  config_.routes = {Route("weighted", {{"ana", 3}, {"ben", 1}})};
  std::map<std::string, int> count;
  for (int i = 0; i < 40; ++i) ++count[Assign(config_.routes[0]).owner];
  EXPECT_EQ(count, (std::map<std::string, int>{{"ana", 30}, {"ben", 10}}));
}

TEST_F(AssignerTest, LeastOpenCountsOpenAndAcknowledgedTasksOnly) {
  RouteConfig r = Route("least_open", {{"ana"}, {"ben"}, {"cy"}});
  OpenTask("ana");
  OpenTask("ben", "acknowledged");
  OpenTask("cy", "done");
  OpenTask("cy", "done");
  EXPECT_EQ(Assign(r).owner, "cy");
  OpenTask("cy");
  EXPECT_EQ(Assign(r).owner, "ana");  // all have one: pool order breaks the tie
}

TEST_F(AssignerTest, BySkillPrefersPeopleWithTheSkillThenTheLeastBusy) {
  RouteConfig r = Route("by_skill", {{"ana"}, {"ben"}, {"cy"}});
  AssignmentRequest drains;
  drains.service = "drains";
  EXPECT_EQ(Assign(r, drains).owner, "ben");
  OpenTask("ben");
  Assignment a = Assign(r, drains);
  EXPECT_EQ(a.owner, "cy");
  EXPECT_EQ(a.reason, "skill 'drains', least open tasks");
  AssignmentRequest heater;
  heater.service = "water-heater";
  EXPECT_EQ(Assign(r, heater).owner, "ana");
  AssignmentRequest remodel;
  remodel.service = "remodel";  // nobody: the least busy of the whole pool
  a = Assign(r, remodel);
  EXPECT_EQ(a.owner, "ana");
  EXPECT_EQ(a.reason, "least open tasks (nobody has the skill 'remodel')");
}

TEST_F(AssignerTest, ByTerritoryMatchesPostcodePatterns) {
  EXPECT_TRUE(Assigner::TerritoryMatches("941*", "94110"));
  EXPECT_FALSE(Assigner::TerritoryMatches("941*", "94010"));
  EXPECT_TRUE(Assigner::TerritoryMatches("941*", "941"));
  EXPECT_TRUE(Assigner::TerritoryMatches("100??", "10001"));
  EXPECT_FALSE(Assigner::TerritoryMatches("100??", "1000"));
  EXPECT_TRUE(Assigner::TerritoryMatches("sw1*", "SW1A 1AA"));
  EXPECT_TRUE(Assigner::TerritoryMatches("*1AA", "SW1A 1AA"));
  EXPECT_FALSE(Assigner::TerritoryMatches("", "94110"));

  RouteConfig r = Route("by_territory", {{"ana"}, {"ben"}, {"cy"}});
  AssignmentRequest ny;
  ny.postcode = "10001";
  EXPECT_EQ(Assign(r, ny).owner, "ben");
  AssignmentRequest sf;
  sf.postcode = "94110";
  OpenTask("ana");
  EXPECT_EQ(Assign(r, sf).owner, "cy");
}

TEST_F(AssignerTest, StickyReturnsAContactToTheirLastOwnerWhileTheyWork) {
  RouteConfig r = Route("round_robin", {{"ana"}, {"ben"}});
  r.assign_sticky = true;
  AssignmentRequest back;
  back.previous_owner = "ben";
  Assignment a = Assign(r, back);
  EXPECT_EQ(a.owner, "ben");
  EXPECT_EQ(a.reason, "sticky: owned the contact's last inquiry");
  // Out of hours the previous owner is not working: the strategy decides.
  back.at = kMondayNight;
  EXPECT_EQ(Assign(r, back).owner, "ana");
  // Someone outside the pool is not sticky.
  back.at = kMondayMorning;
  back.previous_owner = "cy";
  EXPECT_EQ(Assign(r, back).owner, "ben");
}

TEST_F(AssignerTest, AvailableOnlySkipsPeopleOutOfHoursOrAway) {
  config_.team[0].hours = WeeklyHours();                        // ana: never on shift
  config_.team[1].out_of_office = {DateRange{20'787, 20'787}};  // ben: away on 2026-11-30
  RouteConfig r = Route("round_robin", {{"ana"}, {"ben"}, {"cy"}});
  r.assign_available_only = true;
  Assignment a = Assign(r);
  EXPECT_EQ(a.owner, "cy");
  EXPECT_EQ(a.unavailable, (std::vector<std::string>{"ana", "ben"}));
  EXPECT_EQ(Assign(r).owner, "cy");
}

TEST_F(AssignerTest, NobodyAvailableGoesToTheFallbackThenTheOnCallPerson) {
  config_.team.push_back(Member("maria"));
  config_.team.back().on_call = true;
  RouteConfig r = Route("round_robin", {{"ana"}, {"ben"}});
  r.assign_available_only = true;
  AssignmentRequest night;
  night.at = kMondayNight;
  Assignment a = Assign(r, night);
  EXPECT_EQ(a.owner, "maria");
  EXPECT_EQ(a.reason, "on call: nobody in the pool is available");
  r.assign_fallback = "cy";
  a = Assign(r, night);
  EXPECT_EQ(a.owner, "cy");
  EXPECT_EQ(a.reason, "fallback: nobody in the pool is available");
  // Without either, the strategy still picks someone, and says nobody was working.
  config_.team.pop_back();
  r.assign_fallback.clear();
  Build();
  a = Assign(r, night);
  EXPECT_FALSE(a.owner.empty());
  EXPECT_NE(a.reason.find("(nobody is available)"), std::string::npos);
}

TEST_F(AssignerTest, OnCallAnswersOutOfHoursButNotFromHoliday) {
  config_.team[0].on_call = true;
  config_.team[2].on_call = true;
  config_.team[0].out_of_office = {DateRange{20'787, 20'787}};  // ana away on 2026-11-30 (local)
  RouteConfig r = Route("on_call", {});
  AssignmentRequest night;
  night.at = kMondayNight;
  EXPECT_EQ(Assign(r, night).owner, "cy");
  // With a pool, the pool's order is the rota.
  RouteConfig rota = Route("on_call", {{"ben"}, {"cy"}});
  EXPECT_EQ(Assign(rota, night).owner, "ben");
}

}  // namespace
}  // namespace handoff
