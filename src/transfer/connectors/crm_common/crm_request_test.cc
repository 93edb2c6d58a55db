#include "transfer/connectors/crm_common/crm_request.h"

#include <gtest/gtest.h>

#include "transfer/connectors/crm_common/crm_test_context.h"

namespace handoff {
namespace {

using crm_testing::CrmTestContext;

TEST(CrmSplitName, SplitsAtTheLastSpace) {
  struct Case {
    const char* in;
    const char* first;
    const char* last;
  } cases[] = {
      {"Dana Roe", "Dana", "Roe"},
      {"Mary Ann Smith", "Mary Ann", "Smith"},
      {"Cher", "Cher", ""},
      {"  Dana   Roe  ", "Dana", "Roe"},
      {"", "", ""},
      {"   ", "", ""},
  };
  for (const Case& c : cases) {
    auto [first, last] = SplitName(c.in);
    EXPECT_EQ(first, c.first) << c.in;
    EXPECT_EQ(last, c.last) << c.in;
  }
}

TEST(CrmPersonOf, PrefersNormalizedThenReceivedThenContact) {
  CrmTestContext t("hubspot");
  t.inquiry.normalized = {"", "", ""};
  t.inquiry.received = {"dana roe", "", ""};
  Contact c;
  c.email = "dana@example.com";
  c.phone = "+14155550142";
  t.contact = c;
  CrmPerson p = PersonOf(t.Ctx());
  EXPECT_EQ(p.name, "dana roe");
  EXPECT_EQ(p.first_name, "dana");
  EXPECT_EQ(p.last_name, "roe");
  EXPECT_EQ(p.email, "dana@example.com");
  EXPECT_EQ(p.phone, "+14155550142");
}

TEST(CrmAuthToken, OAuthTokenWinsOverTheStaticOne) {
  CrmTestContext t("hubspot");
  t.dest.settings["token"] = "pat-static";
  EXPECT_EQ(*AuthToken(t.Ctx(), "token"), "pat-static");
  t.access_token = AccessToken{"oauth-1", "", 0};
  EXPECT_EQ(*AuthToken(t.Ctx(), "token"), "oauth-1");
}

TEST(CrmAuthToken, MissingTokenIsAnError) {
  CrmTestContext t("hubspot");
  EXPECT_EQ(AuthToken(t.Ctx(), "token").status().message(),
            "missing setting 'token' (or an oauth2 block)");
  // An oauth2 destination never falls back to a static token.
  t.dest.settings["token"] = "pat-static";
  t.dest.oauth2.grant = "refresh_token";
  EXPECT_FALSE(AuthToken(t.Ctx(), "token").ok());
}

TEST(CrmBaseUrl, DefaultsAndTrailingSlashes) {
  DestinationConfig d;
  EXPECT_EQ(*BaseUrlSetting(d, "https://api.hubapi.com"), "https://api.hubapi.com");
  d.settings["base_url"] = "http://127.0.0.1:8080//";
  EXPECT_EQ(*BaseUrlSetting(d, "https://api.hubapi.com"), "http://127.0.0.1:8080");
  d.settings["base_url"] = "ftp://example.com";
  EXPECT_FALSE(BaseUrlSetting(d, "https://api.hubapi.com").ok());
}

TEST(CrmBoolSetting, AcceptsBooleansAndTheirText) {
  DestinationConfig d;
  EXPECT_EQ(*BoolSetting(d, "x"), std::nullopt);
  d.settings["x"] = true;
  EXPECT_EQ(*BoolSetting(d, "x"), true);
  d.settings["x"] = "false";
  EXPECT_EQ(*BoolSetting(d, "x"), false);
  d.settings["x"] = "yes please";
  EXPECT_FALSE(BoolSetting(d, "x").ok());
}

TEST(CrmMappedSetting, ReadsTextAndNumbers) {
  DestinationConfig d;
  d.settings["owners"] = {{"ana", 12345}, {"bo", "678"}, {"cy", nlohmann::json::array()}};
  EXPECT_EQ(MappedSetting(d, "owners", "ana"), "12345");
  EXPECT_EQ(MappedSetting(d, "owners", "bo"), "678");
  EXPECT_EQ(MappedSetting(d, "owners", "cy"), "");
  EXPECT_EQ(MappedSetting(d, "owners", "nobody"), "");
  EXPECT_EQ(MappedSetting(d, "owners", ""), "");
  EXPECT_EQ(CheckMappingSetting(d, "owners").size(), 1u);
  d.settings["owners"] = "ana";
  EXPECT_EQ(CheckMappingSetting(d, "owners").size(), 1u);
  d.settings.erase("owners");
  EXPECT_TRUE(CheckMappingSetting(d, "owners").empty());
}

TEST(CrmIdText, KeepsOnlyShortPrintableIds) {
  EXPECT_EQ(IdText(nlohmann::json("00Q5e00000AbCdE")), "00Q5e00000AbCdE");
  EXPECT_EQ(IdText(nlohmann::json(4321)), "4321");
  EXPECT_EQ(IdText(nlohmann::json(1.5)), "");
  EXPECT_EQ(IdText(nlohmann::json("a b")), "");
  EXPECT_EQ(IdText(nlohmann::json("")), "");
  EXPECT_EQ(IdText(nlohmann::json(std::string(200, 'x'))), "");
  EXPECT_EQ(IdText(nlohmann::json::object()), "");
}

TEST(CrmSafeCode, RefusesFreeText) {
  EXPECT_EQ(SafeCode(nlohmann::json("VALIDATION_ERROR")), "VALIDATION_ERROR");
  EXPECT_EQ(SafeCode(nlohmann::json("feature_capping_deals_limit")), "feature_capping_deals_limit");
  EXPECT_EQ(SafeCode(nlohmann::json("Email dana@example.com is invalid")), "");
  EXPECT_EQ(SafeCode(nlohmann::json(42)), "");
}

TEST(CrmParseBody, NeverThrows) {
  EXPECT_TRUE(ParseBody("{\"a\":1}").is_object());
  EXPECT_TRUE(ParseBody("<html>").is_discarded());
  EXPECT_TRUE(ParseBody("").is_discarded());
  EXPECT_EQ(ParseInt64("4321"), 4321);
  EXPECT_EQ(ParseInt64("43x"), std::nullopt);
  EXPECT_EQ(ParseInt64(""), std::nullopt);
}

}  // namespace
}  // namespace handoff
