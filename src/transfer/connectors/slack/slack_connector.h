// The `slack` connector: posts the inquiry's summary to a Slack channel, either through an
// incoming webhook (`webhook_url:`) or through chat.postMessage with a bot token (`token:` +
// `channel:`). formats/README.md B4.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"
#include "transfer/connector.h"
#include "transfer/delivery_summary.h"

namespace handoff {

// Escapes Slack's three control characters (& < > → &amp; &lt; &gt;) so that lead-supplied
// text cannot form a mention (<!channel>, <@U…>) or a disguised link (<http://x|click>).
// Formatting marks (* _ ~ `) have no escape in mrkdwn and only style text: they pass through.
// This connector never sets link_names, the option that turns a bare "@channel" into a mention.
std::string SlackEscape(std::string_view text);

// The Block Kit message for a summary: a header, the facts as section fields, the message, the
// next step and a button to the timeline. Every lead-derived string is escaped and cut to
// Slack's limits (header 150, section text 3000, field 2000, 10 fields per section).
nlohmann::json SlackBlocks(const DeliverySummary& summary);

// Builds webhook or chat.postMessage requests and classifies Slack's answers (chat.postMessage
// always answers HTTP 200 and reports failures in its `ok`/`error` body). Stateless and
// thread-safe.
class SlackConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override;
  DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const override;
  std::vector<std::string> CheckSettings(const DestinationConfig& destination) const override;
};

// Registers "slack".
void RegisterSlackConnector(ConnectorRegistry& registry);

}  // namespace handoff
