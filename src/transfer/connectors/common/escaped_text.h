// Small text helpers shared by the chat and sheet connectors (slack, teams, google_sheets):
// fitting escaped lead text into a service's size limits, and keeping a service's error code
// for a failure reason (or an id) without letting arbitrary response text through.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace handoff {

// Escapes `text` with `escape` and cuts the *source* text (with "…", never inside a UTF-8
// sequence or an escape sequence) until the escaped result fits in `max_bytes`. Service limits
// apply to what is sent, escapes included.
std::string EscapeWithin(std::string_view text, size_t max_bytes,
                         std::string (*escape)(std::string_view));

// `code`, trimmed, when it is a plain token (1 to 64 letters, digits, '_', '.' or '-'): a
// service's error code ("channel_not_found", "PERMISSION_DENIED") or record id ("SM…",
// "1741962725.123459"); else "". Reasons land on timelines, so a body that is not a plain code
// (HTML, echoed input) is never copied into one.
std::string PlainToken(std::string_view code);

}  // namespace handoff
