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

// Delivers in three or four calls, each resumable on its own. Which call an attempt makes
// follows from what earlier steps captured (ctx.progress.values), so a call that is not needed
// is never built (no empty or duplicate request); ctx.progress.step just counts the confirmed
// calls:
//   "person_search": GET /persons/search by email (else phone), exact match. Captures
//                    person_id when found, else person_searched=<attempt>. Skipped without an
//                    email or a phone. Repeated once per attempt while no person_id is
//                    captured, so a person created by an attempt whose answer was lost is
//                    found, not created twice.
//   "person":        POST /persons, only when no person_id was captured. Captures person_id.
//   "lead" | "deal": POST /leads (data.id is a UUID) or /deals, per `create`. Captures
//                    lead_id or deal_id.
//   "activity":      POST /activities linked to the person and the lead/deal; the last step.
// So a fresh delivery runs: search found → search, lead, activity (steps 0-2); search found
// nobody → search, person, lead, activity (0-3); neither email nor phone → person, lead,
// activity (0-2). A retry resumes at the first record not captured.
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
