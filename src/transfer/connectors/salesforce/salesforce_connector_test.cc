#include "transfer/connectors/salesforce/salesforce_connector.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "transfer/connectors/crm_common/crm_test_context.h"

namespace handoff {
namespace {

using crm_testing::CrmTestContext;
using crm_testing::HeaderOf;
using crm_testing::Headers;
using Kind = DeliveryOutcome::Kind;

class SalesforceConnectorTest : public ::testing::Test {
 protected:
  SalesforceConnectorTest() {
    t_.dest.settings["base_url"] = "https://acme.my.salesforce.com/";
    t_.dest.settings["token"] = "00Dxx!static";
  }

  OutboundRequest Build() {
    auto req = connector_.BuildRequest(t_.Ctx());
    EXPECT_TRUE(req.ok()) << req.status();
    return req.ok() ? *req : OutboundRequest{};
  }
  nlohmann::json Lead() { return nlohmann::json::parse(Build().body); }
  DeliveryOutcome Classify(int status, const std::string& body, const Headers& headers = {}) {
    return connector_.Classify(t_.Ctx(), status, headers, body);
  }

  CrmTestContext t_{"salesforce"};
  SalesforceConnector connector_;
};

TEST_F(SalesforceConnectorTest, PostsALead) {
  t_.dest.settings["lead_source"] = "Web";
  OutboundRequest req = Build();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://acme.my.salesforce.com/services/data/v62.0/sobjects/Lead/");
  EXPECT_EQ(req.step_name, "lead");
  EXPECT_EQ(HeaderOf(req, "authorization"), "Bearer 00Dxx!static");
  EXPECT_EQ(HeaderOf(req, "content-type"), "application/json");
  EXPECT_EQ(HeaderOf(req, "sforce-auto-assign"), "");
  EXPECT_EQ(HeaderOf(req, "sforce-duplicate-rule-header"), "");
  nlohmann::json lead = nlohmann::json::parse(req.body);
  EXPECT_EQ(lead["LastName"], "Roe");
  EXPECT_EQ(lead["FirstName"], "Dana");
  EXPECT_EQ(lead["Company"], "Unknown");
  EXPECT_EQ(lead["Email"], "dana@example.com");
  EXPECT_EQ(lead["Phone"], "+14155550142");
  EXPECT_EQ(lead["LeadSource"], "Web");
  EXPECT_NE(lead["Description"].get<std::string>().find("Message: No hot water <since>"),
            std::string::npos);
}

TEST_F(SalesforceConnectorTest, LastNameFallbacks) {
  struct Case {
    const char* name;
    const char* email;
    const char* phone;
    const char* last;
    const char* first;  // "" = absent
  } cases[] = {
      {"Cher", "c@example.com", "", "Cher", ""},
      {"Mary Ann Smith", "", "", "Smith", "Mary Ann"},
      {"", "c@example.com", "+14155550142", "+14155550142", ""},
      {"", "c@example.com", "", "c@example.com", ""},
      {"", "", "", "Unknown", ""},
  };
  for (const Case& c : cases) {
    t_.inquiry.normalized = t_.inquiry.received = {c.name, c.email, c.phone};
    nlohmann::json lead = Lead();
    EXPECT_EQ(lead["LastName"], c.last) << c.name;
    if (*c.first == '\0') {
      EXPECT_FALSE(lead.contains("FirstName")) << c.name;
    } else {
      EXPECT_EQ(lead["FirstName"], c.first) << c.name;
    }
  }
}

TEST_F(SalesforceConnectorTest, CompanyDescriptionAndLimits) {
  t_.inquiry.fields["company"] = "Harbor Plumbing";
  t_.inquiry.message = std::string(40000, 'x');
  t_.inquiry.normalized.name = std::string(100, 'a') + " " + std::string(100, 'b');
  nlohmann::json lead = Lead();
  EXPECT_EQ(lead["Company"], "Harbor Plumbing");
  EXPECT_LE(lead["Description"].get<std::string>().size(), 32000u);
  EXPECT_LE(lead["LastName"].get<std::string>().size(), 80u);
  EXPECT_LE(lead["FirstName"].get<std::string>().size(), 40u);
  t_.inquiry.fields.erase("company");
  t_.dest.settings["company_fallback"] = "Private customer";
  EXPECT_EQ(Lead()["Company"], "Private customer");
}

TEST_F(SalesforceConnectorTest, OptionalHeaders) {
  t_.dest.settings["assignment_rule"] = true;
  t_.dest.settings["allow_duplicates"] = true;
  OutboundRequest req = Build();
  EXPECT_EQ(HeaderOf(req, "sforce-auto-assign"), "TRUE");
  EXPECT_EQ(HeaderOf(req, "sforce-duplicate-rule-header"), "allowSave=true");
  t_.dest.settings["assignment_rule"] = false;
  t_.dest.settings["allow_duplicates"] = false;
  req = Build();
  EXPECT_EQ(HeaderOf(req, "sforce-auto-assign"), "FALSE");
  EXPECT_EQ(HeaderOf(req, "sforce-duplicate-rule-header"), "");
  t_.dest.settings["assignment_rule"] = "sometimes";
  EXPECT_FALSE(connector_.BuildRequest(t_.Ctx()).ok());
}

TEST_F(SalesforceConnectorTest, OAuthTokenAndInstanceUrl) {
  t_.dest.settings.erase("base_url");
  t_.dest.settings.erase("token");
  t_.dest.settings["api_version"] = "v61.0";
  t_.dest.oauth2.grant = "refresh_token";
  EXPECT_FALSE(connector_.BuildRequest(t_.Ctx()).ok()) << "no instance url without a token";
  t_.access_token = AccessToken{"00Dxx!oauth", "https://acme-dev.my.salesforce.com", 0};
  OutboundRequest req = Build();
  EXPECT_EQ(req.url, "https://acme-dev.my.salesforce.com/services/data/v61.0/sobjects/Lead/");
  EXPECT_EQ(HeaderOf(req, "authorization"), "Bearer 00Dxx!oauth");
  // A configured base_url wins over the token's instance_url.
  t_.dest.settings["base_url"] = "https://acme.my.salesforce.com";
  EXPECT_EQ(Build().url, "https://acme.my.salesforce.com/services/data/v61.0/sobjects/Lead/");
}

TEST_F(SalesforceConnectorTest, Answers) {
  struct Case {
    int status;
    const char* body;
    Kind kind;
    std::optional<Micros> retry_after;
    const char* reason;
  } cases[] = {
      {400,
       R"([{"message":"Required fields are missing: [Company]","errorCode":"REQUIRED_FIELD_MISSING",
           "fields":["Company"]}])",
       Kind::kPermanent, std::nullopt, "Salesforce REQUIRED_FIELD_MISSING (HTTP 400)"},
      {400, R"([{"message":"No such column 'X__c'","errorCode":"INVALID_FIELD","fields":[]}])",
       Kind::kPermanent, std::nullopt, "Salesforce INVALID_FIELD (HTTP 400)"},
      {400,
       R"([{"message":"Use one of these records?","errorCode":"DUPLICATES_DETECTED","fields":[]}])",
       Kind::kPermanent, std::nullopt,
       "Salesforce DUPLICATES_DETECTED: a duplicate rule blocked the Lead (set allow_duplicates "
       "to save anyway)"},
      {401, R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])",
       Kind::kPermanent, std::nullopt, "Salesforce INVALID_SESSION_ID (HTTP 401)"},
      {401, "", Kind::kPermanent, std::nullopt, "Salesforce INVALID_SESSION_ID (HTTP 401)"},
      {403, R"([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])",
       Kind::kRetryable, kMicrosPerHour,
       "Salesforce REQUEST_LIMIT_EXCEEDED (the org's daily API limit)"},
      {403, R"([{"message":"no","errorCode":"INSUFFICIENT_ACCESS"}])", Kind::kPermanent,
       std::nullopt, "Salesforce INSUFFICIENT_ACCESS (HTTP 403)"},
      {503, R"([{"message":"down","errorCode":"SERVER_UNAVAILABLE"}])", Kind::kRetryable,
       std::nullopt, "Salesforce SERVER_UNAVAILABLE (HTTP 503)"},
      {500, "<html>", Kind::kRetryable, std::nullopt, "HTTP 500"},
  };
  for (const Case& c : cases) {
    DeliveryOutcome o = Classify(c.status, c.body);
    EXPECT_EQ(o.kind, c.kind) << c.status << c.body;
    EXPECT_EQ(o.retry_after, c.retry_after) << c.status << c.body;
    EXPECT_EQ(o.reason, c.reason) << c.status << c.body;
  }
  DeliveryOutcome ok = Classify(201, R"({"id":"00Q5e00000AbCdEEAZ","success":true,"errors":[]})");
  EXPECT_EQ(ok.kind, Kind::kConfirmed);
  EXPECT_FALSE(ok.more_steps);
  EXPECT_EQ(ok.remote_id, "00Q5e00000AbCdEEAZ");
}

TEST_F(SalesforceConnectorTest, ChecksSettings) {
  EXPECT_TRUE(connector_.CheckSettings(t_.dest).empty());
  t_.dest.settings = {{"assignment_rule", "maybe"}, {"api_version", "62"}};
  EXPECT_EQ(connector_.CheckSettings(t_.dest).size(), 1u) << "api_version";
  EXPECT_FALSE(connector_.BuildRequest(t_.Ctx()).ok()) << "assignment_rule, base_url, token";
  t_.dest.settings = nlohmann::json::object();
  t_.dest.oauth2.grant = "refresh_token";
  EXPECT_TRUE(connector_.CheckSettings(t_.dest).empty());
}

}  // namespace
}  // namespace handoff
