#include "entry/sources/calcom/calcom_adapter.h"

#include <memory>
#include <utility>

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

constexpr char kCalcomSignatureHeader[] = "x-cal-signature-256";
constexpr char kCalcomCreated[] = "BOOKING_CREATED";
constexpr char kRescheduled[] = "BOOKING_RESCHEDULED";
constexpr char kCancelled[] = "BOOKING_CANCELLED";
// Booking uids are short (~22 characters); longer ones would bloat the dedupe index.
constexpr size_t kMaxUidBytes = 200;

std::string CalcomEventId(const std::string& uid, const std::string& trigger) {
  return fmt::format("{}#{}", uid, trigger);
}

std::string CalcomThreadKey(const std::string& uid) { return "booking:" + uid; }

// `responses.<slug>.value`, or nullptr when absent.
const json* Response(const json& payload, std::string_view slug) {
  const json* responses = ObjectAt(payload, "responses");
  if (responses == nullptr) return nullptr;
  const json* answer = ObjectAt(*responses, slug);
  if (answer == nullptr) return nullptr;
  auto it = answer->find("value");
  return it == answer->end() ? nullptr : &*it;
}

std::string ResponseText(const json& payload, std::string_view slug) {
  const json* v = Response(payload, slug);
  return v ? ScalarText(*v) : std::string();
}

const json* FirstAttendee(const json& payload) {
  const json* attendees = ArrayAt(payload, "attendees");
  if (attendees == nullptr || attendees->empty() || !(*attendees)[0].is_object()) return nullptr;
  return &(*attendees)[0];
}

// `responses.name.value` is text, or {firstName, lastName} when the event splits names.
std::string Name(const json& payload) {
  if (const json* v = Response(payload, "name")) {
    if (v->is_object()) {
      const std::string first = TextAt(*v, "firstName");
      const std::string last = TextAt(*v, "lastName");
      std::string joined = first + (first.empty() || last.empty() ? "" : " ") + last;
      if (!joined.empty()) return joined;
    } else if (std::string text = ScalarText(*v); !text.empty()) {
      return text;
    }
  }
  const json* attendee = FirstAttendee(payload);
  return attendee ? TextAt(*attendee, "name") : std::string();
}

// The chosen meeting location answer: {value: "attendeeInPerson" | "phone" | …, optionValue}.
std::pair<std::string, std::string> LocationAnswer(const json& payload) {
  const json* v = Response(payload, "location");
  if (v == nullptr || !v->is_object()) return {};
  return {TextAt(*v, "value"), TextAt(*v, "optionValue")};
}

absl::Status CheckUid(const std::string& uid, const char* what) {
  if (uid.size() <= kMaxUidBytes) return absl::OkStatus();
  return Reject(RejectReason::kInvalidField,
                fmt::format("payload.{} is longer than {} bytes", what, kMaxUidBytes));
}

}  // namespace

absl::Status CalcomAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                   Micros /*now*/) const {
  if (absl::Status s = VerifySourceToken(source, request); !s.ok()) return s;
  if (source.auth.hmac_secrets.empty()) return absl::OkStatus();
  auto header = SingleSignatureHeader(request, kCalcomSignatureHeader);
  if (!header.ok()) return header.status();
  if (*header == "no-secret-provided") {
    return Reject(RejectReason::kBadCredentials,
                  "the Cal.com webhook has no secret (X-Cal-Signature-256: no-secret-provided); "
                  "set the source's secret in the webhook");
  }
  const auto mac = HexDecode(*header);
  if (!mac) return Reject(RejectReason::kBadCredentials, "the signature is not valid hex");
  if (mac->size() != 32) {
    return Reject(RejectReason::kBadCredentials,
                  fmt::format("the signature has the wrong length ({} bytes; HMAC-SHA256 has 32)",
                              mac->size()));
  }
  if (!MatchesAnyHmacSha256(source.auth.hmac_secrets, request.body, *mac)) {
    return Reject(RejectReason::kBadCredentials, "the signature does not match the body");
  }
  return absl::OkStatus();
}

absl::StatusOr<ParsedDelivery> CalcomAdapter::Parse(const SourceConfig& source,
                                                    const HttpRequest& request) const {
  auto body = ParseJsonRequest(request);
  if (!body.ok()) return body.status();
  const json& root = body->json;

  const std::string trigger = TextAt(root, "triggerEvent");
  if (trigger != kCalcomCreated && trigger != kRescheduled && trigger != kCancelled) {
    return Reject(RejectReason::kIgnored,
                  fmt::format("trigger '{}' is not handled", trigger.substr(0, 40)));
  }
  const json* payload = ObjectAt(root, "payload");
  if (payload == nullptr) return Reject(RejectReason::kMissingField, "no payload object");
  const std::string uid = TextAt(*payload, "uid");
  if (uid.empty()) return Reject(RejectReason::kMissingField, "payload.uid is absent");
  if (absl::Status s = CheckUid(uid, "uid"); !s.ok()) return s;

  ParsedDelivery out;
  Inquiry& inquiry = out.inquiry;
  inquiry.channel = SourceChannel(source, Channel::kBooking);
  inquiry.raw_payload = request.body;
  inquiry.raw_content_type = std::string(request.Header("content-type").value_or(""));
  inquiry.provider_event_id = CalcomEventId(uid, trigger);
  if (auto t = ParseRfc3339(TextAt(root, "createdAt")); t.ok()) inquiry.occurred_at = *t;
  auto key = DedupeKey(source, request, inquiry.provider_event_id);
  if (!key.ok()) return key.status();
  out.dedupe_key = std::move(*key);
  out.thread_key = CalcomThreadKey(uid);
  json& f = inquiry.fields;

  if (trigger == kCancelled) {
    // Only changes the booking it belongs to; one for a booking never seen is ignored.
    out.thread_mode = ParsedDelivery::ThreadMode::kUpdateOnly;
    f["booking_status"] = "canceled";
    SetIfPresent(f, "cancel_reason", TextAt(*payload, "cancellationReason"));
    SetIfPresent(f, "canceled_by", TextAt(*payload, "cancelledBy"));
    // Retried earlier steps of this booking arriving after the cancellation must not reopen it.
    out.supersedes.push_back("event:" + CalcomEventId(uid, kCalcomCreated));
    out.supersedes.push_back("event:" + CalcomEventId(uid, kRescheduled));
    return out;
  }

  inquiry.received.name = Name(*payload);
  const json* attendee = FirstAttendee(*payload);
  inquiry.received.email = ResponseText(*payload, "email");
  if (inquiry.received.email.empty() && attendee) {
    inquiry.received.email = TextAt(*attendee, "email");
  }
  const auto [location_kind, location_value] = LocationAnswer(*payload);
  inquiry.received.phone = ResponseText(*payload, "attendeePhoneNumber");
  if (inquiry.received.phone.empty() && attendee) {
    inquiry.received.phone = TextAt(*attendee, "phoneNumber");
  }
  // "phone" location: the host calls the attendee at the number they gave.
  if (inquiry.received.phone.empty() && location_kind == "phone") {
    inquiry.received.phone = location_value;
  }
  inquiry.message = ResponseText(*payload, "notes");
  if (inquiry.message.empty()) inquiry.message = TextAt(*payload, "additionalNotes");
  inquiry.service = TextAt(*payload, "eventTitle");
  if (inquiry.service.empty()) inquiry.service = TextAt(*payload, "type");
  if (location_kind == "attendeeInPerson") inquiry.location = location_value;

  f["kind"] = "booking";
  f["booking_status"] = "booked";
  f["booking_uid"] = uid;
  SetIfPresent(f, "booking_id", TextAt(*payload, "bookingId"));
  SetIfPresent(f, "booking_start", TextAt(*payload, "startTime"));
  SetIfPresent(f, "booking_end", TextAt(*payload, "endTime"));
  SetIfPresent(f, "event_type", TextAt(*payload, "type"));
  SetIfPresent(f, "event_name", TextAt(*payload, "eventTitle"));
  SetIfPresent(f, "title", TextAt(*payload, "title"));
  SetIfPresent(f, "location", TextAt(*payload, "location"));
  SetIfPresent(f, "booking_state", TextAt(*payload, "status"));
  if (const json* organizer = ObjectAt(*payload, "organizer")) {
    SetIfPresent(f, "organizer_email", TextAt(*organizer, "email"));
  }
  if (const json* metadata = ObjectAt(*payload, "metadata")) {
    SetIfPresent(f, "video_call_url", TextAt(*metadata, "videoCallUrl"));
  }

  if (trigger == kRescheduled) {
    f["booking_status"] = "rescheduled";
    std::string old_uid = TextAt(*payload, "rescheduleUid");
    if (old_uid.empty()) old_uid = TextAt(*payload, "fromReschedule");
    SetIfPresent(f, "reschedule_reason", ResponseText(*payload, "rescheduleReason"));
    if (!old_uid.empty() && old_uid != uid) {
      if (absl::Status s = CheckUid(old_uid, "rescheduleUid"); !s.ok()) return s;
      // The new booking keeps the old one's inquiry and is found later by its own uid; the old
      // booking's deliveries still in flight are stale now.
      f["rescheduled_from"] = old_uid;
      out.thread_key = CalcomThreadKey(old_uid);
      out.thread_aliases.push_back(CalcomThreadKey(uid));
      for (const char* t : {kCalcomCreated, kRescheduled, kCancelled}) {
        out.supersedes.push_back("event:" + CalcomEventId(old_uid, t));
      }
    }
  }

  if (absl::Status s = ApplyMapOverrides(source, root, &inquiry); !s.ok()) return s;
  if (inquiry.received.name.empty() && inquiry.received.email.empty() &&
      inquiry.received.phone.empty()) {
    return Reject(RejectReason::kMissingField, "the booking has no attendee name, email or phone");
  }
  return out;
}

void RegisterCalcomSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "calcom",
      .trust_note = "verifies X-Cal-Signature-256 (hex HMAC-SHA256 of the raw body)",
      .default_channel = Channel::kBooking,
      .settings = {},
      .make = [] { return std::make_unique<CalcomAdapter>(); },
  });
}

}  // namespace handoff
