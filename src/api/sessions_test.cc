// Dashboard sign-in, sessions and CSRF through the real ApiHandler on a real SQLite store; the
// password hashing; the CSV export's formula neutralisation; the dashboard's security headers.
#include <future>

#include "api/api_handler.h"
#include "api/dashboard.h"
#include "api/password.h"
#include "core/id.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr Micros kT0 = 1'773'498'725LL * kMicrosPerSecond;
constexpr char kAdmin[] = "admin-token-0123456789";

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(Password, HashesVerifyOnlyTheRightPassword) {
  auto hash = HashPassword("correct horse battery staple");
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_EQ(hash->rfind("scrypt$32768$8$1$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword("correct horse battery staple", *hash));
  EXPECT_FALSE(VerifyPassword("correct horse battery stapl", *hash));
  EXPECT_FALSE(VerifyPassword("", *hash));
  // A fresh salt each time.
  EXPECT_NE(*hash, *HashPassword("correct horse battery staple"));
  // Malformed, or asking for other (costlier) parameters: refused without trying.
  EXPECT_FALSE(VerifyPassword("x", "scrypt$1$2$3"));
  std::string costly = *hash;
  costly.replace(costly.find("$32768$"), 7, "$1048576$");
  EXPECT_FALSE(VerifyPassword("correct horse battery staple", costly));
}

class DashboardApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "acme";
    config_.business.public_url = "https://hooks.acme.example";
    config_.server.admin_token = kAdmin;
    TeamMember maria{"maria", "Maria Lopez", "", "", "", 1};
    maria.password_hash = *HashPassword("maria-password-1");
    config_.team = {maria, TeamMember{"ben", "Ben Cho", "", "", "", 2}};
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    api_ = std::make_unique<ApiHandler>(&config_, store_.get(), &clock_,
                                        [] { return absl::OkStatus(); });
  }
  void TearDown() override { store_->Shutdown(); }

  HttpResponse Call(const std::string& method, const std::string& target,
                    std::vector<std::pair<std::string, std::string>> headers = {},
                    const std::string& body = "") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    r.headers = std::move(headers);
    r.body = body;
    std::promise<HttpResponse> answered;
    api_->Handle(std::move(r), [&](HttpResponse resp) { answered.set_value(resp); });
    return answered.get_future().get();
  }

  // Signs in with `body`; returns the cookie header value to send back and the CSRF token.
  std::pair<std::string, std::string> SignIn(const json& body) {
    HttpResponse r = Call("POST", "/api/v1/session", {}, body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string set = HeaderOf(r, "Set-Cookie");
    return {set.substr(0, set.find(';')), json::parse(r.body).value("csrf_token", "")};
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  Config config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ApiHandler> api_;
};

TEST_F(DashboardApiTest, SignInWithTheAdminTokenSetsAStrictCookie) {
  HttpResponse r = Call("POST", "/api/v1/session", {}, json{{"token", kAdmin}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string cookie = HeaderOf(r, "Set-Cookie");
  EXPECT_EQ(cookie.rfind("handoff_session=", 0), 0u) << cookie;
  for (const char* attr : {"; HttpOnly", "; SameSite=Strict", "; Secure", "; Path=/"}) {
    EXPECT_NE(cookie.find(attr), std::string::npos) << attr << " in " << cookie;
  }
  json body = json::parse(r.body);
  EXPECT_EQ(body["user"], "admin");
  EXPECT_EQ(body["workspace"], "acme");
  EXPECT_EQ(body["csrf_token"].get<std::string>().size(), 64u);

  const std::string pair = cookie.substr(0, cookie.find(';'));
  HttpResponse me = Call("GET", "/api/v1/session", {{"cookie", "theme=dark; " + pair}});
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(json::parse(me.body)["csrf_token"], body["csrf_token"]);
  // The cookie opens the API for reads.
  EXPECT_EQ(Call("GET", "/api/v1/tasks", {{"cookie", pair}}).status, 200);
  // Expired after 12 hours.
  clock_.Advance(12 * kMicrosPerHour);
  EXPECT_EQ(Call("GET", "/api/v1/tasks", {{"cookie", pair}}).status, 401);
}

TEST_F(DashboardApiTest, MembersSignInWithTheirPasswordAndWrongOnesAreAllAlike) {
  auto [cookie, csrf] = SignIn({{"user", "maria"}, {"password", "maria-password-1"}});
  EXPECT_FALSE(cookie.empty());
  HttpResponse wrong =
      Call("POST", "/api/v1/session", {}, json{{"user", "maria"}, {"password", "nope"}}.dump());
  HttpResponse no_password =
      Call("POST", "/api/v1/session", {}, json{{"user", "ben"}, {"password", "x"}}.dump());
  HttpResponse stranger =
      Call("POST", "/api/v1/session", {}, json{{"user", "zed"}, {"password", "x"}}.dump());
  HttpResponse bad_token = Call("POST", "/api/v1/session", {}, json{{"token", "guess"}}.dump());
  for (const HttpResponse* r : {&wrong, &no_password, &stranger, &bad_token}) {
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->body, wrong.body);
    EXPECT_TRUE(HeaderOf(*r, "Set-Cookie").empty());
  }
  EXPECT_EQ(Call("POST", "/api/v1/session", {}, "not json").status, 400);
}

TEST_F(DashboardApiTest, ManyFailedSignInsAreSlowedDown) {
  for (int i = 0; i < SessionStore::kMaxFailuresPerMinute; ++i) {
    EXPECT_EQ(Call("POST", "/api/v1/session", {}, json{{"token", "guess"}}.dump()).status, 401);
  }
  // Even the right token waits for the minute to pass.
  HttpResponse limited = Call("POST", "/api/v1/session", {}, json{{"token", kAdmin}}.dump());
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(HeaderOf(limited, "Retry-After"), "60");
  clock_.Advance(kMicrosPerMinute);
  EXPECT_EQ(Call("POST", "/api/v1/session", {}, json{{"token", kAdmin}}.dump()).status, 200);
}

TEST_F(DashboardApiTest, ChangesNeedTheCsrfTokenWhenSignedInByCookie) {
  // An open task to acknowledge.
  Inquiry i;
  i.id = NewUuidV7(kT0);
  i.workspace = "acme";
  i.source = "website";
  i.received_at = kT0;
  Task t;
  t.id = NewUuidV7(kT0);
  t.workspace = "acme";
  t.inquiry_id = i.id;
  t.owner = "maria";
  t.due_at = kT0 + kMicrosPerHour;
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) {
                    absl::Status s = tx.InsertInquiry(i);
                    return s.ok() ? tx.InsertTask(t) : s;
                  })
                  .ok());
  auto [cookie, csrf] = SignIn({{"token", kAdmin}});
  const std::string ack = "/api/v1/tasks/" + t.id + "/ack";
  HttpResponse forged = Call("POST", ack, {{"cookie", cookie}});
  EXPECT_EQ(forged.status, 403);
  EXPECT_NE(forged.body.find("\"csrf\""), std::string::npos) << forged.body;
  EXPECT_EQ(Call("POST", ack, {{"cookie", cookie}, {"x-csrf-token", std::string(64, 'a')}}).status,
            403);
  EXPECT_EQ(store_->GetTask("acme", t.id)->state, "open");
  HttpResponse ok = Call("POST", ack, {{"cookie", cookie}, {"x-csrf-token", csrf}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(store_->GetTask("acme", t.id)->state, "acknowledged");
  // The Bearer token needs no CSRF token: a browser never sends it by itself.
  EXPECT_EQ(Call("POST", "/api/v1/tasks/" + t.id + "/done",
                 {{"authorization", std::string("Bearer ") + kAdmin}})
                .status,
            200);
  // Signing out ends the session (and needs the token too).
  EXPECT_EQ(Call("DELETE", "/api/v1/session", {{"cookie", cookie}}).status, 403);
  HttpResponse out =
      Call("DELETE", "/api/v1/session", {{"cookie", cookie}, {"x-csrf-token", csrf}});
  EXPECT_EQ(out.status, 200);
  EXPECT_NE(HeaderOf(out, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(Call("GET", "/api/v1/session", {{"cookie", cookie}}).status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/tasks", {{"cookie", cookie}}).status, 401);
}

TEST_F(DashboardApiTest, CsvExportNeutralisesFormulasAndQuotes) {
  Inquiry i;
  i.id = NewUuidV7(kT0);
  i.workspace = "acme";
  i.source = "website";
  i.channel = Channel::kForm;
  i.received_at = kT0;
  i.received.name = "=HYPERLINK(\"http://evil.example\",\"click\")";
  i.normalized.phone = "+14155550142";
  i.message = "line one\nline, two";
  i.stage = Stage::kTrigger;
  i.status = "routed";
  i.route = "web-leads";
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.InsertInquiry(i); }).ok());
  HttpResponse r = Call("GET", "/api/v1/inquiries.csv?q=hyperlink",
                        {{"authorization", std::string("Bearer ") + kAdmin}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/csv; charset=utf-8");
  EXPECT_NE(HeaderOf(r, "Content-Disposition").find("attachment"), std::string::npos);
  EXPECT_TRUE(
      r.body.starts_with("id,received_at,source,channel,stage,status,route,name,email,"
                         "phone,service,location,message\r\n"))
      << r.body;
  EXPECT_NE(r.body.find(",form,trigger,routed,web-leads,"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"csv("'=HYPERLINK(""http://evil.example"",""click"")")csv"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(",'+14155550142,"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"line one\nline, two\""), std::string::npos) << r.body;
  // Two lines: the header and the one match.
  EXPECT_EQ(std::count(r.body.begin(), r.body.end(), '\r'), 2);
  // The search found it by name; another word finds nothing.
  HttpResponse none = Call("GET", "/api/v1/inquiries.csv?q=nothing-like-it",
                           {{"authorization", std::string("Bearer ") + kAdmin}});
  EXPECT_EQ(std::count(none.body.begin(), none.body.end(), '\r'), 1);
}

TEST(Dashboard, PagesCarryAStrictContentSecurityPolicy) {
  HttpRequest root;
  root.method = "GET";
  root.path = "/";
  HttpResponse r = ServeDashboard(root);
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(HeaderOf(r, "Location"), "/app/");
  HttpRequest missing;
  missing.method = "GET";
  missing.path = "/app/../../etc/passwd";
  HttpResponse m = ServeDashboard(missing);
  EXPECT_EQ(m.status, 404);
  const std::string csp = HeaderOf(m, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(HeaderOf(m, "X-Content-Type-Options"), "nosniff");
  HttpRequest post = root;
  post.method = "POST";
  post.path = "/app/";
  EXPECT_EQ(ServeDashboard(post).status, 405);
}

}  // namespace
}  // namespace handoff
