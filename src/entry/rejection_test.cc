#include "entry/rejection.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/cord.h"

namespace handoff {
namespace {

struct ReasonCase {
  RejectReason reason;
  std::string code;
  int http_status;
};

TEST(Rejection, EncodesEveryReasonWithItsCodeAndHttpStatus) {
  const ReasonCase cases[] = {
      {RejectReason::kUnknownSource, "unknown_source", 404},
      {RejectReason::kBadCredentials, "bad_credentials", 401},
      {RejectReason::kStaleTimestamp, "stale_timestamp", 401},
      {RejectReason::kBodyTooLarge, "body_too_large", 413},
      {RejectReason::kUnsupportedMediaType, "unsupported_media_type", 415},
      {RejectReason::kMalformedBody, "malformed_body", 400},
      {RejectReason::kInvalidUtf8, "invalid_utf8", 400},
      {RejectReason::kTooDeep, "too_deep", 400},
      {RejectReason::kMissingField, "missing_field", 422},
      {RejectReason::kInvalidField, "invalid_field", 422},
      {RejectReason::kMethodNotAllowed, "method_not_allowed", 405},
      {RejectReason::kIgnored, "ignored", 200},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.code);
    const absl::Status s = Reject(c.reason, "the detail: with a colon");
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(RejectionCode(s), c.code);
    EXPECT_EQ(RejectionHttpStatus(s), c.http_status);
    EXPECT_EQ(RejectionDetail(s), "the detail: with a colon");
    EXPECT_EQ(std::string(s.message()), c.code + ": the detail: with a colon");
  }
}

TEST(Rejection, StatusNotMadeByRejectIsInternal) {
  const absl::Status s = absl::InvalidArgumentError("database is locked");
  EXPECT_EQ(RejectionCode(s), "internal");
  EXPECT_EQ(RejectionHttpStatus(s), 500);
  EXPECT_EQ(RejectionDetail(s), "internal error");
}

TEST(Rejection, MessageAloneCannotSpoofAReason) {
  // Same code and message shape a real rejection would have, but no payload.
  const absl::Status s = absl::InvalidArgumentError("ignored: pretend this is fine");
  EXPECT_EQ(RejectionCode(s), "internal");
  EXPECT_EQ(RejectionHttpStatus(s), 500);
}

TEST(Rejection, PayloadWithMismatchedMessageOrCodeIsInternal) {
  absl::Status copied = Reject(RejectReason::kIgnored, "x");
  absl::Status wrong_message = absl::CancelledError("something else");
  wrong_message.SetPayload("type.handoff/entry.rejection", absl::Cord("ignored"));
  EXPECT_EQ(RejectionCode(wrong_message), "internal");
  absl::Status wrong_code = absl::InternalError("ignored: x");
  wrong_code.SetPayload("type.handoff/entry.rejection", absl::Cord("ignored"));
  EXPECT_EQ(RejectionCode(wrong_code), "internal");
  EXPECT_EQ(RejectionCode(copied), "ignored");
}

TEST(Rejection, OkStatusIsOk) {
  EXPECT_EQ(RejectionCode(absl::OkStatus()), "ok");
  EXPECT_EQ(RejectionHttpStatus(absl::OkStatus()), 200);
  EXPECT_EQ(RejectionDetail(absl::OkStatus()), "");
}

}  // namespace
}  // namespace handoff
