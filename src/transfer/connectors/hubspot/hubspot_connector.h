// The `hubspot` connector: puts an inquiry into HubSpot CRM (v3 objects API) as a contact with
// a note and, when the inquiry has a task, a task for its owner (../shared/formats B1).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "transfer/connector.h"

namespace handoff {

// Delivers in up to three steps, each resumable on its own (a retry never re-creates a
// confirmed record):
//   step 0 "contact": upsert by email (batch upsert, idProperty email), or create by phone when
//          there is no email (a 409 "Existing ID: N" counts as found); captures contact_id.
//   step 1 "note":    the inquiry summary as a note associated with the contact (type 202);
//          captures note_id. The last step when the inquiry has no task.
//   step 2 "task":    the next step for its owner, associated with the contact (type 204).
// The call an attempt makes follows from what earlier steps captured, which always agrees with
// ctx.progress.step. The remote id is "contact:<id> note:<id>[ task:<id>]".
// Stateless and thread-safe.
class HubSpotConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override;
  DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const override;
  std::vector<std::string> CheckSettings(const DestinationConfig& destination) const override;
};

// Registers "hubspot".
void RegisterHubSpotConnector(ConnectorRegistry& registry);

}  // namespace handoff
