#include "model/records.h"

#include <array>
#include <utility>

#include "core/time_format.h"

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

nlohmann::json Fields(const ContactFields& f) {
  return {{"name", f.name}, {"email", f.email}, {"phone", f.phone}};
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

nlohmann::json ToJson(const Inquiry& i, bool include_raw) {
  nlohmann::json j = {
      {"id", i.id},
      {"workspace", i.workspace},
      {"source", i.source},
      {"channel", ChannelName(i.channel)},
      {"received_at", TimeOrNull(i.received_at)},
      {"occurred_at", TimeOrNull(i.occurred_at)},
      {"contact", Fields(i.normalized)},
      {"contact_as_received", Fields(i.received)},
      {"contact_id", i.contact_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(i.contact_id)},
      {"message", i.message},
      {"service", i.service},
      {"location", i.location},
      {"attribution",
       {{"utm_source", i.attribution.utm_source},
        {"utm_medium", i.attribution.utm_medium},
        {"utm_campaign", i.attribution.utm_campaign},
        {"utm_term", i.attribution.utm_term},
        {"utm_content", i.attribution.utm_content},
        {"referrer", i.attribution.referrer},
        {"landing_page", i.attribution.landing_page}}},
      {"fields", i.fields},
      {"provider_event_id", i.provider_event_id},
      {"stage", StageName(i.stage)},
      {"status", i.status},
  };
  if (include_raw) {
    j["raw"] = {{"content_type", i.raw_content_type}, {"body", i.raw_payload}};
  }
  return j;
}

nlohmann::json ToJson(const Contact& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"email", c.email},
          {"phone", c.phone},
          {"created_at", TimeOrNull(c.created_at)},
          {"updated_at", TimeOrNull(c.updated_at)}};
}

nlohmann::json ToJson(const Task& t) {
  return {{"id", t.id},
          {"inquiry_id", t.inquiry_id},
          {"route", t.route},
          {"owner", t.owner},
          {"title", t.title},
          {"due_at", TimeOrNull(t.due_at)},
          {"state", t.state},
          {"created_at", TimeOrNull(t.created_at)},
          {"acknowledged_at", TimeOrNull(t.acknowledged_at)},
          {"done_at", TimeOrNull(t.done_at)},
          {"missing", t.missing},
          {"escalation_step", t.escalation_step},
          {"next_escalation_at", TimeOrNull(t.next_escalation_at)}};
}

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

}  // namespace handoff
