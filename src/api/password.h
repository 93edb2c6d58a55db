// Dashboard passwords: scrypt (OpenSSL's EVP_PBE_scrypt) with a random salt, stored in the config
// as one string ("scrypt$N$r$p$<salt base64>$<hash base64>") that `handoff hash-password` prints.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace handoff {

// Hashes `password` with a fresh 16-byte salt and N=2^15, r=8, p=1 (about 32 MiB, tens of ms).
absl::StatusOr<std::string> HashPassword(std::string_view password);

// True when `password` matches `stored` (compared in constant time). False for a malformed
// `stored`, or parameters outside what HashPassword makes (so a config cannot make a login cost
// unbounded memory).
bool VerifyPassword(std::string_view password, std::string_view stored);

}  // namespace handoff
