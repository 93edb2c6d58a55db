#include "entry/common/twilio_signature.h"

#include <algorithm>
#include <optional>

#include "core/ascii.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

constexpr char kSignatureHeader[] = "x-twilio-signature";
constexpr char kSettingsHeader[] = "x-twilio-webhooks-signature-settings";

enum class Algorithm { kSha1, kSha256 };

// The algorithm X-Twilio-Webhooks-Signature-Settings names ("key=…,algorithm=HMAC_SHA256"):
// SHA-1 without the header. Its key value only names a key; the secret is never taken from a
// header, it is always one of the source's own.
absl::StatusOr<Algorithm> SignatureAlgorithm(const HttpRequest& request) {
  const int n = request.HeaderCount(kSettingsHeader);
  if (n == 0) return Algorithm::kSha1;
  if (n > 1) return BadCredentials("several X-Twilio-Webhooks-Signature-Settings headers");
  std::string_view rest = *request.Header(kSettingsHeader);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = TrimOws(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    if (!EqualsIgnoreAsciiCase(TrimOws(item.substr(0, eq)), "algorithm")) continue;
    const std::string_view value = TrimOws(item.substr(eq + 1));
    if (EqualsIgnoreAsciiCase(value, "HMAC_SHA256")) return Algorithm::kSha256;
    if (EqualsIgnoreAsciiCase(value, "HMAC_SHA1")) return Algorithm::kSha1;
    return BadCredentials(
        "X-Twilio-Webhooks-Signature-Settings names an algorithm other than HMAC_SHA1 or "
        "HMAC_SHA256");
  }
  return Algorithm::kSha1;
}

// Splits "https://host:port/rest" into its scheme prefix ("https://"), authority and rest.
struct UrlParts {
  std::string scheme;  // "http" or "https"
  std::string authority;
  std::string rest;  // path and query, from the first '/' or '?'
};

std::optional<UrlParts> SplitUrl(std::string_view url) {
  UrlParts parts;
  if (url.rfind("https://", 0) == 0) {
    parts.scheme = "https";
  } else if (url.rfind("http://", 0) == 0) {
    parts.scheme = "http";
  } else {
    return std::nullopt;
  }
  url.remove_prefix(parts.scheme.size() + 3);
  const size_t end = url.find_first_of("/?");
  parts.authority = std::string(url.substr(0, end));
  if (end != std::string_view::npos) parts.rest = std::string(url.substr(end));
  if (parts.authority.empty()) return std::nullopt;
  return parts;
}

// The position of the ':' before a port in `authority`, or npos ("[::1]:80" counts only the
// colon after the bracket).
size_t PortColon(std::string_view authority) {
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) return colon;
  const size_t bracket = authority.rfind(']');
  if (bracket != std::string_view::npos && bracket > colon) return std::string_view::npos;
  const std::string_view port = authority.substr(colon + 1);
  if (port.empty() ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::string_view::npos;
  }
  return colon;
}

}  // namespace

std::string TwilioSignedString(std::string_view url, std::vector<FormField> params) {
  std::sort(params.begin(), params.end(), [](const FormField& a, const FormField& b) {
    return a.name != b.name ? a.name < b.name : a.value < b.value;
  });
  std::string out(url);
  for (const FormField& p : params) {
    out += p.name;
    out += p.value;
  }
  return out;
}

std::vector<std::string> TwilioCandidateUrls(std::string_view public_url,
                                             std::string_view request_target) {
  while (!public_url.empty() && public_url.back() == '/') public_url.remove_suffix(1);
  std::string url(public_url);
  if (request_target.empty() || request_target.front() != '/') url += '/';
  url += request_target;
  auto parts = SplitUrl(url);
  if (!parts) return {};
  std::vector<std::string> urls = {url};
  const size_t colon = PortColon(parts->authority);
  if (colon != std::string::npos) {
    urls.push_back(parts->scheme + "://" + parts->authority.substr(0, colon) + parts->rest);
  } else {
    urls.push_back(parts->scheme + "://" + parts->authority +
                   (parts->scheme == "https" ? ":443" : ":80") + parts->rest);
  }
  return urls;
}

std::string TwilioRequestUrl(const SourceConfig& source, const HttpRequest& request) {
  auto urls = TwilioCandidateUrls(source.public_url, request.target);
  return urls.empty() ? request.target : urls.front();
}

absl::StatusOr<std::vector<FormField>> TwilioParams(const HttpRequest& request) {
  if (request.method == "GET") return ParseFormUrlEncoded(request.query);
  if (request.HeaderCount("content-type") > 1) {
    return Reject(RejectReason::kUnsupportedMediaType, "several Content-Type headers");
  }
  BodyParseOptions options;
  options.accept_json = false;
  options.accept_multipart = false;
  auto body = ParseBody(request.Header("content-type").value_or(""), request.body, options);
  if (!body.ok()) return body.status();
  return std::move(body->fields);
}

absl::Status VerifyTwilioSignature(const SourceConfig& source, const HttpRequest& request) {
  const SourceAuth& auth = source.auth;
  if (auth.hmac_secrets.empty()) return VerifySourceAuth(auth, request);
  if (!auth.tokens.empty()) {
    SourceAuth tokens_only = auth;
    tokens_only.hmac_secrets.clear();
    if (absl::Status s = VerifySourceAuth(tokens_only, request); !s.ok()) return s;
  }
  const int n = request.HeaderCount(kSignatureHeader);
  if (n == 0) return BadCredentials("missing X-Twilio-Signature header");
  if (n > 1) return BadCredentials("several X-Twilio-Signature headers");
  auto algorithm = SignatureAlgorithm(request);
  if (!algorithm.ok()) return algorithm.status();
  const auto presented = Base64DecodeLenient(TrimOws(*request.Header(kSignatureHeader)));
  if (!presented) return BadCredentials("X-Twilio-Signature is not valid base64");
  const size_t want = *algorithm == Algorithm::kSha256 ? 32 : 20;
  if (presented->size() != want) {
    return BadCredentials(
        fmt::format("X-Twilio-Signature has the wrong length ({} bytes; {} has {})",
                    presented->size(), want == 32 ? "HMAC-SHA256" : "HMAC-SHA1", want));
  }
  const std::vector<std::string> urls = TwilioCandidateUrls(source.public_url, request.target);
  if (urls.empty()) {
    return BadCredentials(
        "business.public_url is not set (or not http/https): Twilio signs the URL it calls, so "
        "the signature cannot be checked");
  }
  std::vector<FormField> params;
  if (request.method != "GET") {
    auto parsed = TwilioParams(request);
    if (!parsed.ok()) return parsed.status();
    params = std::move(*parsed);
  }
  bool matched = false;
  for (const std::string& url : urls) {
    const std::string signed_string = TwilioSignedString(url, params);
    for (const std::string& token : auth.hmac_secrets) {
      const std::string mac = *algorithm == Algorithm::kSha256 ? HmacSha256(token, signed_string)
                                                               : HmacSha1(token, signed_string);
      // Every token is tried even after a match, so timing does not tell which one matched.
      matched |= ConstantTimeEquals(mac, *presented);
    }
  }
  if (!matched) {
    return BadCredentials(
        "X-Twilio-Signature does not match the URL and parameters (check signature.secret "
        "against the account's Auth Token, and business.public_url against the URL set in "
        "Twilio)");
  }
  return absl::OkStatus();
}

}  // namespace handoff
