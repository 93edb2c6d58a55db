// What the CRM connectors (hubspot, pipedrive, salesforce) share: the person fields they send,
// how they find their token, base URL and owner mappings, and how they read ids and error
// codes out of untrusted answers. One home, so the three read settings and answers alike.
// Free functions, stateless and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "transfer/connector.h"

namespace handoff {

// The person an inquiry is from, as a CRM record wants it. Each field is the normalized value,
// else the one received, else the linked contact's; "" when nobody gave it.
struct CrmPerson {
  std::string name;
  std::string first_name;  // SplitName(name)
  std::string last_name;
  std::string email;
  std::string phone;
};
CrmPerson PersonOf(const DeliveryContext& ctx);

// Splits a full name at its last space: "Mary Ann Smith" → {"Mary Ann", "Smith"}. A single
// word is a first name with an empty last name; surrounding spaces are dropped.
std::pair<std::string, std::string> SplitName(std::string_view name);

// The token an attempt authenticates with: the OAuth2 access token the dispatcher fetched when
// the destination has an `oauth2:` block, else the static setting `key` (a private app token,
// an api_token). FailedPrecondition when neither exists.
absl::StatusOr<std::string> AuthToken(const DeliveryContext& ctx, std::string_view key);

// `url` without trailing slashes. FailedPrecondition unless it starts with http(s)://.
absl::StatusOr<std::string> NormalizeBaseUrl(std::string url);
// The `base_url` setting, or `fallback` when unset, normalized as above.
absl::StatusOr<std::string> BaseUrlSetting(const DestinationConfig& destination,
                                           std::string fallback);

// A boolean setting (YAML true/false, or the text "true"/"false"); nullopt when absent.
// FailedPrecondition for any other value.
absl::StatusOr<std::optional<bool>> BoolSetting(const DestinationConfig& destination,
                                                std::string_view key);

// The team member who owns the next step: the dispatcher's owner entry, else the task's owner
// id; "" without a task.
std::string OwnerMemberId(const DeliveryContext& ctx);

// Looks `member_id` up in a mapping setting (team member id → the CRM's user id, given as text
// or a whole number); "" when the setting, the member or a usable value is missing.
std::string MappedSetting(const DestinationConfig& destination, std::string_view key,
                          const std::string& member_id);
// Problems with such a mapping setting (not a mapping, a value neither text nor a number),
// each naming `key`; empty when it is absent or fine.
std::vector<std::string> CheckMappingSetting(const DestinationConfig& destination,
                                             std::string_view key);

// An untrusted answer body parsed as JSON; a discarded value (never an exception) otherwise.
nlohmann::json ParseBody(const std::string& body);

// A record id from an answer (a string or a whole number) as text; "" when it is anything
// else, too long, or holds non-printable characters (ids land on timelines).
std::string IdText(const nlohmann::json& value);

// `value` if it is text fit for a failure reason: a plain code such as "VALIDATION_ERROR"
// (PlainToken, connectors/common/escaped_text.h); "" otherwise, so free text (which may quote
// personal data) never reaches a reason.
std::string SafeCode(const nlohmann::json& value);

// A request body as JSON text; invalid UTF-8 from a sloppy source is replaced, not thrown on.
std::string DumpJson(const nlohmann::json& body);

// A whole number written as text ("4321"), for ids the APIs want as JSON numbers.
std::optional<int64_t> ParseInt64(std::string_view text);

}  // namespace handoff
