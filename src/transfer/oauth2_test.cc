// OAuth2 through the real dispatcher: a loopback token endpoint and a loopback API that checks
// the bearer token, per RFC 6749 (client credentials, refresh token) and RFC 7523 (JWT bearer).
#include "transfer/oauth2.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <map>

#include "core/base64.h"
#include "http/url_encoding.h"
#include "nlohmann/json.hpp"
#include "tests/support/delivery_harness.h"

namespace handoff {
namespace {

using testing::ContractServer;
using testing::DeliveryHarness;
using testing::HeaderOf;
using testing::Respond;

std::map<std::string, std::string> Form(const std::string& body) {
  std::map<std::string, std::string> out;
  auto pairs = ParseUrlEncoded(body);
  EXPECT_TRUE(pairs.has_value()) << body;
  if (pairs) {
    for (auto& [k, v] : *pairs) out[k] = v;
  }
  return out;
}

// Sends "Authorization: Bearer <token>" to the destination's url; 2xx confirms.
class BearerConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override {
    if (!ctx.access_token) return absl::FailedPreconditionError("no access token");
    OutboundRequest r;
    r.url = ctx.destination.url;
    if (!ctx.access_token->instance_url.empty()) r.url = ctx.access_token->instance_url + "/api";
    r.headers = {{"Authorization", "Bearer " + ctx.access_token->token}};
    r.body = "{}";
    return r;
  }
  DeliveryOutcome Classify(const DeliveryContext& ctx, int status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string&) const override {
    return ClassifyHttpStatus(status, headers, ctx.now);
  }
};

class OAuth2Test : public ::testing::Test {
 protected:
  OAuth2Test() {
    h_.registry().Register(
        ConnectorSpec{.name = "bearer",
                      .note = "test",
                      .settings = {},
                      .default_token_url = "",
                      .token_basic_auth = false,
                      .make = [] { return std::make_unique<BearerConnector>(); }});
    // A service that wants the client credentials as HTTP Basic (Pipedrive).
    h_.registry().Register(
        ConnectorSpec{.name = "bearer_basic",
                      .note = "test",
                      .settings = {},
                      .default_token_url = "",
                      .token_basic_auth = true,
                      .make = [] { return std::make_unique<BearerConnector>(); }});
  }
  DestinationConfig Destination(const std::string& api_url, const std::string& token_url) {
    DestinationConfig d;
    d.name = "crm";
    d.connector = "bearer";
    d.url = api_url;
    d.allow_private = true;
    d.retry = {10 * kMicrosPerSecond, 20 * kMicrosPerSecond};
    d.oauth2.grant = "client_credentials";
    d.oauth2.token_url = token_url;
    d.oauth2.client_id = "client-1";
    d.oauth2.client_secret = "s3cret";
    d.oauth2.scope = "crm.objects.contacts.write";
    return d;
  }
  // The bearer tokens the API saw, in order.
  static std::vector<std::string> Bearers(const ContractServer& api) {
    std::vector<std::string> out;
    for (const HttpRequest& r : api.requests()) out.push_back(HeaderOf(r, "authorization"));
    return out;
  }
  DeliveryHarness h_;
};

std::string TokenJson(const std::string& token, int expires_in = 3600) {
  return nlohmann::json{
      {"access_token", token}, {"token_type", "Bearer"}, {"expires_in", expires_in}}
      .dump();
}

TEST_F(OAuth2Test, ClientCredentialsTokenIsFetchedOnceAndReused) {
  ContractServer auth([](const HttpRequest&, int) { return Respond(200, TokenJson("tok1")); });
  ContractServer api([](const HttpRequest&, int) { return Respond(200); });
  h_.config().destinations = {Destination(api.Url("/api"), auth.Url("/token"))};
  auto first = h_.AddInquiry({"crm"});
  auto second = h_.AddInquiry({"crm"});
  h_.Start();
  h_.WaitForState(first[0], "confirmed", 1);
  h_.WaitForState(second[0], "confirmed", 1);

  auto token_requests = auth.requests();
  ASSERT_EQ(token_requests.size(), 1u) << "the cached token serves both deliveries";
  const HttpRequest& r = token_requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/x-www-form-urlencoded");
  auto form = Form(r.body);
  EXPECT_EQ(form["grant_type"], "client_credentials");
  EXPECT_EQ(form["client_id"], "client-1");
  EXPECT_EQ(form["client_secret"], "s3cret");
  EXPECT_EQ(form["scope"], "crm.objects.contacts.write");
  EXPECT_EQ(Bearers(api), (std::vector<std::string>{"Bearer tok1", "Bearer tok1"}));
}

TEST_F(OAuth2Test, ABasicAuthServiceGetsTheClientCredentialsInTheHeaderOnly) {
  ContractServer auth([](const HttpRequest&, int) { return Respond(200, TokenJson("tok-b")); });
  ContractServer api([](const HttpRequest&, int) { return Respond(200); });
  DestinationConfig d = Destination(api.Url("/api"), auth.Url("/token"));
  d.connector = "bearer_basic";
  d.oauth2.grant = "refresh_token";
  d.oauth2.refresh_token = "rt-1";
  d.oauth2.client_secret = "s3cret:with/odd&chars";
  h_.config().destinations = {d};
  auto first = h_.AddInquiry({"crm"});
  h_.Start();
  h_.WaitForState(first[0], "confirmed", 1);
  auto requests = auth.requests();
  ASSERT_EQ(requests.size(), 1u);
  // base64("client-1:s3cret%3Awith%2Fodd%26chars"): id and secret form-encoded first.
  EXPECT_EQ(HeaderOf(requests[0], "authorization"),
            "Basic Y2xpZW50LTE6czNjcmV0JTNBd2l0aCUyRm9kZCUyNmNoYXJz");
  auto form = Form(requests[0].body);
  EXPECT_EQ(form["grant_type"], "refresh_token");
  EXPECT_EQ(form["refresh_token"], "rt-1");
  EXPECT_FALSE(form.contains("client_id"));
  EXPECT_FALSE(form.contains("client_secret"));
  EXPECT_EQ(Bearers(api), std::vector<std::string>{"Bearer tok-b"});
}

TEST_F(OAuth2Test, A401FetchesAFreshTokenAndRetriesOnce) {
  ContractServer auth(
      [](const HttpRequest&, int n) { return Respond(200, TokenJson(n == 1 ? "old" : "new")); });
  ContractServer api([](const HttpRequest& r, int) {
    return Respond(HeaderOf(r, "authorization") == "Bearer new" ? 201 : 401);
  });
  h_.config().destinations = {Destination(api.Url("/api"), auth.Url("/token"))};
  auto ids = h_.AddInquiry({"crm"});
  h_.Start();
  Handoff done = h_.WaitForState(ids[0], "confirmed", 1);
  EXPECT_EQ(done.last_status, 201);
  EXPECT_EQ(Bearers(api), (std::vector<std::string>{"Bearer old", "Bearer new"}));
  EXPECT_EQ(auth.requests().size(), 2u);
}

TEST_F(OAuth2Test, ASecond401IsTheAnswer) {
  int token = 0;
  ContractServer auth([&](const HttpRequest&, int) {
    return Respond(200, TokenJson("t" + std::to_string(++token)));
  });
  ContractServer api([](const HttpRequest&, int) { return Respond(401); });
  h_.config().destinations = {Destination(api.Url("/api"), auth.Url("/token"))};
  auto ids = h_.AddInquiry({"crm"});
  h_.Start();
  Handoff dead = h_.WaitForState(ids[0], "dead", 1);
  EXPECT_EQ(dead.last_status, 401);
  EXPECT_EQ(api.requests().size(), 2u) << "one retry with a fresh token, no more";
}

TEST_F(OAuth2Test, ARefusedTokenRequestIsARetryableFailureNamingTheError) {
  ContractServer auth([](const HttpRequest&, int) {
    return Respond(400, R"({"error":"invalid_client","error_description":"bad secret s3cret"})");
  });
  ContractServer api([](const HttpRequest&, int) { return Respond(200); });
  h_.config().destinations = {Destination(api.Url("/api"), auth.Url("/token"))};
  auto ids = h_.AddInquiry({"crm"});
  h_.Start();
  Handoff failed = h_.WaitForState(ids[0], "failed", 1);
  EXPECT_NE(failed.last_error.find("invalid_client"), std::string::npos) << failed.last_error;
  EXPECT_EQ(failed.last_error.find("s3cret"), std::string::npos) << "no secret in the reason";
  EXPECT_TRUE(api.requests().empty()) << "nothing is sent without a token";
}

TEST_F(OAuth2Test, AnExpiredTokenIsReplacedBeforeUse) {
  ContractServer auth([](const HttpRequest&, int n) {
    return Respond(200, TokenJson(n == 1 ? "first" : "second", 600));
  });
  ContractServer api([](const HttpRequest&, int) { return Respond(200); });
  h_.config().destinations = {Destination(api.Url("/api"), auth.Url("/token"))};
  auto first = h_.AddInquiry({"crm"});
  h_.Start();
  h_.WaitForState(first[0], "confirmed", 1);
  h_.clock().Advance(601 * kMicrosPerSecond);
  auto second = h_.AddInquiry({"crm"});
  h_.WaitForState(second[0], "confirmed", 1);
  EXPECT_EQ(Bearers(api), (std::vector<std::string>{"Bearer first", "Bearer second"}));
}

TEST_F(OAuth2Test, RefreshTokenGrantUsesTheRotatedRefreshToken) {
  ContractServer auth([](const HttpRequest&, int n) {
    nlohmann::json j = nlohmann::json::parse(TokenJson("a" + std::to_string(n), 600));
    j["refresh_token"] = "rt" + std::to_string(n + 1);
    j["instance_url"] = "";
    return Respond(200, j.dump());
  });
  ContractServer api([](const HttpRequest&, int) { return Respond(200); });
  DestinationConfig d = Destination(api.Url("/api"), auth.Url("/token"));
  d.oauth2.grant = "refresh_token";
  d.oauth2.refresh_token = "rt1";
  h_.config().destinations = {d};
  auto first = h_.AddInquiry({"crm"});
  h_.Start();
  h_.WaitForState(first[0], "confirmed", 1);
  h_.clock().Advance(601 * kMicrosPerSecond);
  auto second = h_.AddInquiry({"crm"});
  h_.WaitForState(second[0], "confirmed", 1);
  auto requests = auth.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(Form(requests[0].body)["grant_type"], "refresh_token");
  EXPECT_EQ(Form(requests[0].body)["refresh_token"], "rt1");
  EXPECT_EQ(Form(requests[1].body)["refresh_token"], "rt2") << "the rotated one is used";
}

TEST_F(OAuth2Test, TheTokenResponsesInstanceUrlIsPassedToTheConnector) {
  ContractServer api([](const HttpRequest&, int) { return Respond(200); });
  ContractServer auth([&](const HttpRequest&, int) {
    nlohmann::json j = nlohmann::json::parse(TokenJson("sf"));
    j["instance_url"] = api.Url("");
    return Respond(200, j.dump());
  });
  h_.config().destinations = {Destination("http://127.0.0.1:1/unused", auth.Url("/token"))};
  auto ids = h_.AddInquiry({"crm"});
  h_.Start();
  h_.WaitForState(ids[0], "confirmed", 1);
  ASSERT_EQ(api.requests().size(), 1u);
  EXPECT_EQ(api.requests()[0].path, "/api");
}

TEST_F(OAuth2Test, PipedrivesApiDomainIsTheTokensInstanceUrl) {
  ContractServer api([](const HttpRequest&, int) { return Respond(200); });
  ContractServer auth([&](const HttpRequest&, int) {
    nlohmann::json j = nlohmann::json::parse(TokenJson("pd"));
    j["api_domain"] = api.Url("");
    return Respond(200, j.dump());
  });
  h_.config().destinations = {Destination("http://127.0.0.1:1/unused", auth.Url("/token"))};
  auto ids = h_.AddInquiry({"crm"});
  h_.Start();
  h_.WaitForState(ids[0], "confirmed", 1);
  ASSERT_EQ(api.requests().size(), 1u);
  EXPECT_EQ(api.requests()[0].path, "/api");
}

std::string NewRsaKeyPem(EVP_PKEY** key_out) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  *key_out = key;
  return pem;
}

bool VerifyRs256(EVP_PKEY* key, const std::string& jwt) {
  size_t dot = jwt.rfind('.');
  std::string input = jwt.substr(0, dot);
  std::string sig_b64 = jwt.substr(dot + 1);
  auto sig = Base64DecodeLenient(sig_b64);
  if (!sig) return false;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  bool ok =
      EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(md);
  return ok;
}

TEST_F(OAuth2Test, JwtBearerGrantSignsAServiceAccountAssertion) {
  EVP_PKEY* key = nullptr;
  std::string pem = NewRsaKeyPem(&key);
  ContractServer auth([](const HttpRequest&, int) { return Respond(200, TokenJson("g1")); });
  ContractServer api([](const HttpRequest&, int) { return Respond(200); });
  DestinationConfig d = Destination(api.Url("/api"), auth.Url("/token"));
  d.oauth2 = OAuth2Config{};
  d.oauth2.grant = "jwt_bearer";
  d.oauth2.token_url = auth.Url("/token");
  d.oauth2.client_email = "handoff@project.iam.gserviceaccount.com";
  // As in a service-account JSON file: newlines escaped.
  std::string escaped;
  for (char c : pem) escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
  d.oauth2.private_key = escaped;
  d.oauth2.scope = "https://www.googleapis.com/auth/spreadsheets";
  h_.config().destinations = {d};
  auto ids = h_.AddInquiry({"crm"});
  h_.Start();
  h_.WaitForState(ids[0], "confirmed", 1);

  ASSERT_EQ(auth.requests().size(), 1u);
  auto form = Form(auth.requests()[0].body);
  EXPECT_EQ(form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
  const std::string& jwt = form["assertion"];
  EXPECT_TRUE(VerifyRs256(key, jwt)) << "the assertion verifies with the account's public key";
  size_t first = jwt.find('.');
  size_t second = jwt.find('.', first + 1);
  auto header = Base64DecodeLenient(jwt.substr(0, first));
  auto claims = Base64DecodeLenient(jwt.substr(first + 1, second - first - 1));
  ASSERT_TRUE(header && claims);
  EXPECT_EQ(nlohmann::json::parse(*header)["alg"], "RS256");
  nlohmann::json c = nlohmann::json::parse(*claims);
  EXPECT_EQ(c["iss"], "handoff@project.iam.gserviceaccount.com");
  EXPECT_EQ(c["aud"], auth.Url("/token"));
  EXPECT_EQ(c["scope"], "https://www.googleapis.com/auth/spreadsheets");
  EXPECT_EQ(c["iat"], testing::kHarnessStart / kMicrosPerSecond);
  EXPECT_EQ(c["exp"], c["iat"].get<int64_t>() + 3600);
  EVP_PKEY_free(key);
}

TEST(ServiceAccountAssertionTest, RejectsAKeyThatIsNotPem) {
  OAuth2Config o;
  o.grant = "jwt_bearer";
  o.client_email = "x@y";
  o.private_key = "not a key";
  auto jwt = ServiceAccountAssertion(o, "https://oauth2.googleapis.com/token", 0);
  EXPECT_FALSE(jwt.ok());
  EXPECT_NE(jwt.status().message().find("PEM RSA"), std::string::npos);
}

TEST_F(OAuth2Test, TheTokenEndpointIsSubjectToTheSsrfGuard) {
  ContractServer auth([](const HttpRequest&, int) { return Respond(200, TokenJson("x")); });
  ContractServer api([](const HttpRequest&, int) { return Respond(200); });
  DestinationConfig d = Destination(api.Url("/api"), auth.Url("/token"));
  d.allow_private = false;
  h_.config().destinations = {d};
  auto ids = h_.AddInquiry({"crm"});
  h_.Start();
  Handoff failed = h_.WaitForState(ids[0], "failed", 1);
  EXPECT_NE(failed.last_error.find("loopback"), std::string::npos) << failed.last_error;
  EXPECT_TRUE(auth.requests().empty());
}

}  // namespace
}  // namespace handoff
