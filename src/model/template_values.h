// The values every mustache template over an inquiry can name — task titles, text-back
// messages, and (extended with the delivery's own) destination templates: one home, so a name
// means the same wherever it is used.
#pragma once

#include <kainjow/mustache.hpp>
#include <string_view>

#include "model/records.h"

namespace handoff {

// {{contact.name|email|phone}} (the inquiry's, else the linked `contact`'s, which may be null;
// a nameless contact's name falls back to its phone, then its email),
// {{inquiry.id|source|channel|message|service|location|received_at}}, {{intent.service}} (the
// service the rules found,
// else the one the source sent), {{intent.urgency}}, {{history.text}}.
kainjow::mustache::data InquiryTemplateValues(const Inquiry& inquiry, const Contact* contact);

// The top-level names above ("contact", "inquiry", "intent", "history") as bits.
enum TemplateSection : unsigned {
  kTemplateContact = 1,
  kTemplateInquiry = 2,
  kTemplateIntent = 4,
  kTemplateHistory = 8,
  kAllTemplateSections = 15,
};
// The sections a template may name: those whose name appears anywhere in its text. A mustache
// name is written out in the template, so a section absent from the text cannot be looked up.
unsigned TemplateSectionsIn(std::string_view tmpl);
// Only `sections` filled in (building every value cost a task title more than rendering it).
kainjow::mustache::data InquiryTemplateValues(const Inquiry& inquiry, const Contact* contact,
                                              unsigned sections);

}  // namespace handoff
