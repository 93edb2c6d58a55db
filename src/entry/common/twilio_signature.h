// Twilio's request signature (X-Twilio-Signature): base64(HMAC(auth token, URL + the POST
// parameters sorted by name, each name followed by its value)), with HMAC-SHA1 by default and
// HMAC-SHA256 when Twilio's X-Twilio-Webhooks-Signature-Settings header asks for it. Shared by
// the twilio_voice and twilio_sms adapters. Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "config/config.h"
#include "entry/common/body_parser.h"
#include "http/http_types.h"

namespace handoff {

// The string Twilio signs: `url` followed, for each parameter in order of name (then value, as
// the SDKs sort repeated names), by name + value. Values are the decoded ones.
std::string TwilioSignedString(std::string_view url, std::vector<FormField> params);

// The URLs Twilio may have signed for one request: `public_url` (scheme and host, maybe a path
// prefix; a trailing '/' is dropped) + the request target (path and query) as received, then
// the same without its port, or with the scheme's default port added, as Twilio's SDKs try.
// Empty when `public_url` is empty or not http(s).
std::vector<std::string> TwilioCandidateUrls(std::string_view public_url,
                                             std::string_view request_target);

// The URL Twilio called for this request (the first of TwilioCandidateUrls), or the request
// target alone when the source has no public URL (a relative URL Twilio resolves itself).
std::string TwilioRequestUrl(const SourceConfig& source, const HttpRequest& request);

// The request's Twilio parameters: the urlencoded body of a POST (the Content-Type must be
// application/x-www-form-urlencoded), or the query string of a GET. Rejects as ParseBody does.
absl::StatusOr<std::vector<FormField>> TwilioParams(const HttpRequest& request);

// Verifies a Twilio request for `source`. The auth tokens are the source's
// `signature.secret` list (auth.hmac_secrets; several during rotation, all tried); a source
// with none falls back to the generic checks (VerifySourceAuth), and a configured `token` is
// checked as well. The URL is rebuilt from `source.public_url`, never from Host or
// X-Forwarded-* headers. Rejects bad_credentials naming what is wrong (missing or repeated
// header, not base64, wrong length, no public URL, no match); never echoes a secret.
absl::Status VerifyTwilioSignature(const SourceConfig& source, const HttpRequest& request);

}  // namespace handoff
