// The `salesforce` connector: creates a Lead through the Salesforce REST API
// (../shared/formats B3), with the inquiry summary as its Description.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "transfer/connector.h"

namespace handoff {

// One step: POST {base}/services/data/{api_version}/sobjects/Lead/. The remote id is the
// Lead's id ("00Q…"). The org's host comes from `base_url`, else from the OAuth2 token's
// instance_url. Stateless and thread-safe.
class SalesforceConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override;
  DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const override;
  std::vector<std::string> CheckSettings(const DestinationConfig& destination) const override;
};

// Registers "salesforce".
void RegisterSalesforceConnector(ConnectorRegistry& registry);

}  // namespace handoff
