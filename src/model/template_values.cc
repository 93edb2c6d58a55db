#include "model/template_values.h"

#include "core/time_format.h"
#include "model/field_path.h"

namespace handoff {

kainjow::mustache::data InquiryTemplateValues(const Inquiry& inquiry, const Contact* contact) {
  return InquiryTemplateValues(inquiry, contact, kAllTemplateSections);
}

unsigned TemplateSectionsIn(std::string_view tmpl) {
  unsigned sections = 0;
  if (tmpl.find("contact") != std::string_view::npos) sections |= kTemplateContact;
  if (tmpl.find("inquiry") != std::string_view::npos) sections |= kTemplateInquiry;
  if (tmpl.find("intent") != std::string_view::npos) sections |= kTemplateIntent;
  if (tmpl.find("history") != std::string_view::npos) sections |= kTemplateHistory;
  return sections;
}

kainjow::mustache::data InquiryTemplateValues(const Inquiry& inquiry, const Contact* contact,
                                              unsigned sections) {
  using kainjow::mustache::data;
  data root;
  if (sections & kTemplateContact) {
    const std::string name = FieldText(inquiry, "contact.name", contact);
    const std::string email = FieldText(inquiry, "contact.email", contact);
    const std::string phone = FieldText(inquiry, "contact.phone", contact);
    data who;
    who.set("name", name.empty() ? (phone.empty() ? email : phone) : name);
    who.set("email", email);
    who.set("phone", phone);
    root.set("contact", who);
  }
  if (sections & kTemplateInquiry) {
    data inq;
    inq.set("id", inquiry.id);
    inq.set("source", inquiry.source);
    inq.set("channel", std::string(ChannelName(inquiry.channel)));
    inq.set("message", inquiry.message);
    inq.set("service", inquiry.service);
    inq.set("location", inquiry.location);
    const Micros at = inquiry.occurred_at != 0 ? inquiry.occurred_at : inquiry.received_at;
    inq.set("received_at", at != 0 ? FormatRfc3339(at) : "");
    root.set("inquiry", inq);
  }
  if (sections & kTemplateIntent) {
    data intent;
    const std::string found = FieldText(inquiry, "intent");
    intent.set("service", found.empty() ? inquiry.service : found);
    intent.set("urgency", FieldText(inquiry, "urgency"));
    root.set("intent", intent);
  }
  if (sections & kTemplateHistory) {
    data history;
    history.set("text", FieldText(inquiry, "fields.history.text"));
    root.set("history", history);
  }
  return root;
}

}  // namespace handoff
