// SHA-256 and HMAC (SHA-1, SHA-256) of short strings as raw bytes, and hex. Through OpenSSL 3
// with each algorithm fetched once per process: OpenSSL's one-shot calls (EVP_Digest with
// EVP_sha256(), HMAC()) look the algorithm up in the provider tables on every call, which for
// the inputs signed and compared per request cost several times the hashing itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace handoff {

std::string Sha256(std::string_view data);                            // 32 bytes
std::string HmacSha256(std::string_view key, std::string_view data);  // 32 bytes
std::string HmacSha1(std::string_view key, std::string_view data);    // 20 bytes

// Lowercase hex of `bytes`.
std::string HexEncode(std::string_view bytes);
// Decodes hex (either case); nullopt on an odd length or a non-hex character.
std::optional<std::string> HexDecode(std::string_view hex);
// Lowercase hex of the SHA-256 of `data` (64 characters).
std::string Sha256Hex(std::string_view data);

}  // namespace handoff
