#include "transfer/oauth2.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cctype>
#include <cstdlib>
#include <memory>
#include <utility>

#include "core/base64.h"
#include "core/status.h"
#include "core/thread_name.h"
#include "fmt/format.h"
#include "http/http_client.h"
#include "http/url_encoding.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"
#include "transfer/ssrf_guard.h"

namespace handoff {
namespace {

constexpr const char* kJwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr size_t kMaxErrorCode = 60;

// Config files and service-account JSON often carry the PEM key with literal "\n" escapes.
std::string UnescapeNewlines(const std::string& pem) {
  std::string out;
  out.reserve(pem.size());
  for (size_t i = 0; i < pem.size(); ++i) {
    if (pem[i] == '\\' && i + 1 < pem.size() && pem[i + 1] == 'n') {
      out.push_back('\n');
      ++i;
    } else {
      out.push_back(pem[i]);
    }
  }
  return out;
}

std::string FormBody(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [k, v] : fields) {
    if (v.empty()) continue;
    if (!body.empty()) body.push_back('&');
    body += PercentEncode(k) + "=" + PercentEncode(v);
  }
  return body;
}

// The OAuth2 error code ("invalid_grant") when the body is a standard error response; only
// printable, short codes are kept: it ends up in reasons on the timeline.
std::string ErrorCode(const nlohmann::json& j) {
  if (!j.is_object()) return "";
  auto it = j.find("error");
  if (it == j.end() || !it->is_string()) return "";
  std::string code = it->get<std::string>();
  if (code.size() > kMaxErrorCode) return "";
  for (char c : code) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return "";
    }
  }
  return code;
}

}  // namespace

absl::StatusOr<std::string> ServiceAccountAssertion(const OAuth2Config& oauth2,
                                                    const std::string& token_url, Micros now) {
  const std::string pem = UnescapeNewlines(oauth2.private_key);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return absl::ResourceExhaustedError("out of memory");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError("oauth2 private_key is not a PEM RSA private key");
  }
  const int64_t iat = now / kMicrosPerSecond;
  nlohmann::json claims = {
      {"iss", oauth2.client_email}, {"aud", token_url}, {"iat", iat}, {"exp", iat + 3600}};
  if (!oauth2.scope.empty()) claims["scope"] = oauth2.scope;
  const std::string signing_input =
      Base64UrlEncode(R"({"alg":"RS256","typ":"JWT"})") + "." + Base64UrlEncode(claims.dump());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t sig_len = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &sig_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return absl::InternalError("RS256 signing failed");
  }
  std::string sig(sig_len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return absl::InternalError("RS256 signing failed");
  }
  sig.resize(sig_len);
  return signing_input + "." + Base64UrlEncode(sig);
}

TokenCache::TokenCache(const Clock* clock, std::function<void()> on_change,
                       TokenCacheOptions options)
    : clock_(clock), on_change_(std::move(on_change)), options_(options) {
  worker_ = std::thread([this] { Run(); });
}

TokenCache::~TokenCache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

TokenCache::Lookup TokenCache::Get(const DestinationConfig& destination,
                                   const std::string& default_token_url, bool allow_private,
                                   bool basic_auth) {
  const Micros now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[destination.name];
  Lookup out;
  const bool valid = e.token && e.token->expires_at > now;
  const bool fresh = valid && e.token->expires_at - options_.refresh_margin > now;
  if (!fresh && !e.fetching && now >= e.retry_at) {
    std::string token_url =
        destination.oauth2.token_url.empty() ? default_token_url : destination.oauth2.token_url;
    if (token_url.empty()) {
      e.error = "oauth2 needs token_url for this connector";
    } else {
      e.fetching = true;
      jobs_.push_back(
          Job{destination.name, destination.oauth2, token_url, allow_private, basic_auth});
      cv_.notify_all();
    }
  }
  if (valid) {
    out.state = State::kReady;
    out.token = e.token;
  } else if (!e.fetching && !e.error.empty()) {
    out.state = State::kFailed;
    out.error = e.error;
  } else {
    out.state = State::kPending;
  }
  return out;
}

void TokenCache::Invalidate(const std::string& destination, const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(destination);
  if (it == entries_.end() || !it->second.token || it->second.token->token != token) return;
  it->second.token.reset();
  it->second.retry_at = 0;  // a 401 is news: fetch at once, whatever the backoff
}

int TokenCache::fetches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

void TokenCache::Run() {
  NameThisThread("oauth2-tokens");
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    Fetch(job);
    if (on_change_) on_change_();
    lock.lock();
  }
}

void TokenCache::Fetch(const Job& job) {
  std::string refresh_token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++fetches_;
    refresh_token = entries_[job.destination].refresh_token;
  }
  if (refresh_token.empty()) refresh_token = job.oauth2.refresh_token;
  auto token = Request(job, refresh_token);
  const Micros now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[job.destination];
  e.fetching = false;
  if (token.ok()) {
    e.token = *std::move(token);
    e.error.clear();
    e.backoff = 0;
    e.retry_at = 0;
    return;
  }
  e.error = std::string(token.status().message());
  e.backoff =
      e.backoff == 0 ? options_.first_backoff : std::min(e.backoff * 2, options_.max_backoff);
  e.retry_at = now + e.backoff;
  // The reason names the destination and the OAuth2 error code only, never a credential.
  spdlog::warn("transfer: destination '{}': {}", job.destination, e.error);
}

absl::StatusOr<AccessToken> TokenCache::Request(const Job& job, const std::string& refresh_token) {
  const OAuth2Config& o = job.oauth2;
  std::vector<std::pair<std::string, std::string>> form;
  if (o.grant == "client_credentials") {
    form = {{"grant_type", "client_credentials"},
            {"client_id", o.client_id},
            {"client_secret", o.client_secret},
            {"scope", o.scope}};
  } else if (o.grant == "refresh_token") {
    form = {{"grant_type", "refresh_token"},
            {"refresh_token", refresh_token},
            {"client_id", o.client_id},
            {"client_secret", o.client_secret}};
  } else if (o.grant == "jwt_bearer") {
    ASSIGN_OR_RETURN(std::string assertion,
                     ServiceAccountAssertion(o, job.token_url, clock_->Now()));
    form = {{"grant_type", kJwtBearerGrant}, {"assertion", assertion}};
  } else {
    return absl::InvalidArgumentError(fmt::format("oauth2 grant '{}' is not supported", o.grant));
  }
  HttpClientRequest request;
  request.method = "POST";
  request.url = job.token_url;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"}};
  if (job.basic_auth && o.grant != "jwt_bearer") {
    // RFC 6749 2.3.1: id and secret form-encoded, joined by ':', base64 — and then not in the
    // body as well (one authentication method per request).
    std::erase_if(form, [](const auto& kv) {
      return kv.first == "client_id" || kv.first == "client_secret";
    });
    request.headers.emplace_back(
        "Authorization",
        "Basic " + Base64Encode(PercentEncode(o.client_id) + ":" + PercentEncode(o.client_secret)));
  }
  request.body = FormBody(form);
  request.timeout = options_.timeout;
  if (!job.allow_private) {
    request.check_address = [](const sockaddr* address, socklen_t length) {
      if (auto range = RefusedRange(address, length)) {
        return absl::PermissionDeniedError(
            fmt::format("the oauth2 token_url address is in the {} range", *range));
      }
      return absl::OkStatus();
    };
  }
  auto response = HttpFetch(request);
  if (!response.ok()) {
    return absl::UnavailableError(
        fmt::format("oauth2 token request failed: {}", std::string(response.status().message())));
  }
  nlohmann::json j = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (response->status != 200) {
    std::string code = ErrorCode(j);
    return absl::UnavailableError(fmt::format("oauth2 token request refused (HTTP {}{}{})",
                                              response->status, code.empty() ? "" : ": ", code));
  }
  if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string() ||
      j["access_token"].get<std::string>().empty()) {
    return absl::UnavailableError("oauth2 token response has no access_token");
  }
  AccessToken token;
  token.token = j["access_token"].get<std::string>();
  // The API host the token belongs to: Salesforce's instance_url, Pipedrive's api_domain.
  for (const char* key : {"instance_url", "api_domain"}) {
    if (auto it = j.find(key); it != j.end() && it->is_string() && token.instance_url.empty()) {
      token.instance_url = it->get<std::string>();
    }
  }
  Micros lifetime = options_.default_lifetime;
  if (auto it = j.find("expires_in"); it != j.end()) {
    int64_t seconds = 0;
    if (it->is_number_integer()) seconds = it->get<int64_t>();
    if (it->is_string()) seconds = std::atoll(it->get<std::string>().c_str());
    if (seconds > 0 && seconds < 366 * 86400) lifetime = seconds * kMicrosPerSecond;
  }
  token.expires_at = clock_->Now() + lifetime;
  if (auto it = j.find("refresh_token");
      it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_[job.destination].refresh_token = it->get<std::string>();
  }
  return token;
}

}  // namespace handoff
