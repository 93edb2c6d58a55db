// UTF-8 validity, byte by byte: the ingress rejects bodies that are not UTF-8, and the
// PostgreSQL store escapes what its text columns cannot hold.
#pragma once

#include <cstddef>
#include <string_view>

namespace handoff {

// The length (1-4) of the well-formed UTF-8 sequence starting at `s[i]`, or 0 when the bytes
// there are not one (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, a
// sequence cut short). `i` must be < s.size().
size_t Utf8SequenceLength(std::string_view s, size_t i);

// The offset of the first byte that breaks UTF-8, or std::string_view::npos when `s` is valid.
size_t Utf8ErrorOffset(std::string_view s);

}  // namespace handoff
