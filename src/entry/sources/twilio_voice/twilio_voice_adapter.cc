#include "entry/sources/twilio_voice/twilio_voice_adapter.h"

#include <algorithm>
#include <memory>

#include "entry/common/twilio_signature.h"
#include "entry/common/twilio_webhook.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

constexpr char kVoicemailGreeting[] =
    "Sorry we missed your call. Please leave a message after the tone.";
constexpr char kNoVoicemailGreeting[] = "Sorry we missed your call. We will call you back soon.";

bool IsMissedStatus(std::string_view status) {
  return status == "busy" || status == "no-answer" || status == "failed" || status == "canceled";
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Reads one request's parameters; the helpers below build a delivery from them.
class VoiceRequest {
 public:
  VoiceRequest(const SourceConfig& source, const HttpRequest& request,
               std::vector<FormField> params)
      : source_(source), request_(request), params_(std::move(params)) {}

  const std::string& P(std::string_view name) const { return TwilioParam(params_, name); }

  absl::StatusOr<ParsedDelivery> Parse() const {
    if (P("CallSid").empty()) return Reject(RejectReason::kMissingField, "CallSid is missing");
    if (!P("TranscriptionSid").empty() || !P("TranscriptionStatus").empty()) {
      return Transcription();
    }
    if (!P("RecordingStatus").empty()) return Recording(/*record_action=*/false);
    if (!P("DialCallStatus").empty()) return DialAction();
    if (!P("CallbackSource").empty() || !P("SequenceNumber").empty()) return CallStatus();
    if (!P("RecordingUrl").empty()) return Recording(/*record_action=*/true);
    if (!P("CallStatus").empty()) return CallStatus();
    return Reject(RejectReason::kMissingField,
                  "not a Twilio voice callback: no CallStatus, DialCallStatus, RecordingStatus, "
                  "RecordingUrl or TranscriptionSid");
  }

 private:
  // A child leg of a forwarded call belongs to its parent's thread.
  const std::string& ThreadCallSid() const {
    if (P("Direction") == "outbound-dial" && !P("ParentCallSid").empty()) {
      return P("ParentCallSid");
    }
    return P("CallSid");
  }

  // The delivery's common part: channel, caller, raw payload, thread.
  ParsedDelivery Base() const {
    ParsedDelivery d;
    Inquiry& in = d.inquiry;
    in.channel = SourceChannel(source_, Channel::kCall);
    in.received.phone = P("From");
    in.received.name = P("CallerName");
    if (request_.method == "GET") {
      in.raw_payload = request_.query;
      in.raw_content_type = "application/x-www-form-urlencoded";
    } else {
      in.raw_payload = request_.body;
      in.raw_content_type = std::string(request_.Header("content-type").value_or(""));
    }
    in.fields = {{"kind", "missed_call"}, {"call_sid", ThreadCallSid()}};
    if (!P("To").empty()) in.fields["to"] = P("To");
    if (!P("ForwardedFrom").empty()) in.fields["forwarded_from"] = P("ForwardedFrom");
    d.thread_key = "call:" + ThreadCallSid();
    return d;
  }

  absl::Status SetEventId(ParsedDelivery& d, std::string event_id) const {
    auto key = TwilioDedupeKey(request_, event_id);
    if (!key.ok()) return key.status();
    d.dedupe_key = std::move(*key);
    d.inquiry.provider_event_id = std::move(event_id);
    return absl::OkStatus();
  }

  absl::StatusOr<ParsedDelivery> CallStatus() const {
    const std::string& status = P("CallStatus");
    if (!IsMissedStatus(status)) {
      return Reject(RejectReason::kIgnored, fmt::format("call status {}", status.substr(0, 32)));
    }
    const std::string& direction = P("Direction");
    const bool child = direction == "outbound-dial";
    if (!direction.empty() && direction != "inbound" && !child) {
      return Reject(RejectReason::kIgnored, "an outgoing call");
    }
    if (child && !BoolSetting(source_, "child_legs", true)) {
      return Reject(RejectReason::kIgnored, "a forwarded call's leg (child_legs: false)");
    }
    ParsedDelivery d = Base();
    Inquiry& in = d.inquiry;
    in.fields["call_status"] = status;
    if (child) {
      in.fields.erase("to");
      in.fields["forwarded_to"] = P("To");
      in.fields["leg_call_sid"] = P("CallSid");
    }
    if (!P("SipResponseCode").empty()) in.fields["sip_response_code"] = P("SipResponseCode");
    if (auto t = ParseRfc2822(P("Timestamp"))) in.occurred_at = *t;
    const std::string& seq = P("SequenceNumber");
    if (absl::Status s = SetEventId(d, P("CallSid") + ":" + (seq.empty() ? status : seq));
        !s.ok()) {
      return s;
    }
    return d;
  }

  absl::StatusOr<ParsedDelivery> DialAction() const {
    const std::string& status = P("DialCallStatus");
    if (!IsMissedStatus(status)) {
      // Answered (or a status this adapter does not know): hang up, store nothing.
      ParsedDelivery d;
      d.store = false;
      d.reply = TwimlResponse("");
      return d;
    }
    ParsedDelivery d = Base();
    Inquiry& in = d.inquiry;
    in.fields["call_status"] = status;
    in.fields["dial_call_status"] = status;
    const std::string& dial_sid = P("DialCallSid");
    if (absl::Status s = SetEventId(d, dial_sid.empty() ? P("CallSid") + ":dial" : dial_sid);
        !s.ok()) {
      return s;
    }
    d.reply = TwimlResponse(MissedCallTwiml());
    return d;
  }

  // What the caller hears after a missed forwarded call: a greeting, then (unless
  // voicemail: false) a recording whose callbacks come back to this source's URL.
  std::string MissedCallTwiml() const {
    const bool voicemail = BoolSetting(source_, "voicemail", true);
    const std::string greeting =
        StringSetting(source_, "greeting", voicemail ? kVoicemailGreeting : kNoVoicemailGreeting);
    std::string twiml;
    if (!greeting.empty()) {
      std::string attrs;
      const std::string voice = StringSetting(source_, "say_voice", "");
      const std::string language = StringSetting(source_, "say_language", "");
      if (!voice.empty()) attrs += fmt::format(" voice=\"{}\"", EscapeMarkup(voice));
      if (!language.empty()) attrs += fmt::format(" language=\"{}\"", EscapeMarkup(language));
      twiml += fmt::format("<Say{}>{}</Say>", attrs, EscapeMarkup(greeting));
    }
    if (!voicemail) return twiml;
    const std::string url = EscapeMarkup(TwilioRequestUrl(source_, request_));
    const int64_t max_seconds =
        std::clamp<int64_t>(IntSetting(source_, "voicemail_max_seconds", 120), 1, 14400);
    twiml += fmt::format(
        "<Record action=\"{0}\" method=\"POST\" maxLength=\"{1}\" playBeep=\"true\" "
        "recordingStatusCallback=\"{0}\" recordingStatusCallbackMethod=\"POST\"",
        url, max_seconds);
    if (BoolSetting(source_, "transcribe", true)) {
      twiml += fmt::format(" transcribe=\"true\" transcribeCallback=\"{}\"", url);
    }
    twiml += "/>";
    return twiml;
  }

  absl::StatusOr<ParsedDelivery> Recording(bool record_action) const {
    const std::string& status = P("RecordingStatus");
    if (!record_action && status != "completed") {
      return Reject(RejectReason::kIgnored, fmt::format("recording {}", status.substr(0, 32)));
    }
    const std::string& origin = P("RecordingSource");
    if (!origin.empty() && origin != "RecordVerb") {
      return Reject(RejectReason::kIgnored, "a call recording, not a voicemail");
    }
    const std::string& url = P("RecordingUrl");
    if (url.empty()) return Reject(RejectReason::kMissingField, "RecordingUrl is missing");
    ParsedDelivery d = Base();
    Inquiry& in = d.inquiry;
    in.message = "voicemail: " + url;
    in.fields["voicemail_url"] = url;
    if (!P("RecordingSid").empty()) in.fields["recording_sid"] = P("RecordingSid");
    const std::string& duration = P("RecordingDuration");
    if (IsDigits(duration) && duration.size() < 10) {
      in.fields["voicemail_seconds"] = std::stoll(duration);
    }
    if (auto t = ParseRfc2822(P("RecordingStartTime"))) in.occurred_at = *t;
    const std::string& sid = P("RecordingSid");
    if (absl::Status s = SetEventId(d, sid.empty() ? P("CallSid") + ":recording" : sid); !s.ok()) {
      return s;
    }
    // The <Record action> request runs in the call: it needs TwiML back (empty: hang up).
    if (record_action) d.reply = TwimlResponse("");
    return d;
  }

  absl::StatusOr<ParsedDelivery> Transcription() const {
    const std::string& status = P("TranscriptionStatus");
    const std::string& text = P("TranscriptionText");
    const bool usable =
        status == "completed" && text.find_first_not_of(" \t\r\n") != std::string::npos;
    ParsedDelivery d = Base();
    Inquiry& in = d.inquiry;
    const std::string& url = P("RecordingUrl");
    if (usable) {
      in.message = text;
      d.replace_message = true;
    } else if (!url.empty()) {
      // A failed transcription keeps (or sets) the link to the recording.
      in.message = "voicemail: " + url;
    }
    if (!url.empty()) in.fields["voicemail_url"] = url;
    in.fields["transcription_status"] = status.empty() ? "unknown" : status;
    const std::string& sid = P("TranscriptionSid");
    if (absl::Status s = SetEventId(d, sid.empty() ? P("CallSid") + ":transcription" : sid);
        !s.ok()) {
      return s;
    }
    return d;
  }

  const SourceConfig& source_;
  const HttpRequest& request_;
  const std::vector<FormField> params_;
};

}  // namespace

absl::Status TwilioVoiceAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                        Micros /*now*/) const {
  return VerifyTwilioSignature(source, request);
}

absl::StatusOr<ParsedDelivery> TwilioVoiceAdapter::Parse(const SourceConfig& source,
                                                         const HttpRequest& request) const {
  auto params = TwilioParams(request);
  if (!params.ok()) return params.status();
  return VoiceRequest(source, request, std::move(*params)).Parse();
}

void RegisterTwilioVoiceSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "twilio_voice",
      .trust_note = "verifies X-Twilio-Signature (HMAC-SHA1 of business.public_url + path + "
                    "sorted params; signature.secret = the Auth Token)",
      .default_channel = Channel::kCall,
      .methods = {"POST", "GET"},
      .settings =
          {
              {"greeting",
               "text said after a missed forwarded call (default: a short apology, asking for a "
               "voicemail when voicemail is on); \"\" says nothing"},
              {"voicemail", "true (default) or false: record a voicemail after a missed call"},
              {"transcribe", "true (default) or false: ask Twilio to transcribe the voicemail"},
              {"voicemail_max_seconds", "longest voicemail in seconds (default 120)"},
              {"say_voice", "the <Say> voice, e.g. Polly.Joanna (default: Twilio's)"},
              {"say_language", "the <Say> language, e.g. en-GB (default: Twilio's)"},
              {"child_legs",
               "true (default) or false: count a forwarded call's child-leg status callback as "
               "the miss (turn off when <Dial callerId> is your own number)"},
          },
      .make = [] { return std::make_unique<TwilioVoiceAdapter>(); },
  });
}

}  // namespace handoff
