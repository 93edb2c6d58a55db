// Dashboard sign-in: who may sign in (the workspace's admin token, or a team member's password
// from `password_hash`), and the sessions that follow — a random id in an HttpOnly, SameSite=Strict
// cookie and a CSRF token the page sends back as X-CSRF-Token on every request that changes
// something. Sessions (12 h each) live in the store: every node behind a load balancer knows
// them, a restart signs nobody out, and only the cookie's SHA-256 is kept.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "config/config.h"
#include "core/clock.h"
#include "http/http_types.h"
#include "store/store.h"

namespace handoff {

struct Session {
  std::string id;    // the cookie's value
  std::string user;  // a team member id, or "admin"
  std::string name;
  std::string csrf_token;
  Micros expires_at = 0;
};

// Failed sign-ins per minute: after kMaxFailuresPerMinute, every sign-in is refused with 429
// until the minute is over. Thread-safe.
class SignInLimiter {
 public:
  static constexpr int kMaxFailuresPerMinute = 20;

  explicit SignInLimiter(const Clock* clock) : clock_(clock) {}
  // The 429 to answer when sign-in is closed for the rest of the minute.
  std::optional<HttpResponse> Refusal();
  void CountFailure();

 private:
  const Clock* clock_;
  std::mutex mu_;
  Micros minute_ = 0;  // guarded by mu_
  int failures_ = 0;   // guarded by mu_
};

// Thread-safe. `config`, `store` and `clock` must outlive it.
class SessionStore {
 public:
  static constexpr char kCookie[] = "handoff_session";
  static constexpr Micros kLifetime = 12 * kMicrosPerHour;
  static constexpr int kMaxFailuresPerMinute = SignInLimiter::kMaxFailuresPerMinute;

  SessionStore(const Config* config, Store* store, const Clock* clock)
      : config_(config), store_(store), clock_(clock), limiter_(clock) {}

  // POST /api/v1/session: {"token"} or {"user", "password"}. 200 with the session's JSON and
  // its Set-Cookie, 400 for a malformed body, 401 for wrong credentials (one message for
  // every cause), 429 when too many failed recently, 503 when the store cannot keep it.
  HttpResponse SignIn(const HttpRequest& request);
  // DELETE /api/v1/session: forgets the request's session and clears the cookie.
  HttpResponse SignOut(const HttpRequest& request);
  // The live session the request's cookie names, if any.
  std::optional<Session> Find(const HttpRequest& request);

  // The session as the API shows it: {"user", "name", "workspace", "csrf_token"}.
  std::string Describe(const Session& session) const;

 private:
  std::string CookieHeader(const std::string& value, bool clear) const;

  const Config* config_;
  Store* store_;
  const Clock* clock_;
  SignInLimiter limiter_;
};

// The value of cookie `name` in the request's Cookie header(s), if present.
std::optional<std::string> CookieValue(const HttpRequest& request, std::string_view name);

}  // namespace handoff
