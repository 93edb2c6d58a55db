#include "transfer/connectors/webhook/webhook_connector.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

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

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

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

absl::StatusOr<std::string> Base64Decode(std::string_view in) {
  std::string padded(in);
  if (padded.size() % 4 == 1) return absl::InvalidArgumentError("invalid base64 length");
  while (padded.size() % 4 != 0) padded.push_back('=');
  size_t pad = 0;
  for (size_t i = 0; i < padded.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(padded[i]);
    if (c == '=') {
      // Padding only in the last two positions.
      if (i + 2 < padded.size()) return absl::InvalidArgumentError("invalid base64 padding");
      ++pad;
    } else if (pad > 0 || !(std::isalnum(c) || c == '+' || c == '/')) {
      return absl::InvalidArgumentError("invalid base64 character");
    }
  }
  std::string out(padded.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(padded.data()),
                          static_cast<int>(padded.size()));
  if (n < 0) return absl::InvalidArgumentError("invalid base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string Base64Encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
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

}  // namespace

absl::StatusOr<std::string> SignStandardWebhook(const std::string& secret,
                                                const std::string& msg_id, int64_t timestamp,
                                                const std::string& body) {
  std::string key;
  if (std::string_view(secret).starts_with(kSecretPrefix)) {
    auto decoded = Base64Decode(std::string_view(secret).substr(kSecretPrefix.size()));
    if (!decoded.ok()) {
      return absl::InvalidArgumentError("a whsec_ signing secret is not valid base64");
    }
    key = *std::move(decoded);
  } else {
    key = secret;
  }
  std::string signed_content = fmt::format("{}.{}.{}", msg_id, timestamp, body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(),
           mac, &mac_len) == nullptr) {
    return absl::InternalError("HMAC-SHA256 failed");
  }
  return "v1," + Base64Encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
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

  nlohmann::json payload = {
      {"type", "inquiry.handoff"},
      {"handoff_id", ctx.handoff.id},
      {"inquiry", ToJson(ctx.inquiry, /*include_raw=*/false)},
      {"contact", ctx.contact ? ToJson(*ctx.contact) : nlohmann::json(nullptr)},
      {"task", ctx.task ? ToJson(*ctx.task) : nlohmann::json(nullptr)},
  };

  OutboundRequest req;
  req.method = "POST";
  req.url = dest.url;
  // Lead fields may hold invalid UTF-8 from a sloppy source; replacing keeps the delivery
  // valid JSON instead of throwing.
  req.body = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  const int64_t timestamp = ctx.now / kMicrosPerSecond;
  req.headers.emplace_back("Content-Type", "application/json");
  for (const auto& [name, value] : dest.headers) {
    if (!IsValidHeaderName(name) || !IsValidHeaderValue(value)) {
      return absl::FailedPreconditionError(
          fmt::format("custom header '{}' has an invalid name or value", name));
    }
    std::string lower = Lower(name);
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
      .settings = {},
      .default_token_url = "",
      .make = [] { return std::make_unique<WebhookConnector>(); },
  });
}

}  // namespace handoff
