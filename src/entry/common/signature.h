// Building blocks for provider-specific webhook signatures (Calendly `t=,v1=`, Cal.com hex,
// Typeform base64…): decoding, constant-time matching against every configured secret
// (rotation), and the signed-timestamp tolerance. Adapters compose these in their Verify; the
// generic token / HMAC checks and the encoding helpers (hex, base64, constant-time compare)
// are in source_auth.h. All functions are pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/clock.h"
#include "entry/common/source_auth.h"
#include "http/http_types.h"

namespace handoff {

// True when `mac` (raw bytes) equals HMAC-SHA256(secret, message) for one of `secrets`. Every
// secret is tried, whatever matched, so the time taken does not tell which one did.
bool MatchesAnyHmacSha256(const std::vector<std::string>& secrets, std::string_view message,
                          std::string_view mac);

// Rejects with stale_timestamp when `signed_at` is more than `tolerance` before or after
// `now` (a replayed or badly clocked delivery).
absl::Status CheckTimestampTolerance(Micros signed_at, Micros now, Micros tolerance);

// Splits a signature header made of comma-separated `key=value` items
// ("t=1492774577,v1=5257a8…"), trimming spaces; repeated keys are kept in order. Items
// without '=' are skipped.
std::vector<std::pair<std::string, std::string>> ParseSignatureParams(std::string_view header);

// The value of a header that must appear exactly once, trimmed. Rejects with bad_credentials
// naming the header when it is missing or repeated.
absl::StatusOr<std::string> SingleSignatureHeader(const HttpRequest& request,
                                                  std::string_view lowercase_name);

// The generic token check of `source.auth` (source_auth.h) without its HMAC part: for
// providers that sign their own way but may also be given a URL token. OK when no token is
// configured.
absl::Status VerifySourceToken(const SourceConfig& source, const HttpRequest& request);

// A duration setting of `source` (`key`): a number of seconds or a duration text ("3m").
// `fallback` when absent; InvalidArgument (a config error, not a rejection) when unusable.
absl::StatusOr<Micros> DurationSetting(const SourceConfig& source, const std::string& key,
                                       Micros fallback);

}  // namespace handoff
