// The core records every stage reads and adds to (DESIGN.md "Core records"). Plain value types:
// no I/O, no locking; copy freely.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "nlohmann/json.hpp"

namespace handoff {

// Where an inquiry first appeared.
enum class Channel { kForm, kCall, kChat, kBooking, kSms, kEmail, kOther };
std::string_view ChannelName(Channel c);
std::optional<Channel> ParseChannel(std::string_view s);

// The five stages of the continuity map, in data-flow order.
enum class Stage { kEntry, kEnrich, kTrigger, kTransfer, kTrack };
std::string_view StageName(Stage s);
std::optional<Stage> ParseStage(std::string_view s);

// Who the inquiry is from, as fields (either as received or normalized).
struct ContactFields {
  std::string name;
  std::string email;
  std::string phone;
};

// Marketing attribution carried by the source, when it has any.
struct Attribution {
  std::string utm_source, utm_medium, utm_campaign, utm_term, utm_content;
  std::string referrer, landing_page;
  bool empty() const;
};

// One inquiry: the tracked record every stage adds to.
struct Inquiry {
  std::string id;  // UUIDv7
  std::string workspace;
  std::string source;  // the config's source name
  Channel channel = Channel::kOther;
  Micros received_at = 0;
  Micros occurred_at = 0;    // when it happened at the source; received_at if unknown
  ContactFields received;    // contact fields exactly as the source sent them
  ContactFields normalized;  // after enrichment: trimmed name, lowercased email, E.164 phone
  std::string contact_id;    // set by enrichment
  std::string message;
  std::string service;
  std::string location;
  Attribution attribution;
  // Source-specific canonical extras, a JSON object: what kind of event it was ("kind":
  // "missed_call"), booking times, ad and form ids, postcode… Conditions and templates read it.
  nlohmann::json fields = nlohmann::json::object();
  std::string provider_event_id;  // the source's own id for this delivery, if any
  std::string raw_payload;        // the body exactly as received
  std::string raw_content_type;
  Stage stage = Stage::kEntry;  // the last stage that committed its work on it
  std::string status = "received";
  // The route that took it, set once by Trigger (WriteTx::SetInquiryTriggered, or the insert
  // of an inquiry routed inside its ingest write); "" before Trigger and when none matched.
  std::string route = {};
};

// A person across channels, keyed by normalized email and E.164 phone.
struct Contact {
  std::string id;
  std::string workspace;
  std::string name;
  std::string email;
  std::string phone;
  Micros created_at = 0;
  Micros updated_at = 0;
};

// Every state a task can be in, in lifecycle order. Lists of tasks in any state read one state
// at a time (store/store_codec.h NewestTasksSql), so a new state is added here.
inline constexpr std::array<std::string_view, 3> kTaskStates = {"open", "acknowledged", "done"};

// The next step for an inquiry: an owner and a deadline.
struct Task {
  std::string id;
  std::string workspace;
  std::string inquiry_id;
  std::string route;
  std::string owner;  // a team member id
  std::string title;
  Micros due_at = 0;
  std::string state = "open";  // open → acknowledged → done
  Micros created_at = 0;
  Micros acknowledged_at = 0;  // 0 until acknowledged
  Micros done_at = 0;          // 0 until done
  // The context the route requires that the inquiry lacks ("contact.phone|contact.email"):
  // what the owner has to ask for.
  std::vector<std::string> missing = {};
  // The route's escalation chain: steps run so far, and when the next one is due (0 = none left;
  // the chain also stops as soon as the task is no longer open).
  int escalation_step = 0;
  Micros next_escalation_at = 0;
};

// One earlier inquiry of a contact, with what became of it: the history enrichment summarises.
struct PastInquiry {
  std::string id;
  Micros received_at = 0;
  Channel channel = Channel::kOther;
  std::string service;
  std::string status;      // the inquiry's status ("routed", "delivered"…)
  std::string owner;       // its task's owner, "" when it had none
  std::string task_state;  // its task's state, "" when it had none
};

// One inquiry handed to one destination; also the transfer stage's outbox row.
struct Handoff {
  std::string id;  // stable: sent as webhook-id / Idempotency-Key on every attempt
  std::string workspace;
  std::string inquiry_id;
  std::string destination;        // the config's destination name
  std::string state = "pending";  // pending → delivering → confirmed | failed | dead
  int attempts = 0;
  Micros next_attempt_at = 0;
  Micros created_at = 0;
  Micros confirmed_at = 0;            // 0 until confirmed
  std::string remote_id;              // the destination's record id (the confirmation)
  int last_status = 0;                // last HTTP status, 0 when none
  std::string last_error;             // short reason of the last failure
  std::string last_response_excerpt;  // redacted, truncated
  // What the confirmed steps of a multi-step delivery captured: {"step": n, "values": {...}}
  // (transfer/connector.h DeliveryProgress). Empty object for a delivery not yet started.
  nlohmann::json progress = nlohmann::json::object();
  // Why it is sent: "deliver" (the route's record), "notify" (tell someone, at routing),
  // "escalate" (an escalation step's notice), "reply" (a message to the lead) or "alert" (a leak
  // alert, track/leak_monitor.h: inquiry_id is "" and `text` is the message).
  std::string purpose = "deliver";
  std::string recipient = {};  // notify/escalate: the member told ("" = the destination's own)
  std::string text = {};       // reply: the message, rendered when the handoff was created
};

// A record kept in handoff itself by the `inbox` connector, for a business with no CRM yet:
// the inquiry, owned and tracked here until someone marks it done.
struct InboxItem {
  std::string id;  // the handoff's id (one record per inbox handoff, whatever the attempts)
  std::string workspace;
  std::string inquiry_id;
  std::string destination;
  std::string owner;           // the task owner's team id, "" when unowned
  std::string state = "open";  // open → done
  Micros created_at = 0;
  Micros done_at = 0;
};

// An append-only journal row. Timelines, metrics and leaks derive from events.
// A dashboard sign-in (api/sessions.h). The cookie's value is never stored, only its SHA-256,
// so a copy of the database signs nobody in.
struct DashboardSession {
  std::string id_hash;  // hex SHA-256 of the cookie value
  std::string workspace;
  std::string user;  // a team member id, or "admin"
  std::string name;
  std::string csrf_token;
  Micros expires_at = 0;
};

struct Event {
  std::string workspace;
  std::string inquiry_id;
  int64_t seq = 0;  // 1, 2, 3… per inquiry, assigned by the store
  Micros at = 0;
  Stage stage = Stage::kEntry;
  std::string kind;  // e.g. "received", "contact.linked", "task.created", "handoff.confirmed"
  nlohmann::json detail = nlohmann::json::object();
  // The detail already in its stored form, when it was rendered before the write (RenderDetail
  // below): the store writes it as it is and ignores `detail`.
  std::string detail_text = {};
};

// An event's detail as stored. Lead data may carry invalid UTF-8: it is replaced rather than
// losing the whole event.
std::string EventDetailText(const nlohmann::json& detail);
// The text a store writes for `event`'s detail: detail_text when it was rendered before the
// write, else `detail` rendered into `scratch`.
const std::string& EventDetailTextOf(const Event& event, std::string& scratch);
// Renders `event`'s detail into detail_text now, on the calling thread, and empties `detail`:
// the store's single writer, which every acknowledgement waits for, then neither renders nor
// frees it.
void RenderDetail(Event& event);

// Work waiting for a stage: the queue between stages (transactional outbox).
struct WorkItem {
  int64_t id = 0;  // assigned by the store
  std::string workspace;
  std::string inquiry_id;
  Stage stage = Stage::kEnrich;
  Micros available_at = 0;
  int attempts = 0;
  std::string lease_token;  // set when claimed; completion is fenced on it
};

// What an outcome keeps of a task and of a handoff: the fields the leak rules, the scorecard and
// the continuity map read. Every leak scan holds a week of inquiries, so each carries only these
// (with whole records a benchmark's scan of 150,000 peaked at 170 MiB, with these at 120, and
// their JSON columns were parsed for nothing). Made from a whole record implicitly, so that
// code holding one can file it.
struct OutcomeTask {
  OutcomeTask() = default;
  OutcomeTask(const Task& t);  // NOLINT(google-explicit-constructor): a view of the same task
  std::string id;
  std::string owner;
  std::string state;
  Micros due_at = 0;
  Micros created_at = 0;
  Micros acknowledged_at = 0;
  Micros done_at = 0;
  std::vector<std::string> missing = {};
};
struct OutcomeHandoff {
  OutcomeHandoff() = default;
  OutcomeHandoff(const Handoff& h);  // NOLINT(google-explicit-constructor): likewise
  std::string id;
  std::string destination;
  std::string state;
  std::string purpose;
  std::string last_error;
  int attempts = 0;
  Micros created_at = 0;
  Micros confirmed_at = 0;
};

// One inquiry with what became of it: the facts the leak rules (track/leak_rules.h) and the
// scorecard (track/scorecard.h) read, without the payload.
struct InquiryOutcome {
  std::string id;
  std::string source;
  Channel channel = Channel::kOther;
  std::string kind;     // fields.kind ("missed_call"…), "" when none
  std::string service;  // the intent enrichment found, else the service the source sent
  std::string route;    // the route that took it ("" while unrouted)
  Micros received_at = 0;
  Stage stage = Stage::kEntry;
  std::string status;
  double value = 0;        // fields.value: what the intent rules say it is worth
  bool synthetic = false;  // fields.synthetic: a probe, left out of business figures
  bool has_phone = false;  // a phone or an email to reach them by (as received or normalized)
  bool has_email = false;
  std::optional<OutcomeTask> task;       // its first task, if any
  std::vector<OutcomeHandoff> handoffs;  // every handoff, any purpose
};

// A leak: something the continuity map lost, as the leak rules found it. Kept while its
// condition holds, closed (closed_at set) when it no longer does; the same condition found again
// later is a new leak with a new opened_at.
struct Leak {
  std::string key;  // the condition: "<kind>:<inquiry, task, handoff or source>"
  std::string workspace;
  // unassigned | overdue_task | missed_call | unconfirmed_handoff | dead_handoff |
  // silent_source
  std::string kind;
  std::string inquiry_id;  // "" for silent_source
  std::string source;
  std::string route;
  std::string destination;  // handoff leaks
  std::string owner;        // task leaks
  std::string group;        // the alert group it counts in (e.g. "handoff:crm")
  std::string reason;       // one line for people: "task past due 12m, not acknowledged"
  double value = 0;
  Micros since = 0;      // when the condition began (the due time, the deadline missed…)
  Micros opened_at = 0;  // when a scan first found it
  Micros closed_at = 0;  // 0 while open
};

// The leaks sharing a group key, told to the alert channels as one: a broken destination is one
// alert with a count, then one recovery notice, not a hundred messages.
struct AlertGroup {
  std::string key;  // Leak::group
  std::string workspace;
  std::string title;  // what the alert says is wrong, without the count
  int open = 0;       // leaks open in it at the last scan
  int total = 0;      // leaks seen in it since it opened
  Micros opened_at = 0;
  Micros alerted_at = 0;  // last alert (or reminder) sent
  Micros closed_at = 0;   // 0 while open
};

// True for a synthetic probe inquiry (track/probes.h): fields.synthetic is true.
bool IsProbe(const Inquiry& inquiry);

class JsonWriter;
// The JSON text of the records a delivery shows, written into `w`; ToJson gives the same as a
// tree.
void WriteJson(JsonWriter& w, const Inquiry& i, bool include_raw);
void WriteJson(JsonWriter& w, const Contact& c);
void WriteJson(JsonWriter& w, const Task& t);
nlohmann::json ToJson(const Inquiry& i, bool include_raw);
nlohmann::json ToJson(const Contact& c);
nlohmann::json ToJson(const Task& t);
nlohmann::json ToJson(const Handoff& h);
nlohmann::json ToJson(const Event& e);
nlohmann::json ToJson(const InboxItem& item);
nlohmann::json ToJson(const Leak& leak);
nlohmann::json ToJson(const AlertGroup& group);

}  // namespace handoff
