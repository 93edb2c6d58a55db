#include "http/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "core/ascii.h"
#include "fmt/format.h"

namespace handoff {
namespace {

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  static_cast<HttpClientResponse*>(user)->body.append(data, size * count);
  return size * count;
}

size_t OnHeaderLine(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpClientResponse*>(user);
  const std::string_view line(data, size * count);
  if (line.substr(0, 5) == "HTTP/") {
    // A new status line starts a new header block (after a 100 Continue, say): keep only the
    // final response's headers.
    response->headers.clear();
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string name = std::string(TrimAsciiWhitespace(line.substr(0, colon)));
    LowerAsciiInPlace(name);
    response->headers.emplace_back(std::move(name),
                                   std::string(TrimAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * count;
}

// The state of `check_address` for one request: the check and, once it refused, why.
struct AddressCheck {
  const HttpClientRequest* request;
  absl::Status refused;
};

curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* check = static_cast<AddressCheck*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  absl::Status s = check->request->check_address(&address->addr, address->addrlen);
  if (!s.ok()) {
    check->refused = std::move(s);
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

absl::Status CurlError(CURLcode code, const char* detail) {
  std::string message = fmt::format("{}: {}", curl_easy_strerror(code), detail);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(message);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(message);
    default:
      return absl::UnavailableError(message);
  }
}

}  // namespace

std::string HttpClientResponse::Header(const std::string& lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return value;
  }
  return "";
}

absl::StatusOr<HttpClientResponse> HttpFetch(const HttpClientRequest& request) {
  static std::once_flag curl_initialized;
  std::call_once(curl_initialized, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
  if (!handle) return absl::ResourceExhaustedError("curl_easy_init failed");
  CURL* curl = handle.get();

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&headers](const std::string& line) {
    curl_slist* list = curl_slist_append(headers.get(), line.c_str());
    if (list == nullptr) return false;
    // Appending returns the same head except to an empty list.
    if (list != headers.get()) headers.reset(list);
    return true;
  };
  bool caller_set_expect = false;
  for (const auto& [name, value] : request.headers) {
    std::string lower = name;
    LowerAsciiInPlace(lower);
    caller_set_expect = caller_set_expect || lower == "expect";
    // "Name;" is curl's spelling for a header sent with an empty value.
    if (!add_header(value.empty() ? name + ";" : name + ": " + value)) {
      return absl::ResourceExhaustedError("curl_slist_append failed");
    }
  }
  // curl would otherwise wait for "100 Continue" before sending a larger body.
  if (!caller_set_expect && !add_header("Expect:")) {
    return absl::ResourceExhaustedError("curl_slist_append failed");
  }

  HttpClientResponse response;
  char error[CURL_ERROR_SIZE] = {0};
  const long timeout_ms = static_cast<long>(std::max<Micros>(request.timeout / kMicrosPerMilli, 1));

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  // Signals are not thread-safe; without this, curl's resolver timeouts use SIGALRM.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeaderLine);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);

  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET" && request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
        request.method == "PATCH") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    }
    if (request.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  }

  AddressCheck check{&request, absl::OkStatus()};
  if (request.check_address) {
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &OnOpenSocket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &check);
  }

  const CURLcode code = curl_easy_perform(curl);
  if (!check.refused.ok()) return check.refused;
  if (code != CURLE_OK) return CurlError(code, error[0] != '\0' ? error : "no detail");
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace handoff
