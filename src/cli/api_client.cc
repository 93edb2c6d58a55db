#include "cli/api_client.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "config/config.h"
#include "fmt/format.h"
#include "http/http_client.h"

namespace handoff {

void AddApiFlags(CLI::App* cmd, ApiFlags& flags) {
  cmd->add_option("-c,--config", flags.config, "The workspace config (for URL and token)")
      ->capture_default_str();
  cmd->add_option("--url", flags.url, "The server's base URL, e.g. http://127.0.0.1:8080");
  cmd->add_option("--token", flags.token, "The admin token (default: from the config)")
      ->envname("HANDOFF_ADMIN_TOKEN");
  cmd->add_flag("--json", flags.json, "Print the API's JSON");
}

namespace {

// Sends the request; on a 200 returns the body, otherwise prints the problem and returns nullopt.
std::optional<std::string> Fetch(const ApiFlags& flags, const std::string& path,
                                 const std::optional<nlohmann::json>& body) {
  std::string url = flags.url, token = flags.token;
  if (url.empty() || token.empty()) {
    auto config = LoadConfig(flags.config, ProcessEnv);
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n(or pass --url and --token)\n",
                   std::string(config.status().message()).c_str());
      return std::nullopt;
    }
    if (url.empty()) {
      std::string host = config->server.listen_address;
      if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
      if (host.find(':') != std::string::npos) host = "[" + host + "]";
      url = fmt::format("http://{}:{}", host, config->server.port);
    }
    if (token.empty()) token = config->server.admin_token;
  }
  HttpClientRequest req;
  req.url = url + path;
  req.headers.emplace_back("Authorization", "Bearer " + token);
  // So the journal can say a task was acknowledged from the command line.
  req.headers.emplace_back("X-Handoff-Client", "cli");
  if (body) {
    req.method = "POST";
    req.body = body->dump();
    req.headers.emplace_back("Content-Type", "application/json");
  }
  auto resp = HttpFetch(req);
  if (!resp.ok()) {
    std::fprintf(stderr, "cannot reach handoff at %s: %s\n", url.c_str(),
                 std::string(resp.status().message()).c_str());
    return std::nullopt;
  }
  if (resp->status != 200) {
    nlohmann::json answer = nlohmann::json::parse(resp->body, nullptr, false);
    std::string msg = answer.is_discarded()
                          ? resp->body
                          : answer.value("/error/message"_json_pointer, resp->body);
    std::fprintf(stderr, "handoff answered %d: %s\n", resp->status, msg.c_str());
    return std::nullopt;
  }
  return std::move(resp->body);
}

}  // namespace

std::optional<nlohmann::json> CallApi(const ApiFlags& flags, const std::string& path,
                                      const std::optional<nlohmann::json>& body) {
  std::optional<std::string> text = Fetch(flags, path, body);
  if (!text) return std::nullopt;
  nlohmann::json answer = nlohmann::json::parse(*text, nullptr, false);
  if (answer.is_discarded()) {
    std::fprintf(stderr, "handoff answered with something that is not JSON\n");
    return std::nullopt;
  }
  return answer;
}

std::optional<std::string> CallApiText(const ApiFlags& flags, const std::string& path) {
  return Fetch(flags, path, std::nullopt);
}

std::string Str(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "";
  if (j[key].is_string()) return j[key].get<std::string>();
  return j[key].dump();
}

}  // namespace handoff
