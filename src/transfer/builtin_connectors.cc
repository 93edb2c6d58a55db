#include "transfer/connector.h"
#include "transfer/connectors/smtp/smtp_connector.h"
#include "transfer/connectors/webhook/webhook_connector.h"

namespace handoff {

void RegisterBuiltinConnectors(ConnectorRegistry& registry) {
  RegisterWebhookConnector(registry);
  RegisterSmtpConnector(registry);
}

}  // namespace handoff
