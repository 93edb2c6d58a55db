#include "entry/common/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/ascii.h"
#include "core/time_format.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {

bool MatchesAnyHmacSha256(const std::vector<std::string>& secrets, std::string_view message,
                          std::string_view mac) {
  int matched = 0;
  for (const auto& secret : secrets) {
    matched |= ConstantTimeEquals(HmacSha256(secret, message), mac) ? 1 : 0;
  }
  return matched != 0;
}

absl::Status CheckTimestampTolerance(Micros signed_at, Micros now, Micros tolerance) {
  const Micros skew = now > signed_at ? now - signed_at : signed_at - now;
  if (skew <= tolerance) return absl::OkStatus();
  return Reject(RejectReason::kStaleTimestamp,
                fmt::format("the signed timestamp is {} {} our clock; the tolerance is {}",
                            FormatDuration(skew), now > signed_at ? "behind" : "ahead of",
                            FormatDuration(tolerance)));
}

std::vector<std::pair<std::string, std::string>> ParseSignatureParams(std::string_view header) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    const std::string_view item = TrimOws(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace_back(std::string(TrimOws(item.substr(0, eq))),
                     std::string(TrimOws(item.substr(eq + 1))));
  }
  return out;
}

absl::StatusOr<std::string> SingleSignatureHeader(const HttpRequest& request,
                                                  std::string_view lowercase_name) {
  const int n = request.HeaderCount(lowercase_name);
  if (n == 0) {
    return Reject(RejectReason::kBadCredentials,
                  fmt::format("missing signature header '{}'", lowercase_name));
  }
  if (n > 1) {
    return Reject(RejectReason::kBadCredentials,
                  fmt::format("several '{}' headers", lowercase_name));
  }
  return std::string(TrimOws(*request.Header(lowercase_name)));
}

absl::Status VerifySourceToken(const SourceConfig& source, const HttpRequest& request) {
  if (source.auth.tokens.empty()) return absl::OkStatus();
  SourceAuth tokens_only = source.auth;
  tokens_only.hmac_secrets.clear();
  return VerifySourceAuth(tokens_only, request);
}

absl::StatusOr<Micros> DurationSetting(const SourceConfig& source, const std::string& key,
                                       Micros fallback) {
  if (!source.settings.is_object()) return fallback;
  auto it = source.settings.find(key);
  if (it == source.settings.end() || it->is_null()) return fallback;
  if (it->is_number_integer() && it->get<int64_t>() >= 0 &&
      it->get<int64_t>() < 100LL * 365 * 86400) {
    return it->get<int64_t>() * kMicrosPerSecond;
  }
  if (it->is_string()) {
    auto d = ParseDuration(it->get_ref<const std::string&>());
    if (d.ok()) return *d;
  }
  return absl::InvalidArgumentError(
      fmt::format("source '{}': setting '{}' must be a duration such as 3m or a number of seconds",
                  source.name, key));
}

}  // namespace handoff
