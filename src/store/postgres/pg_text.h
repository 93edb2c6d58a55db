// Byte strings in PostgreSQL text columns. A UTF8 database refuses NUL and invalid UTF-8 in
// text, yet lead data may carry both (a JSON "\u0000", a cut-off response excerpt), and the
// store promises to return every string byte for byte. So every string goes in through
// EncodePgText and comes back through DecodePgText. Valid UTF-8 without NUL — nearly every
// value — passes unchanged, so SQL comparisons, ordering and substring search behave as on
// the plain text; any other byte b becomes the noncharacter U+FDD0 (reserved by Unicode for
// internal use) followed by U+0100 + b, and a U+FDD0 in the input is itself escaped that way.
#pragma once

#include <string>
#include <string_view>

namespace handoff {

std::string EncodePgText(std::string_view bytes);
std::string DecodePgText(std::string_view text);

}  // namespace handoff
