// Escaping for HTML and XML: one rule for TwiML answers (entry), CRM notes and email bodies
// (transfer).
#pragma once

#include <string>
#include <string_view>

namespace handoff {

// `text` with &, <, >, " and ' escaped (' as &#39;, valid in HTML 4, HTML 5 and XML alike) for
// text and attribute values; control characters neither XML 1.0 nor HTML may carry (all below
// 0x20 but tab, LF and CR) are dropped.
std::string EscapeMarkup(std::string_view text);

}  // namespace handoff
