// Test support: the workspace config the integration suites run, pointed at a sink.
#pragma once

#include <map>
#include <string>

namespace handoff::testing {

constexpr char kFormToken[] = "form-token-0123456789";
constexpr char kCallToken[] = "call-token-0123456789";
constexpr char kChatSecret[] = "chat-secret-0123456789";
constexpr char kHookSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// A config with sources `website` (form, token in ?key=), `calls` (json, channel call, token
// header, event_id: call_id), `chat` (json, HMAC hex with sha256= prefix), routes for each and
// a fallback, and one webhook destination `crm` at `sink_url` with `retry` as its schedule.
std::string TestConfig(const std::string& sink_url,
                       const std::string& retry = "[200ms, 200ms, 200ms]",
                       const std::string& extra_server = "");

// HMAC-SHA256 of `body` with `key`, hex.
std::string HmacHex(const std::string& key, const std::string& body);

// The Standard Webhooks signature "v1,<base64>" for (id, ts, body) with a whsec_ secret.
std::string StandardWebhookSignature(const std::string& secret, const std::string& id,
                                     const std::string& ts, const std::string& body);

}  // namespace handoff::testing
