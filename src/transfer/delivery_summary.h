// The inquiry's context as every human-facing connector shows it (CRM notes and descriptions,
// chat messages, SMS, email): one home, so that each destination carries the same facts and a
// new connector cannot forget one.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/markup_escape.h"
#include "transfer/connector.h"

namespace handoff {

struct DeliverySummary {
  std::string title;  // "New call inquiry from Dana Roe"
  std::string who;    // the best name we have: name, else phone, else email, else "someone"
  // Labelled facts in display order; only the ones with a value ("Phone", "+14155550142").
  std::vector<std::pair<std::string, std::string>> facts;
  std::string message;       // what they said, as received ("" when none)
  std::string next_step;     // "Call back Dana — owner Ana, due 2026-11-29T10:05:00.000Z"
  std::string timeline_url;  // public_url + "/inquiries/<id>", "" without a public_url
  std::string ack_url;       // notifications: the task's one-click acknowledgement link
};

DeliverySummary Summarize(const DeliveryContext& ctx);

// Plain text: the title, one "Label: value" line per fact, the message, the next step and the
// links. Lines end with '\n'.
std::string SummaryText(const DeliverySummary& summary);
// The same as HTML with every field escaped (for CRM notes and email).
std::string SummaryHtml(const DeliverySummary& summary);

// Cuts `text` to at most `max_bytes` without splitting a UTF-8 sequence, adding "…" when cut.
std::string Truncate(std::string_view text, size_t max_bytes);

}  // namespace handoff
