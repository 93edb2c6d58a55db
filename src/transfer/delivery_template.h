// The mustache templates a destination's settings may hold — webhook `payload`, twilio_sms
// `body`, smtp `subject` — all render from one set of values, so a template written for one
// channel works in another and each can say everything a notification needs: who, what, the
// history, what to ask for, the deadline and the acknowledge link.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "transfer/connector.h"

namespace handoff {

// The names a template may use (for connector specs and the docs).
inline constexpr char kDeliveryTemplateNames[] =
    "{{inquiry.id}}, {{inquiry.source}}, {{inquiry.channel}}, {{inquiry.message}}, "
    "{{inquiry.service}}, {{inquiry.location}}, {{inquiry.received_at}}, {{contact.name}}, "
    "{{contact.email}}, {{contact.phone}}, {{intent.service}}, {{intent.urgency}}, "
    "{{history.text}}, {{task.title}}, {{task.owner}}, {{task.due_at}}, {{task.missing}}, "
    "{{owner.id}}, {{owner.name}}, {{owner.email}}, {{owner.phone}}, {{recipient.id}}, "
    "{{recipient.name}}, {{handoff_id}}, {{purpose}}, {{summary}}, {{timeline_url}}, "
    "{{ack_url}}";

// Renders `tmpl` with the delivery's values as plain text: no escaping, the caller applies its
// channel's (JSON encoding, MIME encoding, none for SMS). FailedPrecondition naming the problem
// when the template does not parse.
absl::StatusOr<std::string> RenderDeliveryTemplate(std::string_view tmpl,
                                                   const DeliveryContext& ctx);

}  // namespace handoff
