#include "tests/support/test_config.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fmt/format.h"

namespace handoff::testing {

std::string TestConfig(const std::string& sink_url, const std::string& retry,
                       const std::string& extra_server) {
  return fmt::format(R"(workspace: test-works
business:
  name: Test Works
  timezone: America/Los_Angeles
  region: US
  public_url: https://hooks.test.example
server:
  admin_token: ${{HANDOFF_ADMIN_TOKEN}}
  max_body: 64KiB
{}
team:
  - {{ id: ana, name: Ana Ortiz }}
  - {{ id: ben, name: Ben Cho }}
  - {{ id: maria, name: Maria Lopez }}
sources:
  website:
    adapter: form
    token: {}
    token_query: key
    map: {{ name: full_name, email: email, phone: phone, message: details, service: service }}
    required: [message]
  calls:
    adapter: json
    channel: call
    token: {}
    max_body: 16KiB
    map: {{ phone: caller, name: caller_name, event_id: call_id }}
  chat:
    adapter: json
    channel: chat
    signature: {{ secret: {}, header: X-Chat-Signature, encoding: hex, prefix: "sha256=" }}
    map: {{ name: visitor.name, email: visitor.email, message: message.text, event_id: message.id }}
destinations:
  crm:
    connector: webhook
    url: {}
    secret: {}
    timeout: 2s
    allow_private: true
    retry: {}
routes:
  - name: missed calls
    when: {{ channel: call }}
    assign: ben
    task: {{ title: "Call back {{{{contact.name}}}}", due: 10m }}
    deliver: [crm]
  - name: web leads
    when: {{ source: [website, chat] }}
    assign: {{ strategy: fixed, owner: ana }}
    task: {{ title: "Reply to {{{{contact.name}}}}", due: 15m }}
    deliver: [crm]
  - name: everything else
    fallback: true
    assign: maria
    task: {{ title: "Triage", due: 1h }}
    deliver: [crm]
)",
                     extra_server, kFormToken, kCallToken, kChatSecret, sink_url, kHookSecret,
                     retry);
}

std::string HmacHex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", mac[i]);
  return hex;
}

std::string StandardWebhookSignature(const std::string& secret, const std::string& id,
                                     const std::string& ts, const std::string& body) {
  std::string b64 = secret.substr(6);  // drop "whsec_"
  std::string key(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  size_t pad = 0;
  while (pad < b64.size() && b64[b64.size() - 1 - pad] == '=') ++pad;
  key.resize(static_cast<size_t>(n) - pad);
  std::string signed_bytes = id + "." + ts + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signed_bytes.data()), signed_bytes.size(), mac, &len);
  std::string out(4 * ((len + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, static_cast<int>(len));
  return "v1," + out;
}

}  // namespace handoff::testing
