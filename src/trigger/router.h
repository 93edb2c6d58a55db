// Picks the route for an inquiry (first match wins, then the fallback) and renders the task
// title from the route's mustache template.
#pragma once

#include <string>

#include "config/config.h"
#include "model/records.h"

namespace handoff {

// The first route whose `when` matches the inquiry's source and channel, else the fallback
// route, else nullptr (the inquiry is unrouted: `handoff check` warns about such configs).
const RouteConfig* MatchRoute(const Config& config, const Inquiry& inquiry);

// Renders a task title template ("Call back {{contact.name}}") with the inquiry's fields as
// plain text (no HTML escaping: titles are escaped where they are displayed). Contact fields the
// inquiry lacks come from its linked `contact` (may be null): a missed call from a known number
// still names the person. A template that does not parse renders as its own text.
std::string RenderTitle(const std::string& tmpl, const Inquiry& inquiry,
                        const Contact* contact = nullptr);

}  // namespace handoff
