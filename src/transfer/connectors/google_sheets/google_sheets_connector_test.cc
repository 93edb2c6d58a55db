#include "transfer/connectors/google_sheets/google_sheets_connector.h"

#include <gtest/gtest.h>

#include "transfer/connectors/common/connector_test_fixture.h"

namespace handoff {
namespace {

using K = DeliveryOutcome::Kind;

class GoogleSheetsConnectorTest : public testing::ConnectorTestBase {
 protected:
  GoogleSheetsConnectorTest() {
    dest_.connector = "google_sheets";
    dest_.settings = {
        {"spreadsheet_id", "1AbC-d_E"}, {"range", "'Lead log'!A1"}, {"token", "ya29.x"}};
  }
  nlohmann::json Row() {
    auto req = connector_.BuildRequest(Ctx());
    EXPECT_TRUE(req.ok()) << req.status();
    return req.ok() ? nlohmann::json::parse(req->body)["values"][0] : nlohmann::json();
  }
  GoogleSheetsConnector connector_;
};

TEST(NeutralizeFormula, OnlyFormulaLikeTextIsPrefixed) {
  const std::pair<const char*, const char*> cases[] = {
      {"=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"},
      {"@SUM(A1)", "'@SUM(A1)"},
      {"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
      {"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
      {"\t=1", "'\t=1"},
      {"+14155550142", "+14155550142"},
      {"+1 (415) 555-0142", "+1 (415) 555-0142"},
      {"-5", "-5"},
      {"Dana Roe", "Dana Roe"},
      {"a = b", "a = b"},
      {"", ""},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(NeutralizeFormula(in), out) << in;
}

TEST_F(GoogleSheetsConnectorTest, AppendsOneRawRow) {
  auto req = connector_.BuildRequest(Ctx());
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->url,
            "https://sheets.googleapis.com/v4/spreadsheets/1AbC-d_E/values/"
            "%27Lead%20log%27%21A1:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS");
  EXPECT_EQ(HeaderOf(*req, "authorization"), "Bearer ya29.x");
  EXPECT_EQ(HeaderOf(*req, "content-type"), "application/json; charset=utf-8");
  nlohmann::json body = nlohmann::json::parse(req->body);
  EXPECT_EQ(body["range"], "'Lead log'!A1");
  EXPECT_EQ(body["majorDimension"], "ROWS");
  ASSERT_EQ(body["values"].size(), 1u);
  const nlohmann::json expected = {"2026-01-01T00:00:00.000Z",
                                   "Dana Roe",
                                   "+14155550142",
                                   "dana@example.com",
                                   "website",
                                   "form",
                                   "water heater",
                                   "No hot water since this morning",
                                   "Ana Lima",
                                   "2026-01-01T00:05:00.000Z",
                                   inquiry_.id,
                                   "https://handoff.example.com/inquiries/" + inquiry_.id};
  EXPECT_EQ(body["values"][0], expected);
}

TEST_F(GoogleSheetsConnectorTest, ChosenColumnsInOrder) {
  dest_.settings["columns"] = {"phone", "name", "task_title", "handoff_id"};
  EXPECT_EQ(Row(), nlohmann::json({"+14155550142", "Dana Roe", "Call back Dana Roe", handoff_.id}));
}

TEST_F(GoogleSheetsConnectorTest, HostileCellsAreStoredAsInertText) {
  inquiry_.normalized.name = "=IMPORTXML(\"http://evil\",\"//x\")";
  inquiry_.message = "@cmd";
  nlohmann::json row = Row();
  EXPECT_EQ(row[1], "'=IMPORTXML(\"http://evil\",\"//x\")");
  EXPECT_EQ(row[2], "+14155550142");  // phones stay dialable
  EXPECT_EQ(row[7], "'@cmd");
}

TEST_F(GoogleSheetsConnectorTest, OAuthTokenAndEmptyTaskOrOwner) {
  dest_.settings.erase("token");
  dest_.oauth2.grant = "jwt_bearer";
  DeliveryContext ctx = Ctx();
  ctx.access_token = AccessToken{"ya29.fresh", "", 0};
  EXPECT_EQ(HeaderOf(*connector_.BuildRequest(ctx), "authorization"), "Bearer ya29.fresh");
  task_.reset();
  owner_.reset();
  public_url_.clear();
  nlohmann::json row = Row();
  EXPECT_EQ(row[8], "");
  EXPECT_EQ(row[9], "");
  EXPECT_EQ(row[11], "");
}

TEST_F(GoogleSheetsConnectorTest, BadSettings) {
  const std::vector<nlohmann::json> bad = {
      {{"range", "A1"}, {"token", "t"}},
      {{"spreadsheet_id", "x"}, {"token", "t"}},
      {{"spreadsheet_id", "x"}, {"range", "A1"}},
      {{"spreadsheet_id", "x"}, {"range", "A1"}, {"token", "t"}, {"columns", {"name", "ssn"}}},
      {{"spreadsheet_id", "x"}, {"range", "A1"}, {"token", "t"}, {"columns", "name"}},
  };
  for (const auto& settings : bad) {
    dest_.settings = settings;
    EXPECT_FALSE(connector_.BuildRequest(Ctx()).ok()) << settings.dump();
    EXPECT_FALSE(connector_.CheckSettings(dest_).empty()) << settings.dump();
  }
}

struct SheetsCase {
  int status;
  const char* body;
  const char* retry_after_header;
  K kind;
  const char* remote_id;
  const char* reason_part;
  std::optional<Micros> retry_after;
};

TEST_F(GoogleSheetsConnectorTest, Answers) {
  const SheetsCase cases[] = {
      {200,
       R"({"spreadsheetId":"1AbC","tableRange":"'Lead log'!A1:L41","updates":{"spreadsheetId":"1AbC","updatedRange":"'Lead log'!A42:L42","updatedRows":1,"updatedColumns":12,"updatedCells":12}})",
       nullptr, K::kConfirmed, "'Lead log'!A42:L42", "HTTP 200", std::nullopt},
      {200, "{}", nullptr, K::kConfirmed, "", "HTTP 200", std::nullopt},
      {429, R"({"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}})",
       nullptr, K::kRetryable, "", "RESOURCE_EXHAUSTED", 60 * kMicrosPerSecond},
      {429, "", "20", K::kRetryable, "", "HTTP 429", 20 * kMicrosPerSecond},
      {400,
       R"({"error":{"code":400,"message":"Unable to parse range: Nope!A1","status":"INVALID_ARGUMENT"}})",
       nullptr, K::kPermanent, "", "INVALID_ARGUMENT", std::nullopt},
      {403, R"({"error":{"code":403,"status":"PERMISSION_DENIED"}})", nullptr, K::kPermanent, "",
       "PERMISSION_DENIED", std::nullopt},
      {404, R"({"error":{"code":404,"status":"NOT_FOUND"}})", nullptr, K::kPermanent, "",
       "NOT_FOUND", std::nullopt},
      {401, R"({"error":{"code":401,"status":"UNAUTHENTICATED"}})", nullptr, K::kPermanent, "",
       "401", std::nullopt},
      {500, "", nullptr, K::kRetryable, "", "HTTP 500", std::nullopt},
      {503, R"({"error":{"status":"UNAVAILABLE"}})", "2", K::kRetryable, "", "UNAVAILABLE",
       2 * kMicrosPerSecond},
  };
  for (const SheetsCase& c : cases) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (c.retry_after_header) headers.emplace_back("retry-after", c.retry_after_header);
    DeliveryOutcome o = connector_.Classify(Ctx(), c.status, headers, c.body);
    EXPECT_EQ(o.kind, c.kind) << c.status << " " << c.body;
    EXPECT_EQ(o.remote_id, c.remote_id) << c.body;
    EXPECT_NE(o.reason.find(c.reason_part), std::string::npos) << o.reason;
    EXPECT_EQ(o.retry_after, c.retry_after) << c.body;
  }
}

}  // namespace
}  // namespace handoff
