// The `twilio_voice` source: missed calls from Twilio Programmable Voice, with their voicemail.
// One URL takes every Twilio voice request for the source, told apart by their parameters:
//   - a call status callback (CallStatus busy / no-answer / failed / canceled is a missed call;
//     other statuses and outgoing calls are ignored). A forwarded call's child leg
//     (Direction=outbound-dial) belongs to its parent call;
//   - the <Dial action> request of a forwarded call (DialCallStatus): a miss creates the
//     inquiry and is answered with TwiML that says a greeting and records a voicemail; an
//     answered dial is answered with empty TwiML and stores nothing;
//   - the voicemail's <Record action> and recordingStatusCallback: "voicemail: <RecordingUrl>"
//     as the message when it has none;
//   - the transcribeCallback: the transcription replaces that message.
// All of one call's requests share the thread "call:<CallSid>" (the parent's CallSid for a
// child leg), so a missed call, its voicemail and its transcription are one inquiry.
// Authenticity: X-Twilio-Signature (entry/common/twilio_signature.h). Stateless, thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class TwilioVoiceAdapter final : public SourceAdapter {
 public:
  // Checks X-Twilio-Signature against the source's Auth Tokens (signature.secret).
  absl::Status Verify(const SourceConfig& source, const HttpRequest& request,
                      Micros now) const override;
  // Rejects ignored for requests that are not a missed call or its voicemail, missing_field
  // when CallSid (or the request's distinguishing parameters) are absent.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "twilio_voice".
void RegisterTwilioVoiceSource(SourceAdapterRegistry& registry);

}  // namespace handoff
