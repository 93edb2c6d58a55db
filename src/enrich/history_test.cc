#include "enrich/history.h"

#include <gtest/gtest.h>

#include "core/time_format.h"
#include "tests/support/test_clock.h"

namespace handoff {
namespace {

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.business.timezone = "America/Los_Angeles";
    config_.team = {TeamMember{"ana", "Ana Ortiz", "", "", "", 1},
                    TeamMember{"ben", "Ben Cho", "", "", "", 2}};
  }
  nlohmann::json Summarize(const std::vector<PastInquiry>& past) {
    BusinessTime bt = BusinessTime::FromLoadedConfig(config_);
    return SummarizeHistory(past, config_, bt.business());
  }
  Config config_;
};

TEST_F(HistoryTest, AFirstInquiryIsNotReturning) {
  EXPECT_EQ(Summarize({}), nlohmann::json({{"returning", false}}));
}

TEST_F(HistoryTest, SummarisesTheLastInquiryInTheBusinessesLocalDate) {
  // 02:30 UTC on 3 Oct is still 2 Oct in Los Angeles.
  std::vector<PastInquiry> past = {
      {"i3", At("2026-10-03T02:30:00Z"), Channel::kBooking, "drains", "delivered", "ana", "done"},
      {"i2", At("2026-09-01T17:00:00Z"), Channel::kForm, "drains", "routed", "ben", "done"},
      {"i1", At("2026-08-01T17:00:00Z"), Channel::kCall, "", "routed", "ana", "done"}};
  nlohmann::json h = Summarize(past);
  EXPECT_EQ(h["returning"], true);
  EXPECT_EQ(h["earlier"], 3);
  EXPECT_EQ(h["last_inquiry_id"], "i3");
  EXPECT_EQ(h["last_at"], "2026-10-03T02:30:00.000Z");
  EXPECT_EQ(h["last_channel"], "booking");
  EXPECT_EQ(h["last_owner"], "ana");
  EXPECT_EQ(h["last_outcome"], "booked");
  EXPECT_EQ(h["owners"], nlohmann::json({"ana", "ben"}));
  EXPECT_EQ(h["text"], "returning: 3 earlier inquiries, last on 2026-10-02, booked with Ana Ortiz");
}

TEST_F(HistoryTest, OutcomeFollowsTheLastTaskAndAnUnownedOneNamesNobody) {
  nlohmann::json h =
      Summarize({{"i1", At("2026-10-02T17:00:00Z"), Channel::kForm, "", "routed", "ben", "open"}});
  EXPECT_EQ(h["text"], "returning: 1 earlier inquiry, last on 2026-10-02, still open with Ben Cho");
  h = Summarize({{"i1", At("2026-10-02T17:00:00Z"), Channel::kChat, "", "unrouted", "", ""}});
  EXPECT_EQ(h["last_outcome"], "unrouted");
  EXPECT_FALSE(h.contains("last_owner"));
  EXPECT_EQ(h["text"], "returning: 1 earlier inquiry, last on 2026-10-02, unrouted");
}

}  // namespace
}  // namespace handoff
