#include "model/template_values.h"

#include "core/time_format.h"
#include "model/field_path.h"

namespace handoff {

kainjow::mustache::data InquiryTemplateValues(const Inquiry& inquiry, const Contact* contact) {
  using kainjow::mustache::data;
  const std::string name = FieldText(inquiry, "contact.name", contact);
  const std::string email = FieldText(inquiry, "contact.email", contact);
  const std::string phone = FieldText(inquiry, "contact.phone", contact);
  data who;
  who.set("name", name.empty() ? (phone.empty() ? email : phone) : name);
  who.set("email", email);
  who.set("phone", phone);
  data inq;
  inq.set("id", inquiry.id);
  inq.set("source", inquiry.source);
  inq.set("channel", std::string(ChannelName(inquiry.channel)));
  inq.set("message", inquiry.message);
  inq.set("service", inquiry.service);
  inq.set("location", inquiry.location);
  const Micros at = inquiry.occurred_at != 0 ? inquiry.occurred_at : inquiry.received_at;
  inq.set("received_at", at != 0 ? FormatRfc3339(at) : "");
  data intent;
  const std::string found = FieldText(inquiry, "intent");
  intent.set("service", found.empty() ? inquiry.service : found);
  intent.set("urgency", FieldText(inquiry, "urgency"));
  data history;
  history.set("text", FieldText(inquiry, "fields.history.text"));
  data root;
  root.set("contact", who);
  root.set("inquiry", inq);
  root.set("intent", intent);
  root.set("history", history);
  return root;
}

}  // namespace handoff
