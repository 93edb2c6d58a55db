#include "http/http_types.h"

#include <nlohmann/json.hpp>

namespace handoff {

std::optional<std::string_view> HttpRequest::Header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return std::string_view(value);
  }
  return std::nullopt;
}

int HttpRequest::HeaderCount(std::string_view lowercase_name) const {
  int count = 0;
  for (const auto& header : headers) {
    if (header.first == lowercase_name) ++count;
  }
  return count;
}

HttpResponse HttpResponse::JsonError(int status, std::string_view code, std::string_view message) {
  nlohmann::json error = {
      {"error", {{"code", std::string(code)}, {"message", std::string(message)}}}};
  // Messages can quote untrusted input: replace invalid UTF-8 rather than let dump() throw.
  return Json(status, error.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

}  // namespace handoff
