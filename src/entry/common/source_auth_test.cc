#include "entry/common/source_auth.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "entry/rejection.h"

namespace handoff {
namespace {

const char kToken[] = "tok_live_0123456789abcdef";
const char kOldToken[] = "tok_old_fedcba9876543210";
const char kSecret[] = "whsec_current_secret_value";
const char kOldSecret[] = "whsec_previous_secret_value";
const char kBody[] = R"({"name":"Ana Ortiz","email":"ana@example.com"})";

HttpRequest Request(std::vector<std::pair<std::string, std::string>> headers,
                    std::string query = "", std::string body = kBody) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/in/website";
  r.query = std::move(query);
  r.target = r.path + (r.query.empty() ? "" : "?" + r.query);
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

SourceAuth TokenAuth() {
  SourceAuth a;
  a.tokens = {kToken, kOldToken};
  return a;
}

SourceAuth HmacAuth(std::string encoding = "hex", std::string prefix = "") {
  SourceAuth a;
  a.hmac_secrets = {kSecret, kOldSecret};
  a.hmac_header = "x-signature";
  a.hmac_encoding = std::move(encoding);
  a.hmac_prefix = std::move(prefix);
  return a;
}

struct AuthCase {
  std::string name;
  SourceAuth auth;
  HttpRequest request;
  bool want_ok;
};

void RunCases(const std::vector<AuthCase>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const absl::Status s = VerifySourceAuth(c.auth, c.request);
    if (c.want_ok) {
      EXPECT_TRUE(s.ok()) << s;
      continue;
    }
    EXPECT_EQ(RejectionCode(s), "bad_credentials") << s;
    EXPECT_EQ(RejectionHttpStatus(s), 401);
    // A rejection never quotes a configured secret or what the request presented.
    const std::string message(s.message());
    for (const std::string& secret : {std::string(kToken), std::string(kOldToken),
                                      std::string(kSecret), std::string(kOldSecret)}) {
      EXPECT_EQ(message.find(secret), std::string::npos) << message;
    }
    for (const auto& [name, value] : c.request.headers) {
      if (value.size() >= 8) {
        EXPECT_EQ(message.find(value), std::string::npos) << message;
      }
    }
  }
}

TEST(VerifySourceAuth, AllowsAnythingWhenNothingIsConfigured) {
  EXPECT_TRUE(VerifySourceAuth(SourceAuth{}, Request({})).ok());
}

TEST(VerifySourceAuth, Tokens) {
  SourceAuth custom_header = TokenAuth();
  custom_header.token_header = "x-form-key";
  SourceAuth no_query = TokenAuth();
  no_query.token_query = "";
  SourceAuth custom_query = TokenAuth();
  custom_query.token_query = "key";
  RunCases({
      {"configured header", TokenAuth(), Request({{"x-handoff-token", kToken}}), true},
      {"header with spaces", TokenAuth(), Request({{"x-handoff-token", std::string(" ") + kToken}}),
       true},
      {"rotated token", TokenAuth(), Request({{"x-handoff-token", kOldToken}}), true},
      {"bearer", TokenAuth(), Request({{"authorization", std::string("Bearer ") + kToken}}), true},
      {"bearer any case", TokenAuth(),
       Request({{"authorization", std::string("bEaReR ") + kToken}}), true},
      {"query", TokenAuth(), Request({}, std::string("a=1&token=") + kToken), true},
      {"query percent-encoded", custom_query, Request({}, "key=tok%5Flive%5F0123456789abcdef&b=2"),
       true},
      {"custom header", custom_header, Request({{"x-form-key", kToken}}), true},
      {"wrong token", TokenAuth(), Request({{"x-handoff-token", "tok_live_0123456789abcdeX"}}),
       false},
      {"token prefix only", TokenAuth(), Request({{"x-handoff-token", "tok_live_"}}), false},
      {"token with suffix", TokenAuth(), Request({{"x-handoff-token", std::string(kToken) + "0"}}),
       false},
      {"empty token", TokenAuth(), Request({{"x-handoff-token", ""}}), false},
      {"missing", TokenAuth(), Request({}), false},
      {"basic auth is not a token", TokenAuth(),
       Request({{"authorization", std::string("Basic ") + kToken}}), false},
      {"header wins over query", TokenAuth(),
       Request({{"x-handoff-token", "wrong-token-value"}}, std::string("token=") + kToken), false},
      {"duplicate header", TokenAuth(),
       Request({{"x-handoff-token", kToken}, {"x-handoff-token", kToken}}), false},
      {"duplicate authorization", TokenAuth(),
       Request({{"authorization", std::string("Bearer ") + kToken},
                {"authorization", std::string("Bearer ") + kToken}}),
       false},
      {"duplicate query parameter", TokenAuth(),
       Request({}, std::string("token=x&token=") + kToken), false},
      {"query disabled", no_query, Request({}, std::string("token=") + kToken), false},
      {"malformed query", TokenAuth(), Request({}, std::string("token=") + kToken + "&x=%zz"),
       false},
  });
}

TEST(VerifySourceAuth, MissingTokenSaysWhereToSendIt) {
  const absl::Status s = VerifySourceAuth(TokenAuth(), Request({}));
  const std::string detail = RejectionDetail(s);
  EXPECT_NE(detail.find("x-handoff-token"), std::string::npos) << detail;
  EXPECT_NE(detail.find("Bearer"), std::string::npos) << detail;
  EXPECT_NE(detail.find("'token' query"), std::string::npos) << detail;
}

TEST(VerifySourceAuth, HmacSignatures) {
  const std::string mac = HmacSha256(kSecret, kBody);
  const std::string old_mac = HmacSha256(kOldSecret, kBody);
  const std::string hex = HexEncode(mac);
  std::string flipped_body = kBody;
  flipped_body[10] ^= 0x01;
  std::string base64_url = Base64(mac);
  for (char& c : base64_url) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  std::string unpadded = Base64(mac);
  while (unpadded.back() == '=') unpadded.pop_back();
  SourceAuth other_header = HmacAuth();
  other_header.hmac_header = "x-hub-signature-256";
  RunCases({
      {"hex", HmacAuth(), Request({{"x-signature", hex}}), true},
      {"hex upper case", HmacAuth(), Request({{"x-signature", Upper(hex)}}), true},
      {"rotated secret", HmacAuth(), Request({{"x-signature", HexEncode(old_mac)}}), true},
      {"prefix", HmacAuth("hex", "sha256="), Request({{"x-signature", "sha256=" + hex}}), true},
      {"prefix any case", HmacAuth("hex", "sha256="), Request({{"x-signature", "SHA256=" + hex}}),
       true},
      {"base64", HmacAuth("base64"), Request({{"x-signature", Base64(mac)}}), true},
      {"base64 url-safe", HmacAuth("base64"), Request({{"x-signature", base64_url}}), true},
      {"base64 unpadded", HmacAuth("base64"), Request({{"x-signature", unpadded}}), true},
      {"base64 rotated", HmacAuth("base64"), Request({{"x-signature", Base64(old_mac)}}), true},
      {"custom header", other_header, Request({{"x-hub-signature-256", hex}}), true},
      {"flipped body byte", HmacAuth(), Request({{"x-signature", hex}}, "", flipped_body), false},
      {"unknown secret", HmacAuth(),
       Request({{"x-signature", HexEncode(HmacSha256("another", kBody))}}), false},
      {"hex too short", HmacAuth(), Request({{"x-signature", hex.substr(0, 62)}}), false},
      {"hex too long", HmacAuth(), Request({{"x-signature", hex + "00"}}), false},
      {"hex odd length", HmacAuth(), Request({{"x-signature", hex.substr(0, 63)}}), false},
      {"not hex", HmacAuth(), Request({{"x-signature", "zz" + hex.substr(2)}}), false},
      {"base64 wrong length", HmacAuth("base64"),
       Request({{"x-signature", Base64(mac.substr(0, 31))}}), false},
      {"base64 garbage", HmacAuth("base64"), Request({{"x-signature", "!!!!" + Base64(mac)}}),
       false},
      {"hex sent to base64 source", HmacAuth("base64"), Request({{"x-signature", hex}}), false},
      {"missing prefix", HmacAuth("hex", "sha256="), Request({{"x-signature", hex}}), false},
      {"missing header", HmacAuth(), Request({}), false},
      {"empty header", HmacAuth(), Request({{"x-signature", ""}}), false},
      {"duplicate header", HmacAuth(), Request({{"x-signature", hex}, {"x-signature", hex}}),
       false},
      {"duplicate header one wrong", HmacAuth(),
       Request({{"x-signature", hex}, {"x-signature", HexEncode(old_mac)}}), false},
  });
}

TEST(VerifySourceAuth, WrongLengthIsNamed) {
  const std::string hex = HexEncode(HmacSha256(kSecret, kBody));
  const absl::Status s = VerifySourceAuth(HmacAuth(), Request({{"x-signature", hex + "00"}}));
  EXPECT_NE(RejectionDetail(s).find("wrong length"), std::string::npos) << s;
}

TEST(VerifySourceAuth, TokenAndSignatureMustBothPass) {
  SourceAuth both = HmacAuth();
  both.tokens = {kToken};
  const std::string hex = HexEncode(HmacSha256(kSecret, kBody));
  RunCases({
      {"both good", both, Request({{"x-handoff-token", kToken}, {"x-signature", hex}}), true},
      {"token only", both, Request({{"x-handoff-token", kToken}}), false},
      {"signature only", both, Request({{"x-signature", hex}}), false},
      {"bad token good signature", both,
       Request({{"x-handoff-token", "not-the-token-1234"}, {"x-signature", hex}}), false},
  });
}

TEST(HmacSha256, MatchesRfc4231TestCase2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha1, MatchesRfc2202TestCase2) {
  EXPECT_EQ(HexEncode(HmacSha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(ConstantTimeEquals, ComparesWholeValues) {
  EXPECT_TRUE(ConstantTimeEquals("secret-value", "secret-value"));
  EXPECT_FALSE(ConstantTimeEquals("secret-value", "secret-valu"));
  EXPECT_FALSE(ConstantTimeEquals("secret-value", "secret-valuE"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
}

TEST(VerifyHexSignatureHeader, Cases) {
  const std::string data = "1700000000.{\"a\":1}";
  const std::string sha256 = "sha256=" + HexEncode(HmacSha256(kSecret, data));
  const std::string sha1 = "sha1=" + HexEncode(HmacSha1(kOldSecret, data));
  const std::vector<std::string> secrets = {kSecret, kOldSecret};
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string prefix;
    HmacDigest digest;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"sha256", {{"x-sig", sha256}}, "sha256=", HmacDigest::kSha256, true},
      {"sha1 with the rotated secret", {{"x-sig", sha1}}, "sha1=", HmacDigest::kSha1, true},
      {"prefix in capitals",
       {{"x-sig", "SHA256=" + sha256.substr(7)}},
       "sha256=",
       HmacDigest::kSha256,
       true},
      {"missing", {}, "sha256=", HmacDigest::kSha256, false},
      {"twice", {{"x-sig", sha256}, {"x-sig", sha256}}, "sha256=", HmacDigest::kSha256, false},
      {"wrong prefix", {{"x-sig", sha256}}, "sha1=", HmacDigest::kSha1, false},
      {"sha1 length for sha256",
       {{"x-sig", "sha256=" + sha1.substr(5)}},
       "sha256=",
       HmacDigest::kSha256,
       false},
      {"not hex",
       {{"x-sig", "sha256=" + std::string(64, 'g')}},
       "sha256=",
       HmacDigest::kSha256,
       false},
      {"other secret",
       {{"x-sig", "sha256=" + HexEncode(HmacSha256("other-secret-0000", data))}},
       "sha256=",
       HmacDigest::kSha256,
       false},
  };
  for (const Case& c : cases) {
    absl::Status s =
        VerifyHexSignatureHeader(Request(c.headers), "x-sig", c.prefix, c.digest, secrets, data);
    EXPECT_EQ(s.ok(), c.ok) << c.name << ": " << s;
    if (!c.ok) {
      EXPECT_EQ(RejectionCode(s), "bad_credentials") << c.name;
      EXPECT_EQ(std::string(s.message()).find(kSecret), std::string::npos) << c.name;
    }
  }
}

TEST(CheckSignedTimestamp, ToleranceBothWays) {
  const Micros now = 1'700'000'000LL * kMicrosPerSecond;
  const Micros five_minutes = 5 * kMicrosPerMinute;
  EXPECT_TRUE(CheckSignedTimestamp("1700000000", now, five_minutes).ok());
  EXPECT_TRUE(CheckSignedTimestamp("1699999700", now, five_minutes).ok());
  EXPECT_TRUE(CheckSignedTimestamp(" 1700000300 ", now, five_minutes).ok());
  EXPECT_EQ(RejectionCode(CheckSignedTimestamp("1699999699", now, five_minutes)),
            "stale_timestamp");
  EXPECT_EQ(RejectionCode(CheckSignedTimestamp("1700000301", now, five_minutes)),
            "stale_timestamp");
  for (const char* bad : {"", "-5", "17e8", "1700000000.5", "99999999999999999999"}) {
    EXPECT_EQ(RejectionCode(CheckSignedTimestamp(bad, now, five_minutes)), "bad_credentials")
        << bad;
  }
}

TEST(Base64DecodeLenient, TakesUrlSafeAndUnpaddedButNotGarbage) {
  EXPECT_EQ(Base64DecodeLenient("Zg=="), "f");
  EXPECT_EQ(Base64DecodeLenient("Zg"), "f");
  EXPECT_EQ(Base64DecodeLenient("-_8"), Base64Decode("+/8="));
  for (const char* bad : {"Z", "Zm9v\n", " Zm9v", "!!!!", "Zg==Zg=="}) {
    EXPECT_FALSE(Base64DecodeLenient(bad).has_value()) << bad;
  }
}

TEST(MatchesAnySecret, TriesEverySecretAndNeverMatchesEmpty) {
  const std::vector<std::string> secrets = {"old-secret-0123456789", "new-secret-0123456789"};
  EXPECT_TRUE(MatchesAnySecret("old-secret-0123456789", secrets));
  EXPECT_TRUE(MatchesAnySecret("new-secret-0123456789", secrets));
  EXPECT_FALSE(MatchesAnySecret("new-secret-012345678", secrets));  // a prefix
  EXPECT_FALSE(MatchesAnySecret("", {""}));
  EXPECT_FALSE(MatchesAnySecret("x", {}));
}

TEST(PathKey, FindsTheSegmentAfterTheSource) {
  SourceConfig s;
  s.name = "contact";
  struct Case {
    const char* path;
    std::optional<std::string> want;
  };
  const Case cases[] = {
      {"/in/contact", std::nullopt},       {"/in/contact/", std::nullopt},
      {"/in/contact/k123", "k123"},        {"/in/contact/k123/", "k123"},
      {"/in/acme/contact/k123", "k123"},   {"/in/acme/contact", std::nullopt},
      {"/in/other/k123", std::nullopt},    {"/in/contact/a/b", std::nullopt},
      {"/api/contact/k123", std::nullopt},
  };
  for (const Case& c : cases) {
    HttpRequest r;
    r.path = c.path;
    EXPECT_EQ(PathKey(s, r), c.want) << c.path;
  }
}

}  // namespace
}  // namespace handoff
