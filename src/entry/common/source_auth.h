// The generic source checks: a shared token (header, bearer or query parameter) and an
// HMAC-SHA256 signature over the raw body. Adapters whose provider signs differently verify
// their own way; everyone else gets these through SourceAdapter::Verify.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "config/config.h"
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

// HMAC-SHA1 of `data` under `key`, as 20 raw bytes (Twilio's X-Twilio-Signature).
std::string HmacSha1(std::string_view key, std::string_view data);

// Lowercase hex of `bytes`.
std::string HexEncode(std::string_view bytes);

// Decodes hex (either case); nullopt on an odd length or a non-hex character.
std::optional<std::string> HexDecode(std::string_view hex);

// Standard base64 with padding.
std::string Base64Encode(std::string_view bytes);

// Decodes standard or URL-safe base64, padding optional; nullopt on anything else.
std::optional<std::string> Base64Decode(std::string_view text);

// True when `a` and `b` are the same bytes; the time taken depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace handoff
