// The generic source checks: a shared token (header, bearer or query parameter) and an
// HMAC-SHA256 signature over the raw body. Adapters whose provider signs differently verify
// their own way; everyone else gets these through SourceAdapter::Verify.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "config/config.h"
#include "core/clock.h"
#include "http/http_types.h"

namespace handoff {

// Checks `request` against every check `auth` configures; both must pass when a token and a
// signature are configured, and anything passes when neither is (`handoff check` warns about
// such sources). Rejects with bad_credentials; the detail names what is wrong (missing,
// duplicated, malformed, no match) and never echoes a secret or the presented value.
// Comparisons are constant-time. Thread-safe.
absl::Status VerifySourceAuth(const SourceAuth& auth, const HttpRequest& request);

// HMAC-SHA256 of `data` under `key`, as 32 raw bytes. Exposed for tests and for adapters that
// sign a variant of the body.
std::string HmacSha256(std::string_view key, std::string_view data);

// Lowercase hex of `bytes`.
std::string HexEncode(std::string_view bytes);

// The bytes `hex` spells (either case); nullopt when it is not even-length hex.
std::optional<std::string> HexDecode(std::string_view hex);

// True when `presented` equals one of `secrets`. Compares SHA-256 digests with CRYPTO_memcmp
// and tries every secret, so the time taken depends neither on the values nor on which secret
// (during a rotation) matched. An empty `presented` never matches.
bool MatchesAnySecret(std::string_view presented, const std::vector<std::string>& secrets);

// True when `mac` (raw bytes) is HMAC-SHA256(secret, data) for one of `secrets`; constant-time,
// every secret tried.
bool MatchesAnyHmacSha256(std::string_view mac, const std::vector<std::string>& secrets,
                          std::string_view data);

// The source's `tolerance` setting (a duration such as "5m", or a number of seconds): how far a
// signed timestamp may be from now. `fallback` when unset or unreadable.
Micros TimestampTolerance(const SourceConfig& source, Micros fallback = 5 * kMicrosPerMinute);

// Rejects stale_timestamp when `signed_at` is more than `tolerance` before or after `now`.
absl::Status CheckTimestamp(Micros signed_at, Micros now, Micros tolerance);

// The key an adapter with SourceAdapterSpec::path_key finds in the URL path: "K" in
// /in/{source}/K and /in/{workspace}/{source}/K; nullopt when the path has none.
std::optional<std::string> PathKey(const SourceConfig& source, const HttpRequest& request);

}  // namespace handoff
