#include "entry/sources/meta_leads/meta_leads_adapter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>

#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "http/http_server.h"

namespace handoff {
namespace {

constexpr char kAppSecret[] = "meta_app_secret_current_0001";
constexpr char kOldAppSecret[] = "meta_app_secret_previous_0002";
constexpr char kVerifyToken[] = "meta-verify-token-0123456789";
constexpr char kPageToken[] = "EAAGm0PX4ZCpsBA-page+token/secret=";

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Sign(const std::string& secret, const std::string& body) {
  return "sha256=" + HexEncode(HmacSha256(secret, body));
}

HttpRequest Post(std::string body, std::vector<std::pair<std::string, std::string>> extra = {}) {
  HttpRequest r;
  r.method = "POST";
  r.path = r.target = "/in/facebook";
  r.headers = {{"content-type", "application/json"}};
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  return r;
}

HttpRequest Signed(const std::string& body, const std::string& secret = kAppSecret) {
  return Post(body, {{"x-hub-signature-256", Sign(secret, body)}});
}

HttpRequest Get(std::string query) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/in/facebook";
  r.query = std::move(query);
  r.target = r.path + "?" + r.query;
  return r;
}

class MetaLeadsAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterMetaLeadsSource(registry_);
    adapter_ = registry_.Find("meta_leads");
    ASSERT_NE(adapter_, nullptr);
    source_.name = "facebook";
    source_.adapter = "meta_leads";
    source_.auth.hmac_secrets = {kAppSecret, kOldAppSecret};
    source_.settings["verify_token"] = kVerifyToken;
    source_.settings["access_token"] = kPageToken;
  }
  SourceAdapterRegistry registry_;
  const SourceAdapter* adapter_ = nullptr;
  SourceConfig source_;
};

TEST_F(MetaLeadsAdapterTest, TakesGetAndPost) {
  const SourceAdapterSpec* spec = registry_.FindSpec("meta_leads");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->methods, (std::vector<std::string>{"GET", "POST"}));
}

TEST_F(MetaLeadsAdapterTest, TheSubscriptionHandshakeEchoesTheChallenge) {
  HttpRequest r = Get(std::string("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=") +
                      kVerifyToken);
  ASSERT_TRUE(adapter_->Verify(source_, r, 0).ok());
  auto d = adapter_->Parse(source_, r);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->store);
  ASSERT_TRUE(d->reply.has_value());
  EXPECT_EQ(d->reply->status, 200);
  EXPECT_EQ(d->reply->content_type, "text/plain");
  EXPECT_EQ(d->reply->body, "1158201444");
}

TEST_F(MetaLeadsAdapterTest, AHandshakeWithTheWrongTokenIsRefused) {
  struct Case {
    const char* name;
    std::string query;
  };
  const std::vector<Case> cases = {
      {"wrong token", "hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess-0123456789"},
      {"no token", "hub.mode=subscribe&hub.challenge=1"},
      {"wrong mode",
       std::string("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=") + kVerifyToken},
      {"token prefix", "hub.mode=subscribe&hub.challenge=1&hub.verify_token=meta-verify"},
  };
  for (const Case& c : cases) {
    absl::Status s = adapter_->Verify(source_, Get(c.query), 0);
    EXPECT_EQ(RejectionHttpStatus(s), 401) << c.name;
    EXPECT_EQ(RejectionCode(s), "bad_credentials") << c.name;
  }
  source_.settings.erase("verify_token");
  EXPECT_EQ(RejectionCode(adapter_->Verify(
                source_, Get("hub.mode=subscribe&hub.challenge=1&hub.verify_token="), 0)),
            "bad_credentials")
      << "no configured token matches nothing, not the empty string";
  // A challenge that is not a plain token is not echoed.
  source_.settings["verify_token"] = kVerifyToken;
  auto d = adapter_->Parse(source_, Get("hub.mode=subscribe&hub.challenge=%3Cscript%3E"));
  EXPECT_EQ(RejectionCode(d.status()), "invalid_field");
}

TEST_F(MetaLeadsAdapterTest, ALeadgenChangeAwaitsItsContext) {
  const std::string body = Testdata("leadgen.json");
  HttpRequest r = Signed(body);
  ASSERT_TRUE(adapter_->Verify(source_, r, 0).ok());
  auto d = adapter_->Parse(source_, r);
  ASSERT_TRUE(d.ok()) << d.status();
  const Inquiry& in = d->inquiry;
  EXPECT_EQ(in.status, kAwaitingContext);
  EXPECT_EQ(in.channel, Channel::kForm);
  EXPECT_EQ(in.received.name, "") << "the webhook carries no PII";
  EXPECT_EQ(in.fields["leadgen_id"], "1234567890123456");
  EXPECT_EQ(in.fields["page_id"], "104738291045561");
  EXPECT_EQ(in.fields["form_id"], "987654321012345");
  EXPECT_EQ(in.fields["ad_id"], "120210000000000111");
  EXPECT_EQ(in.fields["kind"], "lead_ad");
  EXPECT_EQ(in.occurred_at, 1'772'479'990LL * kMicrosPerSecond);
  EXPECT_EQ(in.provider_event_id, "1234567890123456");
  EXPECT_EQ(d->dedupe_key, "leadgen:1234567890123456");
  EXPECT_EQ(in.raw_payload, body);
  EXPECT_TRUE(d->batch.empty());
}

TEST_F(MetaLeadsAdapterTest, ABatchOfChangesGivesOneDeliveryPerLead) {
  auto d = adapter_->Parse(source_, Signed(Testdata("leadgen_batch.json")));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->dedupe_key, "leadgen:2234567890123456");
  ASSERT_EQ(d->batch.size(), 1u) << "the feed change is not a lead";
  EXPECT_EQ(d->batch[0].dedupe_key, "leadgen:3234567890123456") << "a numeric id works too";
  EXPECT_EQ(d->batch[0].inquiry.status, kAwaitingContext);
}

TEST_F(MetaLeadsAdapterTest, DeliveriesWithoutLeadsAreIgnoredAndBadOnesRejected) {
  struct Case {
    const char* body;
    const char* code;
  };
  const Case cases[] = {
      {R"({"object":"instagram","entry":[]})", "ignored"},
      {R"({"object":"page","entry":[{"changes":[{"field":"feed","value":{}}]}]})", "ignored"},
      {R"({"object":"page","entry":[]})", "ignored"},
      {R"({"object":"page"})", "missing_field"},
      {R"({"object":"page","entry":[{"changes":[{"field":"leadgen","value":{}}]}]})",
       "missing_field"},
      {R"({"object":"page","entry":[{"changes":[{"field":"leadgen","value":{"leadgen_id":"../x"}}]}]})",
       "invalid_field"},
      {R"({"object":"page","entry":[{"changes":[{"field":"leadgen"}]}]})", "missing_field"},
      {R"({"object":"page","entry":[)", "malformed_body"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RejectionCode(adapter_->Parse(source_, Post(c.body)).status()), c.code) << c.body;
  }
}

TEST_F(MetaLeadsAdapterTest, SignatureFailures) {
  const std::string body = Testdata("leadgen.json");
  const std::string good = Sign(kAppSecret, body);
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  const std::vector<Case> cases = {
      {"missing", {}},
      {"legacy sha1 only", {{"x-hub-signature", "sha1=" + HexEncode(HmacSha1(kAppSecret, body))}}},
      {"wrong body", {{"x-hub-signature-256", Sign(kAppSecret, body + " ")}}},
      {"wrong secret", {{"x-hub-signature-256", Sign("another-app-secret-00000", body)}}},
      {"malformed", {{"x-hub-signature-256", "sha256=xyz"}}},
      {"truncated", {{"x-hub-signature-256", good.substr(0, 30)}}},
  };
  for (const Case& c : cases) {
    absl::Status s = adapter_->Verify(source_, Post(body, c.headers), 0);
    EXPECT_EQ(RejectionCode(s), "bad_credentials") << c.name << ": " << s;
  }
  EXPECT_TRUE(adapter_->Verify(source_, Signed(body, kOldAppSecret), 0).ok()) << "rotation";
}

// A Graph API stand-in on loopback: records each request target and answers from a script.
class FakeGraph {
 public:
  using Script = std::function<HttpResponse(int n, const HttpRequest& request)>;
  explicit FakeGraph(Script script) : script_(std::move(script)) {
    auto server = HttpServer::Start({}, [this](HttpRequest&& request, HttpResponder respond) {
      int n;
      {
        std::lock_guard lock(mu_);
        n = static_cast<int>(targets_.size());
        targets_.push_back(request.path + "?" + request.query);
      }
      respond(script_(n, request));
    });
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mu_);
    return targets_;
  }

 private:
  Script script_;
  mutable std::mutex mu_;
  std::vector<std::string> targets_;
  std::unique_ptr<HttpServer> server_;
};

class MetaFetchTest : public MetaLeadsAdapterTest {
 protected:
  Inquiry AwaitingLead() {
    auto d = adapter_->Parse(source_, Signed(Testdata("leadgen.json")));
    EXPECT_TRUE(d.ok()) << d.status();
    return d->inquiry;
  }
  void PointAt(const FakeGraph& graph) {
    source_.settings["graph_base"] = graph.base();
    source_.settings["allow_private"] = true;
  }
};

TEST_F(MetaFetchTest, FetchesTheLeadsAnswersFromTheGraphApi) {
  FakeGraph graph(
      [](int, const HttpRequest&) { return HttpResponse::Json(200, Testdata("graph_lead.json")); });
  PointAt(graph);
  Inquiry in = AwaitingLead();
  ASSERT_TRUE(adapter_->FetchContext(source_, in).ok());

  ASSERT_EQ(graph.targets().size(), 1u);
  EXPECT_EQ(graph.targets()[0],
            "/v21.0/1234567890123456?fields=id,created_time,ad_id,form_id,field_data,is_organic,"
            "platform&access_token=EAAGm0PX4ZCpsBA-page%2Btoken%2Fsecret%3D");
  EXPECT_EQ(in.received.name, "Jordan Reyes");
  EXPECT_EQ(in.received.email, "jordan.reyes@example.com");
  EXPECT_EQ(in.received.phone, "+14155550188");
  EXPECT_EQ(in.fields["postcode"], "94607");
  EXPECT_EQ(in.fields["city"], "Oakland");
  EXPECT_EQ(in.location, "Oakland");
  EXPECT_EQ(in.fields["what_service_do_you_need?"], "Water heater replacement");
  EXPECT_EQ(in.fields["platform"], "fb");
  EXPECT_EQ(in.fields["is_organic"], false);
  EXPECT_EQ(in.fields["leadgen_id"], "1234567890123456") << "the webhook's ids stay";
  EXPECT_EQ(in.message,
            "what_service_do_you_need?: Water heater replacement\n"
            "when_is_best_to_call?: Weekday mornings");
}

TEST_F(MetaFetchTest, FullNameAndACustomQuestionNamedLikeAnId) {
  FakeGraph graph([](int, const HttpRequest&) {
    return HttpResponse::Json(200, R"({"id":"1","field_data":[
        {"name":"full_name","values":["Lee Chan"]},
        {"name":"leadgen_id","values":["spoof"]},
        {"name":"first_name","values":["Ignored"]}]})");
  });
  PointAt(graph);
  Inquiry in = AwaitingLead();
  ASSERT_TRUE(adapter_->FetchContext(source_, in).ok());
  EXPECT_EQ(in.received.name, "Lee Chan");
  EXPECT_EQ(in.fields["leadgen_id"], "1234567890123456");
}

TEST_F(MetaFetchTest, ClassifiesFailuresForRetry) {
  struct Case {
    const char* name;
    int status;
    const char* body;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {"server error", 500, R"({"error":{"message":"An unknown error occurred","code":1}})",
       absl::StatusCode::kUnavailable},
      {"bad gateway, no JSON", 502, "<html>bad gateway</html>", absl::StatusCode::kUnavailable},
      {"too many requests", 429, "{}", absl::StatusCode::kUnavailable},
      {"lead retrieval rate limit", 400,
       R"({"error":{"message":"Rate limit reached","type":"OAuthException","code":80005}})",
       absl::StatusCode::kUnavailable},
      {"expired token", 400,
       R"({"error":{"message":"Error validating access token","type":"OAuthException","code":190}})",
       absl::StatusCode::kPermissionDenied},
      {"missing permission", 403,
       R"({"error":{"message":"(#200) Requires leads_retrieval permission","code":200}})",
       absl::StatusCode::kPermissionDenied},
      {"unknown lead", 400,
       R"({"error":{"message":"Unsupported get request","type":"GraphMethodException","code":100}})",
       absl::StatusCode::kNotFound},
  };
  for (const Case& c : cases) {
    FakeGraph graph([&c](int, const HttpRequest&) {
      HttpResponse r = HttpResponse::Json(c.status, c.body);
      return r;
    });
    PointAt(graph);
    Inquiry in = AwaitingLead();
    absl::Status s = adapter_->FetchContext(source_, in);
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s;
    EXPECT_EQ(std::string(s.message()).find("page+token"), std::string::npos) << c.name;
    EXPECT_EQ(in.received.name, "") << c.name;
  }
}

TEST_F(MetaFetchTest, ARetryableFailureThenSuccess) {
  FakeGraph graph([](int n, const HttpRequest&) {
    if (n == 0) return HttpResponse::Json(503, R"({"error":{"message":"try later","code":2}})");
    return HttpResponse::Json(200, Testdata("graph_lead.json"));
  });
  PointAt(graph);
  Inquiry in = AwaitingLead();
  absl::Status first = adapter_->FetchContext(source_, in);
  EXPECT_TRUE(absl::IsUnavailable(first)) << first;
  ASSERT_TRUE(adapter_->FetchContext(source_, in).ok());
  EXPECT_EQ(in.received.phone, "+14155550188");
  EXPECT_EQ(graph.targets().size(), 2u);
}

TEST_F(MetaFetchTest, TheTokenNeverAppearsInErrors) {
  // Graph echoing the token back in its message, and a connection failure.
  FakeGraph graph([](int, const HttpRequest& request) {
    return HttpResponse::Json(
        400, nlohmann::json({{"error", {{"message", "bad request " + request.query}, {"code", 1}}}})
                 .dump());
  });
  PointAt(graph);
  Inquiry in = AwaitingLead();
  absl::Status s = adapter_->FetchContext(source_, in);
  ASSERT_FALSE(s.ok());
  const std::string message(s.message());
  EXPECT_EQ(message.find(kPageToken), std::string::npos) << message;
  EXPECT_EQ(message.find("EAAGm0PX4ZCpsBA"), std::string::npos) << message;
  EXPECT_NE(message.find("[redacted]"), std::string::npos) << message;

  source_.settings["graph_base"] = "http://127.0.0.1:1";
  s = adapter_->FetchContext(source_, in);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_EQ(std::string(s.message()).find("EAAGm0PX4ZCpsBA"), std::string::npos) << s;
}

TEST_F(MetaFetchTest, RefusesLoopbackUnlessAllowed) {
  FakeGraph graph(
      [](int, const HttpRequest&) { return HttpResponse::Json(200, Testdata("graph_lead.json")); });
  PointAt(graph);
  source_.settings.erase("allow_private");
  Inquiry in = AwaitingLead();
  absl::Status s = adapter_->FetchContext(source_, in);
  EXPECT_TRUE(absl::IsPermissionDenied(s)) << s;
  EXPECT_NE(std::string(s.message()).find("loopback"), std::string::npos) << s;
  EXPECT_TRUE(graph.targets().empty()) << "no request reached the server";
}

TEST_F(MetaFetchTest, NeedsATokenAndALeadgenId) {
  Inquiry in = AwaitingLead();
  source_.settings.erase("access_token");
  EXPECT_TRUE(absl::IsFailedPrecondition(adapter_->FetchContext(source_, in)));
  source_.settings["access_token"] = kPageToken;
  in.fields.erase("leadgen_id");
  EXPECT_TRUE(absl::IsFailedPrecondition(adapter_->FetchContext(source_, in)));
}

}  // namespace
}  // namespace handoff
