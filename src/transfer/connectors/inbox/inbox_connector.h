// The `inbox` connector: handoff itself as the tracked record, for a business with no CRM yet.
// The inquiry, its contact and its task already live in handoff; delivering to the inbox opens
// a record the owner works from (GET /api/v1/inbox, `handoff inbox`, the dashboard) until they
// mark it done. It writes inside the attempt's own transaction, so the record and the
// confirmation commit together, and a retried or replayed handoff never opens a second one.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "transfer/connector.h"

namespace handoff {

class InboxConnector final : public Connector {
 public:
  absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const override;
  DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) const override;
  bool local() const override { return true; }
  absl::StatusOr<std::string> DeliverLocally(const DeliveryContext& ctx,
                                             WriteTx& tx) const override;
};

// Registers "inbox".
void RegisterInboxConnector(ConnectorRegistry& registry);

}  // namespace handoff
