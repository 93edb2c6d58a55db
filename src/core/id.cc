#include "core/id.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "core/check.h"

namespace handoff {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void FillRandom(uint8_t* out, size_t n) {
  // A failing CSPRNG leaves no safe way to make ids or secrets.
  HANDOFF_CHECK(RAND_bytes(out, static_cast<int>(n)) == 1, "OpenSSL RAND_bytes failed");
}

// The random bits of ids, drawn from the CSPRNG a few hundred bytes at a time: one RAND_bytes
// call costs OpenSSL 3 about as much as the rest of an id, and the writer thread makes several
// ids per inquiry. Per thread, so no lock; secrets (RandomHex) still draw directly.
void FillIdRandom(uint8_t* out, size_t n) {
  thread_local std::array<uint8_t, 512> pool;
  thread_local size_t used = pool.size();
  if (n > pool.size()) return FillRandom(out, n);
  if (pool.size() - used < n) {
    FillRandom(pool.data(), pool.size());
    used = 0;
  }
  std::copy_n(pool.begin() + static_cast<std::ptrdiff_t>(used), n, out);
  used += n;  // each byte serves once
}

}  // namespace

std::string UuidV7Floor(Micros at) {
  const uint64_t ms = static_cast<uint64_t>(std::max<Micros>(at, 0) / kMicrosPerMilli);
  std::string out;
  for (int nibble = 11; nibble >= 0; --nibble) {
    if (nibble == 3) out += '-';
    out += kHex[(ms >> (4 * nibble)) & 0xf];
  }
  return out;
}

std::string NewUuidV7(Micros now) {
  static std::mutex mu;
  static uint64_t last_ms = 0;
  static uint64_t last_seq = 0;  // 12-bit rand_a counter within one millisecond

  std::array<uint8_t, 16> b;
  FillIdRandom(b.data(), b.size());
  uint64_t ms = static_cast<uint64_t>(now / kMicrosPerMilli);
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (ms <= last_ms) {
      // Same (or earlier, after a clock step back) millisecond: keep ids increasing.
      ms = last_ms;
      seq = ++last_seq;
      if (seq > 0xfff) {
        ++ms;
        seq = 0;
      }
    } else {
      seq = (static_cast<uint64_t>(b[6]) << 4 | b[7] >> 4) & 0x7ff;  // random start, headroom
    }
    last_ms = ms;
    last_seq = seq;
  }
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  b[6] = static_cast<uint8_t>(0x70 | ((seq >> 8) & 0x0f));
  b[7] = static_cast<uint8_t>(seq & 0xff);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);

  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string RandomHex(size_t n) {
  std::string bytes(n, '\0');
  FillRandom(reinterpret_cast<uint8_t*>(bytes.data()), n);
  std::string out;
  out.reserve(2 * n);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0f]);
  }
  return out;
}

}  // namespace handoff
