// The pipedrive connector through the real dispatcher against a loopback Pipedrive that checks
// every request against ../shared/formats/README.md B2 and answers as Pipedrive documents.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "fmt/format.h"
#include "http/url_encoding.h"
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

constexpr const char* kPipedriveToken = "pd-0123456789abcdef";
constexpr const char* kLeadId = "adf21080-0e10-11eb-879b-05d71fb426ec";

std::string QueryParam(const HttpRequest& r, const std::string& name) {
  auto params = ParseUrlEncoded(r.query);
  if (!params) return "";
  for (const auto& [k, v] : *params) {
    if (k == name) return v;
  }
  return "";
}

// What Pipedrive would refuse, or "" for a request it takes.
std::string PipedriveViolation(const HttpRequest& r) {
  if (QueryParam(r, "api_token") != kPipedriveToken) return "api_token";
  if (r.path == "/persons/search") {
    if (r.method != "GET") return "search method";
    if (QueryParam(r, "term").size() < 2) return "term";
    std::string fields = QueryParam(r, "fields");
    if (fields != "email" && fields != "phone") return "fields";
    return QueryParam(r, "exact_matching") == "true" ? "" : "exact_matching";
  }
  if (r.method != "POST") return "method " + r.method;
  if (!HeaderOf(r, "content-type").starts_with("application/json")) return "content type";
  nlohmann::json b = BodyOf(r);
  if (!b.is_object()) return "body is not a JSON object";
  if (r.path == "/persons") {
    if (!b["name"].is_string() || b["name"] == "") return "name";
    for (const char* list : {"email", "phone"}) {
      if (b.contains(list) && (!b[list].is_array() || !b[list][0]["value"].is_string())) {
        return list;
      }
    }
    return "";
  }
  if (r.path == "/leads" || r.path == "/deals") {
    if (!b["title"].is_string()) return "title";
    return b["person_id"].is_number_integer() ? "" : "person_id";
  }
  if (r.path == "/activities") {
    if (!b["subject"].is_string() || !b["type"].is_string()) return "subject/type";
    if (!b["person_id"].is_number_integer()) return "person_id";
    if (!b["lead_id"].is_string() && !b["deal_id"].is_number_integer()) return "lead_id/deal_id";
    if (b.contains("due_date") && b["due_date"].get<std::string>().size() != 10) return "due_date";
    if (b.contains("due_time") && b["due_time"].get<std::string>().size() != 5) return "due_time";
    return "";
  }
  return "unknown path " + r.path;
}

// A loopback Pipedrive company. The search finds person 4321 when `known_person`; `fault` may
// answer a request instead.
class FakePipedrive {
 public:
  using Fault = std::function<std::optional<HttpResponse>(const HttpRequest&, int n)>;
  explicit FakePipedrive(bool known_person, Fault fault = nullptr)
      : server_([known_person, fault](const HttpRequest& r, int n) -> HttpResponse {
          if (fault) {
            if (auto answer = fault(r, n)) return *answer;
          }
          std::string violation = PipedriveViolation(r);
          if (!violation.empty()) {
            ADD_FAILURE() << "Pipedrive contract violation on " << r.path << ": " << violation;
            return Respond(400, R"({"success":false,"error":"Bad request","data":null})");
          }
          if (r.path == "/persons/search") {
            return Respond(200, known_person ? R"({"success":true,"data":{"items":[
                {"result_score":1.2,"item":{"id":4321,"type":"person","name":"Dana Roe"}}]},
                "additional_data":{"pagination":{"start":0,"limit":100}}})"
                                             : R"({"success":true,"data":{"items":[]}})");
          }
          if (r.path == "/persons") return Respond(201, R"({"success":true,"data":{"id":4322}})");
          if (r.path == "/leads") {
            return Respond(201, fmt::format(R"({{"success":true,"data":{{"id":"{}"}}}})", kLeadId));
          }
          if (r.path == "/deals") return Respond(201, R"({"success":true,"data":{"id":99}})");
          return Respond(201, R"({"success":true,"data":{"id":555}})");
        }) {}

  std::string Url() const { return server_.Url(""); }
  std::vector<HttpRequest> requests() const { return server_.requests(); }

 private:
  testing::ContractServer server_;
};

class PipedriveContractTest : public ::testing::Test {
 protected:
  void Use(const std::string& base_url, nlohmann::json extra = nlohmann::json::object()) {
    nlohmann::json settings = {{"api_token", kPipedriveToken}, {"owner_ids", {{"ana", 77}}}};
    settings.update(extra);
    h_.config().destinations = {crm_contract::Destination("pipedrive", base_url, settings)};
  }
  std::string Start() {
    std::string id = h_.AddInquiry({"crm"})[0];
    h_.Start();
    return id;
  }

  testing::DeliveryHarness h_;
};

TEST_F(PipedriveContractTest, KnownPersonGetsALeadAndAnActivity) {
  FakePipedrive pipedrive(/*known_person=*/true);
  Use(pipedrive.Url());
  Handoff done = h_.WaitForState(Start(), "confirmed", 1);
  EXPECT_EQ(done.remote_id, fmt::format("person:4321 lead:{} activity:555", kLeadId));
  auto requests = pipedrive.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(QueryParam(requests[0], "term"), "dana+1@example.com");
  EXPECT_EQ(Count(requests, "POST", "/persons"), 0);
  EXPECT_EQ(BodyOf(requests[1])["owner_id"], 77);
  nlohmann::json activity = BodyOf(requests[2]);
  EXPECT_EQ(activity["lead_id"], kLeadId);
  EXPECT_EQ(activity["person_id"], 4321);
  EXPECT_EQ(activity["due_date"], "2026-01-01");
  EXPECT_EQ(activity["due_time"], "00:05");
  EXPECT_EQ(activity["user_id"], 77);
}

TEST_F(PipedriveContractTest, NewPersonIsCreatedThenADeal) {
  FakePipedrive pipedrive(/*known_person=*/false);
  Use(pipedrive.Url(), {{"create", "deal"}});
  Handoff done = h_.WaitForState(Start(), "confirmed", 1);
  EXPECT_EQ(done.remote_id, "person:4322 deal:99 activity:555");
  auto requests = pipedrive.requests();
  EXPECT_EQ(Count(requests, "GET", "/persons/search"), 1);
  EXPECT_EQ(Count(requests, "POST", "/persons"), 1);
  EXPECT_EQ(Count(requests, "POST", "/deals"), 1);
  EXPECT_EQ(Count(requests, "POST", "/activities"), 1);
}

TEST_F(PipedriveContractTest, FailedLeadIsRetriedWithoutASecondPerson) {
  FakePipedrive pipedrive(/*known_person=*/false,
                          [](const HttpRequest& r, int n) -> std::optional<HttpResponse> {
                            // Requests: 1 search, 2 person, 3 the first lead.
                            if (r.path == "/leads" && n == 3) {
                              return Respond(500, R"({"success":false,"error":"Internal"})");
                            }
                            return std::nullopt;
                          });
  Use(pipedrive.Url());
  std::string id = Start();
  Handoff failed = h_.WaitForState(id, "failed", 1);
  EXPECT_EQ(failed.last_status, 500);
  h_.AdvanceToNextAttempt(id);
  Handoff done = h_.WaitForState(id, "confirmed", 2);
  EXPECT_EQ(done.remote_id, fmt::format("person:4322 lead:{} activity:555", kLeadId));
  auto requests = pipedrive.requests();
  EXPECT_EQ(Count(requests, "GET", "/persons/search"), 1);
  EXPECT_EQ(Count(requests, "POST", "/persons"), 1);
  EXPECT_EQ(Count(requests, "POST", "/leads"), 2);
  EXPECT_EQ(Count(requests, "POST", "/activities"), 1);
}

TEST_F(PipedriveContractTest, PersonCreatedButAnswerLostIsFoundNotDuplicated) {
  // The first POST /persons creates the person but its answer is lost (a gateway timeout);
  // from then on the search finds it.
  auto created = std::make_shared<std::atomic<bool>>(false);
  FakePipedrive pipedrive(
      /*known_person=*/false, [created](const HttpRequest& r, int) -> std::optional<HttpResponse> {
        if (r.method == "POST" && r.path == "/persons") {
          EXPECT_FALSE(created->exchange(true)) << "the person was created twice";
          return Respond(504, "<html>Gateway Time-out</html>");
        }
        if (r.path == "/persons/search" && *created) {
          return Respond(200, R"({"success":true,"data":{"items":[{"result_score":1,
              "item":{"id":4322,"type":"person","name":"Dana Roe"}}]}})");
        }
        return std::nullopt;
      });
  Use(pipedrive.Url());
  std::string id = Start();
  Handoff failed = h_.WaitForState(id, "failed", 1);
  EXPECT_EQ(failed.last_status, 504);
  h_.AdvanceToNextAttempt(id);
  Handoff done = h_.WaitForState(id, "confirmed", 2);
  EXPECT_EQ(done.remote_id, fmt::format("person:4322 lead:{} activity:555", kLeadId));
  auto requests = pipedrive.requests();
  EXPECT_EQ(Count(requests, "GET", "/persons/search"), 2);
  EXPECT_EQ(Count(requests, "POST", "/persons"), 1);
  EXPECT_EQ(Count(requests, "POST", "/leads"), 1);
}

TEST_F(PipedriveContractTest, RateLimitResetHeaderSetsTheWait) {
  FakePipedrive pipedrive(true, [](const HttpRequest&, int n) -> std::optional<HttpResponse> {
    if (n == 1) {
      return Respond(429, R"({"success":false,"error":"Request over limit","data":null})",
                     {{"x-ratelimit-limit", "40"},
                      {"x-ratelimit-remaining", "0"},
                      {"x-ratelimit-reset", "20"}});
    }
    return Respond(429, R"({"success":false,"error":"Rate limit exceeded"})", {});
  });
  Use(pipedrive.Url());
  std::string id = Start();
  Handoff first = h_.WaitForState(id, "failed", 1);
  EXPECT_EQ(first.last_status, 429);
  EXPECT_EQ(first.next_attempt_at, kHarnessStart + 20 * kMicrosPerSecond);
  // Without any header the dispatcher's schedule decides (4 s before the third attempt).
  h_.AdvanceToNextAttempt(id);
  Handoff second = h_.WaitForState(id, "failed", 2);
  EXPECT_EQ(second.next_attempt_at, first.next_attempt_at + 4 * kMicrosPerSecond);
}

TEST_F(PipedriveContractTest, RetryAfterIsHonoured) {
  FakePipedrive pipedrive(true, [](const HttpRequest&, int) -> std::optional<HttpResponse> {
    return Respond(429, R"({"success":false})", {{"Retry-After", "45"}});
  });
  Use(pipedrive.Url());
  Handoff h = h_.WaitForState(Start(), "failed", 1);
  EXPECT_EQ(h.next_attempt_at, kHarnessStart + 45 * kMicrosPerSecond);
}

TEST_F(PipedriveContractTest, ServerErrorIsRetried) {
  FakePipedrive pipedrive(true, [](const HttpRequest&, int n) -> std::optional<HttpResponse> {
    if (n == 1) return Respond(503, "<html>unavailable</html>");
    return std::nullopt;
  });
  Use(pipedrive.Url());
  std::string id = Start();
  Handoff failed = h_.WaitForState(id, "failed", 1);
  EXPECT_EQ(failed.next_attempt_at, kHarnessStart + kFirstRetry);
  h_.AdvanceToNextAttempt(id);
  h_.WaitForState(id, "confirmed", 2);
}

TEST_F(PipedriveContractTest, SilentServerTimesOutAndIsRetried) {
  testing::SilentListener silent;
  Use(fmt::format("http://127.0.0.1:{}", silent.port()));
  h_.config().destinations[0].timeout = 300 * kMicrosPerMilli;
  Handoff h = h_.WaitForState(Start(), "failed", 1);
  EXPECT_EQ(h.last_status, 0);
  EXPECT_EQ(h.next_attempt_at, kHarnessStart + kFirstRetry);
}

TEST_F(PipedriveContractTest, ConnectionResetIsRetried) {
  testing::ResettingListener resetting;
  Use(fmt::format("http://127.0.0.1:{}", resetting.port()));
  Handoff h = h_.WaitForState(Start(), "failed", 1);
  EXPECT_NE(h.last_error.find("transport error"), std::string::npos) << h.last_error;
}

TEST_F(PipedriveContractTest, FeatureCappingIsDead) {
  FakePipedrive pipedrive(true, [](const HttpRequest&, int) -> std::optional<HttpResponse> {
    return Respond(402, R"({"success":false,"error":"You have reached the limit of open deals",
                            "code":"feature_capping_deals_limit","data":null})");
  });
  Use(pipedrive.Url());
  Handoff h = h_.WaitForState(Start(), "dead", 1);
  EXPECT_EQ(h.last_status, 402);
  EXPECT_NE(h.last_error.find("feature_capping_deals_limit"), std::string::npos) << h.last_error;
}

TEST_F(PipedriveContractTest, BadTokenIsDead) {
  FakePipedrive pipedrive(true, [](const HttpRequest&, int) -> std::optional<HttpResponse> {
    return Respond(401, R"({"success":false,"error":"unauthorized access","errorCode":401})");
  });
  Use(pipedrive.Url());
  Handoff h = h_.WaitForState(Start(), "dead", 1);
  EXPECT_EQ(h.last_status, 401);
  EXPECT_EQ(pipedrive.requests().size(), 1u);
}

}  // namespace
}  // namespace handoff
