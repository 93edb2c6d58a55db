// Why the entry stage refused a request, carried as an absl::Status whose message starts with
// a stable reason code ("malformed_body: unexpected end of input at byte 12"). One table maps
// each reason to its HTTP status, so every adapter answers the same way.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace handoff {

enum class RejectReason {
  kUnknownSource,         // 404
  kBadCredentials,        // 401 (missing/wrong token or signature)
  kStaleTimestamp,        // 401 (signed timestamp outside the tolerance)
  kBodyTooLarge,          // 413
  kUnsupportedMediaType,  // 415
  kMalformedBody,         // 400 (unparseable JSON/form/multipart)
  kInvalidUtf8,           // 400
  kTooDeep,               // 400 (JSON nested past the limit)
  kMissingField,          // 422 (a required mapped field is absent)
  kInvalidField,          // 422 (a field is present but unusable)
  kMethodNotAllowed,      // 405
  kIgnored,               // 200 (a delivery the source sends that is not an inquiry)
};

// Builds the status for a rejection: its code and message carry the reason and detail.
absl::Status Reject(RejectReason reason, std::string_view detail);

// Reject(kBadCredentials, detail): the one failure every authentication check ends in.
inline absl::Status BadCredentials(std::string_view detail) {
  return Reject(RejectReason::kBadCredentials, detail);
}

// The stable reason code of a rejection status ("malformed_body", …), "internal" for any
// other non-OK status (the reason travels in a status payload, so a message cannot spoof it),
// and "ok" for an OK status.
std::string RejectionCode(const absl::Status& status);

// The HTTP status to answer with for a rejection (500 for statuses not made by Reject, 200 for OK).
int RejectionHttpStatus(const absl::Status& status);

// The human detail of a rejection (the message after the code); "internal error" for statuses
// not made by Reject, so internals never reach a sender (log the status itself instead).
std::string RejectionDetail(const absl::Status& status);

}  // namespace handoff
