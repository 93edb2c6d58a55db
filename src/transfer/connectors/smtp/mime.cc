#include "transfer/connectors/smtp/mime.h"

#include <time.h>

#include <algorithm>
#include <cctype>

#include "core/ascii.h"
#include "fmt/format.h"

namespace handoff::mime {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
// An encoded line (quoted-printable) holds at most 76 characters, including a soft break's '='.
constexpr size_t kQpLineLimit = 76;
// Longer runs without a space cannot be folded under RFC 5322's hard limit of 998 characters a
// line; such text goes out as encoded-words instead.
constexpr size_t kMaxFoldableToken = 900;
constexpr size_t kMaxQuotedPhrase = 200;

bool IsAtext(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
                                std::string_view::npos;
}

// A line break at `i`: "\n" or "\r\n". Returns its length, 0 when none.
size_t LineBreakAt(std::string_view text, size_t i) {
  if (i >= text.size()) return 0;
  if (text[i] == '\n') return 1;
  if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') return 2;
  return 0;
}

// Byte length of the UTF-8 sequence starting at `i`; 1 for a stray or truncated byte, so that
// invalid input still splits somewhere instead of looping.
size_t Utf8Length(std::string_view text, size_t i) {
  const unsigned char lead = static_cast<unsigned char>(text[i]);
  size_t n = lead < 0x80           ? 1
             : (lead >> 5) == 0x6  ? 2
             : (lead >> 4) == 0xE  ? 3
             : (lead >> 3) == 0x1E ? 4
                                   : 1;
  if (i + n > text.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

// RFC 2047 §5(3): the characters a Q-encoded word may carry literally anywhere, phrases included.
bool IsQLiteral(unsigned char c) {
  return std::isalnum(c) || c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

std::string QEncode(std::string_view bytes) {
  std::string out;
  for (char ch : bytes) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == ' ') {
      out.push_back('_');
    } else if (IsQLiteral(c)) {
      out.push_back(ch);
    } else {
      out += {'=', kHex[c >> 4], kHex[c & 0xF]};
    }
  }
  return out;
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63],
            kAlphabet[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

// Collapses runs of spaces and trims: a folded header must never hold a line of only spaces.
std::string CollapseSpaces(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// "Name: value" folded before a space whenever the line would pass 78 characters. Unfolding
// (removing each CRLF) gives back exactly "Name: value".
std::string Fold(std::string_view name, std::string_view value) {
  std::string out = fmt::format("{}:", name);
  size_t line = out.size();
  bool line_has_token = false;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(' ', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view token = value.substr(start, end - start);
    if (!token.empty() && line_has_token && line + 1 + token.size() > kHeaderLineLimit) {
      out += "\r\n";
      line = 0;
    }
    out.push_back(' ');
    out += token;
    line += 1 + token.size();
    line_has_token = line_has_token || !token.empty();
    start = end + 1;
  }
  return out;
}

bool HasLongToken(std::string_view text) {
  size_t run = 0;
  for (char c : text) {
    run = c == ' ' ? 0 : run + 1;
    if (run > kMaxFoldableToken) return true;
  }
  return false;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

}  // namespace

std::string QuotedPrintable(std::string_view text) {
  std::string out;
  size_t line = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (size_t br = LineBreakAt(text, i); br > 0) {
      out += "\r\n";
      line = 0;
      i += br;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool at_line_end = i + 1 == text.size() || LineBreakAt(text, i + 1) > 0;
    // Rule 3: whitespace at the end of a line would be stripped by transports, so encode it.
    const bool literal =
        (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    const size_t width = literal ? 1 : 3;
    // The last character of a line may use column 76; any other must leave room for a soft
    // break's '='. An =XX triplet is never split.
    const size_t limit = at_line_end ? kQpLineLimit : kQpLineLimit - 1;
    if (line + width > limit) {
      out += "=\r\n";
      line = 0;
    }
    if (literal) {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'=', kHex[c >> 4], kHex[c & 0xF]};
    }
    line += width;
    ++i;
  }
  return out;
}

std::string StripControls(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = ' ';
  }
  return out;
}

bool IsPlainHeaderText(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7E; }) &&
         text.find("=?") == std::string_view::npos;
}

std::vector<std::string> EncodedWords(std::string_view text, size_t max_word) {
  constexpr std::string_view kQPrefix = "=?UTF-8?Q?";
  constexpr std::string_view kBPrefix = "=?UTF-8?B?";
  constexpr size_t kOverhead = 12;  // prefix + "?="
  const size_t budget = max_word > kOverhead + 12 ? max_word - kOverhead : 12;
  // Q suits mostly-ASCII text; B is shorter once a third or so of the bytes need escapes.
  const size_t q_length = QEncode(text).size();
  const size_t b_length = (text.size() + 2) / 3 * 4;
  const bool use_b = b_length < q_length;
  const size_t b_bytes = budget / 4 * 3;

  std::vector<std::string> words;
  std::string chunk;  // raw bytes of the word being filled
  std::string encoded;
  auto flush = [&] {
    if (chunk.empty()) return;
    words.push_back(fmt::format("{}{}?=", use_b ? kBPrefix : kQPrefix, encoded));
    chunk.clear();
    encoded.clear();
  };
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8Length(text, i);
    const std::string_view ch = text.substr(i, n);
    if (use_b) {
      if (chunk.size() + n > b_bytes) flush();
      chunk += ch;
      encoded = Base64(chunk);
    } else {
      std::string q = QEncode(ch);
      if (encoded.size() + q.size() > budget) flush();
      chunk += ch;
      encoded += q;
    }
    i += n;
  }
  flush();
  return words;
}

std::string UnstructuredHeader(std::string_view name, std::string_view text) {
  const std::string clean = CollapseSpaces(StripControls(text));
  if (IsPlainHeaderText(clean) && !HasLongToken(clean)) return Fold(name, clean);
  return Fold(name, Join(EncodedWords(clean), " "));
}

std::string Phrase(std::string_view display_name) {
  const std::string clean = CollapseSpaces(TrimAsciiWhitespace(StripControls(display_name)));
  if (clean.empty()) return "";
  const bool atoms = std::all_of(clean.begin(), clean.end(), [](char c) {
    return c == ' ' || IsAtext(static_cast<unsigned char>(c));
  });
  if (atoms && IsPlainHeaderText(clean) && !HasLongToken(clean)) return clean;
  if (IsPlainHeaderText(clean) && clean.size() <= kMaxQuotedPhrase) {
    std::string quoted = "\"";
    for (char c : clean) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    return quoted + "\"";
  }
  return Join(EncodedWords(clean), " ");
}

std::string Mailbox(std::string_view display_name, std::string_view address) {
  std::string phrase = Phrase(display_name);
  if (phrase.empty()) return std::string(address);
  return fmt::format("{} <{}>", phrase, address);
}

std::string AddressListHeader(std::string_view name, const std::vector<std::string>& items) {
  return Fold(name, Join(items, ", "));
}

bool IsValidAddress(std::string_view address) {
  if (address.empty() || address.size() > 254) return false;
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64) return false;
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : local) {
    if (c != '.' && !IsAtext(static_cast<unsigned char>(c))) return false;
  }
  if (domain.empty() || domain.find('.') == std::string_view::npos) return false;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    const std::string_view label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    start = end + 1;
  }
  return true;
}

NameAddr ParseNameAddr(std::string_view text) {
  text = TrimAsciiWhitespace(text);
  NameAddr out;
  const size_t lt = text.rfind('<');
  if (lt == std::string_view::npos || text.empty() || text.back() != '>') {
    out.address = std::string(text);
    return out;
  }
  out.address = std::string(TrimAsciiWhitespace(text.substr(lt + 1, text.size() - lt - 2)));
  std::string_view name = TrimAsciiWhitespace(text.substr(0, lt));
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
    name = name.substr(1, name.size() - 2);
    for (size_t i = 0; i < name.size(); ++i) {
      if (name[i] == '\\' && i + 1 < name.size()) ++i;
      out.name.push_back(name[i]);
    }
  } else {
    out.name = std::string(name);
  }
  return out;
}

std::string Rfc5322Date(Micros t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const time_t secs = static_cast<time_t>(t / kMicrosPerSecond);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} +0000", kDays[tm.tm_wday],
                     tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
}

}  // namespace handoff::mime
