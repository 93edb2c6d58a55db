#include "entry/common/source_auth.h"

#include <openssl/crypto.h>

#include <optional>

#include "core/ascii.h"
#include "core/digest.h"
#include "core/time_format.h"
#include "entry/common/body_parser.h"
#include "entry/common/signature.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

// The token the request presents, from the first place that has one: the configured header,
// then `Authorization: Bearer`, then the query parameter. A place that repeats is refused, so
// which copy counts is never a guess.
absl::StatusOr<std::string> PresentedToken(const SourceAuth& auth, const HttpRequest& request) {
  if (!auth.token_header.empty()) {
    const int n = request.HeaderCount(auth.token_header);
    if (n > 1) return BadCredentials(fmt::format("several '{}' headers", auth.token_header));
    if (n == 1) return std::string(TrimOws(*request.Header(auth.token_header)));
  }
  const int n = request.HeaderCount("authorization");
  if (n > 1) return BadCredentials("several Authorization headers");
  if (n == 1) {
    const std::string_view value = TrimOws(*request.Header("authorization"));
    if (StartsWithIgnoreAsciiCase(value, "bearer ")) return std::string(TrimOws(value.substr(7)));
  }
  if (!auth.token_query.empty() && !request.query.empty()) {
    auto params = ParseFormUrlEncoded(request.query);
    if (!params.ok()) return BadCredentials("the query string cannot be decoded");
    std::optional<std::string> found;
    for (auto& p : *params) {
      if (p.name != auth.token_query) continue;
      if (found) {
        return BadCredentials(fmt::format("several '{}' query parameters", auth.token_query));
      }
      found = std::move(p.value);
    }
    if (found) return *found;
  }
  std::string places =
      auth.token_header.empty()
          ? std::string("'Authorization: Bearer'")
          : fmt::format("the '{}' header or 'Authorization: Bearer'", auth.token_header);
  if (!auth.token_query.empty())
    places += fmt::format(" or the '{}' query parameter", auth.token_query);
  return BadCredentials(fmt::format("missing token: send it in {}", places));
}

absl::Status VerifyToken(const SourceAuth& auth, const HttpRequest& request) {
  auto presented = PresentedToken(auth, request);
  if (!presented.ok()) return presented.status();
  if (presented->empty()) return BadCredentials("the token is empty");
  if (!MatchesAnySecret(*presented, auth.tokens)) {
    return BadCredentials("the token does not match");
  }
  return absl::OkStatus();
}

absl::Status VerifySignature(const SourceAuth& auth, const HttpRequest& request) {
  const int n = request.HeaderCount(auth.hmac_header);
  if (n == 0) return BadCredentials(fmt::format("missing signature header '{}'", auth.hmac_header));
  if (n > 1) return BadCredentials(fmt::format("several '{}' headers", auth.hmac_header));
  std::string_view value = TrimOws(*request.Header(auth.hmac_header));
  if (!auth.hmac_prefix.empty()) {
    if (!StartsWithIgnoreAsciiCase(value, auth.hmac_prefix)) {
      return BadCredentials(
          fmt::format("the signature does not start with '{}'", auth.hmac_prefix));
    }
    value.remove_prefix(auth.hmac_prefix.size());
  }
  const bool hex = auth.hmac_encoding != "base64";
  const auto decoded = hex ? HexDecode(value) : Base64DecodeLenient(value);
  if (!decoded) {
    return BadCredentials(fmt::format("the signature is not valid {}", hex ? "hex" : "base64"));
  }
  if (decoded->size() != 32) {
    return BadCredentials(fmt::format(
        "the signature has the wrong length ({} bytes; HMAC-SHA256 has 32)", decoded->size()));
  }
  if (!MatchesAnyHmacSha256(auth.hmac_secrets, request.body, *decoded)) {
    return BadCredentials("the signature does not match the body");
  }
  return absl::OkStatus();
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Hashed first, so the comparison takes as long whatever the lengths.
  const std::string da = Sha256(a);
  const std::string db = Sha256(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

absl::Status VerifyHexSignatureHeader(const HttpRequest& request, std::string_view header,
                                      std::string_view prefix, HmacDigest digest,
                                      const std::vector<std::string>& secrets,
                                      std::string_view signed_data) {
  const int n = request.HeaderCount(header);
  if (n == 0) return BadCredentials(fmt::format("missing signature header '{}'", header));
  if (n > 1) return BadCredentials(fmt::format("several '{}' headers", header));
  std::string_view value = TrimOws(*request.Header(header));
  if (!StartsWithIgnoreAsciiCase(value, prefix)) {
    return BadCredentials(fmt::format("the '{}' header does not start with '{}'", header, prefix));
  }
  value.remove_prefix(prefix.size());
  const auto decoded = HexDecode(value);
  if (!decoded) return BadCredentials(fmt::format("the '{}' header is not valid hex", header));
  const size_t want_size = digest == HmacDigest::kSha1 ? 20 : 32;
  if (decoded->size() != want_size) {
    return BadCredentials(fmt::format(
        "the '{}' header has the wrong length ({} bytes; {} has {})", header, decoded->size(),
        digest == HmacDigest::kSha1 ? "HMAC-SHA1" : "HMAC-SHA256", want_size));
  }
  int matched = 0;
  for (const auto& secret : secrets) {
    const std::string mac = digest == HmacDigest::kSha1 ? HmacSha1(secret, signed_data)
                                                        : HmacSha256(secret, signed_data);
    matched |= CRYPTO_memcmp(mac.data(), decoded->data(), mac.size()) == 0 ? 1 : 0;
  }
  if (!matched) return BadCredentials(fmt::format("the '{}' signature does not match", header));
  return absl::OkStatus();
}

absl::Status CheckSignedTimestamp(std::string_view unix_seconds, Micros now, Micros tolerance) {
  unix_seconds = TrimOws(unix_seconds);
  // Ten or eleven digits cover every plausible time; the bound also keeps the arithmetic safe.
  if (unix_seconds.empty() || unix_seconds.size() > 12) {
    return BadCredentials("the signed timestamp is not a unix time in seconds");
  }
  int64_t seconds = 0;
  for (char c : unix_seconds) {
    if (c < '0' || c > '9')
      return BadCredentials("the signed timestamp is not a unix time in seconds");
    seconds = seconds * 10 + (c - '0');
  }
  const Micros at = seconds * kMicrosPerSecond;
  const Micros skew = at > now ? at - now : now - at;
  if (skew > tolerance) {
    return Reject(RejectReason::kStaleTimestamp,
                  fmt::format("the signed timestamp is {}s away from now (tolerance {}s)",
                              skew / kMicrosPerSecond, tolerance / kMicrosPerSecond));
  }
  return absl::OkStatus();
}

std::string TextSetting(const SourceConfig& source, const std::string& key) {
  auto it = source.settings.find(key);
  if (it == source.settings.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

bool MatchesAnySecret(std::string_view presented, const std::vector<std::string>& secrets) {
  if (presented.empty()) return false;
  int matched = 0;
  for (const auto& secret : secrets) matched |= ConstantTimeEquals(presented, secret) ? 1 : 0;
  return matched != 0;
}

std::optional<std::string> PathKey(const SourceConfig& source, const HttpRequest& request) {
  std::string_view path = request.path;
  if (path.substr(0, 4) != "/in/") return std::nullopt;
  path.remove_prefix(4);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::vector<std::string_view> seg;
  while (true) {
    const size_t slash = path.find('/');
    seg.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  // Mirrors the ingress: /in/{source}/{key} or /in/{workspace}/{source}/{key}.
  if (seg.size() == 2 && seg[0] == source.name && !seg[1].empty()) return std::string(seg[1]);
  if (seg.size() == 3 && seg[1] == source.name && !seg[2].empty()) return std::string(seg[2]);
  return std::nullopt;
}

absl::Status VerifySourceAuth(const SourceAuth& auth, const HttpRequest& request) {
  if (!auth.tokens.empty()) {
    absl::Status s = VerifyToken(auth, request);
    if (!s.ok()) return s;
  }
  if (!auth.hmac_secrets.empty()) {
    absl::Status s = VerifySignature(auth, request);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace handoff
