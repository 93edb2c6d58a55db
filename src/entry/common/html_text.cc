#include "entry/common/html_text.h"

#include <array>
#include <cstdint>

#include "core/ascii.h"

namespace handoff {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes the entity starting at html[i] == '&' into `out`; returns the bytes consumed, or 0
// when it is not an entity we know (the caller then keeps the '&' as text).
size_t DecodeEntity(std::string_view html, size_t i, std::string& out) {
  const size_t end = html.find(';', i);
  // Entities are short; a far semicolon belongs to something else.
  if (end == std::string_view::npos || end - i > 10 || end == i + 1) return 0;
  const std::string_view name = html.substr(i + 1, end - i - 1);
  if (name[0] == '#') {
    const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
    const std::string_view digits = name.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    uint32_t cp = 0;
    for (char c : digits) {
      int v;
      if (c >= '0' && c <= '9') {
        v = c - '0';
      } else if (hex && c >= 'a' && c <= 'f') {
        v = c - 'a' + 10;
      } else if (hex && c >= 'A' && c <= 'F') {
        v = c - 'A' + 10;
      } else {
        return 0;
      }
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
      if (cp > 0x10FFFF) cp = 0x110000;  // saturate: stays invalid, never overflows
    }
    AppendUtf8(out, cp);
    return end - i + 1;
  }
  struct Named {
    std::string_view name;
    uint32_t cp;
  };
  static constexpr std::array<Named, 7> kNamed = {{{"amp", '&'},
                                                   {"lt", '<'},
                                                   {"gt", '>'},
                                                   {"quot", '"'},
                                                   {"apos", '\''},
                                                   {"nbsp", ' '},
                                                   {"hellip", 0x2026}}};
  for (const Named& n : kNamed) {
    if (n.name == name) {
      AppendUtf8(out, n.cp);
      return end - i + 1;
    }
  }
  return 0;
}

// True when nothing but spaces follows the last line break (or there is no text yet).
bool AtLineStart(const std::string& text) {
  // Only a few spaces can trail (runs are collapsed as they are appended; a bound keeps
  // runs of &nbsp; from making this quadratic).
  int looked = 0;
  for (auto it = text.rbegin(); it != text.rend() && looked < 64; ++it, ++looked) {
    if (*it == '\n') return true;
    if (*it != ' ' && *it != '\t') return false;
  }
  return looked < 64;
}

bool EndsLine(std::string_view tag) {
  static constexpr std::array<std::string_view, 13> kBlocks = {
      "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote"};
  for (std::string_view b : kBlocks) {
    if (b == tag) return true;
  }
  return false;
}

bool HidesContent(std::string_view tag) {
  return tag == "script" || tag == "style" || tag == "head" || tag == "template";
}

// Where the tag that opens at html[i] == '<' ends (the index after its '>'), skipping quoted
// attribute values; html.size() when it never closes.
size_t TagEnd(std::string_view html, size_t i) {
  char quote = 0;
  for (size_t j = i + 1; j < html.size(); ++j) {
    const char c = html[j];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return j + 1;
    }
  }
  return html.size();
}

// Collapses whitespace: spaces and tabs become one space, no space around line breaks, at
// most one blank line, nothing at either end.
std::string Tidy(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  int newlines = 0;
  bool space = false;
  for (char c : text) {
    if (c == '\n') {
      ++newlines;
      space = false;
      continue;
    }
    if (IsSpace(c)) {
      space = true;
      continue;
    }
    if (!out.empty()) {
      if (newlines > 0) {
        out.append(newlines > 1 ? "\n\n" : "\n");
      } else if (space) {
        out.push_back(' ');
      }
    }
    newlines = 0;
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string HtmlToText(std::string_view html) {
  std::string text;
  text.reserve(html.size());
  size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '&') {
      const size_t used = DecodeEntity(html, i, text);
      if (used == 0) {
        text.push_back('&');
        ++i;
      } else {
        i += used;
      }
      continue;
    }
    if (c != '<') {
      // Source line breaks are layout, not content; block tags make the real ones.
      if (!IsSpace(c)) {
        text.push_back(c);
      } else if (text.empty() || text.back() != ' ') {
        text.push_back(' ');  // runs collapse here already, which keeps AtLineStart short
      }
      ++i;
      continue;
    }
    if (html.substr(i, 4) == "<!--") {
      const size_t close = html.find("-->", i + 4);
      i = close == std::string_view::npos ? html.size() : close + 3;
      continue;
    }
    size_t j = i + 1;
    const bool closing = j < html.size() && html[j] == '/';
    if (closing) ++j;
    std::string name;
    while (j < html.size() && IsNameChar(html[j]) && name.size() < 16) {
      name.push_back(AsciiLower(html[j++]));
    }
    if (name.empty() && !closing && (j >= html.size() || (html[j] != '!' && html[j] != '?'))) {
      // "a < b" is text, not a tag.
      text.push_back('<');
      ++i;
      continue;
    }
    i = TagEnd(html, i);
    if (name == "br") {
      text.push_back('\n');
    } else if (EndsLine(name) && !AtLineStart(text)) {
      // A block starts or ends a line once: "<p>a</p><p>b</p>" is two lines, not three.
      text.push_back('\n');
    }
    if (!closing && HidesContent(name)) {
      // Skip to the matching close tag, compared case-insensitively.
      const std::string close = "</" + name;
      size_t k = i;
      for (; k + close.size() <= html.size(); ++k) {
        size_t m = 0;
        while (m < close.size() && AsciiLower(html[k + m]) == close[m]) ++m;
        if (m == close.size()) break;
      }
      i = k + close.size() <= html.size() ? TagEnd(html, k) : html.size();
    }
  }
  return Tidy(text);
}

}  // namespace handoff
