#include "model/records.h"

#include <array>
#include <utility>

#include "core/time_format.h"
#include "model/json_writer.h"

namespace handoff {
namespace {

constexpr std::array<std::pair<Channel, std::string_view>, 7> kChannels{{
    {Channel::kForm, "form"},
    {Channel::kCall, "call"},
    {Channel::kChat, "chat"},
    {Channel::kBooking, "booking"},
    {Channel::kSms, "sms"},
    {Channel::kEmail, "email"},
    {Channel::kOther, "other"},
}};

constexpr std::array<std::pair<Stage, std::string_view>, 5> kStages{{
    {Stage::kEntry, "entry"},
    {Stage::kEnrich, "enrich"},
    {Stage::kTrigger, "trigger"},
    {Stage::kTransfer, "transfer"},
    {Stage::kTrack, "track"},
}};

nlohmann::json TimeOrNull(Micros t) {
  if (t == 0) return nullptr;
  return FormatRfc3339(t);
}

}  // namespace

std::string_view ChannelName(Channel c) {
  for (const auto& [k, v] : kChannels) {
    if (k == c) return v;
  }
  return "other";
}

std::optional<Channel> ParseChannel(std::string_view s) {
  for (const auto& [k, v] : kChannels) {
    if (v == s) return k;
  }
  return std::nullopt;
}

std::string_view StageName(Stage s) {
  for (const auto& [k, v] : kStages) {
    if (k == s) return v;
  }
  return "entry";
}

std::optional<Stage> ParseStage(std::string_view s) {
  for (const auto& [k, v] : kStages) {
    if (v == s) return k;
  }
  return std::nullopt;
}

bool Attribution::empty() const {
  return utm_source.empty() && utm_medium.empty() && utm_campaign.empty() && utm_term.empty() &&
         utm_content.empty() && referrer.empty() && landing_page.empty();
}

// The three records a delivery shows are written as text first (a webhook sends that text);
// their trees are parsed from it, so each shape is spelled once. Keys go in the bytewise order
// nlohmann keeps them in.
namespace {

void WriteTime(JsonWriter& w, Micros t) {
  if (t == 0) {
    w.Null();
  } else {
    w.String(FormatRfc3339(t));
  }
}

void WriteContactFields(JsonWriter& w, const ContactFields& f) {
  w.BeginObject();
  w.Key("email").String(f.email);
  w.Key("name").String(f.name);
  w.Key("phone").String(f.phone);
  w.EndObject();
}

}  // namespace

void WriteJson(JsonWriter& w, const Inquiry& i, bool include_raw) {
  const Attribution& a = i.attribution;
  w.BeginObject();
  w.Key("attribution").BeginObject();
  w.Key("landing_page").String(a.landing_page);
  w.Key("referrer").String(a.referrer);
  w.Key("utm_campaign").String(a.utm_campaign);
  w.Key("utm_content").String(a.utm_content);
  w.Key("utm_medium").String(a.utm_medium);
  w.Key("utm_source").String(a.utm_source);
  w.Key("utm_term").String(a.utm_term);
  w.EndObject();
  w.Key("channel").String(ChannelName(i.channel));
  w.Key("contact");
  WriteContactFields(w, i.normalized);
  w.Key("contact_as_received");
  WriteContactFields(w, i.received);
  w.Key("contact_id");
  if (i.contact_id.empty()) {
    w.Null();
  } else {
    w.String(i.contact_id);
  }
  w.Key("fields").Json(i.fields);
  w.Key("id").String(i.id);
  w.Key("location").String(i.location);
  w.Key("message").String(i.message);
  w.Key("occurred_at");
  WriteTime(w, i.occurred_at);
  w.Key("provider_event_id").String(i.provider_event_id);
  if (include_raw) {
    w.Key("raw").BeginObject();
    w.Key("body").String(i.raw_payload);
    w.Key("content_type").String(i.raw_content_type);
    w.EndObject();
  }
  w.Key("received_at");
  WriteTime(w, i.received_at);
  w.Key("route").String(i.route);
  w.Key("service").String(i.service);
  w.Key("source").String(i.source);
  w.Key("stage").String(StageName(i.stage));
  w.Key("status").String(i.status);
  w.Key("workspace").String(i.workspace);
  w.EndObject();
}

void WriteJson(JsonWriter& w, const Contact& c) {
  w.BeginObject();
  w.Key("created_at");
  WriteTime(w, c.created_at);
  w.Key("email").String(c.email);
  w.Key("id").String(c.id);
  w.Key("name").String(c.name);
  w.Key("phone").String(c.phone);
  w.Key("updated_at");
  WriteTime(w, c.updated_at);
  w.EndObject();
}

void WriteJson(JsonWriter& w, const Task& t) {
  w.BeginObject();
  w.Key("acknowledged_at");
  WriteTime(w, t.acknowledged_at);
  w.Key("created_at");
  WriteTime(w, t.created_at);
  w.Key("done_at");
  WriteTime(w, t.done_at);
  w.Key("due_at");
  WriteTime(w, t.due_at);
  w.Key("escalation_step").Int(t.escalation_step);
  w.Key("id").String(t.id);
  w.Key("inquiry_id").String(t.inquiry_id);
  w.Key("missing").BeginArray();
  for (const std::string& m : t.missing) w.String(m);
  w.EndArray();
  w.Key("next_escalation_at");
  WriteTime(w, t.next_escalation_at);
  w.Key("owner").String(t.owner);
  w.Key("route").String(t.route);
  w.Key("state").String(t.state);
  w.Key("title").String(t.title);
  w.EndObject();
}

namespace {

template <typename Record, typename... Args>
nlohmann::json TreeOf(const Record& r, Args... args) {
  JsonWriter w;
  WriteJson(w, r, args...);
  return nlohmann::json::parse(w.Take());
}

}  // namespace

nlohmann::json ToJson(const Inquiry& i, bool include_raw) { return TreeOf(i, include_raw); }

nlohmann::json ToJson(const Contact& c) { return TreeOf(c); }

nlohmann::json ToJson(const Task& t) { return TreeOf(t); }

nlohmann::json ToJson(const Handoff& h) {
  return {{"id", h.id},
          {"inquiry_id", h.inquiry_id},
          {"destination", h.destination},
          {"state", h.state},
          {"attempts", h.attempts},
          {"next_attempt_at", h.state == "pending" || h.state == "failed"
                                  ? TimeOrNull(h.next_attempt_at)
                                  : nlohmann::json(nullptr)},
          {"created_at", TimeOrNull(h.created_at)},
          {"confirmed_at", TimeOrNull(h.confirmed_at)},
          {"latency_ms", h.confirmed_at ? nlohmann::json((h.confirmed_at - h.created_at) / 1000.0)
                                        : nlohmann::json(nullptr)},
          {"remote_id", h.remote_id},
          {"last_status", h.last_status},
          {"last_error", h.last_error},
          {"last_response_excerpt", h.last_response_excerpt},
          {"progress", h.progress},
          {"purpose", h.purpose},
          {"recipient", h.recipient}};
}

nlohmann::json ToJson(const InboxItem& item) {
  return {{"id", item.id},
          {"inquiry_id", item.inquiry_id},
          {"destination", item.destination},
          {"owner", item.owner},
          {"state", item.state},
          {"created_at", TimeOrNull(item.created_at)},
          {"done_at", TimeOrNull(item.done_at)}};
}

bool IsProbe(const Inquiry& inquiry) {
  auto it = inquiry.fields.find("synthetic");
  return it != inquiry.fields.end() && it->is_boolean() && it->get<bool>();
}

nlohmann::json ToJson(const Leak& l) {
  return {{"key", l.key},
          {"kind", l.kind},
          {"inquiry_id", l.inquiry_id},
          {"source", l.source},
          {"route", l.route},
          {"destination", l.destination},
          {"owner", l.owner},
          {"group", l.group},
          {"reason", l.reason},
          {"value", l.value},
          {"since", TimeOrNull(l.since)},
          {"opened_at", TimeOrNull(l.opened_at)},
          {"closed_at", TimeOrNull(l.closed_at)},
          {"state", l.closed_at == 0 ? "open" : "closed"}};
}

nlohmann::json ToJson(const AlertGroup& g) {
  return {{"key", g.key},
          {"title", g.title},
          {"open", g.open},
          {"total", g.total},
          {"opened_at", TimeOrNull(g.opened_at)},
          {"alerted_at", TimeOrNull(g.alerted_at)},
          {"closed_at", TimeOrNull(g.closed_at)}};
}

nlohmann::json ToJson(const Event& e) {
  return {{"seq", e.seq},
          {"at", FormatRfc3339(e.at)},
          {"stage", StageName(e.stage)},
          {"kind", e.kind},
          {"detail", e.detail}};
}

std::string EventDetailText(const nlohmann::json& detail) {
  JsonWriter w;
  w.Json(detail);
  return w.Take();
}

const std::string& EventDetailTextOf(const Event& event, std::string& scratch) {
  if (!event.detail_text.empty()) return event.detail_text;
  scratch = EventDetailText(event.detail);
  return scratch;
}

void RenderDetail(Event& event) {
  event.detail_text = EventDetailText(event.detail);
  event.detail = nlohmann::json();
}

OutcomeTask::OutcomeTask(const Task& t)
    : id(t.id),
      owner(t.owner),
      state(t.state),
      due_at(t.due_at),
      created_at(t.created_at),
      acknowledged_at(t.acknowledged_at),
      done_at(t.done_at),
      missing(t.missing) {}

OutcomeHandoff::OutcomeHandoff(const Handoff& h)
    : id(h.id),
      destination(h.destination),
      state(h.state),
      purpose(h.purpose),
      last_error(h.last_error),
      attempts(h.attempts),
      created_at(h.created_at),
      confirmed_at(h.confirmed_at) {}

}  // namespace handoff
