#include "transfer/delivery_summary.h"

#include "core/time_format.h"
#include "fmt/format.h"

namespace handoff {
namespace {

void Add(DeliverySummary& s, std::string label, const std::string& value) {
  if (!value.empty()) s.facts.emplace_back(std::move(label), value);
}

std::string FirstNonEmpty(std::initializer_list<const std::string*> values) {
  for (const std::string* v : values) {
    if (!v->empty()) return *v;
  }
  return "";
}

}  // namespace

DeliverySummary Summarize(const DeliveryContext& ctx) {
  const Inquiry& i = ctx.inquiry;
  DeliverySummary s;
  if (ctx.handoff.purpose == "alert") {
    // A leak alert is its own message (track/leak_monitor.h): a headline line, then details.
    const std::string& text = ctx.handoff.text;
    const size_t nl = text.find('\n');
    s.title = text.substr(0, nl);
    if (nl != std::string::npos) s.message = text.substr(nl + 1);
    s.who = ctx.recipient ? ctx.recipient->name : "";
    if (ctx.recipient) {
      Add(s, "For", ctx.recipient->name.empty() ? ctx.recipient->id : ctx.recipient->name);
    }
    return s;
  }
  const std::string name = FirstNonEmpty({&i.normalized.name, &i.received.name});
  const std::string phone = FirstNonEmpty({&i.normalized.phone, &i.received.phone});
  const std::string email = FirstNonEmpty({&i.normalized.email, &i.received.email});
  s.who = FirstNonEmpty({&name, &phone, &email});
  if (s.who.empty()) s.who = "someone";
  s.title = fmt::format("New {} inquiry from {}", ChannelName(i.channel), s.who);
  if (ctx.handoff.purpose == "escalate") {
    s.title = fmt::format("Not acknowledged: {} inquiry from {}", ChannelName(i.channel), s.who);
  }
  if (ctx.recipient) {
    Add(s, "For", ctx.recipient->name.empty() ? ctx.recipient->id : ctx.recipient->name);
  }
  Add(s, "Name", name);
  Add(s, "Phone", phone);
  Add(s, "Email", email);
  Add(s, "Service", i.service);
  Add(s, "Location", i.location);
  Add(s, "Source", i.source);
  Add(s, "Channel", std::string(ChannelName(i.channel)));
  if (i.occurred_at != 0) Add(s, "Received", FormatRfc3339(i.occurred_at));
  if (auto kind = i.fields.find("kind"); kind != i.fields.end() && kind->is_string()) {
    Add(s, "Kind", kind->get<std::string>());
  }
  auto text = [&](const char* key) {
    auto it = i.fields.find(key);
    return it != i.fields.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Add(s, "Urgency", text("urgency"));
  if (const std::string intent = text("intent"); intent != i.service) Add(s, "Intent", intent);
  if (auto h = i.fields.find("history"); h != i.fields.end() && h->is_object()) {
    if (auto t = h->find("text"); t != h->end() && t->is_string()) {
      Add(s, "History", t->get<std::string>());
    }
  }
  Add(s, "Campaign", i.attribution.utm_campaign);
  Add(s, "Referrer", i.attribution.referrer);
  if (ctx.task && !ctx.task->missing.empty()) {
    std::string missing;
    for (const std::string& m : ctx.task->missing) missing += (missing.empty() ? "" : ", ") + m;
    Add(s, "Ask for", missing);
  }
  s.message = i.message;
  if (ctx.task) {
    std::string owner =
        ctx.owner ? (ctx.owner->name.empty() ? ctx.owner->id : ctx.owner->name) : ctx.task->owner;
    s.next_step = ctx.task->title;
    if (!owner.empty()) s.next_step += fmt::format(" — owner {}", owner);
    if (ctx.task->due_at != 0)
      s.next_step += fmt::format(", due {}", FormatRfc3339(ctx.task->due_at));
  }
  if (!ctx.public_url.empty()) {
    std::string base = ctx.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    s.timeline_url = fmt::format("{}/inquiries/{}", base, i.id);
  }
  s.ack_url = ctx.ack_url;
  return s;
}

std::string SummaryText(const DeliverySummary& s) {
  std::string out = s.title + "\n";
  for (const auto& [label, value] : s.facts) out += fmt::format("{}: {}\n", label, value);
  if (!s.message.empty()) out += fmt::format("Message: {}\n", s.message);
  if (!s.next_step.empty()) out += fmt::format("Next step: {}\n", s.next_step);
  if (!s.ack_url.empty()) out += fmt::format("Acknowledge: {}\n", s.ack_url);
  if (!s.timeline_url.empty()) out += fmt::format("Timeline: {}\n", s.timeline_url);
  return out;
}

std::string SummaryHtml(const DeliverySummary& s) {
  std::string out = fmt::format("<p><strong>{}</strong></p><ul>", EscapeMarkup(s.title));
  for (const auto& [label, value] : s.facts) {
    out += fmt::format("<li>{}: {}</li>", EscapeMarkup(label), EscapeMarkup(value));
  }
  out += "</ul>";
  if (!s.message.empty()) out += fmt::format("<p>{}</p>", EscapeMarkup(s.message));
  if (!s.next_step.empty()) {
    out += fmt::format("<p>Next step: {}</p>", EscapeMarkup(s.next_step));
  }
  if (!s.ack_url.empty()) {
    out +=
        fmt::format("<p><a href=\"{}\">Acknowledge: I am on it</a></p>", EscapeMarkup(s.ack_url));
  }
  if (!s.timeline_url.empty()) {
    out += fmt::format("<p><a href=\"{0}\">{0}</a></p>", EscapeMarkup(s.timeline_url));
  }
  return out;
}

std::string Truncate(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
  if (max_bytes < kEllipsis.size()) return "";
  size_t cut = max_bytes - kEllipsis.size();
  // Back up to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + std::string(kEllipsis);
}

}  // namespace handoff
