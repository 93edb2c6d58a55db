// Reference decoders for the smtp connector's tests only: they read back what the encoders in
// mime.h wrote, so tests can compare decoded text instead of hand-encoded strings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace handoff::mime::testing {

// The lines of a CRLF-delimited text, without their CRLF.
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find("\r\n", start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

// Quoted-printable (RFC 2045 §6.7) back to bytes.
inline std::string DecodeQp(const std::string& qp) {
  std::string out;
  for (size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] == '=' && qp.compare(i + 1, 2, "\r\n") == 0) {
      i += 2;
    } else if (qp[i] == '=') {
      out.push_back(static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else if (qp.compare(i, 2, "\r\n") == 0) {
      out.push_back('\n');
      ++i;
    } else {
      out.push_back(qp[i]);
    }
  }
  return out;
}

inline int HexValue(char c) { return std::stoi(std::string(1, c), nullptr, 16); }

// Decodes a run of encoded-words separated by folding whitespace (RFC 2047 §6.2).
inline std::string DecodeWords(const std::string& value) {
  static const std::string kB64 =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t pos = 0;
  while ((pos = value.find("=?UTF-8?", pos)) != std::string::npos) {
    const char kind = value[pos + 8];
    const size_t start = pos + 10;
    const size_t end = value.find("?=", start);
    const std::string text = value.substr(start, end - start);
    if (kind == 'Q') {
      for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '_') {
          out.push_back(' ');
        } else if (text[i] == '=') {
          out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
          i += 2;
        } else {
          out.push_back(text[i]);
        }
      }
    } else {
      uint32_t bits = 0;
      int n = 0;
      for (char c : text) {
        if (c == '=') break;
        bits = (bits << 6) | static_cast<uint32_t>(kB64.find(c));
        n += 6;
        if (n >= 8) {
          n -= 8;
          out.push_back(static_cast<char>((bits >> n) & 0xFF));
        }
      }
    }
    pos = end + 2;
  }
  return out;
}

}  // namespace handoff::mime::testing
