// The `twilio_sms` connector: texts the inquiry's summary to the task owner (or a fixed number),
// or a configured reply to the lead (a missed-call text-back), through Twilio's Messages API.
// formats/README.md B5.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transfer/connector.h"
#include "transfer/delivery_summary.h"

namespace handoff {

// The default SMS for a summary: who, their phone, the message cut short and the timeline
// link, at most 1600 bytes (Twilio's Body limit counts characters; bytes are stricter).
std::string TwilioDefaultSms(const DeliverySummary& summary);

// Builds form-encoded Messages.json posts with HTTP Basic auth and classifies Twilio's answers
// by its error codes (21610 opted out: never retry; 20429: always safe to retry). Stateless and
// thread-safe.
class TwilioSmsConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override;
  DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const override;
  std::vector<std::string> CheckSettings(const DestinationConfig& destination) const override;
};

// Registers "twilio_sms".
void RegisterTwilioSmsConnector(ConnectorRegistry& registry);

}  // namespace handoff
