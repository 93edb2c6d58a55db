#include "transfer/connectors/hubspot/hubspot_connector.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "transfer/connectors/crm_common/crm_test_context.h"

namespace handoff {
namespace {

using crm_testing::CrmTestContext;
using crm_testing::HeaderOf;
using crm_testing::Headers;
using crm_testing::kNow;
using Kind = DeliveryOutcome::Kind;

class HubSpotConnectorTest : public ::testing::Test {
 protected:
  HubSpotConnectorTest() { t_.dest.settings["token"] = "pat-na1-secret"; }

  OutboundRequest Build(int step, std::map<std::string, std::string> values = {}) {
    auto req = connector_.BuildRequest(t_.Ctx(step, std::move(values)));
    EXPECT_TRUE(req.ok()) << req.status();
    return req.ok() ? *req : OutboundRequest{};
  }
  DeliveryOutcome Classify(int step, std::map<std::string, std::string> values, int status,
                           const std::string& body, const Headers& headers = {}) {
    return connector_.Classify(t_.Ctx(step, std::move(values)), status, headers, body);
  }

  CrmTestContext t_{"hubspot"};
  HubSpotConnector connector_;
};

TEST_F(HubSpotConnectorTest, ContactStepUpsertsByEmail) {
  OutboundRequest req = Build(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert");
  EXPECT_EQ(req.step_name, "contact");
  EXPECT_EQ(HeaderOf(req, "authorization"), "Bearer pat-na1-secret");
  EXPECT_EQ(HeaderOf(req, "content-type"), "application/json");
  nlohmann::json body = nlohmann::json::parse(req.body);
  ASSERT_EQ(body["inputs"].size(), 1u);
  const auto& input = body["inputs"][0];
  EXPECT_EQ(input["idProperty"], "email");
  EXPECT_EQ(input["id"], "dana@example.com");
  EXPECT_EQ(input["properties"], (nlohmann::json{{"email", "dana@example.com"},
                                                 {"firstname", "Dana"},
                                                 {"lastname", "Roe"},
                                                 {"phone", "+14155550142"}}));
}

TEST_F(HubSpotConnectorTest, ContactStepCreatesByPhoneWithoutEmail) {
  t_.inquiry.normalized.email = "";
  t_.inquiry.received.email = "";
  t_.inquiry.normalized.name = t_.inquiry.received.name = "Cher";
  t_.dest.settings["base_url"] = "http://127.0.0.1:9/";
  OutboundRequest req = Build(0);
  EXPECT_EQ(req.url, "http://127.0.0.1:9/crm/v3/objects/contacts");
  nlohmann::json body = nlohmann::json::parse(req.body);
  // No empty properties: an empty value would erase what HubSpot knows.
  EXPECT_EQ(body["properties"], (nlohmann::json{{"firstname", "Cher"}, {"phone", "+14155550142"}}));
}

TEST_F(HubSpotConnectorTest, ContactAnswersCaptureTheId) {
  struct Case {
    int status;
    const char* body;
    const char* id;
  } cases[] = {
      {200, R"({"status":"COMPLETE","results":[{"id":"123","new":true,"properties":{}}]})", "123"},
      {201, R"({"id":"124","properties":{},"archived":false})", "124"},
      {409,
       R"({"status":"error","message":"Contact already exists. Existing ID: 95123",
           "category":"CONFLICT"})",
       "95123"},
      {207, R"({"status":"COMPLETE","results":[{"id":"125"}],"errors":[]})", "125"},
  };
  for (const Case& c : cases) {
    DeliveryOutcome o = Classify(0, {}, c.status, c.body);
    EXPECT_EQ(o.kind, Kind::kConfirmed) << c.body;
    EXPECT_TRUE(o.more_steps) << c.body;
    EXPECT_EQ(o.captured, (std::map<std::string, std::string>{{"contact_id", c.id}})) << c.body;
  }
}

TEST_F(HubSpotConnectorTest, ContactFailuresWithoutAnId) {
  DeliveryOutcome partial =
      Classify(0, {}, 207,
               R"({"status":"COMPLETE","results":[],"numErrors":1,"errors":[{"status":"error",
                  "category":"VALIDATION_ERROR","message":"Email dana@example.com invalid"}]})");
  EXPECT_EQ(partial.kind, Kind::kPermanent);
  EXPECT_EQ(partial.reason, "contact: HubSpot VALIDATION_ERROR (HTTP 207)");
  DeliveryOutcome conflict =
      Classify(0, {}, 409, R"({"message":"Conflict","category":"CONFLICT"})");
  EXPECT_EQ(conflict.kind, Kind::kPermanent);
  DeliveryOutcome garbled = Classify(0, {}, 200, "<html>proxy</html>");
  EXPECT_EQ(garbled.kind, Kind::kRetryable) << "an upsert by email is safe to repeat";
  t_.inquiry.normalized.email = t_.inquiry.received.email = "";
  EXPECT_EQ(Classify(0, {}, 201, "<html>proxy</html>").kind, Kind::kPermanent)
      << "a create by phone is not";
}

TEST_F(HubSpotConnectorTest, NoteStepAssociatesTheContact) {
  t_.public_url = "https://handoff.example.com";
  OutboundRequest req = Build(1, {{"contact_id", "123"}});
  EXPECT_EQ(req.url, "https://api.hubapi.com/crm/v3/objects/notes");
  EXPECT_EQ(req.step_name, "note");
  nlohmann::json body = nlohmann::json::parse(req.body);
  EXPECT_EQ(body["properties"]["hs_timestamp"], "2026-11-29T09:59:00.000Z");
  std::string html = body["properties"]["hs_note_body"];
  EXPECT_NE(html.find("No hot water &lt;since&gt; this morning"), std::string::npos) << html;
  EXPECT_EQ(html.find("<since>"), std::string::npos) << "unescaped message";
  EXPECT_EQ(body["associations"][0]["to"]["id"], "123");
  EXPECT_EQ(body["associations"][0]["types"][0]["associationCategory"], "HUBSPOT_DEFINED");
  EXPECT_EQ(body["associations"][0]["types"][0]["associationTypeId"], 202);
}

TEST_F(HubSpotConnectorTest, NoteBodyIsCutToHubSpotsLimit) {
  t_.inquiry.message = std::string(100000, 'x');
  nlohmann::json body = nlohmann::json::parse(Build(1, {{"contact_id", "1"}}).body);
  EXPECT_LE(body["properties"]["hs_note_body"].get<std::string>().size(), 65536u);
}

TEST_F(HubSpotConnectorTest, NoteIsFinalWithoutATask) {
  t_.task.reset();
  DeliveryOutcome o = Classify(1, {{"contact_id", "123"}}, 201, R"({"id":"456"})");
  EXPECT_EQ(o.kind, Kind::kConfirmed);
  EXPECT_FALSE(o.more_steps);
  EXPECT_EQ(o.remote_id, "contact:123 note:456");
}

TEST_F(HubSpotConnectorTest, NoteThenTaskWithATask) {
  DeliveryOutcome o = Classify(1, {{"contact_id", "123"}}, 201, R"({"id":"456"})");
  EXPECT_TRUE(o.more_steps);
  EXPECT_EQ(o.captured, (std::map<std::string, std::string>{{"note_id", "456"}}));
  DeliveryOutcome last =
      Classify(2, {{"contact_id", "123"}, {"note_id", "456"}}, 201, R"({"id":"789"})");
  EXPECT_EQ(last.kind, Kind::kConfirmed);
  EXPECT_FALSE(last.more_steps);
  EXPECT_EQ(last.remote_id, "contact:123 note:456 task:789");
}

TEST_F(HubSpotConnectorTest, TaskStepCarriesOwnerPriorityAndDue) {
  t_.dest.settings["owners"] = {{"ana", 5551}};
  OutboundRequest req = Build(2, {{"contact_id", "123"}, {"note_id", "456"}});
  EXPECT_EQ(req.url, "https://api.hubapi.com/crm/v3/objects/tasks");
  EXPECT_EQ(req.step_name, "task");
  nlohmann::json body = nlohmann::json::parse(req.body);
  const auto& p = body["properties"];
  EXPECT_EQ(p["hs_timestamp"], "2026-11-29T10:05:00.000Z");
  EXPECT_EQ(p["hs_task_subject"], "Call back Dana Roe");
  EXPECT_NE(p["hs_task_body"].get<std::string>().find("No hot water <since>"), std::string::npos);
  EXPECT_EQ(p["hs_task_status"], "NOT_STARTED");
  EXPECT_EQ(p["hs_task_priority"], "MEDIUM");
  EXPECT_EQ(p["hs_task_type"], "CALL");
  EXPECT_EQ(p["hubspot_owner_id"], "5551");
  EXPECT_EQ(body["associations"][0]["types"][0]["associationTypeId"], 204);
}

TEST_F(HubSpotConnectorTest, TaskPriorityFollowsUrgencyUnlessConfigured) {
  t_.inquiry.fields["urgency"] = "emergency";
  auto priority = [&] {
    return nlohmann::json::parse(
        Build(2, {{"contact_id", "1"}, {"note_id", "2"}}).body)["properties"]["hs_task_priority"];
  };
  EXPECT_EQ(priority(), "HIGH");
  t_.dest.settings["task_priority"] = "LOW";
  t_.dest.settings["task_type"] = "TODO";
  EXPECT_EQ(priority(), "LOW");
  // An unmapped owner sends no hubspot_owner_id.
  nlohmann::json body =
      nlohmann::json::parse(Build(2, {{"contact_id", "1"}, {"note_id", "2"}}).body);
  EXPECT_FALSE(body["properties"].contains("hubspot_owner_id"));
  EXPECT_EQ(body["properties"]["hs_task_type"], "TODO");
}

TEST_F(HubSpotConnectorTest, RateLimits) {
  struct Case {
    const char* body;
    Headers headers;
    Micros retry_after;
  } cases[] = {
      {R"({"status":"error","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"})",
       {},
       10 * kMicrosPerSecond},
      {R"({"errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"})",
       {{"x-hubspot-ratelimit-interval-milliseconds", "2000"}},
       2 * kMicrosPerSecond},
      {R"({"errorType":"RATE_LIMIT"})", {{"retry-after", "7"}}, 7 * kMicrosPerSecond},
      {R"({"errorType":"RATE_LIMIT","policyName":"DAILY"})",
       {{"x-hubspot-ratelimit-interval-milliseconds", "10000"}},
       kMicrosPerHour},
      {"not json", {}, 10 * kMicrosPerSecond},
  };
  for (const Case& c : cases) {
    DeliveryOutcome o = Classify(1, {{"contact_id", "1"}}, 429, c.body, c.headers);
    EXPECT_EQ(o.kind, Kind::kRetryable) << c.body;
    EXPECT_EQ(o.retry_after, c.retry_after) << c.body;
    EXPECT_TRUE(o.reason.starts_with("note: HubSpot rate limit")) << o.reason;
  }
}

TEST_F(HubSpotConnectorTest, ErrorsAreClassifiedWithoutPersonalData) {
  struct Case {
    int status;
    const char* body;
    Kind kind;
    const char* reason;
  } cases[] = {
      {400,
       R"({"status":"error","message":"Property values were not valid: dana@example.com",
           "category":"VALIDATION_ERROR"})",
       Kind::kPermanent, "note: HubSpot VALIDATION_ERROR (HTTP 400)"},
      {401, R"({"status":"error","category":"INVALID_AUTHENTICATION"})", Kind::kPermanent,
       "note: HubSpot INVALID_AUTHENTICATION (HTTP 401)"},
      {403, R"({"status":"error","category":"MISSING_SCOPES"})", Kind::kPermanent,
       "note: HubSpot MISSING_SCOPES (HTTP 403)"},
      {403, "", Kind::kPermanent, "note: HubSpot refused the token (HTTP 403)"},
      {404, "", Kind::kPermanent, "note: HTTP 404"},
      {502, "<html>bad gateway</html>", Kind::kRetryable, "note: HTTP 502"},
      {503, R"({"category":"SERVICE_UNAVAILABLE"})", Kind::kRetryable,
       "note: HubSpot SERVICE_UNAVAILABLE (HTTP 503)"},
  };
  for (const Case& c : cases) {
    DeliveryOutcome o = Classify(1, {{"contact_id", "1"}}, c.status, c.body);
    EXPECT_EQ(o.kind, c.kind) << c.status << c.body;
    EXPECT_EQ(o.reason, c.reason) << c.status << c.body;
  }
}

TEST_F(HubSpotConnectorTest, UsesTheOAuthTokenWhenGiven) {
  t_.dest.settings.erase("token");
  t_.dest.oauth2.grant = "refresh_token";
  t_.access_token = AccessToken{"oauth-abc", "", 0};
  EXPECT_EQ(HeaderOf(Build(0), "authorization"), "Bearer oauth-abc");
}

TEST_F(HubSpotConnectorTest, ChecksSettings) {
  EXPECT_TRUE(connector_.CheckSettings(t_.dest).empty());
  t_.dest.settings = {{"task_type", "MEETING"},
                      {"task_priority", "URGENT"},
                      {"owners", "ana"},
                      {"base_url", "api.hubapi.com"}};
  // task_type, task_priority, owners; the token and base_url fail BuildRequest instead.
  EXPECT_EQ(connector_.CheckSettings(t_.dest).size(), 3u);
  EXPECT_FALSE(connector_.BuildRequest(t_.Ctx()).ok());
}

}  // namespace
}  // namespace handoff
