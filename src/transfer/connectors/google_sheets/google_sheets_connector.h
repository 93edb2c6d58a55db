// The `google_sheets` connector: appends one row per inquiry to a Google Sheet (a lead log)
// with spreadsheets.values.append, valueInputOption=RAW. formats/README.md B6.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transfer/connector.h"

namespace handoff {

// The column names a destination may list under `columns:`, in the default order.
const std::vector<std::string>& GoogleSheetsDefaultColumns();

// The value of one column for the delivery; nullopt for a name that is not a column.
std::optional<std::string> GoogleSheetsCell(const DeliveryContext& ctx, std::string_view column);

// Guards a lead-supplied cell against formula injection *outside* Sheets. With RAW, Sheets
// stores every value as literal text and never evaluates it; but a "Download as CSV/XLSX" of
// the log opened in Excel or LibreOffice evaluates a cell that starts with = + - @ (CSV
// injection, OWASP). Such a cell gets a leading apostrophe, which RAW keeps visibly: a small
// cost paid only by text that starts with those characters. Values that are only a number or
// a phone number ("+14155550142", "-5", "+1 (415) 555-0142") are left alone: they carry no
// formula, and a phone column must stay dialable.
std::string NeutralizeFormula(std::string_view cell);

// Builds values.append requests (OAuth2 access token, or a static `token`) and classifies the
// Sheets API's answers. Stateless and thread-safe.
class GoogleSheetsConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override;
  DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const override;
  std::vector<std::string> CheckSettings(const DestinationConfig& destination) const override;
};

// Registers "google_sheets".
void RegisterGoogleSheetsConnector(ConnectorRegistry& registry);

}  // namespace handoff
