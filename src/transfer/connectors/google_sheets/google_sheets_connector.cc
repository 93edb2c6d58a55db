#include "transfer/connectors/google_sheets/google_sheets_connector.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "core/time_format.h"
#include "fmt/format.h"
#include "http/url_encoding.h"
#include "transfer/connectors/common/escaped_text.h"
#include "transfer/delivery_summary.h"

namespace handoff {
namespace {

constexpr std::string_view kSheetsBaseUrl = "https://sheets.googleapis.com";
// A cell holds at most 50 000 characters; cut lead text well before.
constexpr size_t kCellMax = 40000;
// Over quota the Sheets API answers 429 without Retry-After; the per-minute quota refills
// within a minute.
constexpr Micros kQuotaRetryAfter = 60 * kMicrosPerSecond;

// Columns a destination may choose besides the default ones.
const std::vector<std::string>& ExtraColumns() {
  static const std::vector<std::string> kExtra = {"location",     "task_title", "utm_source",
                                                  "utm_campaign", "referrer",   "handoff_id"};
  return kExtra;
}

bool IsColumn(std::string_view name) {
  const auto& d = GoogleSheetsDefaultColumns();
  const auto& e = ExtraColumns();
  return std::find(d.begin(), d.end(), name) != d.end() ||
         std::find(e.begin(), e.end(), name) != e.end();
}

const std::string& FirstNonEmpty(const std::string& a, const std::string& b) {
  return a.empty() ? b : a;
}

// The configured columns, or the default; an error names the first bad entry.
absl::StatusOr<std::vector<std::string>> ColumnsOf(const DestinationConfig& d) {
  auto it = d.settings.find("columns");
  if (it == d.settings.end() || it->is_null()) return GoogleSheetsDefaultColumns();
  if (!it->is_array() || it->empty()) {
    return absl::FailedPreconditionError("'columns' must be a list of column names");
  }
  std::vector<std::string> columns;
  for (const auto& c : *it) {
    if (!c.is_string() || !IsColumn(c.get<std::string>())) {
      std::string known;
      for (const auto& list : {GoogleSheetsDefaultColumns(), ExtraColumns()}) {
        for (const auto& k : list) known += (known.empty() ? "" : ", ") + k;
      }
      return absl::FailedPreconditionError(
          fmt::format("'columns' has an unknown column {} (known: {})", c.dump(), known));
    }
    columns.push_back(c.get<std::string>());
  }
  return columns;
}

// Only digits, spaces and + - ( ) . with at least one digit: a number or a phone number.
bool IsNumberLike(std::string_view s) {
  bool digit = false;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (std::string_view(" +-().").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return digit;
}

}  // namespace

const std::vector<std::string>& GoogleSheetsDefaultColumns() {
  static const std::vector<std::string> kDefault = {
      "received_at", "name",    "phone", "email",    "source",     "channel",
      "service",     "message", "owner", "task_due", "inquiry_id", "timeline_url"};
  return kDefault;
}

std::optional<std::string> GoogleSheetsCell(const DeliveryContext& ctx, std::string_view column) {
  const Inquiry& i = ctx.inquiry;
  if (column == "received_at") return i.received_at ? FormatRfc3339(i.received_at) : "";
  if (column == "name") return FirstNonEmpty(i.normalized.name, i.received.name);
  if (column == "phone") return FirstNonEmpty(i.normalized.phone, i.received.phone);
  if (column == "email") return FirstNonEmpty(i.normalized.email, i.received.email);
  if (column == "source") return i.source;
  if (column == "channel") return std::string(ChannelName(i.channel));
  if (column == "service") return i.service;
  if (column == "message") return i.message;
  if (column == "owner") {
    if (ctx.owner) return ctx.owner->name.empty() ? ctx.owner->id : ctx.owner->name;
    return ctx.task ? ctx.task->owner : "";
  }
  if (column == "task_due") {
    return ctx.task && ctx.task->due_at ? FormatRfc3339(ctx.task->due_at) : "";
  }
  if (column == "inquiry_id") return i.id;
  if (column == "timeline_url") return Summarize(ctx).timeline_url;
  if (column == "location") return i.location;
  if (column == "task_title") return ctx.task ? ctx.task->title : "";
  if (column == "utm_source") return i.attribution.utm_source;
  if (column == "utm_campaign") return i.attribution.utm_campaign;
  if (column == "referrer") return i.attribution.referrer;
  if (column == "handoff_id") return ctx.handoff.id;
  return std::nullopt;
}

std::string NeutralizeFormula(std::string_view cell) {
  if (cell.empty()) return "";
  const char first = cell.front();
  const bool risky = first == '=' || first == '@' || first == '\t' || first == '\r' ||
                     ((first == '+' || first == '-') && !IsNumberLike(cell));
  return risky ? "'" + std::string(cell) : std::string(cell);
}

absl::StatusOr<OutboundRequest> GoogleSheetsConnector::BuildRequest(
    const DeliveryContext& ctx) const {
  const DestinationConfig& d = ctx.destination;
  auto id = RequiredSetting(d, "spreadsheet_id");
  if (!id.ok()) return id.status();
  auto range = RequiredSetting(d, "range");
  if (!range.ok()) return range.status();
  auto columns = ColumnsOf(d);
  if (!columns.ok()) return columns.status();
  std::string token = ctx.access_token ? ctx.access_token->token : OptionalSetting(d, "token");
  // With an oauth2 block the dispatcher always passes a token; only `handoff check`'s sample
  // build comes here without one.
  if (token.empty() && !d.oauth2.configured()) {
    return absl::FailedPreconditionError("missing setting 'token' (or an oauth2 block)");
  }

  nlohmann::json row = nlohmann::json::array();
  for (const std::string& column : *columns) {  // ColumnsOf admits only known columns
    row.push_back(NeutralizeFormula(Truncate(*GoogleSheetsCell(ctx, column), kCellMax)));
  }
  nlohmann::json body = {{"range", *range}, {"majorDimension", "ROWS"}, {"values", {row}}};

  std::string base = OptionalSetting(d, "base_url", std::string(kSheetsBaseUrl));
  while (!base.empty() && base.back() == '/') base.pop_back();
  OutboundRequest req;
  req.method = "POST";
  // RAW: values are stored exactly as sent, so "+14155550142" stays text and "=…" is never
  // evaluated by Sheets. INSERT_ROWS: a new row, never overwriting one below the table.
  req.url = fmt::format(
      "{}/v4/spreadsheets/{}/values/{}:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS",
      base, PercentEncode(*id), PercentEncode(*range));
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  req.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  req.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return req;
}

DeliveryOutcome GoogleSheetsConnector::Classify(
    const DeliveryContext& ctx, int http_status,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) const {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) j = nlohmann::json::object();
  if (http_status >= 200 && http_status < 300) {
    // No record id exists; the updated range ("'Lead log'!A42:L42") names the row.
    std::string range;
    if (auto u = j.find("updates"); u != j.end() && u->is_object()) {
      if (auto r = u->find("updatedRange"); r != u->end() && r->is_string()) {
        range = r->get<std::string>();
      }
    }
    if (range.size() > 256 || range.find_first_of("\r\n") != std::string::npos) range.clear();
    return Confirmed(std::move(range), fmt::format("HTTP {}", http_status));
  }
  std::string status;
  if (auto e = j.find("error"); e != j.end() && e->is_object()) {
    if (auto s = e->find("status"); s != e->end() && s->is_string()) {
      status = PlainToken(s->get<std::string>());
    }
  }
  DeliveryOutcome o = ClassifyHttpStatus(http_status, headers, ctx.now);
  if (http_status == 429 && !o.retry_after) o.retry_after = kQuotaRetryAfter;
  if (http_status == 401) {
    // The dispatcher refreshes OAuth2 tokens itself; reaching here means a static token is
    // wrong or the refreshed one was refused too.
    o.reason = "google sheets: unauthorized (HTTP 401); check the token";
  } else if (!status.empty()) {
    o.reason = fmt::format("google sheets: {} (HTTP {})", status, http_status);
  } else {
    o.reason = "google sheets: " + o.reason;
  }
  return o;
}

std::vector<std::string> GoogleSheetsConnector::CheckSettings(const DestinationConfig& d) const {
  std::vector<std::string> problems;
  for (const char* key : {"spreadsheet_id", "range"}) {
    if (auto v = RequiredSetting(d, key); !v.ok()) problems.emplace_back(v.status().message());
  }
  if (auto c = ColumnsOf(d); !c.ok()) problems.emplace_back(c.status().message());
  if (OptionalSetting(d, "token").empty() && !d.oauth2.configured()) {
    problems.emplace_back("missing setting 'token' (or an oauth2 block)");
  }
  return problems;
}

void RegisterGoogleSheetsConnector(ConnectorRegistry& registry) {
  registry.Register(ConnectorSpec{
      .name = "google_sheets",
      .note = "appends a row per inquiry to a Google Sheet (values.append, RAW: text stays text)",
      .settings =
          {
              {"spreadsheet_id", "the id in the sheet's URL (/spreadsheets/d/<id>/edit)"},
              {"range", "where the table starts, A1 notation, e.g. 'Lead log'!A1"},
              {"columns",
               "the fields, in order (default: received_at, name, phone, email, "
               "source, channel, service, message, owner, task_due, inquiry_id, "
               "timeline_url; also location, task_title, utm_source, utm_campaign, "
               "referrer, handoff_id)"},
              {"token", "a static bearer token, when there is no oauth2 block"},
              {"base_url", "API base, default https://sheets.googleapis.com"},
          },
      .default_token_url = "https://oauth2.googleapis.com/token",
      .token_basic_auth = false,
      .make = [] { return std::make_unique<GoogleSheetsConnector>(); },
  });
}

}  // namespace handoff
