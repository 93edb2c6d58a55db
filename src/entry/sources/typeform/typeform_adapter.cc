#include "entry/sources/typeform/typeform_adapter.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "core/time_format.h"
#include "entry/common/body_parser.h"
#include "entry/common/field_map.h"
#include "entry/common/json_fields.h"
#include "entry/common/map_overrides.h"
#include "entry/common/mapped_delivery.h"
#include "entry/common/signature.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr char kSignatureHeader[] = "typeform-signature";
constexpr char kSignaturePrefix[] = "sha256=";

// canonical field → the refs to try, in order.
using RefMap = std::map<std::string, std::vector<std::string>>;

// Refs tried for a canonical field the `refs` setting does not name: form authors who set refs
// tend to use these.
const RefMap& DefaultRefs() {
  static const auto* refs = new RefMap{
      {"name", {"name", "full_name", "fullName"}},
      {"first_name", {"first_name", "firstName"}},
      {"last_name", {"last_name", "lastName"}},
  };
  return *refs;
}

absl::StatusOr<RefMap> ConfiguredRefs(const SourceConfig& source) {
  RefMap out;
  if (!source.settings.is_object()) return out;
  auto it = source.settings.find("refs");
  if (it == source.settings.end() || it->is_null()) return out;
  const auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(fmt::format("source '{}': refs: {}", source.name, why));
  };
  if (!it->is_object()) return bad("must map canonical fields to Typeform field refs");
  const auto& names = CanonicalFieldNames();
  for (const auto& [canonical, refs] : it->items()) {
    if (std::find(names.begin(), names.end(), canonical) == names.end() ||
        canonical == "event_id" || canonical == "occurred_at") {
      return bad(fmt::format("'{}' is not a canonical field an answer can fill", canonical));
    }
    std::vector<std::string>& list = out[canonical];
    if (refs.is_string()) {
      list.push_back(refs.get<std::string>());
    } else if (refs.is_array()) {
      for (const auto& r : refs) {
        if (!r.is_string()) return bad(fmt::format("{}: each ref must be text", canonical));
        list.push_back(r.get<std::string>());
      }
    } else {
      return bad(fmt::format("{}: a ref or a list of refs", canonical));
    }
  }
  return out;
}

struct Answer {
  std::string type;        // the answer's type: text, email, phone_number, choice…
  std::string field_type;  // the question's type: short_text, long_text, multiple_choice…
  std::string ref;
  std::string text;  // rendered for people: choices as labels
};

std::string Labels(const json& choices) {
  std::vector<std::string> parts;
  if (const json* labels = ArrayAt(choices, "labels")) {
    for (const auto& l : *labels) {
      if (std::string t = ScalarText(l); !t.empty()) parts.push_back(std::move(t));
    }
  }
  if (std::string other = TextAt(choices, "other"); !other.empty()) parts.push_back(other);
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string RenderAnswer(const json& answer, const std::string& type) {
  auto it = answer.find(type);
  if (it == answer.end()) return std::string();
  const json& v = *it;
  if (type == "choice") {
    std::string label = TextAt(v, "label");
    return label.empty() ? TextAt(v, "other") : label;
  }
  if (type == "choices") return Labels(v);
  if (type == "boolean" && v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (type == "payment") return TextAt(v, "amount");
  return ScalarText(v);
}

std::vector<Answer> Answers(const json& response) {
  std::vector<Answer> out;
  const json* answers = ArrayAt(response, "answers");
  if (answers == nullptr) return out;
  for (const json& a : *answers) {
    if (!a.is_object()) continue;
    Answer parsed;
    parsed.type = TextAt(a, "type");
    if (const json* field = ObjectAt(a, "field")) {
      parsed.ref = TextAt(*field, "ref");
      parsed.field_type = TextAt(*field, "type");
    }
    parsed.text = RenderAnswer(a, parsed.type);
    if (!parsed.text.empty()) out.push_back(std::move(parsed));
  }
  return out;
}

const Answer* ByRef(const std::vector<Answer>& answers, const std::vector<std::string>& refs) {
  for (const auto& ref : refs) {
    for (const Answer& a : answers) {
      if (a.ref == ref) return &a;
    }
  }
  return nullptr;
}

const Answer* ByType(const std::vector<Answer>& answers, std::string_view type) {
  for (const Answer& a : answers) {
    if (a.type == type) return &a;
  }
  return nullptr;
}

// The answer text for `canonical`: by the configured refs, else by the default refs.
std::string Lookup(const std::vector<Answer>& answers, const RefMap& configured,
                   const std::string& canonical, bool* configured_out = nullptr) {
  auto it = configured.find(canonical);
  if (configured_out) *configured_out = it != configured.end();
  if (it != configured.end()) {
    const Answer* a = ByRef(answers, it->second);
    return a ? a->text : std::string();
  }
  auto d = DefaultRefs().find(canonical);
  if (d == DefaultRefs().end()) return std::string();
  const Answer* a = ByRef(answers, d->second);
  return a ? a->text : std::string();
}

void Hidden(const json& response, Inquiry& inquiry) {
  const json* hidden = ObjectAt(response, "hidden");
  if (hidden == nullptr || hidden->empty()) return;
  Attribution& a = inquiry.attribution;
  a.utm_source = TextAt(*hidden, "utm_source");
  a.utm_medium = TextAt(*hidden, "utm_medium");
  a.utm_campaign = TextAt(*hidden, "utm_campaign");
  a.utm_term = TextAt(*hidden, "utm_term");
  a.utm_content = TextAt(*hidden, "utm_content");
  a.referrer = TextAt(*hidden, "referrer");
  a.landing_page = TextAt(*hidden, "landing_page");
  inquiry.fields["hidden"] = *hidden;
}

}  // namespace

absl::Status TypeformAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                     Micros /*now*/) const {
  if (absl::Status s = VerifySourceToken(source, request); !s.ok()) return s;
  if (source.auth.hmac_secrets.empty()) return absl::OkStatus();
  auto header = SingleSignatureHeader(request, kSignatureHeader);
  if (!header.ok()) return header.status();
  std::string_view value = *header;
  if (value.substr(0, sizeof(kSignaturePrefix) - 1) != kSignaturePrefix) {
    return Reject(RejectReason::kBadCredentials, "Typeform-Signature must start with 'sha256='");
  }
  value.remove_prefix(sizeof(kSignaturePrefix) - 1);
  const auto mac = Base64Decode(value);
  if (!mac) return Reject(RejectReason::kBadCredentials, "the signature is not valid base64");
  if (mac->size() != 32) {
    return Reject(RejectReason::kBadCredentials,
                  fmt::format("the signature has the wrong length ({} bytes; HMAC-SHA256 has 32)",
                              mac->size()));
  }
  if (!MatchesAnyHmacSha256(source.auth.hmac_secrets, request.body, *mac)) {
    return Reject(RejectReason::kBadCredentials, "the signature does not match the body");
  }
  return absl::OkStatus();
}

absl::StatusOr<ParsedDelivery> TypeformAdapter::Parse(const SourceConfig& source,
                                                      const HttpRequest& request) const {
  auto refs = ConfiguredRefs(source);
  if (!refs.ok()) return refs.status();
  auto body = ParseJsonRequest(request);
  if (!body.ok()) return body.status();
  const json& root = body->json;

  const std::string event_type = TextAt(root, "event_type");
  if (event_type != "form_response") {
    return Reject(RejectReason::kIgnored,
                  fmt::format("event_type '{}' is not a form response", event_type.substr(0, 40)));
  }
  const json* response = ObjectAt(root, "form_response");
  if (response == nullptr) return Reject(RejectReason::kMissingField, "no form_response object");

  ParsedDelivery out;
  Inquiry& inquiry = out.inquiry;
  inquiry.channel = SourceChannel(source, Channel::kForm);
  inquiry.raw_payload = request.body;
  inquiry.raw_content_type = std::string(request.Header("content-type").value_or(""));
  inquiry.provider_event_id = TextAt(root, "event_id");
  if (inquiry.provider_event_id.empty()) {
    // The response token identifies the submission when a sender leaves event_id out.
    inquiry.provider_event_id = TextAt(*response, "token");
  }
  if (inquiry.provider_event_id.empty()) {
    return Reject(RejectReason::kMissingField, "event_id is absent");
  }
  if (auto t = ParseRfc3339(TextAt(*response, "submitted_at")); t.ok()) inquiry.occurred_at = *t;
  auto key = DedupeKey(source, request, inquiry.provider_event_id);
  if (!key.ok()) return key.status();
  out.dedupe_key = std::move(*key);

  const std::vector<Answer> answers = Answers(*response);
  // Configured first/last name refs win over the default name refs.
  if (refs->count("name") || (!refs->count("first_name") && !refs->count("last_name"))) {
    inquiry.received.name = Lookup(answers, *refs, "name");
  }
  if (inquiry.received.name.empty()) {
    const std::string first = Lookup(answers, *refs, "first_name");
    const std::string last = Lookup(answers, *refs, "last_name");
    inquiry.received.name = first + (first.empty() || last.empty() ? "" : " ") + last;
  }
  // Email and phone default to the form's answer of that type.
  bool configured = false;
  inquiry.received.email = Lookup(answers, *refs, "email", &configured);
  if (!configured) {
    const Answer* a = ByType(answers, "email");
    if (a) inquiry.received.email = a->text;
  }
  inquiry.received.phone = Lookup(answers, *refs, "phone", &configured);
  if (!configured) {
    const Answer* a = ByType(answers, "phone_number");
    if (a) inquiry.received.phone = a->text;
  }
  inquiry.message = Lookup(answers, *refs, "message", &configured);
  if (!configured) {
    for (const Answer& a : answers) {
      if (a.field_type != "long_text") continue;
      inquiry.message += (inquiry.message.empty() ? "" : "\n\n") + a.text;
    }
  }
  Hidden(*response, inquiry);
  // Any other canonical field the refs name (service, location, utm_* from a question…).
  for (const auto& [canonical, list] : *refs) {
    static const std::set<std::string> kDone = {"name",  "first_name", "last_name",
                                                "email", "phone",      "message"};
    if (kDone.count(canonical)) continue;
    if (const Answer* a = ByRef(answers, list)) SetCanonicalField(&inquiry, canonical, a->text);
  }

  json& f = inquiry.fields;
  f["kind"] = "form";
  f["form_id"] = TextAt(*response, "form_id");
  if (const json* definition = ObjectAt(*response, "definition")) {
    if (std::string title = TextAt(*definition, "title"); !title.empty()) f["form_title"] = title;
  }
  if (std::string token = TextAt(*response, "token"); !token.empty()) f["response_token"] = token;
  if (const json* ending = ObjectAt(*response, "ending")) {
    if (std::string ref = TextAt(*ending, "ref"); !ref.empty()) f["ending"] = ref;
  }
  if (const json* calculated = ObjectAt(*response, "calculated")) {
    auto score = calculated->find("score");
    if (score != calculated->end() && score->is_number()) f["score"] = *score;
  }
  json by_ref = json::object();
  for (const Answer& a : answers) {
    if (!a.ref.empty() && !by_ref.contains(a.ref)) by_ref[a.ref] = a.text;
  }
  if (!by_ref.empty()) f["answers"] = std::move(by_ref);

  if (absl::Status s = ApplyMapOverrides(source, root, &inquiry); !s.ok()) return s;
  if (inquiry.received.name.empty() && inquiry.received.email.empty() &&
      inquiry.received.phone.empty() && inquiry.message.empty()) {
    return Reject(RejectReason::kMissingField,
                  "no name, email, phone or message answer (check the source's refs)");
  }
  return out;
}

void RegisterTypeformSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "typeform",
      .trust_note = "verifies Typeform-Signature (base64 HMAC-SHA256 of the raw body)",
      .default_channel = Channel::kForm,
      .settings = {{"refs",
                    "canonical field → Typeform field ref (or a list of refs), e.g. "
                    "{name: full_name, phone: phone_ref}"}},
      .make = [] { return std::make_unique<TypeformAdapter>(); },
  });
}

}  // namespace handoff
