#include "transfer/connectors/pipedrive/pipedrive_connector.h"

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
using Values = std::map<std::string, std::string>;

constexpr const char* kBase = "https://api.pipedrive.com/v1";

class PipedriveConnectorTest : public ::testing::Test {
 protected:
  PipedriveConnectorTest() {
    t_.dest.settings["api_token"] = "tok en/1";
    t_.dest.settings["owner_ids"] = {{"ana", 77}};
  }

  OutboundRequest Build(int step, Values values = {}) {
    auto req = connector_.BuildRequest(t_.Ctx(step, std::move(values)));
    EXPECT_TRUE(req.ok()) << req.status();
    return req.ok() ? *req : OutboundRequest{};
  }
  DeliveryOutcome Classify(int step, Values values, int status, const std::string& body,
                           const Headers& headers = {}) {
    return connector_.Classify(t_.Ctx(step, std::move(values)), status, headers, body);
  }

  CrmTestContext t_{"pipedrive"};
  PipedriveConnector connector_;
};

TEST_F(PipedriveConnectorTest, SearchesByEmailFirst) {
  OutboundRequest req = Build(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.step_name, "person_search");
  EXPECT_EQ(req.url, std::string(kBase) +
                         "/persons/search?term=dana%40example.com&fields=email&exact_matching=true"
                         "&api_token=tok%20en%2F1");
  EXPECT_TRUE(req.body.empty());
  EXPECT_EQ(HeaderOf(req, "authorization"), "");
}

TEST_F(PipedriveConnectorTest, SearchesByPhoneWithoutEmail) {
  t_.inquiry.normalized.email = t_.inquiry.received.email = "";
  EXPECT_EQ(Build(0).url, std::string(kBase) +
                              "/persons/search?term=%2B14155550142&fields=phone&exact_matching=true"
                              "&api_token=tok%20en%2F1");
}

TEST_F(PipedriveConnectorTest, SearchResultDecidesWhetherAPersonIsCreated) {
  DeliveryOutcome found = Classify(
      0, {}, 200,
      R"({"success":true,"data":{"items":[{"result_score":1.2,"item":{"id":4321,"type":"person",
          "name":"Dana Roe"}}]},"additional_data":{}})");
  EXPECT_EQ(found.kind, Kind::kConfirmed);
  EXPECT_TRUE(found.more_steps);
  EXPECT_EQ(found.captured, (Values{{"person_id", "4321"}}));
  // Found: the next step is the lead, never a second person.
  OutboundRequest lead = Build(1, found.captured);
  EXPECT_EQ(lead.step_name, "lead");
  EXPECT_EQ(lead.url, std::string(kBase) + "/leads?api_token=tok%20en%2F1");

  DeliveryOutcome none = Classify(0, {}, 200, R"({"success":true,"data":{"items":[]}})");
  EXPECT_TRUE(none.more_steps);
  EXPECT_EQ(none.captured, (Values{{"person_searched", "0"}}));
  EXPECT_EQ(Build(1, none.captured).step_name, "person");
  DeliveryOutcome null_data = Classify(0, {}, 200, R"({"success":true,"data":null})");
  EXPECT_EQ(null_data.captured, (Values{{"person_searched", "0"}}));
}

TEST_F(PipedriveConnectorTest, ALaterAttemptSearchesAgainBeforeCreating) {
  // Attempt 1 searched, found nobody, and its person creation timed out: attempt 2 searches
  // again, in case the person was created after all.
  t_.handoff.attempts = 1;
  EXPECT_EQ(Build(1, {{"person_searched", "0"}}).step_name, "person_search");
  DeliveryOutcome none = Classify(1, {{"person_searched", "0"}}, 200, R"({"success":true})");
  EXPECT_EQ(none.captured, (Values{{"person_searched", "1"}}));
  EXPECT_EQ(Build(2, none.captured).step_name, "person");
}

TEST_F(PipedriveConnectorTest, CreatesThePersonWithEmailAndPhoneLists) {
  OutboundRequest req = Build(1, {{"person_searched", "0"}});
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, std::string(kBase) + "/persons?api_token=tok%20en%2F1");
  EXPECT_EQ(HeaderOf(req, "content-type"), "application/json");
  nlohmann::json body = nlohmann::json::parse(req.body);
  EXPECT_EQ(body["name"], "Dana Roe");
  EXPECT_EQ(body["email"], nlohmann::json::parse(
                               R"([{"value":"dana@example.com","primary":true,"label":"work"}])"));
  EXPECT_EQ(body["phone"],
            nlohmann::json::parse(R"([{"value":"+14155550142","primary":true,"label":"mobile"}])"));
  EXPECT_EQ(body["owner_id"], 77);
  DeliveryOutcome o = Classify(1, {{"person_searched", "0"}}, 201,
                               R"({"success":true,"data":{"id":4322,"name":"Dana Roe"}})");
  EXPECT_EQ(o.captured, (Values{{"person_id", "4322"}}));
}

TEST_F(PipedriveConnectorTest, WithoutEmailOrPhoneThePersonIsCreatedAtOnce) {
  t_.inquiry.normalized = t_.inquiry.received = {"", "", ""};
  OutboundRequest req = Build(0);
  EXPECT_EQ(req.step_name, "person");
  EXPECT_EQ(nlohmann::json::parse(req.body)["name"], "Unknown");
}

TEST_F(PipedriveConnectorTest, LeadOrDeal) {
  Values person = {{"person_searched", "0"}, {"person_id", "4322"}};
  nlohmann::json lead = nlohmann::json::parse(Build(2, person).body);
  EXPECT_EQ(lead["title"], "New form inquiry from Dana Roe");
  EXPECT_EQ(lead["person_id"], 4322);
  EXPECT_EQ(lead["owner_id"], 77);
  DeliveryOutcome o =
      Classify(2, person, 201,
               R"({"success":true,"data":{"id":"adf21080-0e10-11eb-879b-05d71fb426ec",
                                   "title":"x"}})");
  EXPECT_EQ(o.captured, (Values{{"lead_id", "adf21080-0e10-11eb-879b-05d71fb426ec"}}));

  t_.dest.settings["create"] = "deal";
  OutboundRequest deal = Build(2, person);
  EXPECT_EQ(deal.step_name, "deal");
  EXPECT_EQ(deal.url, std::string(kBase) + "/deals?api_token=tok%20en%2F1");
  EXPECT_EQ(nlohmann::json::parse(deal.body)["user_id"], 77);
  EXPECT_EQ(Classify(2, person, 201, R"({"success":true,"data":{"id":99}})").captured,
            (Values{{"deal_id", "99"}}));
}

TEST_F(PipedriveConnectorTest, ActivityIsTheLastStep) {
  Values done = {{"person_id", "4321"}, {"lead_id", "adf21080-0e10-11eb-879b-05d71fb426ec"}};
  OutboundRequest req = Build(2, done);
  EXPECT_EQ(req.step_name, "activity");
  EXPECT_EQ(req.url, std::string(kBase) + "/activities?api_token=tok%20en%2F1");
  nlohmann::json body = nlohmann::json::parse(req.body);
  EXPECT_EQ(body["subject"], "Call back Dana Roe");
  EXPECT_EQ(body["type"], "call");
  EXPECT_EQ(body["due_date"], "2026-11-29");
  EXPECT_EQ(body["due_time"], "10:05");
  EXPECT_EQ(body["person_id"], 4321);
  EXPECT_EQ(body["lead_id"], "adf21080-0e10-11eb-879b-05d71fb426ec");
  EXPECT_FALSE(body.contains("deal_id"));
  EXPECT_EQ(body["user_id"], 77);
  EXPECT_NE(body["note"].get<std::string>().find("&lt;since&gt;"), std::string::npos);
  DeliveryOutcome o = Classify(2, done, 201, R"({"success":true,"data":{"id":555}})");
  EXPECT_EQ(o.kind, Kind::kConfirmed);
  EXPECT_FALSE(o.more_steps);
  EXPECT_EQ(o.remote_id, "person:4321 lead:adf21080-0e10-11eb-879b-05d71fb426ec activity:555");

  Values deal = {{"person_id", "4321"}, {"deal_id", "99"}};
  t_.task.reset();
  nlohmann::json no_task = nlohmann::json::parse(Build(2, deal).body);
  EXPECT_EQ(no_task["deal_id"], 99);
  EXPECT_EQ(no_task["subject"], "New form inquiry from Dana Roe");
  EXPECT_FALSE(no_task.contains("due_date"));
  EXPECT_FALSE(no_task.contains("user_id"));
  EXPECT_EQ(Classify(2, deal, 201, R"({"success":true,"data":{"id":556}})").remote_id,
            "person:4321 deal:99 activity:556");
}

TEST_F(PipedriveConnectorTest, OAuthTokenGoesInTheHeaderNotTheQuery) {
  t_.dest.settings.erase("api_token");
  t_.dest.oauth2.grant = "refresh_token";
  t_.access_token = AccessToken{"oauth-xyz", "", 0};
  t_.dest.settings["base_url"] = "https://acme.pipedrive.com/api/v1/";
  OutboundRequest req = Build(1, {{"person_searched", "0"}});
  EXPECT_EQ(req.url, "https://acme.pipedrive.com/api/v1/persons");
  EXPECT_EQ(HeaderOf(req, "authorization"), "Bearer oauth-xyz");
}

TEST_F(PipedriveConnectorTest, AnOAuthTokenUsesItsCompanyDomainUnlessBaseUrlIsSet) {
  t_.dest.settings.erase("api_token");
  t_.dest.oauth2.grant = "refresh_token";
  t_.access_token = AccessToken{"oauth-xyz", "https://acme.pipedrive.com/", 0};
  EXPECT_EQ(Build(1, {{"person_searched", "0"}}).url, "https://acme.pipedrive.com/api/v1/persons");
  t_.dest.settings["base_url"] = "http://127.0.0.1:9/v1";
  EXPECT_EQ(Build(1, {{"person_searched", "0"}}).url, "http://127.0.0.1:9/v1/persons");
}

TEST_F(PipedriveConnectorTest, Errors) {
  struct Case {
    int status;
    const char* body;
    Headers headers;
    Kind kind;
    std::optional<Micros> retry_after;
    const char* reason;
  } cases[] = {
      {200,
       R"({"success":false,"error":"x"})",
       {},
       Kind::kRetryable,
       std::nullopt,
       "lead: answer without success=true (HTTP 200)"},
      {429,
       R"({"success":false,"error":"Too many requests"})",
       {{"x-ratelimit-reset", "2"}},
       Kind::kRetryable,
       2 * kMicrosPerSecond,
       "lead: Pipedrive rate limit (HTTP 429)"},
      {429,
       "",
       {{"retry-after", "30"}},
       Kind::kRetryable,
       30 * kMicrosPerSecond,
       "lead: Pipedrive rate limit (HTTP 429)"},
      {429, "", {}, Kind::kRetryable, std::nullopt, "lead: Pipedrive rate limit (HTTP 429)"},
      {402,
       R"({"success":false,"error":"Deals limit reached","code":"feature_capping_deals_limit"})",
       {},
       Kind::kPermanent,
       std::nullopt,
       "lead: Pipedrive feature_capping_deals_limit (HTTP 402)"},
      {403,
       R"({"success":false,"code":"feature_capping_leads_limit"})",
       {},
       Kind::kPermanent,
       std::nullopt,
       "lead: Pipedrive feature_capping_leads_limit (HTTP 403)"},
      {400,
       R"({"success":false,"error":"Person dana@example.com invalid"})",
       {},
       Kind::kPermanent,
       std::nullopt,
       "lead: HTTP 400"},
      {401,
       R"({"success":false,"error":"unauthorized access"})",
       {},
       Kind::kPermanent,
       std::nullopt,
       "lead: HTTP 401"},
      {500, "oops", {}, Kind::kRetryable, std::nullopt, "lead: HTTP 500"},
  };
  for (const Case& c : cases) {
    DeliveryOutcome o = Classify(1, {{"person_id", "1"}}, c.status, c.body, c.headers);
    EXPECT_EQ(o.kind, c.kind) << c.status << c.body;
    EXPECT_EQ(o.retry_after, c.retry_after) << c.status << c.body;
    EXPECT_EQ(o.reason, c.reason) << c.status << c.body;
  }
  // A creation confirmed without a readable id is not retried (it would duplicate).
  EXPECT_EQ(Classify(1, {{"person_id", "1"}}, 201, R"({"success":true,"data":{}})").kind,
            Kind::kPermanent);
}

TEST_F(PipedriveConnectorTest, ChecksSettings) {
  EXPECT_TRUE(connector_.CheckSettings(t_.dest).empty());
  t_.dest.settings = {{"create", "organization"}, {"owner_ids", {{"ana", "x7"}}}};
  // create and owner_ids; the missing api_token fails BuildRequest instead.
  EXPECT_EQ(connector_.CheckSettings(t_.dest).size(), 2u);
  EXPECT_FALSE(connector_.BuildRequest(t_.Ctx()).ok());
}

}  // namespace
}  // namespace handoff
