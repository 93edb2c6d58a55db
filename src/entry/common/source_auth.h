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
#include "core/base64.h"
#include "core/clock.h"
#include "core/digest.h"  // HMACs and hex: what adapters verify signatures with
#include "http/http_types.h"

namespace handoff {

// Checks `request` against every check `auth` configures; both must pass when a token and a
// signature are configured, and anything passes when neither is (`handoff check` warns about
// such sources). Rejects with bad_credentials; the detail names what is wrong (missing,
// duplicated, malformed, no match) and never echoes a secret or the presented value.
// Comparisons are constant-time. Thread-safe.
absl::Status VerifySourceAuth(const SourceAuth& auth, const HttpRequest& request);

// True when `a` and `b` are equal, in time independent of where they differ and of their
// lengths (both are hashed first). For comparing a presented secret with a configured one.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

enum class HmacDigest { kSha1, kSha256 };

// Verifies a provider signature header of the form "<prefix><hex HMAC>" (the prefix, e.g.
// "sha256=", matched case-insensitively) over `signed_data`, trying every secret in `secrets`
// (rotation) with a constant-time comparison. Rejects bad_credentials when the header is
// missing or repeated, lacks the prefix, is not hex, has the wrong length, or matches no secret;
// the detail names the header, never a secret. `header` is lowercase. Thread-safe.
absl::Status VerifyHexSignatureHeader(const HttpRequest& request, std::string_view header,
                                      std::string_view prefix, HmacDigest digest,
                                      const std::vector<std::string>& secrets,
                                      std::string_view signed_data);

// Checks a signed timestamp (decimal unix seconds, as sent) against `now`: stale_timestamp when
// it is more than `tolerance` away in either direction, bad_credentials when it is not a number.
absl::Status CheckSignedTimestamp(std::string_view unix_seconds, Micros now, Micros tolerance);

// The text setting `key` of `source` ("" when absent or not text).
std::string TextSetting(const SourceConfig& source, const std::string& key);

// True when `presented` equals one of `secrets` (ConstantTimeEquals against each): every
// secret is tried, so the time taken depends neither on the values nor on which secret (during
// a rotation) matched. An empty `presented` never matches. For tokens; HMACs are matched with
// MatchesAnyHmacSha256 (signature.h).
bool MatchesAnySecret(std::string_view presented, const std::vector<std::string>& secrets);

// The key an adapter with SourceAdapterSpec::path_key finds in the URL path: "K" in
// /in/{source}/K and /in/{workspace}/{source}/K; nullopt when the path has none.
std::optional<std::string> PathKey(const SourceConfig& source, const HttpRequest& request);

}  // namespace handoff
