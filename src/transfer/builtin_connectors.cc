#include "transfer/connector.h"
#include "transfer/connectors/google_sheets/google_sheets_connector.h"
#include "transfer/connectors/hubspot/hubspot_connector.h"
#include "transfer/connectors/inbox/inbox_connector.h"
#include "transfer/connectors/pipedrive/pipedrive_connector.h"
#include "transfer/connectors/salesforce/salesforce_connector.h"
#include "transfer/connectors/slack/slack_connector.h"
#include "transfer/connectors/smtp/smtp_connector.h"
#include "transfer/connectors/teams/teams_connector.h"
#include "transfer/connectors/twilio_sms/twilio_sms_connector.h"
#include "transfer/connectors/webhook/webhook_connector.h"

namespace handoff {

void RegisterBuiltinConnectors(ConnectorRegistry& registry) {
  RegisterWebhookConnector(registry);
  RegisterHubSpotConnector(registry);
  RegisterPipedriveConnector(registry);
  RegisterSalesforceConnector(registry);
  RegisterSmtpConnector(registry);
  RegisterSlackConnector(registry);
  RegisterTeamsConnector(registry);
  RegisterTwilioSmsConnector(registry);
  RegisterGoogleSheetsConnector(registry);
  RegisterInboxConnector(registry);
}

}  // namespace handoff
