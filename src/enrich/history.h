// The history an inquiry carries: what became of the contact's earlier inquiries, in one
// object for routes, templates and the timeline ("returning: 2 earlier inquiries, last on
// 2026-10-02, booked with Ana").
#pragma once

#include <vector>

#include "config/config.h"
#include "enrich/business_time.h"
#include "model/records.h"
#include "nlohmann/json.hpp"

namespace handoff {

// `past` is newest first (WriteTx::ContactHistory). Returns {"returning": false} for a first
// inquiry; otherwise {"returning": true, "earlier": n, "last_inquiry_id", "last_at" (RFC 3339),
// "last_channel", "last_service", "last_owner" (a team id, when the last one had a task),
// "last_outcome", "owners" (ids, most recent first), "text"}. Dates in the text are the
// business's local dates; names come from the team.
nlohmann::json SummarizeHistory(const std::vector<PastInquiry>& past, const Config& config,
                                const BusinessCalendar& calendar);

}  // namespace handoff
