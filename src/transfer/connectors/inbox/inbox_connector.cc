#include "transfer/connectors/inbox/inbox_connector.h"

#include <memory>

namespace handoff {

absl::StatusOr<OutboundRequest> InboxConnector::BuildRequest(const DeliveryContext& ctx) const {
  // Nothing goes over the network; `handoff check` builds a request for every destination,
  // so this only confirms the destination is usable.
  OutboundRequest r;
  r.method = "LOCAL";
  r.url = "inbox:" + ctx.destination.name;
  return r;
}

DeliveryOutcome InboxConnector::Classify(const DeliveryContext&, int,
                                         const std::vector<std::pair<std::string, std::string>>&,
                                         const std::string&) const {
  return Permanent("the inbox delivers locally; there is no answer to classify");
}

absl::StatusOr<std::string> InboxConnector::DeliverLocally(const DeliveryContext& ctx,
                                                           WriteTx& tx) const {
  InboxItem item;
  item.id = ctx.handoff.id;
  item.workspace = ctx.handoff.workspace;
  item.inquiry_id = ctx.handoff.inquiry_id;
  item.destination = ctx.destination.name;
  item.owner = ctx.task ? ctx.task->owner : "";
  item.created_at = ctx.now;
  absl::Status s = tx.InsertInboxItem(item);
  if (!s.ok()) return s;
  return "inbox:" + item.id;
}

void RegisterInboxConnector(ConnectorRegistry& registry) {
  registry.Register(ConnectorSpec{
      .name = "inbox",
      .note = "keeps the inquiry as an open record in handoff itself (for a business with no CRM "
              "yet): listed by GET /api/v1/inbox and `handoff inbox` until marked done",
      .settings = {},
      .default_token_url = "",
      .token_basic_auth = false,
      .make = [] { return std::make_unique<InboxConnector>(); },
  });
}

}  // namespace handoff
