#include "entry/sources/html_form/html_form_adapter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "entry/rejection.h"

namespace handoff {
namespace {

constexpr char kKey[] = "form_key_0123456789abcdef";
constexpr char kOldKey[] = "form_key_previous_0123456";
constexpr char kUrlencoded[] = "application/x-www-form-urlencoded";
constexpr char kMultipart[] =
    "multipart/form-data; boundary=----WebKitFormBoundaryq3Xo8vHUlNFJ5zQe";
constexpr char kBrowserAccept[] =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpRequest Post(std::string body, std::string path = std::string("/in/contact/") + kKey,
                 std::vector<std::pair<std::string, std::string>> extra = {},
                 std::string content_type = kUrlencoded) {
  HttpRequest r;
  r.method = "POST";
  r.path = std::move(path);
  r.target = r.path;
  r.headers.push_back({"content-type", std::move(content_type)});
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  return r;
}

class HtmlFormAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterHtmlFormSource(registry_);
    adapter_ = registry_.Find("html_form");
    ASSERT_NE(adapter_, nullptr);
    ASSERT_TRUE(registry_.FindSpec("html_form")->path_key);
    source_.name = "contact";
    source_.adapter = "html_form";
    source_.auth.tokens = {kKey};
    source_.settings = {{"thank_you_url", "https://plumbing.example/thanks"}};
  }
  SourceAdapterRegistry registry_;
  const SourceAdapter* adapter_ = nullptr;
  SourceConfig source_;
};

TEST_F(HtmlFormAdapterTest, ABrowserPostIsMappedAndSentToTheThankYouPage) {
  const std::string body = Testdata("contact.urlencoded");
  const HttpRequest r =
      Post(body, std::string("/in/contact/") + kKey, {{"accept", kBrowserAccept}});
  ASSERT_TRUE(adapter_->Verify(source_, r, 0).ok());
  auto d = adapter_->Parse(source_, r);
  ASSERT_TRUE(d.ok()) << d.status();
  const Inquiry& i = d->inquiry;
  EXPECT_EQ(i.channel, Channel::kForm);
  EXPECT_EQ(i.received.name, "Ana Ortiz");
  EXPECT_EQ(i.received.email, "ana@example.com");
  EXPECT_EQ(i.received.phone, "(415) 555-0101");
  EXPECT_EQ(i.message, "No hot water since this morning.");
  EXPECT_EQ(i.service, "water-heater");
  EXPECT_EQ(i.attribution.utm_source, "google");
  EXPECT_EQ(i.attribution.utm_campaign, "winter");
  EXPECT_EQ(i.raw_payload, body);
  EXPECT_EQ(i.fields["kind"], "form_submission");
  EXPECT_FALSE(d->spam);
  EXPECT_EQ(d->dedupe_key.substr(0, 7), "sha256:");
  EXPECT_EQ(d->dedupe_window, kMicrosPerMinute);
  ASSERT_TRUE(d->reply.has_value());
  EXPECT_EQ(d->reply->status, 303);
  ASSERT_EQ(d->reply->headers.size(), 1u);
  EXPECT_EQ(d->reply->headers[0].first, "Location");
  EXPECT_EQ(d->reply->headers[0].second, "https://plumbing.example/thanks");
}

TEST_F(HtmlFormAdapterTest, The303GoesToBrowsersAndJsonCallersGetTheDefault202) {
  const std::string body = Testdata("contact.urlencoded");
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> headers;
    bool redirect;
  };
  const Case cases[] = {
      {"browser navigation", {{"accept", kBrowserAccept}}, true},
      {"no Accept", {}, true},
      {"*/*", {{"accept", "*/*"}}, true},
      {"fetch asking for JSON", {{"accept", "application/json"}}, false},
      {"JSON with html too", {{"accept", "application/json, text/html"}}, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto d = adapter_->Parse(source_, Post(body, "/in/contact/" + std::string(kKey), c.headers));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->reply.has_value(), c.redirect);
  }
  source_.settings = nlohmann::json::object();  // no thank-you page: JSON for everyone
  auto d = adapter_->Parse(source_, Post(body, "/in/contact/x", {{"accept", kBrowserAccept}}));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->reply.has_value());
}

TEST_F(HtmlFormAdapterTest, MultipartWithAFileIsMappedByTheFormDefaults) {
  const std::string body = Testdata("quote.multipart");
  auto d = adapter_->Parse(source_, Post(body, "/in/contact", {}, kMultipart));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.received.name, "Maria Lopez");
  EXPECT_EQ(d->inquiry.message, "Basement drain backed up. Photo attached.");
  EXPECT_EQ(d->inquiry.received.phone, "");  // optional, absent
  EXPECT_EQ(d->inquiry.raw_payload, body);
  ASSERT_TRUE(d->inquiry.fields.contains("files"));
  EXPECT_EQ(d->inquiry.fields["files"][0]["filename"], "drain.jpg");
  EXPECT_EQ(d->inquiry.fields["files"][0]["size"], 12);
}

TEST_F(HtmlFormAdapterTest, TheMapOverrides) {
  source_.map = {{"name", "who"}, {"message", "what"}};
  auto d = adapter_->Parse(source_, Post("who=Ben+Cho&what=Leaky+faucet&name=ignored"));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inquiry.received.name, "Ben Cho");
  EXPECT_EQ(d->inquiry.message, "Leaky faucet");
}

TEST_F(HtmlFormAdapterTest, AFilledHoneypotIsSpamThatLooksAccepted) {
  const std::string body = Testdata("honeypot_filled.urlencoded");
  auto d = adapter_->Parse(source_, Post(body, "/in/contact/k", {{"accept", kBrowserAccept}}));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->spam);
  EXPECT_FALSE(d->store);
  EXPECT_EQ(d->inquiry.received.name, "");  // nothing of it is kept
  EXPECT_EQ(d->inquiry.raw_payload, "");
  ASSERT_TRUE(d->reply.has_value());
  EXPECT_EQ(d->reply->status, 303);  // same as a real submission

  auto json_caller =
      adapter_->Parse(source_, Post(body, "/in/contact/k", {{"accept", "application/json"}}));
  ASSERT_TRUE(json_caller.ok());
  EXPECT_TRUE(json_caller->spam);
  EXPECT_FALSE(json_caller->reply.has_value());  // the ingress answers 202 with a fresh id

  // An empty honeypot is a person; a renamed honeypot moves the trap.
  auto person = adapter_->Parse(source_, Post(Testdata("contact.urlencoded")));
  ASSERT_TRUE(person.ok());
  EXPECT_FALSE(person->spam);
  source_.settings["honeypot"] = "fax";
  auto renamed = adapter_->Parse(source_, Post(body));
  ASSERT_TRUE(renamed.ok());
  EXPECT_FALSE(renamed->spam);
  auto caught = adapter_->Parse(source_, Post("name=Bot&fax=123"));
  ASSERT_TRUE(caught.ok());
  EXPECT_TRUE(caught->spam);
  source_.settings["honeypot"] = "";
  auto off = adapter_->Parse(source_, Post(body));
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->spam);
}

TEST_F(HtmlFormAdapterTest, TheKeyInThePathOrQueryIsChecked) {
  const std::string body = Testdata("contact.urlencoded");
  source_.auth.tokens = {kKey, kOldKey};
  struct Case {
    const char* name;
    std::string path;
    std::string query;
    std::string want;
  };
  const Case cases[] = {
      {"path", std::string("/in/contact/") + kKey, "", "ok"},
      {"path, trailing slash", std::string("/in/contact/") + kKey + "/", "", "ok"},
      {"path with workspace", std::string("/in/acme/contact/") + kKey, "", "ok"},
      {"rotated key", std::string("/in/contact/") + kOldKey, "", "ok"},
      {"query", "/in/contact", std::string("token=") + kKey, "ok"},
      {"wrong path key", "/in/contact/form_key_0123456789abcdeX", "", "bad_credentials"},
      {"wrong path key, right query", "/in/contact/nope", std::string("token=") + kKey,
       "bad_credentials"},
      {"no key", "/in/contact", "", "bad_credentials"},
      {"wrong query", "/in/contact", "token=nope", "bad_credentials"},
      {"prefix of the key", "/in/contact/form_key_0123", "", "bad_credentials"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HttpRequest r = Post(body, c.path);
    r.query = c.query;
    EXPECT_EQ(RejectionCode(adapter_->Verify(source_, r, 0)), c.want);
  }
}

TEST_F(HtmlFormAdapterTest, AllowedOriginsRefusePostsFromOtherSites) {
  const std::string body = Testdata("contact.urlencoded");
  source_.settings["allowed_origins"] = {"https://plumbing.example",
                                         "https://www.plumbing.example"};
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string want;
  };
  const Case cases[] = {
      {"same site", {{"origin", "https://plumbing.example"}}, "ok"},
      {"www, case differs", {{"origin", "https://WWW.plumbing.example"}}, "ok"},
      {"other site", {{"origin", "https://evil.example"}}, "bad_credentials"},
      {"http instead of https", {{"origin", "http://plumbing.example"}}, "bad_credentials"},
      {"look-alike suffix",
       {{"origin", "https://plumbing.example.evil.example"}},
       "bad_credentials"},
      {"referer only", {{"referer", "https://plumbing.example/contact?x=1"}}, "ok"},
      {"referer from elsewhere",
       {{"referer", "https://evil.example/plumbing.example"}},
       "bad_credentials"},
      {"opaque origin falls back to referer",
       {{"origin", "null"}, {"referer", "https://evil.example/"}},
       "bad_credentials"},
      {"neither header (a server)", {}, "ok"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(RejectionCode(adapter_->Verify(
                  source_, Post(body, std::string("/in/contact/") + kKey, c.headers), 0)),
              c.want);
  }
}

TEST_F(HtmlFormAdapterTest, RefusesUnusableBodies) {
  struct Case {
    const char* name;
    std::string body;
    std::string content_type;
    std::string want;
  };
  const Case cases[] = {
      {"json", R"({"name":"x"})", "application/json", "unsupported_media_type"},
      {"bad escape", "name=%zz", kUrlencoded, "malformed_body"},
      {"nothing to act on", "size=L&_gotcha=", kUrlencoded, "missing_field"},
      {"bad multipart", "garbage", kMultipart, "malformed_body"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(
        RejectionCode(
            adapter_->Parse(source_, Post(c.body, "/in/contact", {}, c.content_type)).status()),
        c.want);
  }
}

}  // namespace
}  // namespace handoff
