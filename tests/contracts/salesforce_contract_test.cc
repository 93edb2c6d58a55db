// The salesforce connector through the real dispatcher against a loopback org that checks every
// request against ../shared/formats/README.md B3 and answers as Salesforce documents.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>

#include "fmt/format.h"
#include "tests/contracts/crm_contract_support.h"
#include "tests/support/delivery_harness.h"

namespace handoff {
namespace {

using crm_contract::BodyOf;
using crm_contract::kFirstRetry;
using testing::HeaderOf;
using testing::kHarnessStart;
using testing::Respond;

constexpr const char* kSalesforceToken = "00Dxx0000001gPL!AQ4AQ.static";
constexpr const char* kLeadPath = "/services/data/v62.0/sobjects/Lead/";

std::string ErrorArray(const char* code, const char* message) {
  return fmt::format(R"([{{"message":"{}","errorCode":"{}","fields":[]}}])", message, code);
}

// What Salesforce would refuse, or "" for a request it takes.
std::string SalesforceViolation(const HttpRequest& r) {
  if (r.method != "POST") return "method " + r.method;
  if (r.path != kLeadPath) return "path " + r.path;
  if (!crm_contract::Authorized(r, kSalesforceToken)) return "authorization";
  if (!HeaderOf(r, "content-type").starts_with("application/json")) return "content type";
  nlohmann::json b = BodyOf(r);
  if (!b.is_object()) return "body is not a JSON object";
  for (const char* required : {"LastName", "Company"}) {
    if (!b[required].is_string() || b[required] == "") return required;
  }
  if (b.contains("Description") && b["Description"].get<std::string>().size() > 32000) {
    return "Description too long";
  }
  return "";
}

class FakeSalesforce {
 public:
  using Fault = std::function<std::optional<HttpResponse>(const HttpRequest&, int n)>;
  explicit FakeSalesforce(Fault fault = nullptr)
      : server_([fault](const HttpRequest& r, int n) -> HttpResponse {
          if (fault) {
            if (auto answer = fault(r, n)) return *answer;
          }
          std::string violation = SalesforceViolation(r);
          if (!violation.empty()) {
            ADD_FAILURE() << "Salesforce contract violation: " << violation;
            return Respond(400, ErrorArray("INVALID_FIELD", "contract violation"));
          }
          return Respond(201, R"({"id":"00Q5e00000AbCdEEAZ","success":true,"errors":[]})");
        }) {}

  std::string Url() const { return server_.Url(""); }
  std::vector<HttpRequest> requests() const { return server_.requests(); }

 private:
  testing::ContractServer server_;
};

class SalesforceContractTest : public ::testing::Test {
 protected:
  void Use(const std::string& base_url) {
    h_.config().destinations = {crm_contract::Destination(
        "salesforce", base_url,
        {{"token", kSalesforceToken}, {"lead_source", "Web"}, {"assignment_rule", true}})};
  }
  std::string Start() {
    std::string id = h_.AddInquiry({"crm"})[0];
    h_.Start();
    return id;
  }

  testing::DeliveryHarness h_;
};

TEST_F(SalesforceContractTest, CreatesALeadAndKeepsItsId) {
  FakeSalesforce org;
  Use(org.Url());
  Handoff h = h_.WaitForState(Start(), "confirmed", 1);
  EXPECT_EQ(h.remote_id, "00Q5e00000AbCdEEAZ");
  EXPECT_EQ(h.last_status, 201);
  auto requests = org.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(HeaderOf(requests[0], "sforce-auto-assign"), "TRUE");
  nlohmann::json lead = BodyOf(requests[0]);
  EXPECT_EQ(lead["LastName"], "Roe");
  EXPECT_EQ(lead["FirstName"], "Dana");
  EXPECT_EQ(lead["Company"], "Unknown");
  EXPECT_EQ(lead["Email"], "dana+1@example.com");
  EXPECT_EQ(lead["LeadSource"], "Web");
  EXPECT_NE(lead["Description"].get<std::string>().find("No hot water since this morning"),
            std::string::npos);
}

TEST_F(SalesforceContractTest, OAuthInstanceUrlAndOneRefreshAfterInvalidSession) {
  FakeSalesforce org([](const HttpRequest& r, int) -> std::optional<HttpResponse> {
    if (HeaderOf(r, "authorization") == "Bearer oauth-1") {
      return Respond(401, ErrorArray("INVALID_SESSION_ID", "Session expired or invalid"));
    }
    return std::nullopt;
  });
  const std::string instance_url = org.Url();
  testing::ContractServer auth([instance_url](const HttpRequest&, int n) {
    return crm_contract::TokenResponse(n, instance_url);
  });
  Use("unused");
  DestinationConfig& d = h_.config().destinations[0];
  d.settings.erase("base_url");
  d.settings.erase("token");
  d.oauth2 = crm_contract::RefreshTokenGrant(auth.Url("/services/oauth2/token"));
  Handoff done = h_.WaitForState(Start(), "confirmed", 1);
  EXPECT_EQ(done.remote_id, "00Q5e00000AbCdEEAZ");
  auto requests = org.requests();
  ASSERT_EQ(requests.size(), 2u) << "the lead goes to the token's instance_url";
  EXPECT_EQ(HeaderOf(requests[1], "authorization"), "Bearer oauth-2");
  EXPECT_EQ(requests[0].body, requests[1].body);
}

TEST_F(SalesforceContractTest, ASecondInvalidSessionIsDead) {
  FakeSalesforce org([](const HttpRequest&, int) -> std::optional<HttpResponse> {
    return Respond(401, ErrorArray("INVALID_SESSION_ID", "Session expired or invalid"));
  });
  testing::ContractServer auth(
      [](const HttpRequest&, int n) { return crm_contract::TokenResponse(n); });
  Use(org.Url());
  DestinationConfig& d = h_.config().destinations[0];
  d.settings.erase("token");
  d.oauth2 = crm_contract::RefreshTokenGrant(auth.Url("/services/oauth2/token"));
  Handoff dead = h_.WaitForState(Start(), "dead", 1);
  EXPECT_EQ(dead.last_status, 401);
  EXPECT_EQ(dead.last_error, "Salesforce INVALID_SESSION_ID (HTTP 401)");
  EXPECT_EQ(org.requests().size(), 2u) << "one retry with a fresh token, no more";
}

TEST_F(SalesforceContractTest, RequestLimitWaitsAnHour) {
  FakeSalesforce org([](const HttpRequest&, int) -> std::optional<HttpResponse> {
    return Respond(403, ErrorArray("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."));
  });
  Use(org.Url());
  Handoff h = h_.WaitForState(Start(), "failed", 1);
  EXPECT_EQ(h.last_status, 403);
  EXPECT_EQ(h.next_attempt_at, kHarnessStart + kMicrosPerHour);
}

TEST_F(SalesforceContractTest, TooManyRequestsHonoursRetryAfterOrTheSchedule) {
  FakeSalesforce org([](const HttpRequest&, int n) -> std::optional<HttpResponse> {
    if (n == 1) return Respond(429, "[]", {{"Retry-After", "30"}});
    return Respond(429, "[]");
  });
  Use(org.Url());
  std::string id = Start();
  Handoff first = h_.WaitForState(id, "failed", 1);
  EXPECT_EQ(first.next_attempt_at, kHarnessStart + 30 * kMicrosPerSecond);
  h_.AdvanceToNextAttempt(id);
  Handoff second = h_.WaitForState(id, "failed", 2);
  EXPECT_EQ(second.next_attempt_at, first.next_attempt_at + 4 * kMicrosPerSecond);
}

TEST_F(SalesforceContractTest, ServerErrorIsRetried) {
  FakeSalesforce org([](const HttpRequest&, int n) -> std::optional<HttpResponse> {
    if (n == 1) return Respond(503, ErrorArray("SERVER_UNAVAILABLE", "down for maintenance"));
    return std::nullopt;
  });
  Use(org.Url());
  std::string id = Start();
  Handoff failed = h_.WaitForState(id, "failed", 1);
  EXPECT_EQ(failed.next_attempt_at, kHarnessStart + kFirstRetry);
  EXPECT_EQ(failed.last_error, "Salesforce SERVER_UNAVAILABLE (HTTP 503)");
  h_.AdvanceToNextAttempt(id);
  Handoff done = h_.WaitForState(id, "confirmed", 2);
  EXPECT_EQ(done.remote_id, "00Q5e00000AbCdEEAZ");
}

TEST_F(SalesforceContractTest, SilentOrgTimesOutAndIsRetried) {
  testing::SilentListener silent;
  Use(fmt::format("http://127.0.0.1:{}", silent.port()));
  h_.config().destinations[0].timeout = 300 * kMicrosPerMilli;
  Handoff h = h_.WaitForState(Start(), "failed", 1);
  EXPECT_EQ(h.last_status, 0);
  EXPECT_EQ(h.next_attempt_at, kHarnessStart + kFirstRetry);
}

TEST_F(SalesforceContractTest, ConnectionResetIsRetried) {
  testing::ResettingListener resetting;
  Use(fmt::format("http://127.0.0.1:{}", resetting.port()));
  Handoff h = h_.WaitForState(Start(), "failed", 1);
  EXPECT_NE(h.last_error.find("transport error"), std::string::npos) << h.last_error;
}

TEST_F(SalesforceContractTest, ValidationErrorsAreDead) {
  struct Case {
    int status;
    const char* code;
  } cases[] = {
      {400, "REQUIRED_FIELD_MISSING"},
      {400, "DUPLICATES_DETECTED"},
      {401, "INVALID_SESSION_ID"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.code);
    testing::DeliveryHarness h;
    FakeSalesforce org([&](const HttpRequest&, int) -> std::optional<HttpResponse> {
      return Respond(c.status, ErrorArray(c.code, "Dana Roe dana+1@example.com"));
    });
    h.config().destinations = {
        crm_contract::Destination("salesforce", org.Url(), {{"token", kSalesforceToken}})};
    std::string id = h.AddInquiry({"crm"})[0];
    h.Start();
    Handoff dead = h.WaitForState(id, "dead", 1);
    EXPECT_EQ(dead.last_status, c.status);
    EXPECT_NE(dead.last_error.find(c.code), std::string::npos) << dead.last_error;
    EXPECT_EQ(dead.last_error.find("example.com"), std::string::npos) << dead.last_error;
    h.Stop();
  }
}

}  // namespace
}  // namespace handoff
