#include "enrich/normalize.h"

#include <phonenumbers/phonenumberutil.h>

#include <cctype>

namespace handoff {
namespace {

bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::string NormalizeName(const std::string& raw) {
  std::string out;
  out.reserve(raw.size());
  bool pending_space = false;
  for (unsigned char c : raw) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (c < 0x20 || c == 0x7f) continue;
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string NormalizeEmail(const std::string& raw) {
  size_t b = 0, e = raw.size();
  while (b < e && IsSpace(static_cast<unsigned char>(raw[b]))) ++b;
  while (e > b && IsSpace(static_cast<unsigned char>(raw[e - 1]))) --e;
  std::string out;
  out.reserve(e - b);
  for (size_t i = b; i < e; ++i) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c <= 0x20 || c == 0x7f) return "";
    out.push_back(static_cast<char>(std::tolower(c)));
  }
  size_t at = out.find('@');
  if (at == std::string::npos || at == 0 || out.find('@', at + 1) != std::string::npos) return "";
  std::string domain = out.substr(at + 1);
  size_t dot = domain.find('.');
  if (domain.empty() || dot == std::string::npos || dot == 0 || domain.back() == '.') return "";
  return out;
}

std::string NormalizePhone(const std::string& raw, const std::string& default_region) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  if (raw.empty() || raw.size() > 64) return "";
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util->Parse(raw, default_region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return "";
  if (!util->IsPossibleNumber(number)) return "";
  std::string out;
  util->Format(number, PhoneNumberUtil::E164, &out);
  return out;
}

}  // namespace handoff
