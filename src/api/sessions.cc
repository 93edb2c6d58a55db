#include "api/sessions.h"

#include "api/password.h"
#include "core/digest.h"
#include "core/id.h"
#include "core/status.h"
#include "entry/common/source_auth.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace handoff {
namespace {

// A password check for a user who does not exist costs as much as one who does, so the answer
// time does not tell which ids are on the team.
constexpr char kDecoyHash[] =
    "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

// What the store keeps of a cookie value: its SHA-256, hex.
std::string IdHash(std::string_view id) { return Sha256Hex(id); }

}  // namespace

std::optional<HttpResponse> SignInLimiter::Refusal() {
  const Micros now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (now - minute_ >= kMicrosPerMinute) {
    minute_ = now;
    failures_ = 0;
  }
  if (failures_ < kMaxFailuresPerMinute) return std::nullopt;
  HttpResponse r = HttpResponse::JsonError(429, "too_many_attempts",
                                           "too many failed sign-ins; try again in a minute");
  r.headers.emplace_back("Retry-After", "60");
  return r;
}

void SignInLimiter::CountFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  ++failures_;
}

std::optional<std::string> CookieValue(const HttpRequest& request, std::string_view name) {
  for (const auto& [header, value] : request.headers) {
    if (header != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        return std::string(pair.substr(eq + 1));
      }
    }
  }
  return std::nullopt;
}

std::string SessionStore::CookieHeader(const std::string& value, bool clear) const {
  std::string cookie = fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict", kCookie, value);
  if (config_->business.public_url.rfind("https://", 0) == 0) cookie += "; Secure";
  cookie += clear ? "; Max-Age=0" : fmt::format("; Max-Age={}", kLifetime / kMicrosPerSecond);
  return cookie;
}

std::string SessionStore::Describe(const Session& s) const {
  return nlohmann::json{{"user", s.user},
                        {"name", s.name},
                        {"workspace", config_->workspace},
                        {"csrf_token", s.csrf_token}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse SessionStore::SignIn(const HttpRequest& request) {
  const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object()) {
    return HttpResponse::JsonError(400, "malformed_body",
                                   "send {\"token\": …} or {\"user\": …, \"password\": …}");
  }
  const Micros now = clock_->Now();
  if (auto closed = limiter_.Refusal()) return *std::move(closed);
  Session session;
  bool ok = false;
  if (auto token = body.find("token"); token != body.end() && token->is_string()) {
    const std::string& want = config_->server.admin_token;
    ok = !want.empty() && ConstantTimeEquals(token->get<std::string>(), want);
    session.user = "admin";
    session.name = "Administrator";
  } else {
    auto user = body.find("user");
    auto password = body.find("password");
    if (user == body.end() || !user->is_string() || password == body.end() ||
        !password->is_string()) {
      return HttpResponse::JsonError(400, "malformed_body",
                                     "send {\"token\": …} or {\"user\": …, \"password\": …}");
    }
    const TeamMember* m = config_->FindMember(user->get<std::string>());
    const bool known = m != nullptr && !m->password_hash.empty();
    ok = VerifyPassword(password->get<std::string>(), known ? m->password_hash : kDecoyHash) &&
         known;
    if (known) {
      session.user = m->id;
      session.name = m->name.empty() ? m->id : m->name;
    }
  }
  if (!ok) {
    limiter_.CountFailure();
    return HttpResponse::JsonError(401, "unauthorized", "wrong token, user or password");
  }
  session.id = RandomHex(32);
  session.csrf_token = RandomHex(32);
  session.expires_at = now + kLifetime;
  const DashboardSession stored{IdHash(session.id), config_->workspace, session.user,
                                session.name,       session.csrf_token, session.expires_at};
  absl::Status kept = store_->Write([&stored, now](WriteTx& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.DeleteExpiredSessions(stored.workspace, now));
    return tx.PutSession(stored);
  });
  if (!kept.ok()) {
    return HttpResponse::JsonError(503, "store_unavailable",
                                   "the session could not be stored; try again");
  }
  HttpResponse r = HttpResponse::Json(200, Describe(session));
  r.headers.emplace_back("Set-Cookie", CookieHeader(session.id, /*clear=*/false));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse SessionStore::SignOut(const HttpRequest& request) {
  if (auto id = CookieValue(request, kCookie)) {
    const std::string hash = IdHash(*id);
    absl::Status forgotten = store_->Write(
        [this, &hash](WriteTx& tx) { return tx.DeleteSession(config_->workspace, hash); });
    if (!forgotten.ok()) {
      return HttpResponse::JsonError(503, "store_unavailable",
                                     "the session could not be ended; try again");
    }
  }
  HttpResponse r = HttpResponse::Json(200, "{}");
  r.headers.emplace_back("Set-Cookie", CookieHeader("", /*clear=*/true));
  return r;
}

std::optional<Session> SessionStore::Find(const HttpRequest& request) {
  auto id = CookieValue(request, kCookie);
  if (!id || id->size() != 64) return std::nullopt;
  absl::StatusOr<std::optional<DashboardSession>> found =
      store_->FindSession(config_->workspace, IdHash(*id));
  if (!found.ok() || !found->has_value()) return std::nullopt;
  const DashboardSession& s = **found;
  if (s.expires_at <= clock_->Now()) return std::nullopt;
  return Session{*id, s.user, s.name, s.csrf_token, s.expires_at};
}

}  // namespace handoff
