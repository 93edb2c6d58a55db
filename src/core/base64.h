// Base64 (RFC 4648) over OpenSSL's encoder, for signatures, Basic auth and JWTs: one home
// for the entry adapters' signature checks and the transfer connectors' requests.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace handoff {

// Standard base64 with padding.
std::string Base64Encode(std::string_view bytes);

// URL-safe base64 without padding (JWT segments, RFC 7515).
std::string Base64UrlEncode(std::string_view bytes);

// Decodes strict standard base64 (padding required, no whitespace, no URL-safe characters);
// nullopt otherwise. For providers that document exactly that encoding (Typeform).
std::optional<std::string> Base64Decode(std::string_view text);

// Decodes standard or URL-safe base64, padding optional; nullopt on anything else. For the
// generic `signature.encoding: base64` check, Twilio and whsec_ secrets, where senders differ.
std::optional<std::string> Base64DecodeLenient(std::string_view text);

}  // namespace handoff
