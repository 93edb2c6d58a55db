// The teams connector against a loopback Teams webhook, through the real dispatcher: requests
// checked against formats/README.md B4 (Adaptive Card message, legacy MessageCard), answers as
// Workflows (202, empty) and the legacy connector (200 "1", throttling inside a 200 body) give
// them.
#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "tests/contracts/messaging_contract.h"

namespace handoff {
namespace {

using testing::ContractServer;
using testing::HeaderOf;
using testing::kFirstRetry;
using testing::RespondText;

constexpr const char* kThrottled =
    "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 "
    "with ContextId tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=nJ3Cx3Vm4UKYbJkx.0..";

nlohmann::json WorkflowSettings(const std::string& base) {
  return {{"webhook_url", base + "/workflows/abc/triggers/manual/paths/invoke?sig=s3cret"}};
}

nlohmann::json ConnectorSettings(const std::string& base) {
  return {{"webhook_url", base + "/webhookb2/abc/IncomingWebhook/def"}, {"format", "message_card"}};
}

void HostileLead(Inquiry& i, Contact&, Task&) {
  i.normalized.name = testing::kHostileLeadName;
  i.message = "pay [your invoice](https://evil.example) now <at>General</at>";
}

class TeamsContractTest : public testing::MessagingContractTest {};

TEST_F(TeamsContractTest, WorkflowsGetsAnAdaptiveCardAnd202Confirms) {
  ContractServer teams([](const HttpRequest&, int) { return RespondText(202, ""); });
  std::string id =
      Deliver("teams", WorkflowSettings(testing::LoopbackBase(teams.port())), HostileLead);
  Handoff h = h_.WaitForState(id, "confirmed", 1);
  EXPECT_EQ(h.remote_id, "");  // Teams gives no message id
  auto requests = teams.requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/workflows/abc/triggers/manual/paths/invoke");
  EXPECT_EQ(r.query, "sig=s3cret");
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/json");
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["type"], "message");
  ASSERT_EQ(body["attachments"].size(), 1u);
  const nlohmann::json& a = body["attachments"][0];
  EXPECT_EQ(a["contentType"], "application/vnd.microsoft.card.adaptive");
  EXPECT_TRUE(a.contains("contentUrl") && a["contentUrl"].is_null());
  const nlohmann::json& card = a["content"];
  EXPECT_EQ(card["$schema"], "http://adaptivecards.io/schemas/adaptive-card.json");
  EXPECT_EQ(card["type"], "AdaptiveCard");
  EXPECT_EQ(card["version"], "1.4");
  ASSERT_TRUE(card["body"].is_array());
  EXPECT_EQ(card["body"][0]["type"], "TextBlock");
  // Markdown is neutralised: no link, emphasis or markup can form from the lead's text.
  EXPECT_EQ(card["body"][0]["text"],
            "New form inquiry from \\<!channel\\> \\*x\\* \\<http://evil|click\\>");
  EXPECT_EQ(card["body"][1]["type"], "FactSet");
  EXPECT_EQ(card["body"][1]["facts"][0]["title"], "Name");
  EXPECT_EQ(card["body"][2]["text"],
            "pay \\[your invoice\\](https://evil.example) now \\<at\\>General\\</at\\>");
  ASSERT_EQ(card["actions"].size(), 1u);
  EXPECT_EQ(card["actions"][0]["type"], "Action.OpenUrl");
  EXPECT_EQ(card["actions"][0]["url"], TimelineUrl());
}

TEST_F(TeamsContractTest, LegacyConnectorGetsAMessageCardAndOneConfirms) {
  ContractServer teams([](const HttpRequest&, int) { return RespondText(200, "1"); });
  std::string id = Deliver("teams", ConnectorSettings(testing::LoopbackBase(teams.port())));
  h_.WaitForState(id, "confirmed", 1);
  auto requests = teams.requests();
  ASSERT_EQ(requests.size(), 1u);
  nlohmann::json body = nlohmann::json::parse(requests[0].body, nullptr, false);
  ASSERT_TRUE(body.is_object());
  EXPECT_EQ(body["@type"], "MessageCard");
  EXPECT_EQ(body["@context"], "https://schema.org/extensions");
  EXPECT_EQ(body["summary"], "New form inquiry from Dana Roe");
  EXPECT_EQ(body["title"], "New form inquiry from Dana Roe");
  EXPECT_FALSE(body["text"].get<std::string>().empty());
  EXPECT_TRUE(body["themeColor"].is_string());
  EXPECT_EQ(body["sections"][0]["facts"][0]["name"], "Name");
  EXPECT_EQ(body["sections"][0]["facts"][0]["value"], "Dana Roe");
}

TEST_F(TeamsContractTest, ThrottlingInsideA200IsRetriedAfterAMinute) {
  Handoff failed = ExpectRetriedAfter("teams", ConnectorSettings, RespondText(200, kThrottled),
                                      RespondText(200, "1"), 60 * kMicrosPerSecond);
  EXPECT_NE(failed.last_error.find("429"), std::string::npos) << failed.last_error;
}

TEST_F(TeamsContractTest, TooManyRequestsHonoursRetryAfter) {
  ExpectRetriedAfter("teams", WorkflowSettings, RespondText(429, "", {{"Retry-After", "45"}}),
                     RespondText(202, ""), 45 * kMicrosPerSecond);
}

TEST_F(TeamsContractTest, TooManyRequestsWithoutRetryAfterFollowsTheSchedule) {
  ExpectRetriedAfter("teams", WorkflowSettings, RespondText(429, ""), RespondText(202, ""),
                     kFirstRetry);
}

TEST_F(TeamsContractTest, ServerErrorIsRetried) {
  ExpectRetriedAfter("teams", WorkflowSettings, RespondText(502, "Bad Gateway"),
                     RespondText(202, ""), kFirstRetry);
}

TEST_F(TeamsContractTest, TimeoutIsRetried) { ExpectTimeoutIsRetried("teams", WorkflowSettings); }

TEST_F(TeamsContractTest, ConnectionResetIsRetried) {
  ExpectResetIsRetried("teams", WorkflowSettings);
}

TEST_F(TeamsContractTest, BadRequestIsDead) {
  ExpectDead("teams", ConnectorSettings, RespondText(400, "Summary or Text is required."),
             "HTTP 400");
}

TEST_F(TeamsContractTest, RemovedWebhookIsDead) {
  ExpectDead("teams", WorkflowSettings, RespondText(404, ""), "HTTP 404");
}

TEST_F(TeamsContractTest, OtherErrorInsideA200IsDead) {
  ExpectDead("teams", ConnectorSettings,
             RespondText(200, "Microsoft Teams endpoint returned HTTP error 413 with ContextId x"),
             "413");
}

}  // namespace
}  // namespace handoff
