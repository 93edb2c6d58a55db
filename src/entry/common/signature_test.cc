#include "entry/common/signature.h"

#include <gtest/gtest.h>

#include "entry/common/json_fields.h"
#include "entry/common/map_overrides.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"

namespace handoff {
namespace {

TEST(Signature, Base64RoundTripsAndRefusesWhatIsNotBase64) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded), plain) << encoded;
  }
  const std::string bytes("\x00\xff\xfe\x01", 4);
  EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes);
  for (const char* bad :
       {"Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v\n", " Zm9v", "Zm-v", "Zm_v", "=Zm9"}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

TEST(Signature, HexDecodeAndConstantTimeEquals) {
  EXPECT_EQ(HexDecode("00ffA0"), std::string("\x00\xff\xa0", 3));
  EXPECT_FALSE(HexDecode("0").has_value());
  EXPECT_FALSE(HexDecode("0g").has_value());
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(Signature, MatchesAnySecretTriesEveryOne) {
  const std::string mac = HmacSha256("second-secret", "body");
  EXPECT_TRUE(MatchesAnyHmacSha256({"first-secret", "second-secret"}, "body", mac));
  EXPECT_FALSE(MatchesAnyHmacSha256({"first-secret"}, "body", mac));
  EXPECT_FALSE(MatchesAnyHmacSha256({}, "body", mac));
  EXPECT_FALSE(MatchesAnyHmacSha256({"second-secret"}, "body", mac.substr(1)));
}

TEST(Signature, TimestampTolerance) {
  const Micros now = 1'000'000 * kMicrosPerSecond;
  EXPECT_TRUE(CheckTimestampTolerance(now - kMicrosPerMinute, now, kMicrosPerMinute).ok());
  EXPECT_TRUE(CheckTimestampTolerance(now + kMicrosPerMinute, now, kMicrosPerMinute).ok());
  EXPECT_TRUE(CheckTimestampTolerance(now, now, kMicrosPerMinute).ok());
  EXPECT_EQ(
      RejectionCode(CheckTimestampTolerance(now - kMicrosPerMinute - 1, now, kMicrosPerMinute)),
      "stale_timestamp");
  EXPECT_EQ(
      RejectionCode(CheckTimestampTolerance(now + kMicrosPerMinute + 1, now, kMicrosPerMinute)),
      "stale_timestamp");
  const absl::Status old =
      CheckTimestampTolerance(now - 61 * kMicrosPerSecond, now, kMicrosPerMinute);
  EXPECT_EQ(RejectionCode(old), "stale_timestamp");
  EXPECT_EQ(RejectionHttpStatus(old), 401);
  EXPECT_EQ(
      RejectionCode(CheckTimestampTolerance(now + 2 * kMicrosPerMinute, now, kMicrosPerMinute)),
      "stale_timestamp");
}

TEST(Signature, ParsesSignatureParams) {
  using Params = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(ParseSignatureParams("t=1,v1=ab"), (Params{{"t", "1"}, {"v1", "ab"}}));
  EXPECT_EQ(ParseSignatureParams(" t = 1 , v1=ab,v1=cd,junk,"),
            (Params{{"t", "1"}, {"v1", "ab"}, {"v1", "cd"}}));
  EXPECT_EQ(ParseSignatureParams("v1=a=b"), (Params{{"v1", "a=b"}}));
  EXPECT_TRUE(ParseSignatureParams("").empty());
}

TEST(Signature, DurationSetting) {
  SourceConfig s;
  s.name = "x";
  EXPECT_EQ(*DurationSetting(s, "tolerance", 7), 7);
  s.settings["tolerance"] = 90;
  EXPECT_EQ(*DurationSetting(s, "tolerance", 7), 90 * kMicrosPerSecond);
  s.settings["tolerance"] = "2m";
  EXPECT_EQ(*DurationSetting(s, "tolerance", 7), 2 * kMicrosPerMinute);
  for (const nlohmann::json& bad : {nlohmann::json(-1), nlohmann::json("later"),
                                    nlohmann::json(true), nlohmann::json::array()}) {
    s.settings["tolerance"] = bad;
    EXPECT_EQ(DurationSetting(s, "tolerance", 7).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad.dump();
  }
}

TEST(JsonFields, ReadsOnlyTheExpectedTypes) {
  const auto j =
      nlohmann::json::parse(R"({"s":"x","n":42,"f":1.5,"b":true,"o":{"a":1},"a":[1],"z":null})");
  EXPECT_EQ(TextAt(j, "s"), "x");
  EXPECT_EQ(TextAt(j, "n"), "42");
  EXPECT_EQ(TextAt(j, "f"), "1.5");
  EXPECT_EQ(TextAt(j, "b"), "true");
  EXPECT_EQ(TextAt(j, "o"), "");
  EXPECT_EQ(TextAt(j, "a"), "");
  EXPECT_EQ(TextAt(j, "z"), "");
  EXPECT_EQ(TextAt(j, "missing"), "");
  EXPECT_EQ(TextAt(nlohmann::json::array(), "s"), "");
  EXPECT_NE(ObjectAt(j, "o"), nullptr);
  EXPECT_EQ(ObjectAt(j, "a"), nullptr);
  EXPECT_NE(ArrayAt(j, "a"), nullptr);
  EXPECT_EQ(ArrayAt(j, "o"), nullptr);
  EXPECT_TRUE(BoolAt(j, "b"));
  EXPECT_TRUE(BoolAt(j, "s", true));
}

TEST(MapOverrides, MappedFieldsReplaceAndRequiredIsChecked) {
  SourceConfig s;
  s.name = "x";
  s.map = {{"phone", "contact.mobile"}, {"email", "absent.path"}, {"event_id", "id"}};
  Inquiry i;
  i.received.phone = "+1 from adapter";
  i.received.email = "kept@example.com";
  i.provider_event_id = "provider-id";
  const auto body =
      nlohmann::json::parse(R"({"contact":{"mobile":"+14155550101"},"id":"not-the-id"})");
  ASSERT_TRUE(ApplyMapOverrides(s, body, &i).ok());
  EXPECT_EQ(i.received.phone, "+14155550101");
  EXPECT_EQ(i.received.email, "kept@example.com");
  EXPECT_EQ(i.provider_event_id, "provider-id") << "the dedupe id is never overridden";

  s.map.clear();
  s.required = {"phone", "service"};
  const absl::Status missing = ApplyMapOverrides(s, body, &i);
  EXPECT_EQ(RejectionCode(missing), "missing_field");
  EXPECT_NE(missing.message().find("service"), std::string::npos);
  EXPECT_EQ(missing.message().find("'phone'"), std::string::npos);

  s.map = {{"nickname", "x"}};
  EXPECT_EQ(ApplyMapOverrides(s, body, &i).code(), absl::StatusCode::kInvalidArgument);
  s.map = {{"phone", "contact"}};
  s.required.clear();
  EXPECT_EQ(RejectionCode(ApplyMapOverrides(s, body, &i)), "invalid_field");
}

}  // namespace
}  // namespace handoff
