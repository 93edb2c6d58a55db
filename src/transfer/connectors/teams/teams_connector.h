// The `teams` connector: posts the inquiry's summary to a Microsoft Teams channel through a
// Workflows ("Send webhook alerts to a channel") or legacy Office 365 connector webhook, as an
// Adaptive Card (default) or a legacy MessageCard. formats/README.md B4.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"
#include "transfer/connector.h"
#include "transfer/delivery_summary.h"

namespace handoff {

// Neutralises Teams' markdown in lead text: a backslash before each of \ * _ ~ ` # [ ] < > &
// (CommonMark lets any ASCII punctuation be escaped), so "[click](http://evil)" shows as typed
// instead of a disguised link, "**x**" stays literal, "&lt;" is not decoded, and '<' cannot
// start HTML-ish markup (<at>; Teams' iOS renderer has treated such text as HTML). Parentheses
// are left alone: without '[' ']' they form no link, and phone numbers keep their "(415)".
// Newlines become "\n\n" (TextBlock markdown needs a blank line for a break). Bare URLs are
// still auto-linked by Teams; that cannot be escaped and shows the real target.
std::string TeamsEscape(std::string_view text);

// The `attachments[0].content` Adaptive Card 1.4 for a summary (TextBlocks, a FactSet, and an
// Action.OpenUrl to the timeline when there is one).
nlohmann::json TeamsAdaptiveCard(const DeliverySummary& summary);
// The legacy connector's MessageCard for a summary.
nlohmann::json TeamsMessageCard(const DeliverySummary& summary);

// Builds Teams webhook posts and classifies the answers, including the legacy connector's
// throttling reported inside an HTTP 200 body. Stateless and thread-safe.
class TeamsConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override;
  DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const override;
  std::vector<std::string> CheckSettings(const DestinationConfig& destination) const override;
};

// Registers "teams".
void RegisterTeamsConnector(ConnectorRegistry& registry);

}  // namespace handoff
