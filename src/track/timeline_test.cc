#include "track/timeline.h"

#include "gtest/gtest.h"

namespace handoff {
namespace {

Event At(Stage s, Micros t, const char* kind) {
  Event e;
  e.stage = s;
  e.at = t;
  e.kind = kind;
  return e;
}

TEST(StageTimings, LatestEventPerStageAndDeltas) {
  Inquiry i;
  i.received_at = 1'000'000;
  std::vector<Event> events = {
      At(Stage::kEntry, 1'000'000, "received"),
      At(Stage::kEnrich, 1'002'000, "enriched"),
      At(Stage::kTrigger, 1'003'000, "route.matched"),
      At(Stage::kTrigger, 1'003'500, "task.created"),
      At(Stage::kTransfer, 1'010'000, "handoff.attempt"),
      At(Stage::kTransfer, 1'012'000, "handoff.confirmed"),
  };
  auto t = StageTimings(i, events);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].stage, Stage::kEntry);
  EXPECT_EQ(t[0].since_received, 0);
  EXPECT_EQ(t[1].stage, Stage::kEnrich);
  EXPECT_EQ(t[1].since_previous, 2'000);
  EXPECT_EQ(t[2].stage, Stage::kTrigger);
  EXPECT_EQ(t[2].since_received, 3'500);
  EXPECT_EQ(t[2].since_previous, 1'500);
  EXPECT_EQ(t[3].stage, Stage::kTransfer);
  EXPECT_EQ(t[3].since_received, 12'000);
  EXPECT_EQ(t[3].since_previous, 8'500);
}

TEST(TimelineJson, ListsEventsWithOffsetsAndStages) {
  Inquiry i;
  i.received_at = 1'000'000;
  auto j = TimelineJson(
      i, {At(Stage::kEntry, 1'000'000, "received"), At(Stage::kEnrich, 1'001'500, "enriched")});
  ASSERT_EQ(j["events"].size(), 2u);
  EXPECT_EQ(j["events"][1]["kind"], "enriched");
  EXPECT_DOUBLE_EQ(j["events"][1]["since_received_ms"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(j["stages"]["enrich"]["stage_ms"].get<double>(), 1.5);
  EXPECT_FALSE(j["stages"].contains("transfer"));
}

}  // namespace
}  // namespace handoff
