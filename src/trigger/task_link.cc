#include "trigger/task_link.h"

#include <openssl/crypto.h>

#include <charconv>

#include "core/base64.h"
#include "entry/common/source_auth.h"
#include "fmt/format.h"

namespace handoff {

TaskLinkSigner TaskLinkSigner::ForConfig(const Config& config) {
  if (config.server.admin_token.empty()) return TaskLinkSigner("");
  // A key of its own, so a link never reveals anything usable against the API.
  return TaskLinkSigner(HmacSha256(config.server.admin_token, "handoff task links v1"));
}

std::string TaskLinkSigner::Sign(std::string_view workspace, std::string_view task_id,
                                 Micros expires_at) const {
  if (!enabled()) return "";
  const std::string payload =
      fmt::format("{}\n{}\n{}", workspace, task_id, expires_at / kMicrosPerSecond);
  return Base64UrlEncode(payload) + "." + Base64UrlEncode(HmacSha256(key_, payload));
}

absl::StatusOr<TaskLinkSigner::Claims> TaskLinkSigner::Verify(std::string_view token,
                                                              Micros now) const {
  const absl::Status bad = absl::PermissionDeniedError("this link is not valid");
  if (!enabled() || token.size() > 1024) return bad;
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos) return bad;
  std::optional<std::string> payload = Base64DecodeLenient(token.substr(0, dot));
  std::optional<std::string> mac = Base64DecodeLenient(token.substr(dot + 1));
  if (!payload || !mac) return bad;
  const std::string want = HmacSha256(key_, *payload);
  if (mac->size() != want.size() || CRYPTO_memcmp(mac->data(), want.data(), want.size()) != 0) {
    return bad;
  }
  const size_t first = payload->find('\n');
  const size_t second = first == std::string::npos ? first : payload->find('\n', first + 1);
  if (second == std::string::npos) return bad;
  Claims claims;
  claims.workspace = payload->substr(0, first);
  claims.task_id = payload->substr(first + 1, second - first - 1);
  int64_t seconds = 0;
  const char* begin = payload->data() + second + 1;
  const char* end = payload->data() + payload->size();
  auto [ptr, ec] = std::from_chars(begin, end, seconds);
  if (ec != std::errc() || ptr != end) return bad;
  claims.expires_at = seconds * kMicrosPerSecond;
  if (now > claims.expires_at) return absl::DeadlineExceededError("this link has expired");
  return claims;
}

std::string TaskLinkSigner::Url(const Config& config, std::string_view task_id, Micros now) const {
  if (!enabled() || config.business.public_url.empty()) return "";
  std::string base = config.business.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/t/" + Sign(config.workspace, task_id, now + kLifetime);
}

}  // namespace handoff
