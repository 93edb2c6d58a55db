// The `twilio_sms` source: inbound texts (SMS, MMS, WhatsApp) from a Twilio number's Messaging
// webhook. One inquiry per message: phone = From, message = Body, media links in
// fields.media_urls; deduplicated on MessageSid. Answers with empty TwiML, or with the
// configured auto_reply as a <Message>. Status callbacks of outgoing messages are ignored, so
// replies never loop back. Authenticity: X-Twilio-Signature (entry/common/twilio_signature.h).
// Stateless and thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class TwilioSmsAdapter final : public SourceAdapter {
 public:
  // Checks X-Twilio-Signature against the source's Auth Tokens (signature.secret).
  absl::Status Verify(const SourceConfig& source, const HttpRequest& request,
                      Micros now) const override;
  // Rejects ignored for status callbacks, missing_field without MessageSid or From.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "twilio_sms".
void RegisterTwilioSmsSource(SourceAdapterRegistry& registry);

}  // namespace handoff
