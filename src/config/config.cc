#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/time_format.h"
#include "fmt/format.h"
#include "model/records.h"

namespace handoff {
namespace {

using EnvFn = std::function<std::optional<std::string>(const std::string&)>;

// Walks the YAML tree once, collecting every problem with its line instead of stopping at the
// first, so one `handoff check` run shows all of them.
class ConfigParser {
 public:
  ConfigParser(std::string path, const EnvFn& getenv) : path_(std::move(path)), getenv_(getenv) {}

  absl::StatusOr<Config> Parse(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      return absl::InvalidArgumentError(
          fmt::format("{}:{}: invalid YAML: {}", path_, e.mark.line + 1, e.msg));
    }
    Config config;
    config.path = path_;
    if (!root.IsMap()) {
      return absl::InvalidArgumentError(
          fmt::format("{}:1: the config must be a mapping with keys workspace, business, "
                      "server, team, sources, destinations, routes",
                      path_));
    }
    CheckKeys(root,
              {"workspace", "business", "server", "team", "sources", "destinations", "routes"},
              "the top level");
    config.workspace = RequiredString(root, "workspace", "the top level");
    if (!config.workspace.empty() && !IsName(config.workspace)) {
      Error(root["workspace"], "workspace must be lowercase letters, digits, '-' or '_'");
    }
    if (root["business"]) ParseBusiness(root["business"], config.business);
    if (root["server"]) ParseServer(root["server"], config.server);
    if (root["team"]) ParseTeam(root["team"], config.team);
    if (root["sources"]) ParseSources(root["sources"], config);
    for (SourceConfig& s : config.sources) s.public_url = config.business.public_url;
    if (root["destinations"]) ParseDestinations(root["destinations"], config);
    if (root["routes"]) ParseRoutes(root["routes"], config);
    CheckReferences(config);
    if (!errors_.empty()) {
      std::string all;
      for (const auto& e : errors_) {
        if (!all.empty()) all += "\n";
        all += e;
      }
      return absl::InvalidArgumentError(all);
    }
    return config;
  }

 private:
  static bool IsName(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        return false;
      }
    }
    return true;
  }

  int Line(const YAML::Node& n) const { return n.Mark().line + 1; }

  void Error(const YAML::Node& n, const std::string& msg) {
    errors_.push_back(fmt::format("{}:{}: {}", path_, Line(n), msg));
  }
  void ErrorAt(int line, const std::string& msg) {
    errors_.push_back(fmt::format("{}:{}: {}", path_, line, msg));
  }

  void CheckKeys(const YAML::Node& map, const std::set<std::string>& allowed,
                 const std::string& where) {
    for (const auto& kv : map) {
      std::string key = kv.first.as<std::string>("");
      if (!allowed.count(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        Error(kv.first,
              fmt::format("unknown key '{}' in {} (expected one of: {})", key, where, list));
      }
    }
  }

  // Replaces ${NAME} with the environment's value. An unset name is an error, and then nullopt
  // is returned so that checks on the value do not pile further errors onto the same line.
  std::optional<std::string> Expand(const YAML::Node& n, const std::string& raw) {
    std::string out;
    bool ok = true;
    size_t pos = 0;
    while (pos < raw.size()) {
      size_t start = raw.find("${", pos);
      if (start == std::string::npos) {
        out.append(raw, pos, std::string::npos);
        break;
      }
      out.append(raw, pos, start - pos);
      size_t end = raw.find('}', start + 2);
      if (end == std::string::npos) {
        Error(n, "unterminated ${ in value");
        return std::nullopt;
      }
      std::string name = raw.substr(start + 2, end - start - 2);
      auto value = getenv_(name);
      if (!value) {
        Error(n, fmt::format("environment variable {} is not set", name));
        ok = false;
      } else {
        out += *value;
      }
      pos = end + 1;
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::optional<std::string> Scalar(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      Error(n, fmt::format("{} must be a single value", what));
      return std::nullopt;
    }
    return Expand(n, n.Scalar());
  }

  std::string String(const YAML::Node& map, const std::string& key, const std::string& where,
                     const std::string& fallback = "") {
    YAML::Node n = map[key];
    if (!n || n.IsNull()) return fallback;
    return Scalar(n, fmt::format("'{}' in {}", key, where)).value_or(fallback);
  }

  std::string RequiredString(const YAML::Node& map, const std::string& key,
                             const std::string& where) {
    YAML::Node n = map[key];
    if (!n || n.IsNull()) {
      Error(map, fmt::format("{} needs '{}'", where, key));
      return "";
    }
    return Scalar(n, fmt::format("'{}' in {}", key, where)).value_or("");
  }

  // A scalar or a list of scalars.
  std::vector<std::string> StringList(const YAML::Node& n, const std::string& what) {
    std::vector<std::string> out;
    if (!n || n.IsNull()) return out;
    if (n.IsScalar()) {
      if (auto s = Scalar(n, what)) out.push_back(*s);
      return out;
    }
    if (!n.IsSequence()) {
      Error(n, fmt::format("{} must be a value or a list of values", what));
      return out;
    }
    for (const auto& item : n) {
      if (auto s = Scalar(item, what)) out.push_back(*s);
    }
    return out;
  }

  bool Bool(const YAML::Node& map, const std::string& key, bool fallback) {
    YAML::Node n = map[key];
    if (!n) return fallback;
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (s == "true" || s == "yes" || s == "on") return true;
      if (s == "false" || s == "no" || s == "off") return false;
    }
    Error(n, fmt::format("'{}' must be true or false", key));
    return fallback;
  }

  Micros Duration(const YAML::Node& n, const std::string& what) {
    auto s = Scalar(n, what);
    if (!s) return 0;
    auto d = ParseDuration(*s);
    if (!d.ok()) {
      Error(n, fmt::format("{}: {}", what, std::string(d.status().message())));
      return 0;
    }
    return *d;
  }

  size_t ByteSize(const YAML::Node& n, const std::string& what) {
    auto s = Scalar(n, what);
    if (!s) return 0;
    size_t pos = 0;
    uint64_t value = 0;
    while (pos < s->size() && std::isdigit(static_cast<unsigned char>((*s)[pos]))) {
      value = value * 10 + ((*s)[pos] - '0');
      if (value > (1ull << 40)) break;
      ++pos;
    }
    std::string unit = s->substr(pos);
    uint64_t mult = 0;
    if (unit.empty() || unit == "B") mult = 1;
    if (unit == "KiB" || unit == "KB" || unit == "k") mult = 1024;
    if (unit == "MiB" || unit == "MB" || unit == "M") mult = 1024 * 1024;
    if (pos == 0 || mult == 0 || value == 0 || value * mult > (64ull << 20)) {
      Error(n, fmt::format("{} must be a size between 1 byte and 64MiB, e.g. 256KiB (got '{}')",
                           what, *s));
      return 0;
    }
    return static_cast<size_t>(value * mult);
  }

  void ParseBusiness(const YAML::Node& n, BusinessConfig& b) {
    if (!n.IsMap()) return Error(n, "business must be a mapping");
    CheckKeys(n, {"name", "timezone", "region", "public_url"}, "business");
    b.name = String(n, "name", "business");
    b.timezone = String(n, "timezone", "business", b.timezone);
    b.region = String(n, "region", "business", b.region);
    b.public_url = String(n, "public_url", "business");
    if (b.region.size() != 2 || !std::isupper(static_cast<unsigned char>(b.region[0])) ||
        !std::isupper(static_cast<unsigned char>(b.region[1]))) {
      Error(n["region"] ? n["region"] : n,
            fmt::format("business region must be a two-letter country code like US (got '{}')",
                        b.region));
    }
    if (!b.public_url.empty() && b.public_url.rfind("http://", 0) != 0 &&
        b.public_url.rfind("https://", 0) != 0) {
      Error(n["public_url"], "public_url must start with http:// or https://");
    }
  }

  void ParseServer(const YAML::Node& n, ServerConfig& s) {
    if (!n.IsMap()) return Error(n, "server must be a mapping");
    CheckKeys(n,
              {"listen", "database", "admin_token", "max_body", "http_threads",
               "allow_private_destinations"},
              "server");
    if (n["listen"]) {
      std::string listen = String(n, "listen", "server");
      size_t colon = listen.rfind(':');
      int port = -1;
      if (colon != std::string::npos) {
        try {
          size_t used = 0;
          port = std::stoi(listen.substr(colon + 1), &used);
          if (used != listen.size() - colon - 1) port = -1;
        } catch (const std::exception&) {
          port = -1;
        }
      }
      if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
        Error(n["listen"],
              fmt::format("listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got '{}')", listen));
      } else {
        s.listen_address = listen.substr(0, colon);
        if (s.listen_address.size() > 2 && s.listen_address.front() == '[') {
          s.listen_address = s.listen_address.substr(1, s.listen_address.size() - 2);
        }
        s.port = static_cast<uint16_t>(port);
      }
    }
    s.database = String(n, "database", "server", s.database);
    if (n["admin_token"] && !n["admin_token"].IsNull()) {
      if (auto token = Scalar(n["admin_token"], "'admin_token' in server")) {
        s.admin_token = *token;
        if (s.admin_token.size() < 16) {
          Error(n["admin_token"], "admin_token must be at least 16 characters");
        }
      }
    }
    if (n["max_body"]) s.max_body_bytes = ByteSize(n["max_body"], "server max_body");
    if (n["http_threads"]) {
      try {
        s.http_threads = n["http_threads"].as<int>();
      } catch (const YAML::Exception&) {
        s.http_threads = 0;
      }
      if (s.http_threads < 1 || s.http_threads > 64) {
        Error(n["http_threads"], "http_threads must be a number from 1 to 64");
        s.http_threads = 1;
      }
    }
    s.allow_private_destinations = Bool(n, "allow_private_destinations", false);
  }

  void ParseTeam(const YAML::Node& n, std::vector<TeamMember>& team) {
    if (!n.IsSequence()) return Error(n, "team must be a list of people");
    std::set<std::string> ids;
    for (const auto& p : n) {
      if (!p.IsMap()) {
        Error(p, "each team member must be a mapping with id, name, email, phone");
        continue;
      }
      CheckKeys(p, {"id", "name", "email", "phone", "role"}, "a team member");
      TeamMember m;
      m.line = Line(p);
      m.id = RequiredString(p, "id", "a team member");
      m.name = String(p, "name", "team member " + m.id);
      m.email = String(p, "email", "team member " + m.id);
      m.phone = String(p, "phone", "team member " + m.id);
      m.role = String(p, "role", "team member " + m.id);
      if (!m.id.empty() && !ids.insert(m.id).second) {
        Error(p["id"], fmt::format("team member id '{}' is used twice", m.id));
      }
      team.push_back(std::move(m));
    }
  }

  void ParseSources(const YAML::Node& n, Config& config) {
    if (!n.IsMap()) return Error(n, "sources must be a mapping from source name to its settings");
    for (const auto& kv : n) {
      SourceConfig s;
      s.name = kv.first.as<std::string>("");
      s.line = Line(kv.first);
      const YAML::Node& v = kv.second;
      std::string where = fmt::format("source '{}'", s.name);
      if (!IsName(s.name)) {
        Error(kv.first, fmt::format("source name '{}' must be lowercase letters, digits, '-' or "
                                    "'_' (it becomes the URL /in/{{source}})",
                                    s.name));
      }
      if (!v.IsMap()) {
        Error(kv.first, where + " must be a mapping with at least 'adapter'");
        continue;
      }
      s.adapter = RequiredString(v, "adapter", where);
      s.channel = String(v, "channel", where);
      if (!s.channel.empty() && !ParseChannel(s.channel)) {
        Error(v["channel"], fmt::format("{}: channel '{}' is not one of form, call, chat, "
                                        "booking, sms, email, other",
                                        where, s.channel));
      }
      if (v["map"]) {
        if (!v["map"].IsMap()) {
          Error(v["map"], where + ": map must be a mapping from canonical field to path");
        } else {
          for (const auto& m : v["map"]) {
            std::string field = m.first.as<std::string>("");
            auto path = Scalar(m.second, fmt::format("{} map.{}", where, field));
            if (path) s.map.emplace_back(field, *path);
          }
        }
      }
      s.required = StringList(v["required"], where + " required");
      s.auth.tokens = StringList(v["token"], where + " token");
      for (const auto& t : s.auth.tokens) {
        if (t.size() < 16) Error(v["token"], where + ": each token must be at least 16 characters");
      }
      if (v["token_header"]) s.auth.token_header = Lower(String(v, "token_header", where));
      if (v["token_query"]) s.auth.token_query = String(v, "token_query", where);
      if (v["signature"]) ParseSignature(v["signature"], where, s.auth);
      if (v["max_body"]) s.max_body_bytes = ByteSize(v["max_body"], where + " max_body");
      static const std::set<std::string> kCommon = {"adapter",     "channel",   "map",
                                                    "required",    "token",     "token_header",
                                                    "token_query", "signature", "max_body"};
      for (const auto& kv2 : v) {
        std::string key = kv2.first.as<std::string>("");
        if (kCommon.count(key)) continue;
        s.settings[key] = ToJson(kv2.second, where + " " + key);
        s.setting_lines[key] = Line(kv2.first);
      }
      if (config.FindSource(s.name)) Error(kv.first, where + " is defined twice");
      config.sources.push_back(std::move(s));
    }
  }

  void ParseSignature(const YAML::Node& n, const std::string& where, SourceAuth& auth) {
    if (!n.IsMap()) return Error(n, where + ": signature must be a mapping");
    CheckKeys(n, {"secret", "header", "encoding", "prefix"}, where + " signature");
    auth.hmac_secrets = StringList(n["secret"], where + " signature secret");
    if (auth.hmac_secrets.empty()) Error(n, where + ": signature needs 'secret'");
    for (const auto& s : auth.hmac_secrets) {
      if (s.size() < 16) Error(n["secret"], where + ": signature secrets must be 16+ characters");
    }
    if (n["header"]) auth.hmac_header = Lower(String(n, "header", where));
    auth.hmac_encoding = String(n, "encoding", where, auth.hmac_encoding);
    if (auth.hmac_encoding != "hex" && auth.hmac_encoding != "base64") {
      Error(n["encoding"], where + ": signature encoding must be hex or base64");
    }
    auth.hmac_prefix = String(n, "prefix", where);
  }

  void ParseDestinations(const YAML::Node& n, Config& config) {
    if (!n.IsMap()) return Error(n, "destinations must be a mapping from name to settings");
    for (const auto& kv : n) {
      DestinationConfig d;
      d.name = kv.first.as<std::string>("");
      d.line = Line(kv.first);
      std::string where = fmt::format("destination '{}'", d.name);
      const YAML::Node& v = kv.second;
      if (!IsName(d.name)) {
        Error(kv.first, where + ": names must be lowercase letters, digits, '-' or '_'");
      }
      if (!v.IsMap()) {
        Error(kv.first, where + " must be a mapping with at least 'connector'");
        continue;
      }
      d.connector = RequiredString(v, "connector", where);
      d.url = String(v, "url", where);
      d.secrets = StringList(v["secret"], where + " secret");
      if (v["headers"]) {
        if (!v["headers"].IsMap()) {
          Error(v["headers"], where + ": headers must be a mapping");
        } else {
          for (const auto& h : v["headers"]) {
            std::string name = h.first.as<std::string>("");
            auto value = Scalar(h.second, where + " header " + name);
            if (value) {
              if (value->find_first_of("\r\n") != std::string::npos ||
                  name.find_first_of("\r\n: ") != std::string::npos) {
                Error(h.first, where + ": header names and values cannot contain line breaks");
              } else {
                d.headers.emplace_back(name, *value);
              }
            }
          }
        }
      }
      if (v["timeout"]) d.timeout = Duration(v["timeout"], where + " timeout");
      if (v["retry"]) {
        if (!v["retry"].IsSequence()) {
          Error(v["retry"], where + ": retry must be a list of delays, e.g. [5s, 5m, 30m]");
        } else {
          for (const auto& r : v["retry"]) d.retry.push_back(Duration(r, where + " retry"));
        }
      } else {
        d.retry = DefaultRetrySchedule();
      }
      d.allow_private = Bool(v, "allow_private", false);
      d.ca_file = String(v, "ca_file", where);
      ParseDeliveryLimits(v, where, d);
      if (v["oauth2"]) ParseOAuth2(v["oauth2"], where, d.oauth2);
      static const std::set<std::string> kCommon = {
          "connector",   "url",  "secret",     "headers", "timeout", "retry",  "allow_private",
          "concurrency", "rate", "rate_burst", "breaker", "oauth2",  "ca_file"};
      for (const auto& kv2 : v) {
        std::string key = kv2.first.as<std::string>("");
        if (kCommon.count(key)) continue;
        d.settings[key] = ToJson(kv2.second, where + " " + key);
        d.setting_lines[key] = Line(kv2.first);
      }
      if (config.FindDestination(d.name)) Error(kv.first, where + " is defined twice");
      config.destinations.push_back(std::move(d));
    }
  }

  // A whole number in [lo, hi], or an error naming the range.
  int IntIn(const YAML::Node& n, const std::string& what, int lo, int hi, int fallback) {
    auto s = Scalar(n, what);
    if (!s) return fallback;
    int value = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), value);
    if (ec != std::errc() || end != s->data() + s->size() || value < lo || value > hi) {
      Error(n, fmt::format("{} must be a whole number from {} to {} (got '{}')", what, lo, hi, *s));
      return fallback;
    }
    return value;
  }

  // A number in (lo, hi].
  double NumberIn(const YAML::Node& n, const std::string& what, double lo, double hi,
                  double fallback) {
    auto s = Scalar(n, what);
    if (!s) return fallback;
    char* end = nullptr;
    double value = std::strtod(s->c_str(), &end);
    if (s->empty() || end != s->c_str() + s->size() || !(value > lo) || value > hi) {
      Error(n, fmt::format("{} must be a number above {} and at most {} (got '{}')", what, lo, hi,
                           *s));
      return fallback;
    }
    return value;
  }

  // concurrency, rate ("10/s", "600/min", "3600/h"), rate_burst, breaker {failure_ratio,
  // min_requests, window, open_for}.
  void ParseOAuth2(const YAML::Node& n, const std::string& where, OAuth2Config& o) {
    const std::string what = where + " oauth2";
    if (!n.IsMap()) return Error(n, what + " must be a mapping with at least 'grant'");
    CheckKeys(n,
              {"grant", "token_url", "client_id", "client_secret", "refresh_token", "scope",
               "client_email", "private_key"},
              what);
    o.line = Line(n);
    o.grant = RequiredString(n, "grant", what);
    o.token_url = String(n, "token_url", what);
    o.client_id = String(n, "client_id", what);
    o.client_secret = String(n, "client_secret", what);
    o.refresh_token = String(n, "refresh_token", what);
    o.scope = String(n, "scope", what);
    o.client_email = String(n, "client_email", what);
    o.private_key = String(n, "private_key", what);
    auto need = [&](const std::string& value, const char* key) {
      if (value.empty()) Error(n, fmt::format("{} grant '{}' needs '{}'", what, o.grant, key));
    };
    if (o.grant == "client_credentials") {
      need(o.client_id, "client_id");
      need(o.client_secret, "client_secret");
    } else if (o.grant == "refresh_token") {
      need(o.client_id, "client_id");
      need(o.refresh_token, "refresh_token");
    } else if (o.grant == "jwt_bearer") {
      need(o.client_email, "client_email");
      need(o.private_key, "private_key");
    } else if (!o.grant.empty()) {
      Error(n["grant"], fmt::format("{}: grant must be client_credentials, refresh_token or "
                                    "jwt_bearer (got '{}')",
                                    what, o.grant));
    }
  }

  void ParseDeliveryLimits(const YAML::Node& v, const std::string& where, DestinationConfig& d) {
    if (v["concurrency"]) {
      d.concurrency = IntIn(v["concurrency"], where + " concurrency", 1, 1000, d.concurrency);
    }
    if (v["rate"]) {
      auto s = Scalar(v["rate"], where + " rate");
      size_t slash = s ? s->find('/') : std::string::npos;
      double per = 0;
      if (slash != std::string::npos) {
        std::string unit = s->substr(slash + 1);
        if (unit == "s" || unit == "sec" || unit == "second") per = 1;
        if (unit == "m" || unit == "min" || unit == "minute") per = 60;
        if (unit == "h" || unit == "hour") per = 3600;
      }
      char* end = nullptr;
      double count = slash == std::string::npos ? 0 : std::strtod(s->c_str(), &end);
      if (per == 0 || end != s->c_str() + slash || !(count > 0) || count > 1e6) {
        Error(v["rate"], fmt::format("{} rate must look like 10/s, 600/min or 3600/h", where));
      } else {
        d.rate_per_second = count / per;
      }
    }
    if (v["rate_burst"]) {
      d.rate_burst = NumberIn(v["rate_burst"], where + " rate_burst", 0, 1e6, 0);
    }
    if (const YAML::Node& b = v["breaker"]; b) {
      if (!b.IsMap()) return Error(b, where + ": breaker must be a mapping");
      CheckKeys(b, {"failure_ratio", "min_requests", "window", "open_for"}, where + " breaker");
      auto& br = d.breaker;
      if (b["failure_ratio"]) {
        br.failure_ratio =
            NumberIn(b["failure_ratio"], where + " breaker failure_ratio", 0, 1, br.failure_ratio);
      }
      if (b["window"])
        br.window = IntIn(b["window"], where + " breaker window", 1, 1000, br.window);
      if (b["min_requests"]) {
        br.min_requests = IntIn(b["min_requests"], where + " breaker min_requests", 1, br.window,
                                br.min_requests);
      }
      if (b["open_for"]) br.open_for = Duration(b["open_for"], where + " breaker open_for");
    }
  }

  void ParseRoutes(const YAML::Node& n, Config& config) {
    if (!n.IsSequence()) return Error(n, "routes must be a list (first match wins)");
    for (const auto& r : n) {
      RouteConfig route;
      route.line = Line(r);
      if (!r.IsMap()) {
        Error(r, "each route must be a mapping");
        continue;
      }
      CheckKeys(r, {"name", "fallback", "when", "assign", "task", "deliver"}, "a route");
      route.name = String(r, "name", "a route", fmt::format("route at line {}", route.line));
      std::string where = fmt::format("route '{}'", route.name);
      route.fallback = Bool(r, "fallback", false);
      if (r["when"]) {
        const YAML::Node& w = r["when"];
        if (!w.IsMap()) {
          Error(w, where + ": when must be a mapping of conditions");
        } else {
          CheckKeys(w, {"source", "channel"}, where + " when");
          route.when_sources = StringList(w["source"], where + " when.source");
          route.when_channels = StringList(w["channel"], where + " when.channel");
          for (const auto& c : route.when_channels) {
            if (!ParseChannel(c)) {
              Error(w["channel"], fmt::format("{}: channel '{}' is not one of form, call, chat, "
                                              "booking, sms, email, other",
                                              where, c));
            }
          }
        }
      }
      if (route.fallback && r["when"]) {
        Error(r["when"], where + ": a fallback route matches everything; remove its 'when'");
      }
      if (!route.fallback && !r["when"]) {
        Error(r, where + ": needs 'when' conditions (or 'fallback: true')");
      }
      if (r["assign"]) {
        const YAML::Node& a = r["assign"];
        if (a.IsScalar()) {
          route.assign_strategy = "fixed";
          route.assign_owner = Scalar(a, where + " assign").value_or("");
        } else if (a.IsMap()) {
          CheckKeys(a, {"strategy", "owner"}, where + " assign");
          route.assign_strategy = String(a, "strategy", where + " assign", "fixed");
          route.assign_owner = String(a, "owner", where + " assign");
          if (route.assign_strategy != "fixed") {
            Error(a["strategy"], fmt::format("{}: assign strategy '{}' is not available; this "
                                             "version supports 'fixed'",
                                             where, route.assign_strategy));
          }
          if (route.assign_owner.empty()) Error(a, where + ": assign needs 'owner'");
        } else {
          Error(a, where + ": assign must be a team member id or {strategy, owner}");
        }
      }
      if (r["task"]) {
        const YAML::Node& t = r["task"];
        if (!t.IsMap()) {
          Error(t, where + ": task must be a mapping with title and due");
        } else {
          CheckKeys(t, {"title", "due"}, where + " task");
          route.task_title = RequiredString(t, "title", where + " task");
          if (t["due"]) {
            route.task_due = Duration(t["due"], where + " task due");
          } else {
            Error(t, where + ": task needs 'due' (e.g. 15m)");
          }
        }
      }
      route.deliver = StringList(r["deliver"], where + " deliver");
      route_nodes_.push_back(r);
      config.routes.push_back(std::move(route));
    }
  }

  void CheckReferences(const Config& config) {
    int fallbacks = 0;
    for (size_t i = 0; i < config.routes.size(); ++i) {
      const RouteConfig& r = config.routes[i];
      const YAML::Node& node = route_nodes_[i];
      if (r.fallback) {
        ++fallbacks;
        if (i + 1 != config.routes.size()) {
          ErrorAt(r.line, fmt::format("route '{}': the fallback route must be the last route "
                                      "(routes after it could never match)",
                                      r.name));
        }
      }
      for (const auto& s : r.when_sources) {
        if (!config.FindSource(s)) {
          Error(node["when"], fmt::format("route '{}': when.source '{}' is not a configured "
                                          "source",
                                          r.name, s));
        }
      }
      if (!r.assign_owner.empty() && !config.FindMember(r.assign_owner)) {
        Error(node["assign"],
              fmt::format("route '{}': owner '{}' is not on the team", r.name, r.assign_owner));
      }
      for (const auto& d : r.deliver) {
        if (!config.FindDestination(d)) {
          Error(node["deliver"], fmt::format("route '{}': destination '{}' is not defined under "
                                             "destinations",
                                             r.name, d));
        }
      }
    }
    if (fallbacks > 1) ErrorAt(1, "only one route may be the fallback");
  }

  nlohmann::json ToJson(const YAML::Node& n, const std::string& what) {
    if (n.IsScalar()) {
      std::string s = Expand(n, n.Scalar()).value_or("");
      if (n.Tag() == "!") return s;  // quoted: keep as text
      if (s == "true") return true;
      if (s == "false") return false;
      try {
        size_t used = 0;
        long long v = std::stoll(s, &used);
        if (used == s.size()) return v;
      } catch (const std::exception&) {
      }
      return s;
    }
    if (n.IsSequence()) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& item : n) a.push_back(ToJson(item, what));
      return a;
    }
    if (n.IsMap()) {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>("")] = ToJson(kv.second, what);
      return o;
    }
    return nullptr;
  }

  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  std::string path_;
  const EnvFn& getenv_;
  std::vector<std::string> errors_;
  std::vector<YAML::Node> route_nodes_;
};

}  // namespace

const SourceConfig* Config::FindSource(const std::string& name) const {
  for (const auto& s : sources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const DestinationConfig* Config::FindDestination(const std::string& name) const {
  for (const auto& d : destinations) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

const TeamMember* Config::FindMember(const std::string& id) const {
  for (const auto& m : team) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

std::vector<Micros> DefaultRetrySchedule() {
  return {5 * kMicrosPerSecond, 5 * kMicrosPerMinute, 30 * kMicrosPerMinute, 2 * kMicrosPerHour,
          5 * kMicrosPerHour,   10 * kMicrosPerHour,  10 * kMicrosPerHour};
}

absl::StatusOr<Config> LoadConfigFromString(const std::string& text,
                                            const std::string& path_for_messages,
                                            const EnvFn& getenv) {
  ConfigParser parser(path_for_messages, getenv);
  try {
    return parser.Parse(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on conversions the parser did not foresee; never let it escape.
    return absl::InvalidArgumentError(
        fmt::format("{}:{}: {}", path_for_messages, e.mark.line + 1, e.msg));
  }
}

absl::StatusOr<Config> LoadConfig(const std::string& path, const EnvFn& getenv) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("{}: cannot open the config file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadConfigFromString(ss.str(), path, getenv);
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

}  // namespace handoff
