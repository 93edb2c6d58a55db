// application/x-www-form-urlencoded and query-string decoding (WHATWG URL "urlencoded parser").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace handoff {

// Decodes %XX escapes (and '+' as space when `plus_is_space`). nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// Splits "a=1&b=x+y&a=2" into decoded pairs, in order, keeping repeats. A pair without '='
// has an empty value; empty segments are skipped. nullopt if any escape is malformed.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseUrlEncoded(
    std::string_view in);

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string PercentEncode(std::string_view in);

}  // namespace handoff
