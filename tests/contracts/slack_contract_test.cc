// The slack connector against a loopback Slack, through the real dispatcher: requests checked
// against formats/README.md B4 (incoming webhook and chat.postMessage), answers as Slack gives
// them (webhook text codes; chat.postMessage's ok:false inside an HTTP 200).
#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "tests/contracts/messaging_contract.h"

namespace handoff {
namespace {

using testing::ContractServer;
using testing::HeaderOf;
using testing::kContractStart;
using testing::kFirstRetry;
using testing::Respond;
using testing::RespondText;

constexpr const char* kOkPost =
    R"({"ok":true,"channel":"C0123","ts":"1741962725.123459","message":{"text":"x"}})";

nlohmann::json WebhookSettings(const std::string& base) {
  return {{"webhook_url", base + "/services/T000/B000/XXXX"}};
}

nlohmann::json ApiSettings(const std::string& base) {
  return {{"token", "xoxb-test"}, {"channel", "C0123"}, {"base_url", base + "/api"}};
}

// What every Slack message must carry: the fallback text, and blocks in which the lead's text
// is escaped (no raw '<' can reach Slack: no mention, no disguised link).
void ExpectEscapedBlocks(const HttpRequest& r, const std::string& timeline_url) {
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(r.body.find('<'), std::string::npos) << r.body;
  EXPECT_EQ(body["text"], "New form inquiry from &lt;!channel&gt; *x* &lt;http://evil|click&gt;");
  const nlohmann::json& blocks = body["blocks"];
  ASSERT_TRUE(blocks.is_array());
  ASSERT_GE(blocks.size(), 3u);
  EXPECT_LE(blocks.size(), 50u);
  EXPECT_EQ(blocks[0]["type"], "header");
  EXPECT_EQ(blocks[0]["text"]["type"], "plain_text");
  EXPECT_EQ(blocks[1]["fields"][0]["type"], "mrkdwn");
  EXPECT_EQ(blocks[1]["fields"][0]["text"],
            "*Name*\n&lt;!channel&gt; *x* &lt;http://evil|click&gt;");
  EXPECT_EQ(blocks.back()["type"], "actions");
  EXPECT_EQ(blocks.back()["elements"][0]["url"], timeline_url);
}

void HostileName(Inquiry& i, Contact&, Task&) { i.normalized.name = testing::kHostileLeadName; }

class SlackContractTest : public testing::MessagingContractTest {};

TEST_F(SlackContractTest, WebhookPostsEscapedBlocksAndOkConfirms) {
  ContractServer slack([](const HttpRequest&, int) { return RespondText(200, "ok"); });
  std::string id =
      Deliver("slack", WebhookSettings(testing::LoopbackBase(slack.port())), HostileName);
  Handoff h = h_.WaitForState(id, "confirmed", 1);
  EXPECT_EQ(h.remote_id, "");  // incoming webhooks give no message id
  auto requests = slack.requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/services/T000/B000/XXXX");
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/json");
  EXPECT_EQ(HeaderOf(r, "authorization"), "");
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_FALSE(body.contains("channel"));
  ExpectEscapedBlocks(r, TimelineUrl());
}

TEST_F(SlackContractTest, ChatPostMessageKeepsChannelAndTs) {
  ContractServer slack([](const HttpRequest&, int) { return Respond(200, kOkPost); });
  std::string id = Deliver("slack", ApiSettings(testing::LoopbackBase(slack.port())), HostileName);
  Handoff h = h_.WaitForState(id, "confirmed", 1);
  EXPECT_EQ(h.remote_id, "C0123:1741962725.123459");
  auto requests = slack.requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/api/chat.postMessage");
  EXPECT_EQ(HeaderOf(r, "authorization"), "Bearer xoxb-test");
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/json; charset=utf-8");
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_EQ(body["channel"], "C0123");
  EXPECT_EQ(body["unfurl_links"], false);
  ExpectEscapedBlocks(r, TimelineUrl());
}

TEST_F(SlackContractTest, OkFalseOnA200IsAFailure) {
  ExpectDead("slack", ApiSettings,
             Respond(200, R"({"ok":false,"error":"invalid_auth","warning":"x"})"), "invalid_auth");
}

TEST_F(SlackContractTest, NotInChannelOnA200IsDead) {
  ExpectDead("slack", ApiSettings, Respond(200, R"({"ok":false,"error":"not_in_channel"})"),
             "not_in_channel");
}

TEST_F(SlackContractTest, RatelimitedOnA200IsRetried) {
  Handoff failed = ExpectRetriedAfter("slack", ApiSettings,
                                      Respond(200, R"({"ok":false,"error":"ratelimited"})"),
                                      Respond(200, kOkPost), kFirstRetry);
  EXPECT_NE(failed.last_error.find("ratelimited"), std::string::npos) << failed.last_error;
}

TEST_F(SlackContractTest, WebhookTooManyRequestsHonoursRetryAfter) {
  ExpectRetriedAfter("slack", WebhookSettings,
                     RespondText(429, "rate_limited", {{"Retry-After", "30"}}),
                     RespondText(200, "ok"), 30 * kMicrosPerSecond);
}

TEST_F(SlackContractTest, ApiTooManyRequestsWithoutRetryAfterFollowsTheSchedule) {
  ExpectRetriedAfter("slack", ApiSettings, RespondText(429, ""), Respond(200, kOkPost),
                     kFirstRetry);
}

TEST_F(SlackContractTest, ServerErrorIsRetried) {
  ExpectRetriedAfter("slack", WebhookSettings, RespondText(500, "rollup_error"),
                     RespondText(200, "ok"), kFirstRetry);
}

TEST_F(SlackContractTest, TimeoutIsRetried) { ExpectTimeoutIsRetried("slack", ApiSettings); }

TEST_F(SlackContractTest, ConnectionResetIsRetried) {
  ExpectResetIsRetried("slack", WebhookSettings);
}

TEST_F(SlackContractTest, WebhookErrorCodesAreDead) {
  ExpectDead("slack", WebhookSettings, RespondText(404, "channel_not_found"), "channel_not_found");
}

TEST_F(SlackContractTest, ArchivedChannelIsDead) {
  ExpectDead("slack", WebhookSettings, RespondText(410, "channel_is_archived"),
             "channel_is_archived");
}

TEST_F(SlackContractTest, InvalidPayloadIsDead) {
  ExpectDead("slack", WebhookSettings, RespondText(400, "invalid_payload"), "invalid_payload");
}

}  // namespace
}  // namespace handoff
