#include "entry/sources/intercom/intercom_adapter.h"

#include <memory>

#include "entry/common/body_parser.h"
#include "entry/common/html_text.h"
#include "entry/common/json_text.h"
#include "entry/common/mapped_delivery.h"
#include "entry/common/signature.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

using nlohmann::json;

bool ContactLeadsEnabled(const SourceConfig& source) {
  auto it = source.settings.find("contact_leads");
  return it != source.settings.end() && it->is_boolean() && it->get<bool>();
}

// Unix seconds, as Intercom sends created_at; 0 when absent or unusable.
Micros UnixSeconds(const json& object) {
  const json* at = JsonAt(object, {"created_at"});
  if (at == nullptr || !at->is_number_integer()) return 0;
  const int64_t s = at->get<int64_t>();
  if (s <= 0 || s > 100'000'000'000LL) return 0;
  return s * kMicrosPerSecond;
}

// The first contact's id of a conversation (API 2.x `contacts.contacts[]`), else "".
std::string FirstContactId(const json& item) {
  const json* contacts = JsonAt(item, {"contacts", "contacts"});
  if (contacts == nullptr || !contacts->is_array() || contacts->empty()) return "";
  return JsonText((*contacts)[0], {"id"});
}

void MapConversation(const json& item, Inquiry& in) {
  const json* source = JsonAt(item, {"source"});
  static const json kEmpty = json::object();
  const json& s = source != nullptr && source->is_object() ? *source : kEmpty;
  in.received.name = JsonText(s, {"author", "name"});
  in.received.email = JsonText(s, {"author", "email"});
  in.message = HtmlToText(JsonText(s, {"body"}));
  in.attribution.landing_page = JsonText(s, {"url"});
  in.fields["kind"] = "chat";
  in.fields["conversation_id"] = JsonText(item, {"id"});
  std::string contact = FirstContactId(item);
  if (contact.empty()) contact = JsonText(s, {"author", "id"});
  if (!contact.empty()) in.fields["contact_id"] = contact;
  if (const std::string subject = HtmlToText(JsonText(s, {"subject"})); !subject.empty()) {
    in.fields["subject"] = subject;
  }
  if (const std::string type = JsonText(s, {"author", "type"}); !type.empty()) {
    in.fields["author_type"] = type;
  }
}

void MapLead(const json& item, Inquiry& in) {
  in.received.name = JsonText(item, {"name"});
  in.received.email = JsonText(item, {"email"});
  in.received.phone = JsonText(item, {"phone"});
  in.fields["kind"] = "lead";
  if (const std::string id = JsonText(item, {"id"}); !id.empty()) in.fields["contact_id"] = id;
}

}  // namespace

absl::Status IntercomAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                     Micros /*now*/) const {
  if (!source.auth.hmac_secrets.empty()) {
    absl::Status s =
        VerifyHexSignatureHeader(request, "x-hub-signature", "sha1=", HmacDigest::kSha1,
                                 source.auth.hmac_secrets, request.body);
    if (!s.ok()) return s;
  }
  return VerifySourceToken(source, request);
}

absl::StatusOr<ParsedDelivery> IntercomAdapter::Parse(const SourceConfig& source,
                                                      const HttpRequest& request) const {
  auto body = ParseJsonRequest(request);
  if (!body.ok()) return body.status();
  const json& root = body->json;

  const std::string topic = JsonText(root, {"topic"});
  ParsedDelivery out;
  if (topic == "ping") {
    // Sent when the webhook is set up or tested: it only needs a 200.
    out.store = false;
    out.reply = HttpResponse::Json(200, R"({"status":"ok"})");
    return out;
  }
  const bool lead = topic == "contact.lead.created";
  if (topic != "conversation.user.created" && !(lead && ContactLeadsEnabled(source))) {
    return Reject(RejectReason::kIgnored,
                  fmt::format("topic '{}' is not an inquiry", topic.substr(0, 40)));
  }
  const json* item = JsonAt(root, {"data", "item"});
  if (item == nullptr || !item->is_object()) {
    return Reject(RejectReason::kMissingField, "the notification has no data.item");
  }
  const std::string id = JsonText(root, {"id"});
  if (id.empty()) return Reject(RejectReason::kMissingField, "the notification has no 'id'");
  if (id.size() > kMaxDedupeKeyBytes) {
    return Reject(RejectReason::kInvalidField, "the notification id is too long");
  }

  Inquiry& in = out.inquiry;
  in.channel = Channel::kChat;
  if (!source.channel.empty()) in.channel = ParseChannel(source.channel).value_or(Channel::kChat);
  if (lead) {
    MapLead(*item, in);
  } else {
    MapConversation(*item, in);
  }
  in.occurred_at = UnixSeconds(*item);
  in.provider_event_id = id;
  if (const std::string app = JsonText(root, {"app_id"}); !app.empty()) {
    in.fields["app_id"] = app;
  }
  if (absl::Status s = ApplyMapOverrides(source, *body, &in); !s.ok()) return s;
  in.raw_payload = request.body;
  in.raw_content_type = std::string(request.Header("content-type").value_or(""));
  out.dedupe_key = "notification:" + id;
  return out;
}

void RegisterIntercomSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "intercom",
      .trust_note = "verifies X-Hub-Signature (HMAC-SHA1 of the body with the app's client "
                    "secret)",
      .default_channel = Channel::kChat,
      .settings = {{"contact_leads",
                    "true: contact.lead.created notifications become inquiries too (default "
                    "false: ignored)"}},
      .make = [] { return std::make_unique<IntercomAdapter>(); },
  });
}

}  // namespace handoff
