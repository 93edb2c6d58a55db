#include "transfer/connectors/webhook/webhook_connector.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "core/ascii.h"
#include "core/base64.h"
#include "core/digest.h"
#include "core/status.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "model/json_writer.h"
#include "nlohmann/json.hpp"
#include "transfer/delivery_summary.h"
#include "transfer/delivery_template.h"

namespace handoff {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr size_t kMaxRemoteIdBytes = 128;

// Headers the connector owns: a destination's custom header must not replace the signature or
// the idempotency key, nor let curl frame the body differently from what was signed.
constexpr std::string_view kReservedHeaders[] = {
    "content-type", "content-length",    "transfer-encoding", "host",
    "webhook-id",   "webhook-timestamp", "webhook-signature", "idempotency-key",
};

bool IsTokenChar(unsigned char c) {
  return std::isalnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsValidHeaderName(std::string_view name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) { return IsTokenChar(c); });
}

// Rejects CR, LF and NUL so that a configured value cannot inject another header.
bool IsValidHeaderValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// The destination's record id, if the body is a JSON object with a usable "id". Anything odd
// (binary, huge, nested) is ignored rather than stored: it is shown on timelines.
std::string RemoteIdFrom(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return "";
  auto it = j.find("id");
  if (it == j.end()) return "";
  std::string id;
  if (it->is_string()) {
    id = it->get<std::string>();
  } else if (it->is_number_integer()) {
    id = it->dump();
  } else {
    return "";
  }
  if (id.size() > kMaxRemoteIdBytes) return "";
  bool printable =
      std::all_of(id.begin(), id.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
  return printable ? id : "";
}

// Renders every string in `tmpl` (keys stay as written) as a delivery template. The values go
// into JSON strings, so no HTML escaping: the JSON encoder quotes them.
absl::StatusOr<nlohmann::json> RenderPayload(const nlohmann::json& tmpl,
                                             const DeliveryContext& ctx) {
  if (tmpl.is_string()) {
    auto rendered = RenderDeliveryTemplate(tmpl.get<std::string>(), ctx);
    if (!rendered.ok()) {
      return absl::FailedPreconditionError(
          fmt::format("payload {}", std::string(rendered.status().message())));
    }
    return nlohmann::json(*std::move(rendered));
  }
  if (tmpl.is_object() || tmpl.is_array()) {
    nlohmann::json out = tmpl.is_object() ? nlohmann::json::object() : nlohmann::json::array();
    for (auto it = tmpl.begin(); it != tmpl.end(); ++it) {
      ASSIGN_OR_RETURN(nlohmann::json v, RenderPayload(*it, ctx));
      if (tmpl.is_object()) {
        out[it.key()] = std::move(v);
      } else {
        out.push_back(std::move(v));
      }
    }
    return out;
  }
  return tmpl;  // numbers, booleans, null as written
}

}  // namespace

absl::StatusOr<std::string> SignStandardWebhook(const std::string& secret,
                                                const std::string& msg_id, int64_t timestamp,
                                                const std::string& body) {
  std::string key;
  if (std::string_view(secret).starts_with(kSecretPrefix)) {
    auto decoded = Base64DecodeLenient(std::string_view(secret).substr(kSecretPrefix.size()));
    if (!decoded) {
      return absl::InvalidArgumentError("a whsec_ signing secret is not valid base64");
    }
    key = *std::move(decoded);
  } else {
    key = secret;
  }
  std::string signed_content = fmt::format("{}.{}.{}", msg_id, timestamp, body);
  return "v1," + Base64Encode(HmacSha256(key, signed_content));
}

absl::StatusOr<OutboundRequest> WebhookConnector::BuildRequest(const DeliveryContext& ctx) const {
  const DestinationConfig& dest = ctx.destination;
  if (dest.url.empty()) return absl::FailedPreconditionError("the destination has no url");
  // Standard Webhooks signs "{id}.{ts}.{body}": an id containing '.' would make the signed
  // content ambiguous.
  if (ctx.handoff.id.empty() || ctx.handoff.id.find('.') != std::string::npos ||
      !IsValidHeaderValue(ctx.handoff.id)) {
    return absl::FailedPreconditionError("the handoff id cannot be used as a webhook-id");
  }

  std::string body;
  // Lead fields may hold invalid UTF-8 from a sloppy source; replacing keeps the delivery
  // valid JSON instead of throwing.
  auto dump = [](const nlohmann::json& payload) {
    return payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  if (ctx.handoff.purpose == "alert") {
    // A leak alert (track/leak_monitor.h) is about the business, not an inquiry: its own shape,
    // whatever `payload` template the destination has for inquiries.
    nlohmann::json payload = {{"type", "alert"},
                              {"handoff_id", ctx.handoff.id},
                              {"workspace", ctx.handoff.workspace},
                              {"text", ctx.handoff.text}};
    if (ctx.recipient) {
      payload["recipient"] = {{"id", ctx.recipient->id}, {"name", ctx.recipient->name}};
    }
    body = dump(payload);
  } else if (auto tmpl = dest.settings.find("payload"); tmpl != dest.settings.end()) {
    // A receiver with its own shape (a Zapier catch hook, a CRM's web-to-lead endpoint) gets
    // exactly the fields it names.
    if (!tmpl->is_object() && !tmpl->is_array()) {
      return absl::FailedPreconditionError("'payload' must be a mapping or a list");
    }
    ASSIGN_OR_RETURN(nlohmann::json payload, RenderPayload(*tmpl, ctx));
    body = dump(payload);
  } else {
    // The default shape, the one built for nearly every delivery: written as text straight
    // away (the bytes a tree of it would dump to, keys in the same order).
    const bool notice = ctx.handoff.purpose != "deliver";
    JsonWriter w;
    w.BeginObject();
    // A notification or escalation notice says so, with whom it is for and the ack link.
    if (notice && !ctx.ack_url.empty()) w.Key("ack_url").String(ctx.ack_url);
    w.Key("contact");
    if (ctx.contact) {
      WriteJson(w, *ctx.contact);
    } else {
      w.Null();
    }
    w.Key("handoff_id").String(ctx.handoff.id);
    w.Key("inquiry");
    WriteJson(w, ctx.inquiry, /*include_raw=*/false);
    if (notice && ctx.recipient) {
      w.Key("recipient").BeginObject();
      w.Key("id").String(ctx.recipient->id);
      w.Key("name").String(ctx.recipient->name);
      w.EndObject();
    }
    w.Key("task");
    if (ctx.task) {
      WriteJson(w, *ctx.task);
    } else {
      w.Null();
    }
    w.Key("type").String(notice ? "inquiry." + ctx.handoff.purpose : "inquiry.handoff");
    w.EndObject();
    body = w.Take();
  }

  OutboundRequest req;
  req.method = "POST";
  req.url = dest.url;
  req.body = std::move(body);

  const int64_t timestamp = ctx.now / kMicrosPerSecond;
  req.headers.emplace_back("Content-Type", "application/json");
  for (const auto& [name, value] : dest.headers) {
    if (!IsValidHeaderName(name) || !IsValidHeaderValue(value)) {
      return absl::FailedPreconditionError(
          fmt::format("custom header '{}' has an invalid name or value", name));
    }
    std::string lower = AsciiLowered(name);
    for (std::string_view reserved : kReservedHeaders) {
      if (lower == reserved) {
        return absl::FailedPreconditionError(
            fmt::format("custom header '{}' is set by the webhook connector", name));
      }
    }
    req.headers.emplace_back(name, value);
  }
  req.headers.emplace_back("webhook-id", ctx.handoff.id);
  req.headers.emplace_back("webhook-timestamp", fmt::format("{}", timestamp));
  if (!dest.secrets.empty()) {
    std::string signatures;
    for (const std::string& secret : dest.secrets) {
      auto sig = SignStandardWebhook(secret, ctx.handoff.id, timestamp, req.body);
      if (!sig.ok()) return sig.status();
      if (!signatures.empty()) signatures.push_back(' ');
      signatures += *sig;
    }
    req.headers.emplace_back("webhook-signature", std::move(signatures));
  }
  req.headers.emplace_back("Idempotency-Key", ctx.handoff.id);
  return req;
}

DeliveryOutcome WebhookConnector::Classify(
    const DeliveryContext& ctx, int http_status,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) const {
  DeliveryOutcome o = ClassifyHttpStatus(http_status, headers, ctx.now);
  if (o.kind == DeliveryOutcome::Kind::kConfirmed) o.remote_id = RemoteIdFrom(body);
  return o;
}

void RegisterWebhookConnector(ConnectorRegistry& registry) {
  registry.Register(ConnectorSpec{
      .name = "webhook",
      .note = "POSTs the inquiry as JSON to `url`, signed per Standard Webhooks (whsec_ secrets, "
              "rotation by listing several)",
      .settings = {{"payload",
                    std::string("a mapping (or list) sent instead of the default JSON; every "
                                "string is a mustache template over ") +
                        kDeliveryTemplateNames}},
      .default_token_url = "",
      .token_basic_auth = false,
      .make = [] { return std::make_unique<WebhookConnector>(); },
  });
}

}  // namespace handoff
