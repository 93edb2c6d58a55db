// The hubspot connector through the real dispatcher against a loopback HubSpot that checks
// every request against ../shared/formats/README.md B1 and answers as HubSpot documents.
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
using crm_contract::Count;
using crm_contract::kFirstRetry;
using testing::HeaderOf;
using testing::kHarnessStart;
using testing::Respond;

constexpr const char* kHubspotToken = "pat-na1-11111111-2222";
constexpr const char* kUpsert = "/crm/v3/objects/contacts/batch/upsert";
constexpr const char* kContacts = "/crm/v3/objects/contacts";
constexpr const char* kNotes = "/crm/v3/objects/notes";
constexpr const char* kTasks = "/crm/v3/objects/tasks";

bool IsOneOf(const nlohmann::json& v, std::initializer_list<const char*> allowed) {
  if (!v.is_string()) return false;
  for (const char* a : allowed) {
    if (v == a) return true;
  }
  return false;
}

bool AssociatedTo(const nlohmann::json& body, const std::string& contact_id, int type_id) {
  const nlohmann::json& a = body.value("associations", nlohmann::json());
  return a.is_array() && a.size() == 1 &&
         a[0].value("to", nlohmann::json()).value("id", "") == contact_id &&
         a[0]["types"].is_array() && a[0]["types"][0]["associationCategory"] == "HUBSPOT_DEFINED" &&
         a[0]["types"][0]["associationTypeId"] == type_id;
}

// What HubSpot would refuse, or "" for a request it takes.
std::string HubspotViolation(const HttpRequest& r, const std::string& contact_id) {
  if (r.method != "POST") return "method " + r.method;
  if (!crm_contract::Authorized(r, kHubspotToken)) return "authorization";
  if (!HeaderOf(r, "content-type").starts_with("application/json")) return "content type";
  nlohmann::json b = BodyOf(r);
  if (!b.is_object()) return "body is not a JSON object";
  if (r.path == kUpsert) {
    const auto& in = b.value("inputs", nlohmann::json());
    if (!in.is_array() || in.size() != 1) return "inputs";
    if (in[0]["idProperty"] != "email" || !in[0]["id"].is_string()) return "idProperty/id";
    if (in[0]["properties"]["email"] != in[0]["id"]) return "email property";
    return "";
  }
  if (r.path == kContacts) {
    const auto& p = b.value("properties", nlohmann::json());
    return p.is_object() && (p.contains("phone") || p.contains("email")) ? "" : "properties";
  }
  const auto& p = b.value("properties", nlohmann::json());
  if (!p.is_object() || !p["hs_timestamp"].is_string()) return "hs_timestamp";
  if (r.path == kNotes) {
    if (!p["hs_note_body"].is_string() || p["hs_note_body"].get<std::string>().size() > 65536) {
      return "hs_note_body";
    }
    return AssociatedTo(b, contact_id, 202) ? "" : "note association";
  }
  if (r.path == kTasks) {
    if (!p["hs_task_subject"].is_string() || !p["hs_task_body"].is_string()) return "subject/body";
    if (!IsOneOf(p["hs_task_status"], {"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED"})) {
      return "hs_task_status";
    }
    if (!IsOneOf(p["hs_task_priority"], {"LOW", "MEDIUM", "HIGH"})) return "hs_task_priority";
    if (!IsOneOf(p["hs_task_type"], {"CALL", "EMAIL", "TODO"})) return "hs_task_type";
    return AssociatedTo(b, contact_id, 204) ? "" : "task association";
  }
  return "unknown path " + r.path;
}

// A loopback HubSpot portal. `fault` may answer a request instead (429, 5xx, errors); the
// rest get HubSpot's documented success answers.
class FakeHubSpot {
 public:
  using Fault = std::function<std::optional<HttpResponse>(const HttpRequest&, int n)>;
  explicit FakeHubSpot(Fault fault = nullptr, std::string contact_id = "501")
      : contact_id_(std::move(contact_id)),
        server_([this, fault](const HttpRequest& r, int n) -> HttpResponse {
          if (fault) {
            if (auto answer = fault(r, n)) return *answer;
          }
          std::string violation = HubspotViolation(r, contact_id_);
          if (!violation.empty()) {
            ADD_FAILURE() << "HubSpot contract violation on " << r.path << ": " << violation;
            return Respond(400, R"({"status":"error","category":"VALIDATION_ERROR"})");
          }
          if (r.path == kUpsert) {
            return Respond(200, fmt::format(R"({{"status":"COMPLETE","results":[{{"id":"{}",
                "new":true,"properties":{{}}}}],"startedAt":"x","completedAt":"y"}})",
                                            contact_id_));
          }
          if (r.path == kContacts) return Respond(201, R"({"id":"502","properties":{}})");
          if (r.path == kNotes) return Respond(201, R"({"id":"601","properties":{}})");
          return Respond(201, R"({"id":"701","properties":{}})");
        }) {}

  std::string Url() const { return server_.Url(""); }
  std::vector<HttpRequest> requests() const { return server_.requests(); }

 private:
  std::string contact_id_;
  testing::ContractServer server_;
};

class HubSpotContractTest : public ::testing::Test {
 protected:
  void Use(const std::string& base_url) {
    h_.config().destinations = {crm_contract::Destination(
        "hubspot", base_url, {{"token", kHubspotToken}, {"owners", {{"ana", "5551"}}}})};
  }
  std::string Start(const std::function<void(Inquiry&, Contact&, Task&)>& edit = nullptr) {
    std::string id = h_.AddInquiry({"crm"}, edit)[0];
    h_.Start();
    return id;
  }

  testing::DeliveryHarness h_;
};

std::optional<HttpResponse> RateLimited(std::vector<std::pair<std::string, std::string>> headers,
                                        const char* policy = "TEN_SECONDLY_ROLLING") {
  return Respond(429,
                 fmt::format(R"({{"status":"error","message":"You have reached your limit.",
                     "errorType":"RATE_LIMIT","correlationId":"c-1","policyName":"{}"}})",
                             policy),
                 std::move(headers));
}

TEST_F(HubSpotContractTest, DeliversContactNoteAndTask) {
  FakeHubSpot hubspot;
  Use(hubspot.Url());
  std::string id = Start();
  Handoff done = h_.WaitForState(id, "confirmed", 1);
  EXPECT_EQ(done.remote_id, "contact:501 note:601 task:701");
  auto requests = hubspot.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].path, kUpsert);
  EXPECT_EQ(BodyOf(requests[0])["inputs"][0]["id"], "dana+1@example.com");
  EXPECT_EQ(requests[1].path, kNotes);
  EXPECT_NE(BodyOf(requests[1])["properties"]["hs_note_body"].get<std::string>().find(
                "No hot water since this morning"),
            std::string::npos);
  EXPECT_EQ(requests[2].path, kTasks);
  nlohmann::json task = BodyOf(requests[2])["properties"];
  EXPECT_EQ(task["hubspot_owner_id"], "5551");
  EXPECT_EQ(task["hs_task_subject"], "Call back Dana Roe");
  EXPECT_EQ(task["hs_timestamp"], "2026-01-01T00:05:00.000Z");
}

TEST_F(HubSpotContractTest, ContactWithoutEmailTakesTheExistingIdFrom409) {
  FakeHubSpot hubspot(
      [](const HttpRequest& r, int) -> std::optional<HttpResponse> {
        if (r.path != kContacts) return std::nullopt;
        return Respond(409,
                       R"({"status":"error","message":"Contact already exists. Existing ID: 95123",
                            "correlationId":"c-2","category":"CONFLICT"})");
      },
      "95123");
  Use(hubspot.Url());
  std::string id = Start(
      [](Inquiry& i, Contact& c, Task&) { i.normalized.email = i.received.email = c.email = ""; });
  Handoff done = h_.WaitForState(id, "confirmed", 1);
  EXPECT_EQ(done.remote_id, "contact:95123 note:601 task:701");
  auto requests = hubspot.requests();
  EXPECT_EQ(Count(requests, "POST", kContacts), 1);
  EXPECT_EQ(Count(requests, "POST", kUpsert), 0);
  EXPECT_EQ(Count(requests, "POST", kNotes), 1);
}

TEST_F(HubSpotContractTest, FailedNoteIsRetriedWithoutASecondContactUpsert) {
  // Request 1 upserts the contact, request 2 is the first note.
  FakeHubSpot hubspot([](const HttpRequest& r, int n) -> std::optional<HttpResponse> {
    if (r.path == kNotes && n == 2) return Respond(503, R"({"status":"error"})");
    return std::nullopt;
  });
  Use(hubspot.Url());
  std::string id = Start();
  Handoff failed = h_.WaitForState(id, "failed", 1);
  EXPECT_EQ(failed.last_status, 503);
  EXPECT_EQ(failed.next_attempt_at, kHarnessStart + kFirstRetry);
  EXPECT_EQ(DeliveryProgress::FromJson(failed.progress).Get("contact_id"), "501");
  h_.AdvanceToNextAttempt(id);
  Handoff done = h_.WaitForState(id, "confirmed", 2);
  EXPECT_EQ(done.remote_id, "contact:501 note:601 task:701");
  auto requests = hubspot.requests();
  EXPECT_EQ(Count(requests, "POST", kUpsert), 1);
  EXPECT_EQ(Count(requests, "POST", kNotes), 2);
  EXPECT_EQ(Count(requests, "POST", kTasks), 1);
}

TEST_F(HubSpotContractTest, TokenExpiringMidDeliveryIsRefreshedAndTheNoteResumes) {
  testing::ContractServer auth(
      [](const HttpRequest&, int n) { return crm_contract::TokenResponse(n); });
  FakeHubSpot hubspot([](const HttpRequest& r, int) -> std::optional<HttpResponse> {
    // The first token expires between the contact and the note.
    if (r.path == kNotes && HeaderOf(r, "authorization") == "Bearer oauth-1") {
      return Respond(
          401,
          R"({"status":"error","message":"The OAuth token used to make this call expired 1 second(s) ago.",
                             "category":"EXPIRED_AUTHENTICATION"})");
    }
    return std::nullopt;
  });
  Use(hubspot.Url());
  DestinationConfig& d = h_.config().destinations[0];
  d.settings.erase("token");
  d.oauth2 = crm_contract::RefreshTokenGrant(auth.Url("/oauth/v1/token"));
  std::string id = Start();
  Handoff done = h_.WaitForState(id, "confirmed", 1);
  EXPECT_EQ(done.remote_id, "contact:501 note:601 task:701");
  auto requests = hubspot.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(HeaderOf(requests[0], "authorization"), "Bearer oauth-1");
  EXPECT_EQ(requests[1].path, kNotes);
  EXPECT_EQ(requests[2].path, kNotes);
  EXPECT_EQ(HeaderOf(requests[2], "authorization"), "Bearer oauth-2");
  EXPECT_EQ(HeaderOf(requests[3], "authorization"), "Bearer oauth-2");
  EXPECT_EQ(Count(requests, "POST", kUpsert), 1);
  EXPECT_EQ(auth.requests().size(), 2u);
}

TEST_F(HubSpotContractTest, RateLimitWithoutRetryAfterWaitsTheTenSecondWindow) {
  FakeHubSpot hubspot([](const HttpRequest&, int) { return RateLimited({}); });
  Use(hubspot.Url());
  Handoff h = h_.WaitForState(Start(), "failed", 1);
  EXPECT_EQ(h.last_status, 429);
  EXPECT_EQ(h.next_attempt_at, kHarnessStart + 10 * kMicrosPerSecond);
}

TEST_F(HubSpotContractTest, RateLimitHeadersSetTheWait) {
  FakeHubSpot hubspot([](const HttpRequest&, int n) {
    return n == 1 ? RateLimited({{"X-HubSpot-RateLimit-Interval-Milliseconds", "5000"},
                                 {"X-HubSpot-RateLimit-Max", "100"},
                                 {"X-HubSpot-RateLimit-Remaining", "0"}})
                  : RateLimited({{"Retry-After", "30"}});
  });
  Use(hubspot.Url());
  std::string id = Start();
  Handoff first = h_.WaitForState(id, "failed", 1);
  EXPECT_EQ(first.next_attempt_at, kHarnessStart + 5 * kMicrosPerSecond);
  h_.AdvanceToNextAttempt(id);
  Handoff second = h_.WaitForState(id, "failed", 2);
  EXPECT_EQ(second.next_attempt_at, first.next_attempt_at + 30 * kMicrosPerSecond);
}

TEST_F(HubSpotContractTest, DailyLimitWaitsAnHour) {
  FakeHubSpot hubspot([](const HttpRequest&, int) { return RateLimited({}, "DAILY"); });
  Use(hubspot.Url());
  Handoff h = h_.WaitForState(Start(), "failed", 1);
  EXPECT_EQ(h.next_attempt_at, kHarnessStart + kMicrosPerHour);
  EXPECT_NE(h.last_error.find("DAILY"), std::string::npos) << h.last_error;
}

TEST_F(HubSpotContractTest, ServerErrorIsRetried) {
  FakeHubSpot hubspot([](const HttpRequest&, int n) -> std::optional<HttpResponse> {
    if (n == 1) return Respond(502, "<html>Bad Gateway</html>", {});
    return std::nullopt;
  });
  Use(hubspot.Url());
  std::string id = Start();
  Handoff failed = h_.WaitForState(id, "failed", 1);
  EXPECT_EQ(failed.last_status, 502);
  EXPECT_EQ(failed.next_attempt_at, kHarnessStart + kFirstRetry);
  h_.AdvanceToNextAttempt(id);
  h_.WaitForState(id, "confirmed", 2);
  EXPECT_EQ(Count(hubspot.requests(), "POST", kUpsert), 2);
}

TEST_F(HubSpotContractTest, SilentPortalTimesOutAndIsRetried) {
  testing::SilentListener silent;
  Use(fmt::format("http://127.0.0.1:{}", silent.port()));
  h_.config().destinations[0].timeout = 300 * kMicrosPerMilli;
  Handoff h = h_.WaitForState(Start(), "failed", 1);
  EXPECT_EQ(h.last_status, 0);
  EXPECT_NE(h.last_error.find("transport error"), std::string::npos) << h.last_error;
  EXPECT_EQ(h.next_attempt_at, kHarnessStart + kFirstRetry);
}

TEST_F(HubSpotContractTest, ConnectionResetIsRetried) {
  testing::ResettingListener resetting;
  Use(fmt::format("http://127.0.0.1:{}", resetting.port()));
  Handoff h = h_.WaitForState(Start(), "failed", 1);
  EXPECT_EQ(h.last_status, 0);
  EXPECT_NE(h.last_error.find("transport error"), std::string::npos) << h.last_error;
  EXPECT_GE(resetting.connections(), 1);
}

TEST_F(HubSpotContractTest, ValidationErrorIsDeadWithoutPersonalData) {
  FakeHubSpot hubspot([](const HttpRequest&, int) {
    return Respond(
        400, R"({"status":"error","message":"Property values were not valid: dana+1@example.com",
        "correlationId":"c-3","category":"VALIDATION_ERROR"})");
  });
  Use(hubspot.Url());
  Handoff h = h_.WaitForState(Start(), "dead", 1);
  EXPECT_EQ(h.last_status, 400);
  EXPECT_NE(h.last_error.find("VALIDATION_ERROR"), std::string::npos) << h.last_error;
  EXPECT_EQ(h.last_error.find("example.com"), std::string::npos) << h.last_error;
  EXPECT_EQ(hubspot.requests().size(), 1u);
}

TEST_F(HubSpotContractTest, PartialBatchUpsertWithoutAResultIsDead) {
  FakeHubSpot hubspot([](const HttpRequest& r, int) -> std::optional<HttpResponse> {
    if (r.path != kUpsert) return std::nullopt;
    return Respond(207, R"({"status":"COMPLETE","results":[],"numErrors":1,"errors":[
        {"status":"error","category":"VALIDATION_ERROR","message":"Email address dana+1@example.com is invalid",
         "context":{}}],"startedAt":"x","completedAt":"y"})");
  });
  Use(hubspot.Url());
  Handoff h = h_.WaitForState(Start(), "dead", 1);
  EXPECT_EQ(h.last_status, 207);
  EXPECT_EQ(h.last_error, "contact: HubSpot VALIDATION_ERROR (HTTP 207)");
  EXPECT_EQ(Count(hubspot.requests(), "POST", kNotes), 0);
}

TEST_F(HubSpotContractTest, MissingScopeIsDead) {
  FakeHubSpot hubspot([](const HttpRequest&, int) {
    return Respond(
        403, R"({"status":"error","message":"This app hasn't been granted all required scopes",
        "category":"MISSING_SCOPES"})");
  });
  Use(hubspot.Url());
  Handoff h = h_.WaitForState(Start(), "dead", 1);
  EXPECT_NE(h.last_error.find("MISSING_SCOPES"), std::string::npos) << h.last_error;
}

}  // namespace
}  // namespace handoff
