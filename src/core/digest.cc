#include "core/digest.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/ascii.h"
#include "core/check.h"

namespace handoff {
namespace {

// Fetched once, kept for the life of the process (OpenSSL frees them at exit).
const EVP_MD* FetchedDigest(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  HANDOFF_CHECK(md != nullptr, "OpenSSL has no digest named by handoff");
  return md;
}

const EVP_MD* Sha256Md() {
  static const EVP_MD* md = FetchedDigest("SHA256");
  return md;
}

// One HMAC context per thread and digest, created with its digest once: EVP_MAC_init with a
// new key and no parameters re-keys it without looking anything up again.
class HmacContext {
 public:
  explicit HmacContext(const char* digest) {
    static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    HANDOFF_CHECK(mac != nullptr, "OpenSSL has no HMAC");
    ctx_ = EVP_MAC_CTX_new(mac);
    HANDOFF_CHECK(ctx_ != nullptr, "EVP_MAC_CTX_new failed");
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end()};
    HANDOFF_CHECK(EVP_MAC_CTX_set_params(ctx_, params) == 1, "HMAC digest not accepted");
  }
  ~HmacContext() { EVP_MAC_CTX_free(ctx_); }
  HmacContext(const HmacContext&) = delete;
  HmacContext& operator=(const HmacContext&) = delete;

  std::string Mac(std::string_view key, std::string_view data) {
    // OpenSSL refuses a null key pointer even with length 0; an empty key is a valid HMAC key.
    static const unsigned char kEmpty = 0;
    const auto* k = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
    const auto* d = data.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(data.data());
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t len = 0;
    const bool ok = EVP_MAC_init(ctx_, k, key.size(), nullptr) == 1 &&
                    EVP_MAC_update(ctx_, d, data.size()) == 1 &&
                    EVP_MAC_final(ctx_, out, &len, sizeof(out)) == 1;
    HANDOFF_CHECK(ok, "HMAC failed");
    return std::string(reinterpret_cast<const char*>(out), len);
  }

 private:
  EVP_MAC_CTX* ctx_ = nullptr;
};

}  // namespace

std::string Sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HANDOFF_CHECK(EVP_Digest(data.data(), data.size(), out, &len, Sha256Md(), nullptr) == 1,
                "SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xF]);
  }
  return out;
}

std::optional<std::string> HexDecode(std::string_view s) {
  if (s.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(s.size() / 2);
  for (size_t i = 0; i < s.size(); i += 2) {
    const int hi = HexDigitValue(s[i]);
    const int lo = HexDigitValue(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  thread_local HmacContext ctx("SHA256");
  return ctx.Mac(key, data);
}

std::string HmacSha1(std::string_view key, std::string_view data) {
  thread_local HmacContext ctx("SHA1");
  return ctx.Mac(key, data);
}

}  // namespace handoff
