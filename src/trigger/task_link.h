// The one-click acknowledgement link every notification carries: {public_url}/t/{token}, where
// the token names the workspace, the task and an expiry, signed with HMAC-SHA256. Unguessable
// (256-bit MAC), expiring (kLifetime after it was made), and usable once: the page acknowledges
// only an open task, so a second click finds it acknowledged already.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/clock.h"

namespace handoff {

class TaskLinkSigner {
 public:
  static constexpr Micros kLifetime = 7 * kMicrosPerDay;

  // `key` empty: links are disabled (Sign returns "", Verify refuses everything).
  explicit TaskLinkSigner(std::string key) : key_(std::move(key)) {}

  // The key for `config`: derived from server.admin_token (so no second secret has to be
  // managed), "" when it has none.
  static TaskLinkSigner ForConfig(const Config& config);

  bool enabled() const { return !key_.empty(); }

  std::string Sign(std::string_view workspace, std::string_view task_id, Micros expires_at) const;

  struct Claims {
    std::string workspace;
    std::string task_id;
    Micros expires_at = 0;
  };
  // PermissionDenied for a token that is malformed or not signed with this key; DeadlineExceeded
  // once it has expired (checked after the signature, so expiry is only told to real links).
  absl::StatusOr<Claims> Verify(std::string_view token, Micros now) const;

  // {public_url}/t/{token} for `task_id`, expiring kLifetime after `now`; "" when links are
  // disabled or the business has no public_url.
  std::string Url(const Config& config, std::string_view task_id, Micros now) const;

 private:
  std::string key_;
};

}  // namespace handoff
