#include "api/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <vector>

#include "core/base64.h"
#include "fmt/format.h"

namespace handoff {
namespace {

constexpr uint64_t kN = 1 << 15;
constexpr uint64_t kR = 8;
constexpr uint64_t kP = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
// scrypt needs 128·N·r bytes; the limit leaves room for OpenSSL's own bookkeeping.
constexpr uint64_t kMaxMem = 64ull * 1024 * 1024;

bool Derive(std::string_view password, std::string_view salt, uint64_t n, uint64_t r, uint64_t p,
            unsigned char* out, size_t out_len) {
  return EVP_PBE_scrypt(password.data(), password.size(),
                        reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), n, r, p,
                        kMaxMem, out, out_len) == 1;
}

}  // namespace

absl::StatusOr<std::string> HashPassword(std::string_view password) {
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) return absl::InternalError("RAND_bytes failed");
  unsigned char hash[kHashBytes];
  const std::string_view salt_view(reinterpret_cast<const char*>(salt), sizeof salt);
  if (!Derive(password, salt_view, kN, kR, kP, hash, sizeof hash)) {
    return absl::InternalError("scrypt failed");
  }
  return fmt::format(
      "scrypt${}${}${}${}${}", kN, kR, kP, Base64Encode(salt_view),
      Base64Encode(std::string_view(reinterpret_cast<const char*>(hash), sizeof hash)));
}

bool VerifyPassword(std::string_view password, std::string_view stored) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = stored.find('$', start);
    parts.push_back(stored.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (parts.size() != 6 || parts[0] != "scrypt") return false;
  // Only the parameters HashPassword uses: a hand-edited config cannot raise the cost.
  if (parts[1] != std::to_string(kN) || parts[2] != std::to_string(kR) ||
      parts[3] != std::to_string(kP)) {
    return false;
  }
  auto salt = Base64Decode(parts[4]);
  auto want = Base64Decode(parts[5]);
  if (!salt || !want || want->size() != kHashBytes) return false;
  unsigned char got[kHashBytes];
  if (!Derive(password, *salt, kN, kR, kP, got, sizeof got)) return false;
  return CRYPTO_memcmp(got, want->data(), kHashBytes) == 0;
}

}  // namespace handoff
