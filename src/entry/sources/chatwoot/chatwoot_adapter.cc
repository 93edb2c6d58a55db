#include "entry/sources/chatwoot/chatwoot_adapter.h"

#include <memory>

#include "entry/common/body_parser.h"
#include "entry/common/field_map.h"
#include "entry/common/json_text.h"
#include "entry/common/mapped_delivery.h"
#include "entry/common/signature.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr Micros kDefaultTolerance = 5 * kMicrosPerMinute;
// Chatwoot writes message_type as text at the top of a message_created payload and as an
// integer (0 = incoming) inside conversation.messages[].
bool IsIncoming(const json& message) {
  const json* type = JsonAt(message, {"message_type"});
  if (type == nullptr) return false;
  const bool incoming = (type->is_string() && type->get<std::string>() == "incoming") ||
                        (type->is_number_integer() && type->get<int64_t>() == 0);
  const json* is_private = JsonAt(message, {"private"});
  return incoming &&
         !(is_private != nullptr && is_private->is_boolean() && is_private->get<bool>());
}

// created_at is unix seconds on conversations and an ISO time on messages; 0 when unusable.
Micros Timestamp(const json& object) {
  const std::string text = JsonText(object, {"created_at"});
  if (text.empty()) return 0;
  auto at = ParseOccurredAt(text);
  return at.ok() ? *at : 0;
}

// The email a visitor typed into the widget's "input_email" prompt, if this message is one.
std::string SubmittedEmail(const json& message) {
  if (JsonText(message, {"content_type"}) != "input_email") return "";
  return JsonText(message, {"content_attributes", "submitted_email"});
}

absl::StatusOr<std::string> Key(std::string key) {
  if (key.size() > kMaxDedupeKeyBytes) {
    return Reject(RejectReason::kInvalidField, "the delivery id is too long");
  }
  return key;
}

}  // namespace

absl::Status ChatwootAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                     Micros now) const {
  const SourceAuth& auth = source.auth;
  const bool signed_request = request.HeaderCount("x-chatwoot-signature") > 0;
  if (!auth.hmac_secrets.empty() && (signed_request || auth.tokens.empty())) {
    const int stamps = request.HeaderCount("x-chatwoot-timestamp");
    if (stamps != 1) {
      return Reject(RejectReason::kBadCredentials, stamps == 0
                                                       ? "missing header 'x-chatwoot-timestamp'"
                                                       : "several 'x-chatwoot-timestamp' headers");
    }
    const std::string_view stamp = *request.Header("x-chatwoot-timestamp");
    std::string signed_data;
    signed_data.reserve(stamp.size() + 1 + request.body.size());
    signed_data.append(stamp).append(".").append(request.body);
    absl::Status s =
        VerifyHexSignatureHeader(request, "x-chatwoot-signature", "sha256=", HmacDigest::kSha256,
                                 auth.hmac_secrets, signed_data);
    if (!s.ok()) return s;
    // Checked after the signature, so "stale" always describes a genuine Chatwoot request.
    return CheckSignedTimestamp(stamp, now,
                                DurationSetting(source, "timestamp_tolerance", kDefaultTolerance)
                                    .value_or(kDefaultTolerance));
  }
  // Unsigned installs: the generic token check (query ?token= or a header), when configured.
  return VerifySourceToken(source, request);
}

absl::StatusOr<ParsedDelivery> ChatwootAdapter::Parse(const SourceConfig& source,
                                                      const HttpRequest& request) const {
  auto body = ParseJsonRequest(request);
  if (!body.ok()) return body.status();
  const json& root = body->json;

  const std::string event = JsonText(root, {"event"});
  ParsedDelivery out;
  Inquiry& in = out.inquiry;
  in.channel = Channel::kChat;
  if (!source.channel.empty()) in.channel = ParseChannel(source.channel).value_or(Channel::kChat);

  // The conversation object: at the top of conversation_created, under "conversation" in
  // message_created.
  const json* conversation = nullptr;
  std::string own_key;
  if (event == "message_created") {
    if (!IsIncoming(root)) {
      return Reject(RejectReason::kIgnored, "not an incoming public message");
    }
    conversation = JsonAt(root, {"conversation"});
    in.message = JsonText(root, {"content"});
    in.received.email = SubmittedEmail(root);
    in.occurred_at = Timestamp(root);
    const std::string id = JsonText(root, {"id"});
    if (id.empty()) return Reject(RejectReason::kMissingField, "the message has no 'id'");
    own_key = "message:" + id;
    in.provider_event_id = own_key;
  } else if (event == "conversation_created") {
    conversation = &root;
    in.occurred_at = Timestamp(root);
    // A widget conversation usually arrives with the visitor's first message inside it.
    const json* messages = JsonAt(root, {"messages"});
    if (messages != nullptr && messages->is_array()) {
      for (const json& m : *messages) {
        if (!IsIncoming(m)) continue;
        if (in.message.empty()) in.message = JsonText(m, {"content"});
        if (in.received.email.empty()) in.received.email = SubmittedEmail(m);
      }
    }
  } else {
    return Reject(RejectReason::kIgnored,
                  fmt::format("event '{}' is not an inquiry", event.substr(0, 40)));
  }
  if (conversation == nullptr || !conversation->is_object()) {
    return Reject(RejectReason::kMissingField, "the delivery has no conversation");
  }
  const std::string conversation_id = JsonText(*conversation, {"id"});
  if (conversation_id.empty()) {
    return Reject(RejectReason::kMissingField, "the conversation has no 'id'");
  }
  std::string account = JsonText(*conversation, {"account_id"});
  if (account.empty()) account = JsonText(root, {"account", "id"});
  if (event == "conversation_created") {
    own_key = "conversation:" + conversation_id;
    in.provider_event_id = own_key;
  }

  const json* sender = JsonAt(*conversation, {"meta", "sender"});
  if (sender != nullptr) {
    in.received.name = JsonText(*sender, {"name"});
    if (const std::string email = JsonText(*sender, {"email"}); !email.empty()) {
      in.received.email = email;
    }
    in.received.phone = JsonText(*sender, {"phone_number"});
  }
  in.attribution.referrer = JsonText(*conversation, {"additional_attributes", "referer"});
  in.fields["kind"] = "chat";
  in.fields["conversation_id"] = conversation_id;
  if (!account.empty()) in.fields["account_id"] = account;
  // Only message_created names the inbox; both carry its id. Separate keys keep a later
  // delivery of the thread from rewriting one with the other.
  if (const std::string inbox = JsonText(root, {"inbox", "name"}); !inbox.empty()) {
    in.fields["inbox"] = inbox;
  }
  if (const std::string inbox_id = JsonText(*conversation, {"inbox_id"}); !inbox_id.empty()) {
    in.fields["inbox_id"] = inbox_id;
  }
  if (const std::string type = JsonText(*conversation, {"channel"}); !type.empty()) {
    in.fields["channel_type"] = type;
  }
  if (absl::Status s = ApplyMapOverrides(source, *body, &in); !s.ok()) return s;

  in.raw_payload = request.body;
  in.raw_content_type = std::string(request.Header("content-type").value_or(""));
  const int deliveries = request.HeaderCount("x-chatwoot-delivery");
  if (deliveries > 1) {
    return Reject(RejectReason::kInvalidField, "several 'x-chatwoot-delivery' headers");
  }
  const std::string delivery(deliveries == 1 ? *request.Header("x-chatwoot-delivery") : "");
  auto key = Key(delivery.empty() ? own_key : "delivery:" + delivery);
  if (!key.ok()) return key.status();
  out.dedupe_key = std::move(*key);
  out.thread_key = fmt::format("conversation:{}:{}", account, conversation_id);
  return out;
}

void RegisterChatwootSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "chatwoot",
      .trust_note = "verifies X-Chatwoot-Signature (HMAC-SHA256 over timestamp.body) and its "
                    "timestamp, or a token for unsigned installs",
      .default_channel = Channel::kChat,
      .settings = {{"timestamp_tolerance",
                    "how far X-Chatwoot-Timestamp may be from now (seconds or a duration such "
                    "as 5m; default 5m)"}},
      .make = [] { return std::make_unique<ChatwootAdapter>(); },
  });
}

}  // namespace handoff
