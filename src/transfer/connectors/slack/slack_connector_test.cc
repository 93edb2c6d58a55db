#include "transfer/connectors/slack/slack_connector.h"

#include <gtest/gtest.h>

#include "transfer/connectors/common/connector_test_fixture.h"

namespace handoff {
namespace {

using K = DeliveryOutcome::Kind;
using testing::kFixtureNow;
using testing::kHostileName;

class SlackConnectorTest : public testing::ConnectorTestBase {
 protected:
  SlackConnectorTest() {
    dest_.connector = "slack";
    dest_.settings = {{"webhook_url", "https://hooks.slack.com/services/T0/B0/secret"}};
  }
  void UseApi() { dest_.settings = {{"token", "xoxb-1"}, {"channel", "C123"}}; }
  nlohmann::json Body() {
    auto req = connector_.BuildRequest(Ctx());
    EXPECT_TRUE(req.ok()) << req.status();
    return req.ok() ? nlohmann::json::parse(req->body) : nlohmann::json();
  }
  SlackConnector connector_;
};

TEST(SlackEscape, EscapesTheThreeControlCharacters) {
  EXPECT_EQ(SlackEscape("<!channel> & <http://evil|click>"),
            "&lt;!channel&gt; &amp; &lt;http://evil|click&gt;");
  EXPECT_EQ(SlackEscape("plain *bold* text"), "plain *bold* text");
}

TEST_F(SlackConnectorTest, WebhookPostsTextAndBlocks) {
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->url, "https://hooks.slack.com/services/T0/B0/secret");
  EXPECT_EQ(HeaderOf(*req, "content-type"), "application/json");
  EXPECT_EQ(HeaderOf(*req, "authorization"), "");
  nlohmann::json body = nlohmann::json::parse(req->body);
  EXPECT_EQ(body["text"], "New form inquiry from Dana Roe");
  EXPECT_FALSE(body.contains("channel"));
  const nlohmann::json& blocks = body["blocks"];
  ASSERT_TRUE(blocks.is_array());
  EXPECT_EQ(blocks[0]["type"], "header");
  EXPECT_EQ(blocks[0]["text"]["text"], "New form inquiry from Dana Roe");
  EXPECT_EQ(blocks[1]["type"], "section");
  EXPECT_EQ(blocks[1]["fields"][0]["text"], "*Name*\nDana Roe");
  EXPECT_EQ(blocks[1]["fields"][1]["text"], "*Phone*\n+14155550142");
  EXPECT_EQ(blocks[2]["text"]["text"], "*Message*\nNo hot water since this morning");
  EXPECT_NE(
      blocks[3]["text"]["text"].get<std::string>().find("Call back Dana Roe — owner Ana Lima"),
      std::string::npos);
  const nlohmann::json& button = blocks.back()["elements"][0];
  EXPECT_EQ(blocks.back()["type"], "actions");
  EXPECT_EQ(button["type"], "button");
  EXPECT_EQ(button["url"], "https://handoff.example.com/inquiries/" + inquiry_.id);
}

TEST_F(SlackConnectorTest, ANotificationLeadsWithItsAcknowledgeButton) {
  DeliveryContext ctx = Ctx();
  ctx.ack_url = "https://handoff.example.com/t/abc.def";
  auto req = connector_.BuildRequest(ctx);
  ASSERT_TRUE(req.ok()) << req.status();
  nlohmann::json body = nlohmann::json::parse(req->body);
  const nlohmann::json actions = body["blocks"].back();
  ASSERT_EQ(actions["type"], "actions");
  ASSERT_EQ(actions["elements"].size(), 2u);
  EXPECT_EQ(actions["elements"][0]["text"]["text"], "Acknowledge");
  EXPECT_EQ(actions["elements"][0]["style"], "primary");
  EXPECT_EQ(actions["elements"][0]["url"], "https://handoff.example.com/t/abc.def");
  EXPECT_EQ(actions["elements"][1]["text"]["text"], "Open timeline");
}

TEST_F(SlackConnectorTest, ApiModePostsToChatPostMessage) {
  UseApi();
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->url, "https://slack.com/api/chat.postMessage");
  EXPECT_EQ(HeaderOf(*req, "authorization"), "Bearer xoxb-1");
  EXPECT_EQ(HeaderOf(*req, "content-type"), "application/json; charset=utf-8");
  nlohmann::json body = nlohmann::json::parse(req->body);
  EXPECT_EQ(body["channel"], "C123");
  EXPECT_EQ(body["unfurl_links"], false);
  EXPECT_TRUE(body["text"].is_string());
  EXPECT_TRUE(body["blocks"].is_array());

  dest_.settings["base_url"] = "http://127.0.0.1:9/api/";
  EXPECT_EQ(connector_.BuildRequest(Ctx())->url, "http://127.0.0.1:9/api/chat.postMessage");
}

TEST_F(SlackConnectorTest, OAuthAccessTokenWinsOverTheStaticToken) {
  UseApi();
  DeliveryContext ctx = Ctx();
  ctx.access_token = AccessToken{"xoxb-fresh", "", 0};
  EXPECT_EQ(HeaderOf(*connector_.BuildRequest(ctx), "authorization"), "Bearer xoxb-fresh");
}

TEST_F(SlackConnectorTest, HostileLeadTextIsEscapedEverywhere) {
  inquiry_.normalized.name = kHostileName;
  inquiry_.message = "hi <@U123> & <https://evil.example|your invoice>";
  UseApi();
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok());
  // No raw '<' anywhere in the payload: neither a mention nor a link can form.
  EXPECT_EQ(req->body.find('<'), std::string::npos) << req->body;
  nlohmann::json body = nlohmann::json::parse(req->body);
  EXPECT_EQ(body["text"], "New form inquiry from &lt;!channel&gt; *x* &lt;http://evil|click&gt;");
  EXPECT_EQ(body["blocks"][1]["fields"][0]["text"],
            "*Name*\n&lt;!channel&gt; *x* &lt;http://evil|click&gt;");
  EXPECT_EQ(body["blocks"][2]["text"]["text"],
            "*Message*\nhi &lt;@U123&gt; &amp; &lt;https://evil.example|your invoice&gt;");
}

TEST_F(SlackConnectorTest, LongTextStaysWithinSlackLimits) {
  inquiry_.normalized.name = std::string(400, '<');
  inquiry_.message = std::string(5000, '&');
  inquiry_.service = std::string(3000, 'x');
  nlohmann::json blocks = Body()["blocks"];
  EXPECT_LE(blocks.size(), 50u);
  EXPECT_LE(blocks[0]["text"]["text"].get<std::string>().size(), 150u);
  for (const auto& b : blocks) {
    if (b.contains("fields")) {
      EXPECT_LE(b["fields"].size(), 10u);
      for (const auto& f : b["fields"]) EXPECT_LE(f["text"].get<std::string>().size(), 2000u);
    } else if (b["type"] == "section") {
      EXPECT_LE(b["text"]["text"].get<std::string>().size(), 3000u);
    }
  }
}

TEST_F(SlackConnectorTest, ManyFactsAreSplitIntoSectionsOfTen) {
  inquiry_.location = "Oakland";
  inquiry_.attribution.utm_campaign = "spring";
  inquiry_.attribution.referrer = "https://google.com";
  inquiry_.fields["kind"] = "quote";
  // Name, Phone, Email, Service, Location, Source, Channel, Received, Kind, Campaign, Referrer.
  nlohmann::json blocks = Body()["blocks"];
  EXPECT_EQ(blocks[1]["fields"].size(), 10u);
  EXPECT_EQ(blocks[2]["fields"].size(), 1u);
}

TEST_F(SlackConnectorTest, NoTimelineButtonWithoutPublicUrl) {
  public_url_.clear();
  const nlohmann::json body = Body();  // kept alive: the loop iterates into it
  for (const auto& b : body["blocks"]) EXPECT_NE(b["type"], "actions");
}

TEST_F(SlackConnectorTest, BadSettingsFailTheBuild) {
  dest_.settings = nlohmann::json::object();
  EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  EXPECT_FALSE(connector_.CheckSettings(dest_).empty());
  dest_.settings = {{"webhook_url", "https://hooks.slack.com/x"}, {"token", "xoxb"}};
  EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  EXPECT_FALSE(connector_.CheckSettings(dest_).empty());
  dest_.settings = {{"token", "xoxb"}};
  EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  dest_.settings = {{"channel", "C1"}};
  EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  UseApi();
  EXPECT_TRUE(connector_.CheckSettings(dest_).empty());
}

struct WebhookCase {
  int status;
  const char* body;
  K kind;
  const char* reason_part;
};

TEST_F(SlackConnectorTest, WebhookAnswers) {
  const WebhookCase cases[] = {
      {200, "ok", K::kConfirmed, "HTTP 200"},
      {400, "invalid_payload", K::kPermanent, "invalid_payload"},
      {400, "no_text", K::kPermanent, "no_text"},
      {403, "action_prohibited", K::kPermanent, "action_prohibited"},
      {403, "invalid_token", K::kPermanent, "invalid_token"},
      {404, "channel_not_found", K::kPermanent, "channel_not_found"},
      {404, "no_service", K::kPermanent, "no_service"},
      {404, "team_disabled", K::kPermanent, "team_disabled"},
      {410, "channel_is_archived", K::kPermanent, "channel_is_archived"},
      {404, "<html>not found</html>", K::kPermanent, "HTTP 404"},
      {429, "rate_limited", K::kRetryable, "rate_limited"},
      {500, "rollup_error", K::kRetryable, "rollup_error"},
      {503, "", K::kRetryable, "HTTP 503"},
  };
  for (const WebhookCase& c : cases) {
    DeliveryOutcome o = connector_.Classify(Ctx(), c.status, {}, c.body);
    EXPECT_EQ(o.kind, c.kind) << c.status << " " << c.body;
    EXPECT_EQ(o.remote_id, "") << c.status;
    EXPECT_NE(o.reason.find(c.reason_part), std::string::npos) << o.reason;
    EXPECT_EQ(o.reason.find('<'), std::string::npos) << o.reason;
  }
  DeliveryOutcome limited = connector_.Classify(Ctx(), 429, {{"retry-after", "7"}}, "");
  EXPECT_EQ(limited.retry_after, 7 * kMicrosPerSecond);
}

struct ApiCase {
  const char* body;
  K kind;
  const char* remote_id;
  const char* reason_part;
};

TEST_F(SlackConnectorTest, ApiAnswersAreReadFromTheBodyOfA200) {
  UseApi();
  const ApiCase cases[] = {
      {R"({"ok":true,"channel":"C123","ts":"1741962725.123459","message":{}})", K::kConfirmed,
       "C123:1741962725.123459", "ok"},
      {R"({"ok":false,"error":"invalid_auth"})", K::kPermanent, "", "invalid_auth"},
      {R"({"ok":false,"error":"not_in_channel"})", K::kPermanent, "", "not_in_channel"},
      {R"({"ok":false,"error":"channel_not_found"})", K::kPermanent, "", "channel_not_found"},
      {R"({"ok":false,"error":"invalid_blocks"})", K::kPermanent, "", "invalid_blocks"},
      {R"({"ok":false,"error":"msg_too_long"})", K::kPermanent, "", "msg_too_long"},
      {R"({"ok":false,"error":"ratelimited"})", K::kRetryable, "", "ratelimited"},
      {R"({"ok":false,"error":"internal_error"})", K::kRetryable, "", "internal_error"},
      {R"({"ok":false,"error":"fatal_error"})", K::kRetryable, "", "fatal_error"},
      {R"({"ok":false,"error":"service_unavailable"})", K::kRetryable, "", "service_unavailable"},
      {R"({"ok":false})", K::kPermanent, "", "unknown_error"},
      {R"({"ok":false,"error":"<b>x</b>"})", K::kPermanent, "", "unknown_error"},
      {"not json", K::kRetryable, "", "readable"},
      {R"({"ok":"yes"})", K::kRetryable, "", "readable"},
      {R"([1,2])", K::kRetryable, "", "readable"},
  };
  for (const ApiCase& c : cases) {
    DeliveryOutcome o = connector_.Classify(Ctx(), 200, {}, c.body);
    EXPECT_EQ(o.kind, c.kind) << c.body;
    EXPECT_EQ(o.remote_id, c.remote_id) << c.body;
    EXPECT_NE(o.reason.find(c.reason_part), std::string::npos) << o.reason;
  }
  // An HTTP-level 429 (the documented rate limit) honours Retry-After.
  DeliveryOutcome o = connector_.Classify(Ctx(), 429, {{"retry-after", "30"}}, "");
  EXPECT_EQ(o.kind, K::kRetryable);
  EXPECT_EQ(o.retry_after, 30 * kMicrosPerSecond);
  EXPECT_EQ(connector_.Classify(Ctx(), 502, {}, "").kind, K::kRetryable);
  // Outside a 200 the Web API's JSON error still names the cause.
  DeliveryOutcome scope =
      connector_.Classify(Ctx(), 403, {}, R"({"ok":false,"error":"missing_scope"})");
  EXPECT_EQ(scope.kind, K::kPermanent);
  EXPECT_NE(scope.reason.find("missing_scope"), std::string::npos) << scope.reason;
}

}  // namespace
}  // namespace handoff
