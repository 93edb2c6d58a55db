#include "entry/sources/twilio_sms/twilio_sms_adapter.h"

#include <memory>

#include "entry/common/twilio_signature.h"
#include "entry/common/twilio_webhook.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

// Twilio sends at most 10 media items per message; the scan stops at the first gap anyway.
constexpr int kMaxMedia = 100;

}  // namespace

absl::Status TwilioSmsAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                      Micros /*now*/) const {
  return VerifyTwilioSignature(source, request);
}

absl::StatusOr<ParsedDelivery> TwilioSmsAdapter::Parse(const SourceConfig& source,
                                                       const HttpRequest& request) const {
  auto parsed = TwilioParams(request);
  if (!parsed.ok()) return parsed.status();
  const std::vector<FormField>& params = *parsed;
  const auto p = [&](std::string_view name) -> const std::string& {
    return TwilioParam(params, name);
  };
  // An outgoing message's status callback carries MessageStatus (and SmsStatus sent,
  // delivered…); only a received message is an inquiry.
  if (!p("MessageStatus").empty() || (!p("SmsStatus").empty() && p("SmsStatus") != "received")) {
    return Reject(RejectReason::kIgnored, "a message status callback");
  }
  std::string sid = p("MessageSid");
  if (sid.empty()) sid = p("SmsMessageSid");
  if (sid.empty()) sid = p("SmsSid");
  if (sid.empty()) return Reject(RejectReason::kMissingField, "MessageSid is missing");
  const std::string& from = p("From");
  if (from.empty()) return Reject(RejectReason::kMissingField, "From is missing");

  ParsedDelivery d;
  Inquiry& in = d.inquiry;
  in.channel = SourceChannel(source, Channel::kSms);
  // WhatsApp senders come as "whatsapp:+14155550101": the phone is the number.
  constexpr std::string_view kWhatsApp = "whatsapp:";
  const bool whatsapp = from.rfind(kWhatsApp, 0) == 0;
  in.received.phone = whatsapp ? from.substr(kWhatsApp.size()) : from;
  in.received.name = p("ProfileName");
  in.message = p("Body");
  in.provider_event_id = sid;
  if (request.method == "GET") {
    in.raw_payload = request.query;
    in.raw_content_type = "application/x-www-form-urlencoded";
  } else {
    in.raw_payload = request.body;
    in.raw_content_type = std::string(request.Header("content-type").value_or(""));
  }
  in.fields = {{"kind", "sms"}, {"message_sid", sid}};
  if (whatsapp) in.fields["from_address"] = from;
  if (!p("To").empty()) in.fields["to"] = p("To");
  nlohmann::json urls = nlohmann::json::array();
  nlohmann::json types = nlohmann::json::array();
  for (int i = 0; i < kMaxMedia; ++i) {
    const std::string& url = p(fmt::format("MediaUrl{}", i));
    if (url.empty()) break;
    urls.push_back(url);
    types.push_back(p(fmt::format("MediaContentType{}", i)));
  }
  if (!urls.empty()) {
    in.fields["media_urls"] = std::move(urls);
    in.fields["media_content_types"] = std::move(types);
  }
  auto key = TwilioDedupeKey(request, sid);
  if (!key.ok()) return key.status();
  d.dedupe_key = std::move(*key);

  const std::string auto_reply = StringSetting(source, "auto_reply", "");
  d.reply = TwimlResponse(auto_reply.empty()
                              ? std::string()
                              : fmt::format("<Message>{}</Message>", EscapeMarkup(auto_reply)));
  return d;
}

void RegisterTwilioSmsSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "twilio_sms",
      .trust_note = "verifies X-Twilio-Signature (HMAC-SHA1 of business.public_url + path + "
                    "sorted params; signature.secret = the Auth Token)",
      .default_channel = Channel::kSms,
      .methods = {"POST", "GET"},
      .settings = {{"auto_reply",
                    "text answered to every inbound message as TwiML <Message> (default: no "
                    "reply)"}},
      .make = [] { return std::make_unique<TwilioSmsAdapter>(); },
  });
}

}  // namespace handoff
