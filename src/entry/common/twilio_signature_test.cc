#include "entry/common/twilio_signature.h"

#include <gtest/gtest.h>

#include "entry/common/source_auth.h"
#include "entry/common/twilio_testing.h"
#include "entry/common/twilio_webhook.h"
#include "entry/rejection.h"

namespace handoff {
namespace {

using testing::kTwilioAuthToken;
using testing::kTwilioOldAuthToken;
using testing::kTwilioPublicUrl;
using testing::TwilioPost;
using testing::TwilioSign;

constexpr char kBody[] =
    "CallSid=CA1234567890ABCDE&From=%2B14155550101&To=%2B18005551212&CallStatus=busy"
    "&Direction=inbound";

SourceConfig TwilioSource() {
  SourceConfig s;
  s.name = "voice";
  s.adapter = "twilio_voice";
  s.public_url = kTwilioPublicUrl;
  s.auth.hmac_secrets = {kTwilioAuthToken};
  return s;
}

void SetHeader(HttpRequest& r, const std::string& name, const std::string& value) {
  for (auto& h : r.headers) {
    if (h.first == name) {
      h.second = value;
      return;
    }
  }
  r.headers.emplace_back(name, value);
}

// Twilio's published example (twilio.com/docs/usage/security), exactly.
TEST(TwilioSignature, MatchesTwilioPublishedTestVector) {
  const std::vector<FormField> params = {{"CallSid", "CA1234567890ABCDE"},
                                         {"Caller", "+12349013030"},
                                         {"Digits", "1234"},
                                         {"From", "+12349013030"},
                                         {"To", "+18005551212"}};
  const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  EXPECT_EQ(Base64Encode(HmacSha1("12345", TwilioSignedString(url, params))),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");

  // And end to end through the verifier: the URL rebuilt from the public URL and the target,
  // the parameters parsed from a body in another order.
  SourceConfig source = TwilioSource();
  source.public_url = "https://mycompany.com";
  source.auth.hmac_secrets = {"12345"};
  HttpRequest r;
  r.method = "POST";
  r.target = "/myapp.php?foo=1&bar=2";
  r.path = "/myapp.php";
  r.query = "foo=1&bar=2";
  r.headers = {{"content-type", "application/x-www-form-urlencoded"},
               {"x-twilio-signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}};
  r.body =
      "To=%2B18005551212&From=%2B12349013030&Digits=1234&Caller=%2B12349013030"
      "&CallSid=CA1234567890ABCDE";
  EXPECT_TRUE(VerifyTwilioSignature(source, r).ok());
  r.body += "&Extra=1";
  EXPECT_EQ(RejectionCode(VerifyTwilioSignature(source, r)), "bad_credentials")
      << "every received parameter is signed";
}

TEST(TwilioSignature, RepeatedNamesAreSortedByNameThenValueEachNameWithItsValue) {
  const std::vector<FormField> params = {
      {"b", "2"}, {"a", "z"}, {"a", "y"}, {"B", "0"}, {"ab", ""}};
  EXPECT_EQ(TwilioSignedString("https://x/p", params), "https://x/pB0ayazabb2");

  SourceConfig source = TwilioSource();
  HttpRequest r = TwilioPost("/in/voice", "a=z&b=2&a=y");
  EXPECT_TRUE(VerifyTwilioSignature(source, r).ok());
  SetHeader(r, "x-twilio-signature",
            Base64Encode(HmacSha1(kTwilioAuthToken, std::string(kTwilioPublicUrl) +
                                                        "/in/voiceaz" /* one value only */)));
  EXPECT_FALSE(VerifyTwilioSignature(source, r).ok());
}

TEST(TwilioSignature, CandidateUrlsAddOrDropTheDefaultPort) {
  struct Case {
    std::string base, target;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"https://hooks.example.com",
       "/in/voice",
       {"https://hooks.example.com/in/voice", "https://hooks.example.com:443/in/voice"}},
      {"https://hooks.example.com/",
       "/in/voice?x=1&y=a%20b",
       {"https://hooks.example.com/in/voice?x=1&y=a%20b",
        "https://hooks.example.com:443/in/voice?x=1&y=a%20b"}},
      {"http://hooks.example.com:8080",
       "/in/sms",
       {"http://hooks.example.com:8080/in/sms", "http://hooks.example.com/in/sms"}},
      {"http://hooks.example.com",
       "/in/sms",
       {"http://hooks.example.com/in/sms", "http://hooks.example.com:80/in/sms"}},
      {"https://example.com/handoff",
       "/in/voice",
       {"https://example.com/handoff/in/voice", "https://example.com:443/handoff/in/voice"}},
      {"https://[2001:db8::1]:8443",
       "/in/voice",
       {"https://[2001:db8::1]:8443/in/voice", "https://[2001:db8::1]/in/voice"}},
      {"", "/in/voice", {}},
      {"ftp://hooks.example.com", "/in/voice", {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(TwilioCandidateUrls(c.base, c.target), c.want) << c.base << c.target;
  }
}

// Each way a request can fail verification, and what passes.
TEST(TwilioSignature, VerifiesOrRejectsEachCase) {
  struct Case {
    std::string name;
    std::function<void(SourceConfig&, HttpRequest&)> change;
    bool ok;
    std::string detail;  // a part of the rejection's detail
  };
  const std::string url = std::string(kTwilioPublicUrl) + "/in/voice";
  const std::vector<Case> cases = {
      {"signed as Twilio signs", [](SourceConfig&, HttpRequest&) {}, true, ""},
      {"missing header",
       [](SourceConfig&, HttpRequest& r) { r.headers.erase(r.headers.begin() + 1); }, false,
       "missing X-Twilio-Signature"},
      {"two headers", [](SourceConfig&, HttpRequest& r) { r.headers.push_back(r.headers[1]); },
       false, "several X-Twilio-Signature"},
      {"not base64",
       [](SourceConfig&, HttpRequest& r) { SetHeader(r, "x-twilio-signature", "%%%not*b64"); },
       false, "not valid base64"},
      {"wrong length",
       [](SourceConfig&, HttpRequest& r) { SetHeader(r, "x-twilio-signature", "c2hvcnQ="); }, false,
       "wrong length"},
      {"wrong token",
       [](SourceConfig& s, HttpRequest&) { s.auth.hmac_secrets = {kTwilioOldAuthToken}; }, false,
       "does not match"},
      {"rotation: the previous token still accepted",
       [](SourceConfig& s, HttpRequest&) {
         s.auth.hmac_secrets = {kTwilioOldAuthToken, kTwilioAuthToken};
       },
       true, ""},
      {"a parameter changed",
       [](SourceConfig&, HttpRequest& r) { r.body.replace(r.body.find("busy"), 4, "fail"); }, false,
       "does not match"},
      {"signed for another path",
       [url](SourceConfig&, HttpRequest& r) {
         SetHeader(r, "x-twilio-signature", TwilioSign(kTwilioAuthToken, url + "/other", r.body));
       },
       false, "does not match"},
      {"signed for the Host / X-Forwarded-Host the attacker sent, not the public URL",
       [](SourceConfig&, HttpRequest& r) {
         r.headers.emplace_back("host", "evil.example");
         r.headers.emplace_back("x-forwarded-host", "evil.example");
         r.headers.emplace_back("x-forwarded-proto", "https");
         SetHeader(r, "x-twilio-signature",
                   TwilioSign(kTwilioAuthToken, "https://evil.example/in/voice", r.body));
       },
       false, "does not match"},
      {"signed with :443 (as some Twilio requests are)",
       [](SourceConfig&, HttpRequest& r) {
         SetHeader(r, "x-twilio-signature",
                   TwilioSign(kTwilioAuthToken, "https://hooks.example.com:443/in/voice", r.body));
       },
       true, ""},
      {"the query string is signed",
       [](SourceConfig&, HttpRequest& r) {
         r.target = "/in/voice?tenant=1";
         r.query = "tenant=1";
       },
       false, "does not match"},
      {"no public URL configured", [](SourceConfig& s, HttpRequest&) { s.public_url.clear(); },
       false, "public_url"},
      {"HMAC-SHA256 when the settings header asks for it",
       [url](SourceConfig&, HttpRequest& r) {
         std::vector<FormField> params = *ParseFormUrlEncoded(r.body);
         r.headers.emplace_back("x-twilio-webhooks-signature-settings",
                                "key=HK123,algorithm=HMAC_SHA256");
         SetHeader(r, "x-twilio-signature",
                   Base64Encode(HmacSha256(kTwilioAuthToken, TwilioSignedString(url, params))));
       },
       true, ""},
      {"a SHA-1 signature under a SHA-256 settings header",
       [](SourceConfig&, HttpRequest& r) {
         r.headers.emplace_back("x-twilio-webhooks-signature-settings", "algorithm=HMAC_SHA256");
       },
       false, "wrong length"},
      {"an unknown algorithm",
       [](SourceConfig&, HttpRequest& r) {
         r.headers.emplace_back("x-twilio-webhooks-signature-settings", "algorithm=MD5");
       },
       false, "algorithm"},
      {"a body that is not a form",
       [](SourceConfig&, HttpRequest& r) { SetHeader(r, "content-type", "application/json"); },
       false, ""},
      {"a configured token is required too",
       [](SourceConfig& s, HttpRequest&) { s.auth.tokens = {"token-0123456789abcdef"}; }, false,
       "missing token"},
      {"the token and the signature both present",
       [](SourceConfig& s, HttpRequest& r) {
         s.auth.tokens = {"token-0123456789abcdef"};
         r.target = "/in/voice?token=token-0123456789abcdef";
         r.query = "token=token-0123456789abcdef";
         SetHeader(r, "x-twilio-signature",
                   TwilioSign(kTwilioAuthToken, std::string(kTwilioPublicUrl) + r.target, r.body));
       },
       true, ""},
  };
  for (const Case& c : cases) {
    SourceConfig source = TwilioSource();
    HttpRequest r = TwilioPost("/in/voice", kBody);
    c.change(source, r);
    absl::Status s = VerifyTwilioSignature(source, r);
    EXPECT_EQ(s.ok(), c.ok) << c.name << ": " << s;
    if (c.ok || s.ok()) continue;
    if (!c.detail.empty()) {
      EXPECT_EQ(RejectionCode(s), "bad_credentials") << c.name;
      EXPECT_NE(RejectionDetail(s).find(c.detail), std::string::npos) << c.name << ": " << s;
    }
    EXPECT_EQ(RejectionDetail(s).find(kTwilioAuthToken), std::string::npos) << "never echoed";
  }
}

TEST(TwilioSignature, GetRequestsSignTheUrlOnly) {
  SourceConfig source = TwilioSource();
  HttpRequest r;
  r.method = "GET";
  r.target = "/in/sms?MessageSid=SM1&From=%2B14155550101&Body=hi";
  r.path = "/in/sms";
  r.query = "MessageSid=SM1&From=%2B14155550101&Body=hi";
  r.headers = {
      {"x-twilio-signature",
       Base64Encode(HmacSha1(kTwilioAuthToken, std::string(kTwilioPublicUrl) + r.target))}};
  EXPECT_TRUE(VerifyTwilioSignature(source, r).ok());
  r.target += "&More=1";
  EXPECT_FALSE(VerifyTwilioSignature(source, r).ok());
}

TEST(TwilioSignature, WithoutAuthTokensTheGenericChecksApply) {
  SourceConfig source = TwilioSource();
  source.auth.hmac_secrets.clear();
  HttpRequest r = TwilioPost("/in/voice", kBody);
  r.headers.erase(r.headers.begin() + 1);
  EXPECT_TRUE(VerifyTwilioSignature(source, r).ok()) << "nothing configured: `check` warns";
  source.auth.tokens = {"token-0123456789abcdef"};
  EXPECT_EQ(RejectionCode(VerifyTwilioSignature(source, r)), "bad_credentials");
}

TEST(TwilioWebhook, ParsesRfc2822Times) {
  struct Case {
    std::string text;
    std::optional<Micros> want;
  };
  const Micros t = 1741962723LL * kMicrosPerSecond;  // 2025-03-14T14:32:03Z
  const std::vector<Case> cases = {
      {"Fri, 14 Mar 2025 14:32:03 +0000", t},
      {"14 Mar 2025 14:32:03 GMT", t},
      {"Fri, 14 Mar 2025 07:32:03 -0700", t},
      {"Fri, 14 Mar 2025 16:02:03 +0130", t},
      {"Fri, 14 mar 2025 14:32 UTC", t - 3 * kMicrosPerSecond},
      {"Thu, 29 Feb 2024 00:00:00 +0000", 1709164800LL * kMicrosPerSecond},
      {"Sat, 29 Feb 2025 00:00:00 +0000", std::nullopt},
      {"Fri, 14 Foo 2025 14:32:03 +0000", std::nullopt},
      {"Fri, 14 Mar 2025 24:00:00 +0000", std::nullopt},
      {"Fri, 14 Mar 2025 14:32:03 +0000 trailing", std::nullopt},
      {"2025-03-14T14:32:03Z", std::nullopt},
      {"", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseRfc2822(c.text), c.want) << c.text;
}

TEST(TwilioWebhook, EscapesTextForTwiml) {
  EXPECT_EQ(EscapeMarkup("Tom & Jerry's <\"plumbing\">\x01\n"),
            "Tom &amp; Jerry&#39;s &lt;&quot;plumbing&quot;&gt;\n");
  EXPECT_EQ(TwimlResponse("").body, R"(<?xml version="1.0" encoding="UTF-8"?><Response/>)");
  EXPECT_EQ(TwimlResponse("").content_type, "text/xml");
}

TEST(TwilioWebhook, DedupeKeyPrefersTheIdempotencyToken) {
  HttpRequest r;
  EXPECT_EQ(*TwilioDedupeKey(r, "SM1"), "event:SM1");
  EXPECT_EQ(*TwilioDedupeKey(r, ""), "");
  r.headers = {{"i-twilio-idempotency-token", "a1b2-c3"}};
  EXPECT_EQ(*TwilioDedupeKey(r, "SM1"), "idem:a1b2-c3");
  r.headers.push_back(r.headers[0]);
  EXPECT_EQ(RejectionCode(TwilioDedupeKey(r, "SM1").status()), "invalid_field");
  HttpRequest longer;
  EXPECT_EQ(RejectionCode(TwilioDedupeKey(longer, std::string(300, 'x')).status()),
            "invalid_field");
}

}  // namespace
}  // namespace handoff
