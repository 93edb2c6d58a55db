// JSON pointers (RFC 6901) as the entry stage writes them: the field map names where a mapped
// value was found, and the DOM builder where a number's source text belongs.
#pragma once

#include <string>
#include <string_view>

namespace handoff {

// Appends "/" and `token` as a reference token: "~" becomes "~0" and "/" becomes "~1".
inline void AppendJsonPointerToken(std::string& out, std::string_view token) {
  out.push_back('/');
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace handoff
