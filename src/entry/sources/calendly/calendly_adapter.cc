#include "entry/sources/calendly/calendly_adapter.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <memory>
#include <utility>

#include "core/ascii.h"
#include "core/time_format.h"
#include "entry/common/body_parser.h"
#include "entry/common/json_fields.h"
#include "entry/common/map_overrides.h"
#include "entry/common/mapped_delivery.h"
#include "entry/common/signature.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr char kCalendlySignatureHeader[] = "calendly-webhook-signature";
constexpr char kCalendlyCreated[] = "invitee.created";
constexpr char kCanceled[] = "invitee.canceled";
// Invitee URIs are ~90 bytes; longer is not a Calendly URI and would bloat the dedupe index.
constexpr size_t kMaxUriBytes = 200;

absl::Status BadSignature(std::string_view detail) {
  return Reject(RejectReason::kBadCredentials, detail);
}

// The provider event id of one delivery: the invitee URI and the event name.
std::string CalendlyEventId(const std::string& invitee_uri, const std::string& event) {
  return fmt::format("{}#{}", invitee_uri, event);
}

std::string CalendlyThreadKey(const std::string& invitee_uri) { return "invitee:" + invitee_uri; }

// A Q&A answer that is only a phone number: digits with the usual separators, 7 to 15 digits.
bool LooksLikePhone(std::string_view text) {
  size_t digits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c == '+') {
      if (digits > 0) return false;
    } else if (c != ' ' && c != '-' && c != '(' && c != ')' && c != '.') {
      return false;
    }
  }
  // "2026-03-18" has the shape of a phone number but is a date.
  const bool iso_date = text.size() == 10 && text[4] == '-' && text[7] == '-';
  return digits >= 7 && digits <= 15 && !iso_date;
}

bool AsksForAPhone(std::string_view question) {
  const std::string lower = AsciiLowered(question);
  for (const char* word : {"phone", "mobile", "cell", "number", "tel"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

struct Answer {
  int64_t position;
  std::string question;
  std::string answer;
};

// Q&A answers in `position` order (answers without a position last, in body order).
std::vector<Answer> Answers(const json& payload) {
  std::vector<Answer> out;
  const json* qa = ArrayAt(payload, "questions_and_answers");
  if (qa == nullptr) return out;
  for (const json& item : *qa) {
    Answer a;
    a.answer = TextAt(item, "answer");
    if (a.answer.empty()) continue;
    a.question = TextAt(item, "question");
    const json* pos = item.is_object() && item.contains("position") ? &item["position"] : nullptr;
    a.position =
        pos && pos->is_number_integer() ? pos->get<int64_t>() : std::numeric_limits<int64_t>::max();
    out.push_back(std::move(a));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Answer& x, const Answer& y) { return x.position < y.position; });
  return out;
}

std::string Message(const std::vector<Answer>& answers) {
  std::string out;
  for (const Answer& a : answers) {
    if (!out.empty()) out += "\n";
    out += a.question.empty() ? a.answer : fmt::format("{}: {}", a.question, a.answer);
  }
  return out;
}

Micros ParseTime(const std::string& text) {
  if (text.empty()) return 0;
  auto t = ParseRfc3339(text);
  return t.ok() ? *t : 0;
}

// The booking as fields, from the scheduled event of an `invitee.created` payload.
void BookingFields(const json& payload, Inquiry& inquiry) {
  json& f = inquiry.fields;
  f["kind"] = "booking";
  SetIfPresent(f, "invitee", TextAt(payload, "uri"));
  SetIfPresent(f, "cancel_url", TextAt(payload, "cancel_url"));
  SetIfPresent(f, "reschedule_url", TextAt(payload, "reschedule_url"));
  SetIfPresent(f, "timezone", TextAt(payload, "timezone"));
  SetIfPresent(f, "scheduled_event", TextAt(payload, "event"));
  const json* ev = ObjectAt(payload, "scheduled_event");
  if (ev == nullptr) return;
  SetIfPresent(f, "scheduled_event", TextAt(*ev, "uri"));
  SetIfPresent(f, "booking_start", TextAt(*ev, "start_time"));
  SetIfPresent(f, "booking_end", TextAt(*ev, "end_time"));
  SetIfPresent(f, "event_name", TextAt(*ev, "name"));
  SetIfPresent(f, "event_type", TextAt(*ev, "event_type"));
  inquiry.service = TextAt(*ev, "name");
  if (const json* loc = ObjectAt(*ev, "location")) {
    const std::string type = TextAt(*loc, "type");
    std::string where = TextAt(*loc, "location");
    if (where.empty()) where = TextAt(*loc, "join_url");
    SetIfPresent(f, "location_type", type);
    SetIfPresent(f, "location", where);
    // "ask_invitee": the invitee typed where to meet (their address).
    if (type == "ask_invitee") inquiry.location = TextAt(*loc, "location");
  }
}

// Phone: the SMS reminder number, else the number Calendly calls (outbound_call), else a Q&A
// answer that is a phone number.
std::string Phone(const json& payload, const std::vector<Answer>& answers) {
  std::string phone = TextAt(payload, "text_reminder_number");
  if (!phone.empty()) return phone;
  if (const json* ev = ObjectAt(payload, "scheduled_event")) {
    if (const json* loc = ObjectAt(*ev, "location")) {
      if (TextAt(*loc, "type") == "outbound_call") phone = TextAt(*loc, "location");
    }
  }
  if (!phone.empty()) return phone;
  // A question that asks for a phone wins over any other answer that looks like one.
  const Answer* found = nullptr;
  for (const Answer& a : answers) {
    if (!LooksLikePhone(a.answer)) continue;
    if (AsksForAPhone(a.question)) return a.answer;
    if (found == nullptr) found = &a;
  }
  return found ? found->answer : std::string();
}

void Tracking(const json& payload, Attribution& a) {
  const json* t = ObjectAt(payload, "tracking");
  if (t == nullptr) return;
  a.utm_source = TextAt(*t, "utm_source");
  a.utm_medium = TextAt(*t, "utm_medium");
  a.utm_campaign = TextAt(*t, "utm_campaign");
  a.utm_term = TextAt(*t, "utm_term");
  a.utm_content = TextAt(*t, "utm_content");
}

absl::Status CheckUri(const std::string& uri, const char* what) {
  if (uri.size() <= kMaxUriBytes) return absl::OkStatus();
  return Reject(RejectReason::kInvalidField,
                fmt::format("payload.{} is longer than {} bytes", what, kMaxUriBytes));
}

}  // namespace

absl::Status CalendlyAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                     Micros now) const {
  if (absl::Status s = VerifySourceToken(source, request); !s.ok()) return s;
  if (source.auth.hmac_secrets.empty()) return absl::OkStatus();
  auto tolerance = DurationSetting(source, "tolerance", kCalendlyDefaultTolerance);
  if (!tolerance.ok()) return tolerance.status();
  auto header = SingleSignatureHeader(request, kCalendlySignatureHeader);
  if (!header.ok()) return header.status();

  std::string t;
  std::vector<std::string> v1;
  for (auto& [key, value] : ParseSignatureParams(*header)) {
    if (key == "t") {
      if (!t.empty()) return BadSignature("Calendly-Webhook-Signature has several t= values");
      t = std::move(value);
    } else if (key == "v1") {
      v1.push_back(std::move(value));
    }
  }
  if (t.empty() || v1.empty()) {
    return BadSignature("Calendly-Webhook-Signature must be 't=<unix seconds>,v1=<hex>'");
  }
  const bool numeric = t.size() <= 12 &&
                       std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!numeric) return BadSignature("the signature timestamp t= is not unix seconds");

  const std::string signed_text = t + "." + request.body;
  bool matched = false;
  for (const std::string& hex : v1) {
    const auto mac = HexDecode(hex);
    if (!mac || mac->size() != 32) continue;
    matched |= MatchesAnyHmacSha256(source.auth.hmac_secrets, signed_text, *mac);
  }
  if (!matched) return BadSignature("the signature does not match the body");
  // Checked after the signature, so the timestamp is known to be Calendly's.
  return CheckTimestampTolerance(std::stoll(t) * kMicrosPerSecond, now, *tolerance);
}

absl::StatusOr<ParsedDelivery> CalendlyAdapter::Parse(const SourceConfig& source,
                                                      const HttpRequest& request) const {
  auto body = ParseJsonRequest(request);
  if (!body.ok()) return body.status();
  const json& root = body->json;

  const std::string event = TextAt(root, "event");
  if (event != kCalendlyCreated && event != kCanceled) {
    return Reject(RejectReason::kIgnored,
                  fmt::format("event '{}' is not a booking", event.substr(0, 40)));
  }
  const json* payload = ObjectAt(root, "payload");
  if (payload == nullptr) return Reject(RejectReason::kMissingField, "no payload object");
  const std::string uri = TextAt(*payload, "uri");
  if (uri.empty()) return Reject(RejectReason::kMissingField, "payload.uri is absent");
  if (absl::Status s = CheckUri(uri, "uri"); !s.ok()) return s;

  ParsedDelivery out;
  Inquiry& inquiry = out.inquiry;
  inquiry.channel = SourceChannel(source, Channel::kBooking);
  inquiry.raw_payload = request.body;
  inquiry.raw_content_type = std::string(request.Header("content-type").value_or(""));
  inquiry.provider_event_id = CalendlyEventId(uri, event);
  inquiry.occurred_at = ParseTime(TextAt(root, "created_at"));
  auto key = DedupeKey(source, request, inquiry.provider_event_id);
  if (!key.ok()) return key.status();
  out.dedupe_key = std::move(*key);
  out.thread_key = CalendlyThreadKey(uri);

  if (event == kCanceled) {
    // A cancellation only changes the booking it belongs to; one for a booking handoff never
    // saw is ignored (and counted) by the ingress.
    out.thread_mode = ParsedDelivery::ThreadMode::kUpdateOnly;
    json& f = inquiry.fields;
    if (BoolAt(*payload, "rescheduled")) {
      // The first half of a reschedule; the created with `old_invitee` carries the new time.
      f["booking_status"] = "rescheduling";
      const std::string next = TextAt(*payload, "new_invitee");
      if (!next.empty()) {
        if (absl::Status s = CheckUri(next, "new_invitee"); !s.ok()) return s;
        f["rescheduled_to"] = next;
        out.thread_aliases.push_back(CalendlyThreadKey(next));
      }
    } else {
      f["booking_status"] = "canceled";
      if (const json* c = ObjectAt(*payload, "cancellation")) {
        SetIfPresent(f, "canceled_by", TextAt(*c, "canceled_by"));
        SetIfPresent(f, "canceler_type", TextAt(*c, "canceler_type"));
        SetIfPresent(f, "cancel_reason", TextAt(*c, "reason"));
      }
      // A retried creation of this invitee arriving after its cancellation must not reopen it.
      out.supersedes.push_back("event:" + CalendlyEventId(uri, kCalendlyCreated));
    }
    return out;
  }

  const std::vector<Answer> answers = Answers(*payload);
  inquiry.received.name = TextAt(*payload, "name");
  if (inquiry.received.name.empty()) {
    const std::string first = TextAt(*payload, "first_name");
    const std::string last = TextAt(*payload, "last_name");
    inquiry.received.name = first + (first.empty() || last.empty() ? "" : " ") + last;
  }
  inquiry.received.email = TextAt(*payload, "email");
  inquiry.received.phone = Phone(*payload, answers);
  inquiry.message = Message(answers);
  Tracking(*payload, inquiry.attribution);
  BookingFields(*payload, inquiry);
  inquiry.fields["booking_status"] = "booked";

  const std::string old_uri = TextAt(*payload, "old_invitee");
  if (!old_uri.empty() && old_uri != uri) {
    if (absl::Status s = CheckUri(old_uri, "old_invitee"); !s.ok()) return s;
    // The second half of a reschedule: the booking keeps its inquiry (found by the old
    // invitee), takes the new time, and is found later by the new invitee too. Whatever of
    // the old invitee's deliveries is still in flight is stale now.
    inquiry.fields["booking_status"] = "rescheduled";
    inquiry.fields["rescheduled_from"] = old_uri;
    out.thread_key = CalendlyThreadKey(old_uri);
    out.thread_aliases.push_back(CalendlyThreadKey(uri));
    out.supersedes.push_back("event:" + CalendlyEventId(old_uri, kCalendlyCreated));
    out.supersedes.push_back("event:" + CalendlyEventId(old_uri, kCanceled));
  }

  if (absl::Status s = ApplyMapOverrides(source, root, &inquiry); !s.ok()) return s;
  if (inquiry.received.name.empty() && inquiry.received.email.empty() &&
      inquiry.received.phone.empty()) {
    return Reject(RejectReason::kMissingField, "the invitee has no name, email or phone");
  }
  return out;
}

void RegisterCalendlySource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "calendly",
      .trust_note = "verifies Calendly-Webhook-Signature (HMAC-SHA256 of t.body, t within the "
                    "tolerance)",
      .default_channel = Channel::kBooking,
      .settings = {{"tolerance",
                    "how far the signed timestamp may be from our clock (default 3m)"}},
      .make = [] { return std::make_unique<CalendlyAdapter>(); },
  });
}

}  // namespace handoff
