// The values every mustache template over an inquiry can name — task titles, text-back
// messages, and (extended with the delivery's own) destination templates: one home, so a name
// means the same wherever it is used.
#pragma once

#include <kainjow/mustache.hpp>

#include "model/records.h"

namespace handoff {

// {{contact.name|email|phone}} (the inquiry's, else the linked `contact`'s, which may be null;
// a nameless contact's name falls back to its phone, then its email),
// {{inquiry.id|source|channel|message|service|location|received_at}}, {{intent.service}} (the
// service the rules found,
// else the one the source sent), {{intent.urgency}}, {{history.text}}.
kainjow::mustache::data InquiryTemplateValues(const Inquiry& inquiry, const Contact* contact);

}  // namespace handoff
