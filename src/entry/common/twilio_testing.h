// Test support for the Twilio adapters: reads testdata and builds requests signed the way
// Twilio signs them. Header-only; used by tests only.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "entry/common/source_auth.h"
#include "entry/common/twilio_signature.h"
#include "http/http_types.h"
#include "http/url_encoding.h"

namespace handoff::testing {

constexpr char kTwilioPublicUrl[] = "https://hooks.example.com";
constexpr char kTwilioAuthToken[] = "0123456789abcdef0123456789abcdef";
constexpr char kTwilioOldAuthToken[] = "fedcba9876543210fedcba9876543210";

// A file under the adapters' folder (HANDOFF_TESTDATA_DIR is src/entry/sources).
inline std::string TwilioTestdata(const std::string& relative) {
  std::ifstream in(std::string(HANDOFF_TESTDATA_DIR) + "/" + relative, std::ios::binary);
  if (!in.good()) return "missing testdata: " + relative;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// base64(HMAC-SHA1(token, url + sorted name+value)) over the decoded form parameters of `body`,
// computed independently of the adapter's own parser (url_encoding.h); a body that does not
// decode signs the URL only.
inline std::string TwilioSign(const std::string& token, const std::string& url,
                              const std::string& body) {
  std::vector<FormField> params;
  auto pairs = ParseUrlEncoded(body);
  if (pairs) {
    for (auto& [name, value] : *pairs) params.push_back({name, value});
  }
  return Base64Encode(HmacSha1(token, TwilioSignedString(url, params)));
}

// A POST to `target` with `body`, signed with `token` for kTwilioPublicUrl + target.
inline HttpRequest TwilioPost(const std::string& target, const std::string& body,
                              const std::string& token = kTwilioAuthToken) {
  HttpRequest r;
  r.method = "POST";
  r.target = target;
  const size_t q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string::npos ? "" : target.substr(q + 1);
  r.headers = {{"content-type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"x-twilio-signature", TwilioSign(token, kTwilioPublicUrl + target, body)},
               {"user-agent", "TwilioProxy/1.1"}};
  r.body = body;
  return r;
}

}  // namespace handoff::testing
