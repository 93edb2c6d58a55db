#include "entry/rejection.h"

#include <array>
#include <optional>

#include "absl/strings/cord.h"
#include "core/check.h"
#include "fmt/format.h"

namespace handoff {
namespace {

struct ReasonInfo {
  RejectReason reason;
  const char* code;
  int http_status;
  absl::StatusCode status_code;
};

constexpr std::array<ReasonInfo, 12> kReasons{{
    {RejectReason::kUnknownSource, "unknown_source", 404, absl::StatusCode::kNotFound},
    {RejectReason::kBadCredentials, "bad_credentials", 401, absl::StatusCode::kUnauthenticated},
    {RejectReason::kStaleTimestamp, "stale_timestamp", 401, absl::StatusCode::kUnauthenticated},
    {RejectReason::kBodyTooLarge, "body_too_large", 413, absl::StatusCode::kResourceExhausted},
    {RejectReason::kUnsupportedMediaType, "unsupported_media_type", 415,
     absl::StatusCode::kInvalidArgument},
    {RejectReason::kMalformedBody, "malformed_body", 400, absl::StatusCode::kInvalidArgument},
    {RejectReason::kInvalidUtf8, "invalid_utf8", 400, absl::StatusCode::kInvalidArgument},
    {RejectReason::kTooDeep, "too_deep", 400, absl::StatusCode::kInvalidArgument},
    {RejectReason::kMissingField, "missing_field", 422, absl::StatusCode::kInvalidArgument},
    {RejectReason::kInvalidField, "invalid_field", 422, absl::StatusCode::kInvalidArgument},
    {RejectReason::kMethodNotAllowed, "method_not_allowed", 405, absl::StatusCode::kUnimplemented},
    // Not an error for the sender, but still a non-OK status so no inquiry is created.
    {RejectReason::kIgnored, "ignored", 200, absl::StatusCode::kCancelled},
}};

// The reason travels in a payload, not only in the message: a message that merely starts with
// "bad_credentials: " (say, from a lower layer quoting user input) must not pass for a rejection.
constexpr char kPayloadUrl[] = "type.handoff/entry.rejection";

const ReasonInfo& InfoFor(RejectReason reason) {
  for (const auto& info : kReasons) {
    if (info.reason == reason) return info;
  }
  HANDOFF_CHECK(false, "kReasons must list every RejectReason");
  return kReasons[0];
}

// The rejection a status encodes, when it was made by Reject and not altered since.
std::optional<ReasonInfo> Decode(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  const auto payload = status.GetPayload(kPayloadUrl);
  if (!payload) return std::nullopt;
  const std::string code(*payload);
  for (const auto& info : kReasons) {
    if (code != info.code) continue;
    const std::string prefix = fmt::format("{}: ", info.code);
    const auto message = status.message();
    if (status.code() != info.status_code || message.size() < prefix.size() ||
        std::string_view(message.data(), prefix.size()) != prefix) {
      return std::nullopt;
    }
    return info;
  }
  return std::nullopt;
}

}  // namespace

absl::Status Reject(RejectReason reason, std::string_view detail) {
  const ReasonInfo& info = InfoFor(reason);
  const std::string message = fmt::format("{}: {}", info.code, detail);
  absl::Status status(info.status_code, message);
  status.SetPayload(kPayloadUrl, absl::Cord(info.code));
  return status;
}

std::string RejectionCode(const absl::Status& status) {
  if (status.ok()) return "ok";
  const auto info = Decode(status);
  return info ? info->code : "internal";
}

int RejectionHttpStatus(const absl::Status& status) {
  if (status.ok()) return 200;
  const auto info = Decode(status);
  return info ? info->http_status : 500;
}

std::string RejectionDetail(const absl::Status& status) {
  if (status.ok()) return "";
  const auto info = Decode(status);
  if (!info) return "internal error";
  const auto message = status.message();
  const size_t skip = std::string_view(info->code).size() + 2;
  return std::string(message.data() + skip, message.size() - skip);
}

}  // namespace handoff
