// ASCII text helpers for protocol text (header names, media types, tokens), where case folding
// and whitespace are ASCII-only by definition. absl has these, but Debian's absl has its own
// string_view type that std::string_view does not convert to, so they live here once.
#pragma once

#include <string>
#include <string_view>

namespace handoff {

// The value of a hex digit (either case), or -1 for anything else.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline void LowerAsciiInPlace(std::string& s) {
  for (char& c : s) c = AsciiLower(c);
}

inline std::string AsciiLowered(std::string_view s) {
  std::string out(s);
  LowerAsciiInPlace(out);
  return out;
}

inline bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

inline bool StartsWithIgnoreAsciiCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreAsciiCase(s.substr(0, prefix.size()), prefix);
}

// `s` without the spaces and tabs around it: RFC 9110's optional whitespace (OWS) around a
// header value or a list element. CR, LF and the rest are kept: inside a field they are content.
inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// `s` without the ASCII whitespace around it (space, \t, \n, \v, \f, \r): for lines as a peer
// sends them, CRLF included.
inline std::string_view TrimAsciiWhitespace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace handoff
