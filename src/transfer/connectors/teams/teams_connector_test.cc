#include "transfer/connectors/teams/teams_connector.h"

#include <gtest/gtest.h>

#include "transfer/connectors/common/connector_test_fixture.h"

namespace handoff {
namespace {

using K = DeliveryOutcome::Kind;
using testing::kHostileName;

class TeamsConnectorTest : public testing::ConnectorTestBase {
 protected:
  TeamsConnectorTest() {
    dest_.connector = "teams";
    dest_.settings = {{"webhook_url", "https://example.logic.azure.com/workflows/x"}};
  }
  nlohmann::json Body() {
    auto req = connector_.BuildRequest(Ctx());
    EXPECT_TRUE(req.ok()) << req.status();
    return req.ok() ? nlohmann::json::parse(req->body) : nlohmann::json();
  }
  TeamsConnector connector_;
};

TEST(TeamsEscape, NeutralisesLinksEmphasisAndMarkup) {
  EXPECT_EQ(TeamsEscape("[click](http://evil)"), "\\[click\\](http://evil)");
  EXPECT_EQ(TeamsEscape("**bold** _it_ ~x~ `c` # h"),
            "\\*\\*bold\\*\\* \\_it\\_ \\~x\\~ \\`c\\` \\# h");
  EXPECT_EQ(TeamsEscape("<at>All</at> &lt;"), "\\<at\\>All\\</at\\> \\&lt;");
  EXPECT_EQ(TeamsEscape("a\\b"), "a\\\\b");
  EXPECT_EQ(TeamsEscape("+1 (415) 555-0142"), "+1 (415) 555-0142");
  EXPECT_EQ(TeamsEscape("line1\r\nline2"), "line1\n\nline2");
}

TEST_F(TeamsConnectorTest, AdaptiveCardByDefault) {
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->url, "https://example.logic.azure.com/workflows/x");
  EXPECT_EQ(HeaderOf(*req, "content-type"), "application/json");
  nlohmann::json body = nlohmann::json::parse(req->body);
  EXPECT_EQ(body["type"], "message");
  const nlohmann::json& a = body["attachments"][0];
  EXPECT_EQ(a["contentType"], "application/vnd.microsoft.card.adaptive");
  EXPECT_TRUE(a["contentUrl"].is_null());
  const nlohmann::json& card = a["content"];
  EXPECT_EQ(card["$schema"], "http://adaptivecards.io/schemas/adaptive-card.json");
  EXPECT_EQ(card["type"], "AdaptiveCard");
  EXPECT_EQ(card["version"], "1.4");
  EXPECT_EQ(card["body"][0]["type"], "TextBlock");
  EXPECT_EQ(card["body"][0]["text"], "New form inquiry from Dana Roe");
  EXPECT_EQ(card["body"][1]["type"], "FactSet");
  EXPECT_EQ(card["body"][1]["facts"][0]["title"], "Name");
  EXPECT_EQ(card["body"][1]["facts"][0]["value"], "Dana Roe");
  EXPECT_EQ(card["body"][2]["text"], "No hot water since this morning");
  EXPECT_EQ(card["actions"][0]["type"], "Action.OpenUrl");
  EXPECT_EQ(card["actions"][0]["url"], "https://handoff.example.com/inquiries/" + inquiry_.id);
}

TEST_F(TeamsConnectorTest, MessageCardWhenAsked) {
  dest_.settings["format"] = "message_card";
  nlohmann::json body = Body();
  EXPECT_EQ(body["@type"], "MessageCard");
  EXPECT_EQ(body["@context"], "https://schema.org/extensions");
  EXPECT_EQ(body["summary"], "New form inquiry from Dana Roe");
  EXPECT_EQ(body["title"], "New form inquiry from Dana Roe");
  EXPECT_TRUE(body["text"].is_string());
  EXPECT_FALSE(body["text"].get<std::string>().empty());
  EXPECT_EQ(body["themeColor"], "0076D7");
  EXPECT_EQ(body["sections"][0]["facts"][1]["name"], "Phone");
  EXPECT_EQ(body["sections"][0]["facts"][1]["value"], "+14155550142");
  EXPECT_EQ(body["potentialAction"][0]["targets"][0]["uri"],
            "https://handoff.example.com/inquiries/" + inquiry_.id);
}

TEST_F(TeamsConnectorTest, HostileLeadTextCannotFormLinks) {
  inquiry_.normalized.name = kHostileName;
  inquiry_.message = "see [your invoice](https://evil.example) <at>General</at>";
  nlohmann::json card = Body()["attachments"][0]["content"];
  EXPECT_EQ(card["body"][0]["text"],
            "New form inquiry from \\<!channel\\> \\*x\\* \\<http://evil|click\\>");
  EXPECT_EQ(card["body"][2]["text"],
            "see \\[your invoice\\](https://evil.example) \\<at\\>General\\</at\\>");
  EXPECT_EQ(card["actions"].size(), 1u);  // only our own timeline link
}

TEST_F(TeamsConnectorTest, NoActionWithoutPublicUrl) {
  public_url_.clear();
  EXPECT_TRUE(Body()["attachments"][0]["content"]["actions"].empty());
}

TEST_F(TeamsConnectorTest, BadSettings) {
  dest_.settings = {{"webhook_url", "https://x"}, {"format", "html"}};
  EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  EXPECT_EQ(connector_.CheckSettings(dest_).size(), 1u);
  dest_.settings = nlohmann::json::object();
  EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok());
  EXPECT_EQ(connector_.CheckSettings(dest_).size(), 1u);
}

struct TeamsCase {
  int status;
  const char* body;
  const char* retry_after_header;
  K kind;
  std::optional<Micros> retry_after;
};

TEST_F(TeamsConnectorTest, Answers) {
  const char* kThrottled =
      "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error "
      "429 with ContextId tcid=0,server=msgapi-canary-eus2-0,cv=deadbeef.0..";
  const TeamsCase cases[] = {
      {200, "1", nullptr, K::kConfirmed, std::nullopt},
      {202, "", nullptr, K::kConfirmed, std::nullopt},
      {200, kThrottled, nullptr, K::kRetryable, 60 * kMicrosPerSecond},
      {200, kThrottled, "5", K::kRetryable, 5 * kMicrosPerSecond},
      {200, "Microsoft Teams endpoint returned HTTP error 503 with ContextId x", nullptr,
       K::kRetryable, std::nullopt},
      {200, "Microsoft Teams endpoint returned HTTP error 413 with ContextId x", nullptr,
       K::kPermanent, std::nullopt},
      {200, "Webhook Bad Request - Null or empty event error", nullptr, K::kPermanent,
       std::nullopt},
      {400, "Summary or Text is required.", nullptr, K::kPermanent, std::nullopt},
      {403, "", nullptr, K::kPermanent, std::nullopt},
      {404, "", nullptr, K::kPermanent, std::nullopt},
      {429, "", "12", K::kRetryable, 12 * kMicrosPerSecond},
      {429, "", nullptr, K::kRetryable, std::nullopt},
      {500, "", nullptr, K::kRetryable, std::nullopt},
      {502, "", "3", K::kRetryable, 3 * kMicrosPerSecond},
  };
  for (const TeamsCase& c : cases) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (c.retry_after_header) headers.emplace_back("retry-after", c.retry_after_header);
    DeliveryOutcome o = connector_.Classify(Ctx(), c.status, headers, c.body);
    EXPECT_EQ(o.kind, c.kind) << c.status << " " << c.body;
    EXPECT_EQ(o.retry_after, c.retry_after) << c.status << " " << c.body;
    EXPECT_EQ(o.remote_id, "");
    EXPECT_EQ(o.reason.find("ContextId"), std::string::npos) << o.reason;
  }
}

}  // namespace
}  // namespace handoff
