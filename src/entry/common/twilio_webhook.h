// Pieces shared by the Twilio adapters (twilio_voice, twilio_sms) besides the signature: reading
// the form parameters, the dedupe key (I-Twilio-Idempotency-Token first), TwiML answers with
// escaped text, RFC 2822 times, and typed access to the source's settings. Stateless.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/markup_escape.h"
#include "entry/common/body_parser.h"
#include "entry/common/map_overrides.h"  // SourceChannel
#include "http/http_types.h"
#include "model/records.h"

namespace handoff {

// The first value of parameter `name`, or "" when absent.
const std::string& TwilioParam(const std::vector<FormField>& params, std::string_view name);

// The dedupe key of a Twilio request: "idem:<I-Twilio-Idempotency-Token>" when the header is
// present (Twilio repeats it on every retry of one request), else "event:<event_id>", else "".
// Rejects invalid_field for a token or id over 256 bytes or a repeated token header.
absl::StatusOr<std::string> TwilioDedupeKey(const HttpRequest& request, std::string_view event_id);

// A 200 text/xml TwiML answer: <Response>inner</Response>, or <Response/> when `inner` is
// empty. `inner` must already be escaped TwiML.
HttpResponse TwimlResponse(std::string_view inner);

// Parses an RFC 2822 date as Twilio sends it ("Fri, 14 Mar 2025 14:32:03 +0000"; the weekday
// is optional, the zone may be ±hhmm, GMT, UT or UTC). nullopt on anything else.
std::optional<Micros> ParseRfc2822(std::string_view text);

// Typed settings: the value of `key` in source.settings when it has the right type, else
// `fallback`. (`handoff check` validates the keys; the docs give the types.)
bool BoolSetting(const SourceConfig& source, const char* key, bool fallback);
std::string StringSetting(const SourceConfig& source, const char* key, std::string fallback);
int64_t IntSetting(const SourceConfig& source, const char* key, int64_t fallback);

}  // namespace handoff
