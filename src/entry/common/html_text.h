// Plain text out of the small HTML fragments chat tools send as message bodies (Intercom's
// `source.body`): tags dropped, block elements turned into line breaks, entities decoded.
// Written for untrusted input: a single forward pass, no recursion, no regular expressions.
#pragma once

#include <string>
#include <string_view>

namespace handoff {

// The text of `html`: tags and comments removed; the content of <script>, <style>, <head>
// and <template> dropped; <br> breaks a line, block elements (p, div, li, headings, table rows…)
// start and end one (once: an empty paragraph adds no blank line); the
// named entities amp, lt, gt, quot, apos, nbsp and numeric ones (&#39; &#x27;) decoded (a code
// point that is not a Unicode scalar becomes U+FFFD; an unknown entity is kept as written);
// runs of spaces collapsed, blank lines limited to one, and the result trimmed. Never throws;
// linear in the input. Thread-safe.
std::string HtmlToText(std::string_view html);

}  // namespace handoff
