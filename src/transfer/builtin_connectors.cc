#include "transfer/connector.h"
#include "transfer/connectors/hubspot/hubspot_connector.h"
#include "transfer/connectors/pipedrive/pipedrive_connector.h"
#include "transfer/connectors/salesforce/salesforce_connector.h"
#include "transfer/connectors/webhook/webhook_connector.h"

namespace handoff {

void RegisterBuiltinConnectors(ConnectorRegistry& registry) {
  RegisterWebhookConnector(registry);
  RegisterHubSpotConnector(registry);
  RegisterPipedriveConnector(registry);
  RegisterSalesforceConnector(registry);
}

}  // namespace handoff
