// The google_sheets connector against a loopback Sheets API, through the real dispatcher:
// requests checked against formats/README.md B6 (values.append with RAW, the A1 range encoded
// in the path), answers as the API gives them (updates.updatedRange; google.rpc error bodies).
#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "tests/contracts/messaging_contract.h"

namespace handoff {
namespace {

using testing::ContractServer;
using testing::HeaderOf;
using testing::kFirstRetry;
using testing::Respond;

constexpr const char* kAppended =
    R"({"spreadsheetId":"1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms","tableRange":"'Lead log'!A1:L41",)"
    R"("updates":{"spreadsheetId":"1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms",)"
    R"("updatedRange":"'Lead log'!A42:L42","updatedRows":1,"updatedColumns":12,"updatedCells":12}})";

nlohmann::json SheetsSettings(const std::string& base) {
  return {{"spreadsheet_id", "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"},
          {"range", "'Lead log'!A1"},
          {"token", "ya29.static"},
          {"base_url", base}};
}

HttpResponse GoogleError(int status, const std::string& word, const std::string& message) {
  return Respond(
      status,
      nlohmann::json{{"error", {{"code", status}, {"message", message}, {"status", word}}}}.dump());
}

class GoogleSheetsContractTest : public testing::MessagingContractTest {};

TEST_F(GoogleSheetsContractTest, AppendsARawRowAndKeepsTheUpdatedRange) {
  ContractServer sheets([](const HttpRequest&, int) { return Respond(200, kAppended); });
  std::string id = Deliver("google_sheets", SheetsSettings(testing::LoopbackBase(sheets.port())),
                           [](Inquiry& i, Contact&, Task&) {
                             i.normalized.name = "=HYPERLINK(\"http://evil\",\"click\")";
                           });
  Handoff h = h_.WaitForState(id, "confirmed", 1);
  EXPECT_EQ(h.remote_id, "'Lead log'!A42:L42");
  auto requests = sheets.requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path,
            "/v4/spreadsheets/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/values/"
            "%27Lead%20log%27%21A1:append");
  EXPECT_EQ(r.query, "valueInputOption=RAW&insertDataOption=INSERT_ROWS");
  EXPECT_EQ(HeaderOf(r, "authorization"), "Bearer ya29.static");
  EXPECT_EQ(HeaderOf(r, "content-type"), "application/json; charset=utf-8");
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["range"], "'Lead log'!A1");
  EXPECT_EQ(body["majorDimension"], "ROWS");
  ASSERT_EQ(body["values"].size(), 1u);
  const nlohmann::json& row = body["values"][0];
  ASSERT_EQ(row.size(), 12u);
  for (const auto& cell : row) EXPECT_TRUE(cell.is_string()) << cell;
  EXPECT_EQ(row[0], "2026-01-01T00:00:00.000Z");
  // RAW keeps the phone as text; the formula-like name is inert even after a CSV export.
  EXPECT_EQ(row[1], "'=HYPERLINK(\"http://evil\",\"click\")");
  EXPECT_EQ(row[2], "+14155550101");
  EXPECT_EQ(row[3], "dana+1@example.com");
  EXPECT_EQ(row[8], "Ana Lima");
  EXPECT_EQ(row[9], "2026-01-01T00:05:00.000Z");
  EXPECT_EQ(row[10], h_.inquiry_id());
  EXPECT_EQ(row[11], TimelineUrl());
}

TEST_F(GoogleSheetsContractTest, QuotaExceededWithoutRetryAfterWaitsAMinute) {
  Handoff failed = ExpectRetriedAfter(
      "google_sheets", SheetsSettings,
      GoogleError(429, "RESOURCE_EXHAUSTED",
                  "Quota exceeded for quota metric 'Write requests' and limit 'Write requests "
                  "per minute per user'"),
      Respond(200, kAppended), 60 * kMicrosPerSecond);
  EXPECT_NE(failed.last_error.find("RESOURCE_EXHAUSTED"), std::string::npos) << failed.last_error;
}

TEST_F(GoogleSheetsContractTest, QuotaExceededHonoursRetryAfter) {
  HttpResponse limited = GoogleError(429, "RESOURCE_EXHAUSTED", "Quota exceeded");
  limited.headers = {{"Retry-After", "90"}};
  ExpectRetriedAfter("google_sheets", SheetsSettings, limited, Respond(200, kAppended),
                     90 * kMicrosPerSecond);
}

TEST_F(GoogleSheetsContractTest, ServerErrorIsRetried) {
  ExpectRetriedAfter("google_sheets", SheetsSettings,
                     GoogleError(503, "UNAVAILABLE", "The service is currently unavailable."),
                     Respond(200, kAppended), kFirstRetry);
}

TEST_F(GoogleSheetsContractTest, TimeoutIsRetried) {
  ExpectTimeoutIsRetried("google_sheets", SheetsSettings);
}

TEST_F(GoogleSheetsContractTest, ConnectionResetIsRetried) {
  ExpectResetIsRetried("google_sheets", SheetsSettings);
}

TEST_F(GoogleSheetsContractTest, BadRangeIsDead) {
  ExpectDead("google_sheets", SheetsSettings,
             GoogleError(400, "INVALID_ARGUMENT", "Unable to parse range: Lead log!A1"),
             "INVALID_ARGUMENT");
}

TEST_F(GoogleSheetsContractTest, UnsharedSheetIsDead) {
  ExpectDead("google_sheets", SheetsSettings,
             GoogleError(403, "PERMISSION_DENIED", "The caller does not have permission"),
             "PERMISSION_DENIED");
}

TEST_F(GoogleSheetsContractTest, MissingSheetIsDead) {
  ExpectDead("google_sheets", SheetsSettings,
             GoogleError(404, "NOT_FOUND", "Requested entity was not found."), "NOT_FOUND");
}

TEST_F(GoogleSheetsContractTest, UnauthorizedStaticTokenIsDead) {
  ExpectDead("google_sheets", SheetsSettings,
             GoogleError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
             "401");
}

}  // namespace
}  // namespace handoff
