#include "transfer/connector.h"

#include <gtest/gtest.h>

#include "transfer/connectors/webhook/webhook_connector.h"

namespace handoff {
namespace {

// Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example date).
constexpr Micros kExampleDate = 784111777 * kMicrosPerSecond;

TEST(ParseRetryAfter, DeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("120", 0), 120 * kMicrosPerSecond);
  EXPECT_EQ(ParseRetryAfter("0", 0), 0);
  EXPECT_EQ(ParseRetryAfter("  7 ", 0), 7 * kMicrosPerSecond);
}

TEST(ParseRetryAfter, HugeDeltaIsClampedNotOverflowed) {
  auto d = ParseRetryAfter("99999999999999999999999999", 0);
  ASSERT_TRUE(d.has_value());
  EXPECT_GT(*d, 0);
  EXPECT_LE(*d, 366 * kMicrosPerDay);
}

TEST(ParseRetryAfter, ImfFixdateRelativeToNow) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kExampleDate - 30 * kMicrosPerSecond),
            30 * kMicrosPerSecond);
}

TEST(ParseRetryAfter, ObsoleteDateFormsAccepted) {
  const Micros now = kExampleDate - 10 * kMicrosPerSecond;
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), 10 * kMicrosPerSecond);
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994", now), 10 * kMicrosPerSecond);
}

TEST(ParseRetryAfter, PastDateMeansNoDelay) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kExampleDate + kMicrosPerHour), 0);
}

TEST(ParseRetryAfter, GarbageIsIgnored) {
  for (const char* v : {"", " ", "-5", "1.5", "soon", "12abc", "Sun, 06 Nov 1994 08:49:37 GMT x",
                        "Sun, 32 Nov 1994 08:49:37 GMT"}) {
    EXPECT_FALSE(ParseRetryAfter(v, kExampleDate).has_value()) << v;
  }
}

TEST(ConnectorRegistry, FindsRegisteredConnectorsByName) {
  ConnectorRegistry registry;
  RegisterBuiltinConnectors(registry);
  EXPECT_NE(registry.Find("webhook"), nullptr);
  ASSERT_NE(registry.FindSpec("webhook"), nullptr);
  EXPECT_FALSE(registry.FindSpec("webhook")->note.empty());
  EXPECT_EQ(registry.Find("nope"), nullptr);
  EXPECT_EQ(registry.FindSpec("nope"), nullptr);
  std::vector<std::string> names = registry.Names();
  EXPECT_NE(std::find(names.begin(), names.end(), "webhook"), names.end());
}

TEST(ConnectorRegistryDeathTest, DuplicateRegistrationIsABug) {
  ConnectorRegistry registry;
  RegisterWebhookConnector(registry);
  EXPECT_DEATH(RegisterWebhookConnector(registry), "registered twice");
}

}  // namespace
}  // namespace handoff
