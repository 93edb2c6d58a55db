// HTTP request and response values passed between the Beast server and handlers, so that no
// code outside src/http includes Boost (it costs ~15 s of compile per translation unit).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace handoff {

struct HttpRequest {
  std::string method;  // "GET", "POST", …
  std::string target;  // as sent: path plus "?query"
  std::string path;    // percent-decoding NOT applied
  std::string query;   // without the leading '?', may be empty
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
  std::string body;
  std::string remote_address;  // peer IP address

  // The first header with this (lowercase) name, if present.
  std::optional<std::string_view> Header(std::string_view lowercase_name) const;
  // How many headers have this (lowercase) name.
  int HeaderCount(std::string_view lowercase_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;

  // A JSON error body: {"error": {"code": code, "message": message}}.
  static HttpResponse JsonError(int status, std::string_view code, std::string_view message);
  static HttpResponse Json(int status, std::string body);
};

// Sends the response for one request. Call once, from any thread, before or after the handler
// returns. Copies share one state: calls after the first are ignored, a responder destroyed
// without being called answers 500, and calls after the server stopped do nothing.
using HttpResponder = std::function<void(HttpResponse)>;

// Handles one request. Runs on an I/O thread, so it must not block: slow work responds later
// from another thread. An exception it throws is answered 500.
using HttpHandler = std::function<void(HttpRequest&& request, HttpResponder respond)>;

}  // namespace handoff
