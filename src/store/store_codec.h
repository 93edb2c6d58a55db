// How both store backends turn the JSON-valued parts of records into column text and back, and
// the small rules they share (minute buckets, required keys), so the two answer alike.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/clock.h"
#include "nlohmann/json.hpp"

namespace handoff {

// (An event's detail as stored: EventDetailText and RenderDetail in model/records.h.)
// Stored detail back to JSON; an object when the text is not JSON (a hand-edited row).
nlohmann::json ParseEventDetail(std::string_view text);
// A stored JSON object (inquiry fields, handoff progress); an empty object for anything else.
nlohmann::json ParseJsonObject(std::string_view text);
// A stored JSON array of strings (a task's missing context); other elements are skipped.
std::vector<std::string> ParseStringArray(std::string_view text);

// The start of the minute that contains `at` (entry counters are kept per minute).
Micros MinuteBucket(Micros at);

// InvalidArgument naming `what` when the workspace or the id is empty.
absl::Status RequireKey(const std::string& workspace, const std::string& id, const char* what);

// What the leak rules and the scorecard read from an inquiry's fields.
struct OutcomeFields {
  std::string kind;    // fields.kind, "" when absent or not a string
  std::string intent;  // fields.intent, likewise
  double value = 0;    // fields.value when a number
  bool synthetic = false;
};
OutcomeFields ReadOutcomeFields(std::string_view fields_text);

// The columns ScanInquiryOutcomes reads of tasks and of handoffs (OutcomeTask, OutcomeHandoff
// in model/records.h, after the inquiry id that files them), in the order both stores take them.
#define HANDOFF_OUTCOME_TASK_COLUMNS \
  "inquiry_id, id, owner, state, due_at, created_at, acknowledged_at, done_at, missing"
#define HANDOFF_OUTCOME_HANDOFF_COLUMNS \
  "inquiry_id, id, destination, state, purpose, last_error, attempts, created_at, confirmed_at"

// The statement behind Store::ListTasksBy, for both backends: tasks newest first. Each state is
// read on its own, newest first from an index that leads (workspace, state) or (workspace,
// owner, state) and goes on with created_at, and cut at the limit; a list of every state merges
// one such read per state of kTaskStates. So a list reads at most `limit` rows per state
// however many tasks the business has closed (one query filtering on state walked them all).
// `from` is what each read names after FROM (SQLite names its index there), `sign` the
// backend's parameter sign ('?' or '$'). Parameters in order: 1 the workspace, 2 the limit,
// then the owner when `by_owner`, then the state when `one_state`.
std::string NewestTasksSql(std::string_view columns, std::string_view from, char sign,
                           bool by_owner, bool one_state);

// The inquiries off the healthy path: stopped before Trigger, or in a status that asks for a look
// (never routed, a dead handoff, awaiting context). The partial index inquiries_off_the_path
// (workspace, id) holds only these, so an inquiry that goes from "routed" to "delivered" costs the
// writer no entry in it, and the inquiries list filtered on one of these statuses or stages
// seeks it rather than walking every inquiry newest first. The list repeats the condition word
// for word, which is how both planners see that the index applies. Never edit it: the
// migrations that built the index (SQLite 15, PostgreSQL 6) used this text.
#define HANDOFF_OFF_THE_PATH                                                                 \
  "(status = 'received' OR status = 'awaiting_context' OR status = 'enriched' OR status = "  \
  "'unrouted' OR status = 'attention' OR status = 'canceled' OR stage = 'entry' OR stage = " \
  "'enrich')"
// Whether a list filtered on `status` and `stage` ("" = any) holds only inquiries off the path.
bool OnlyOffThePath(std::string_view status, std::string_view stage);

}  // namespace handoff
