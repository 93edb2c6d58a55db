#include "transfer/connectors/common/escaped_text.h"

#include <algorithm>
#include <cctype>

#include "transfer/delivery_summary.h"

namespace handoff {

std::string EscapeWithin(std::string_view text, size_t max_bytes,
                         std::string (*escape)(std::string_view)) {
  std::string whole = escape(text);
  if (whole.size() <= max_bytes) return whole;
  // Binary search for the longest cut of the source whose escaped form fits: escaping only
  // grows text, so the escaped size grows with the cut.
  size_t lo = 0;  // fits (an empty cut escapes to "")
  size_t hi = std::min(text.size(), max_bytes + 1);
  std::string best;
  while (lo + 1 < hi) {
    size_t mid = lo + (hi - lo) / 2;
    std::string candidate = escape(Truncate(text, mid));
    if (candidate.size() <= max_bytes) {
      lo = mid;
      best = std::move(candidate);
    } else {
      hi = mid;
    }
  }
  return best;
}

std::string PlainToken(std::string_view code) {
  while (!code.empty() && std::isspace(static_cast<unsigned char>(code.back()))) {
    code.remove_suffix(1);
  }
  while (!code.empty() && std::isspace(static_cast<unsigned char>(code.front()))) {
    code.remove_prefix(1);
  }
  if (code.empty() || code.size() > 64) return "";
  bool plain = std::all_of(code.begin(), code.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
  return plain ? std::string(code) : "";
}

}  // namespace handoff
