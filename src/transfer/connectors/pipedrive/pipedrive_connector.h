// The `pipedrive` connector: puts an inquiry into Pipedrive (API v1) as a person (found or
// created), a lead or a deal, and an activity carrying the summary and the next step
// (../shared/formats B2).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "transfer/connector.h"

namespace handoff {

// Delivers in three or four steps, each resumable on its own. Step numbers are the calls in
// the order made; which call an attempt makes follows from what earlier steps captured, so a
// call that is not needed is never built (no empty or duplicate request):
//   "person_search": GET /persons/search by email (else phone), exact match. Captures
//                    person_id when found, else person_search=none. Skipped without an email
//                    or a phone.
//   "person":        POST /persons, only when no person_id was captured. Captures person_id.
//   "lead" | "deal": POST /leads (data.id is a UUID) or /deals, per `create`. Captures
//                    lead_id or deal_id.
//   "activity":      POST /activities linked to the person and the lead/deal; the last step.
// So: search found → 0 search, 1 lead, 2 activity; search found nobody → 0 search, 1 person,
// 2 lead, 3 activity; neither email nor phone → 0 person, 1 lead, 2 activity.
// The remote id is "person:<id> lead:<uuid> activity:<id>" (or deal:<id>).
// Stateless and thread-safe.
class PipedriveConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override;
  DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const override;
  std::vector<std::string> CheckSettings(const DestinationConfig& destination) const override;
};

// Registers "pipedrive".
void RegisterPipedriveConnector(ConnectorRegistry& registry);

}  // namespace handoff
