// OAuth2 access tokens for destinations with an `oauth2:` block (HubSpot, Salesforce, Google).
// Tokens are fetched off the dispatcher thread, cached in memory per destination, refreshed
// before they expire and after a 401, and never logged. The client-credentials, refresh-token
// and JWT-bearer (Google service account) grants are supported.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/clock.h"
#include "transfer/connector.h"

namespace handoff {

struct TokenCacheOptions {
  Micros refresh_margin = 5 * kMicrosPerMinute;  // refresh a token this long before it expires
  Micros default_lifetime = kMicrosPerHour;      // when the response has no expires_in (Salesforce)
  Micros first_backoff = 5 * kMicrosPerSecond;   // after a failed fetch; doubles each time
  Micros max_backoff = 10 * kMicrosPerMinute;
  Micros timeout = 15 * kMicrosPerSecond;
};

// Builds the signed assertion of the JWT-bearer grant (RFC 7523) for a Google service
// account: RS256 over {iss: client_email, scope, aud: token_url, iat: now, exp: now + 1 h}.
// InvalidArgument when the private key is not a PEM RSA key.
absl::StatusOr<std::string> ServiceAccountAssertion(const OAuth2Config& oauth2,
                                                    const std::string& token_url, Micros now);

// Thread-safe. One worker thread performs the token requests; `on_change` is called (from it)
// whenever a token arrives or a fetch fails, so the dispatcher can wake.
class TokenCache {
 public:
  TokenCache(const Clock* clock, std::function<void()> on_change, TokenCacheOptions options = {});
  ~TokenCache();  // stops the worker; a request in progress finishes first

  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  enum class State { kReady, kPending, kFailed };
  struct Lookup {
    State state = State::kPending;
    std::optional<AccessToken> token;  // when kReady
    std::string error;                 // when kFailed: why the last fetch failed (no secrets)
  };

  // Never blocks on the network. Starts a fetch when no token is cached, when the cached one
  // is within the refresh margin of expiring (the current one is still returned while it is
  // valid), or when the last failure's backoff has passed.
  // `basic_auth`: send the client id and secret as HTTP Basic (ConnectorSpec::token_basic_auth).
  Lookup Get(const DestinationConfig& destination, const std::string& default_token_url,
             bool allow_private, bool basic_auth = false);
  // Forgets `token` after the service answered 401 with it, so the next Get fetches a new one
  // (a token already replaced is left alone).
  void Invalidate(const std::string& destination, const std::string& token);
  // Token requests made so far (for tests and metrics).
  int fetches() const;

 private:
  struct Entry {
    std::optional<AccessToken> token;
    bool fetching = false;
    std::string error;
    Micros retry_at = 0;  // no new fetch before this after a failure
    Micros backoff = 0;
    std::string refresh_token;  // the latest one (providers may rotate it)
  };
  struct Job {
    std::string destination;
    OAuth2Config oauth2;
    std::string token_url;
    bool allow_private = false;
    bool basic_auth = false;
  };

  void Run();
  void Fetch(const Job& job);
  absl::StatusOr<AccessToken> Request(const Job& job, const std::string& refresh_token);

  const Clock* clock_;
  std::function<void()> on_change_;
  TokenCacheOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  int fetches_ = 0;
  std::thread worker_;
};

}  // namespace handoff
