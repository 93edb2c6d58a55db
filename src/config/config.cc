#include "config/config.h"

#include <date/date.h>
#include <date/tz.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <bitset>
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
    CheckKeys(n, {"name", "timezone", "region", "public_url", "hours", "holidays"}, "business");
    b.name = String(n, "name", "business");
    b.timezone = String(n, "timezone", "business", b.timezone);
    if (n["timezone"] && !IsKnownTimeZone(b.timezone)) {
      Error(n["timezone"], fmt::format("business timezone '{}' is not a known IANA time zone "
                                       "(e.g. America/Los_Angeles, Europe/Berlin, UTC)",
                                       b.timezone));
    }
    if (n["hours"]) b.hours = Hours(n["hours"], "business hours");
    if (n["holidays"]) b.holidays = Dates(n["holidays"], "business holidays");
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

  static bool IsKnownTimeZone(const std::string& name) {
    try {
      return date::locate_zone(name) != nullptr;
    } catch (const std::exception&) {
      // Thrown for an unknown name, and when the tz database (tzdata) cannot be read at all.
      return false;
    }
  }

  // "mon", "mon-fri", "fri-mon" (wraps), "mon,wed,sat-sun": the days a `hours` key covers,
  // bit 0 = Monday. Empty on a malformed key.
  static std::bitset<7> DaySet(const std::string& key) {
    static const char* const kShort[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    static const char* const kLong[] = {"monday", "tuesday",  "wednesday", "thursday",
                                        "friday", "saturday", "sunday"};
    auto day = [](std::string s) -> int {
      s = Lower(Trim(s));
      for (int i = 0; i < 7; ++i) {
        if (s == kShort[i] || s == kLong[i]) return i;
      }
      return -1;
    };
    std::bitset<7> set;
    std::stringstream parts(key);
    std::string part;
    while (std::getline(parts, part, ',')) {
      size_t dash = part.find('-');
      int from = day(part.substr(0, dash));
      int to = dash == std::string::npos ? from : day(part.substr(dash + 1));
      if (from < 0 || to < 0) return {};
      for (int d = from;; d = (d + 1) % 7) {
        set.set(d);
        if (d == to) break;
      }
    }
    return set;
  }

  // "HH:MM" (00:00 to 24:00) as minutes after midnight, or -1.
  static int MinuteOfDay(std::string_view s) {
    if (s.size() != 5 || s[2] != ':') return -1;
    for (size_t i : {0, 1, 3, 4}) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
    }
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0)) return -1;
    return h * 60 + m;
  }

  // One day-range key's value: "HH:MM-HH:MM", a list of them, or "closed".
  std::vector<OpenWindow> Windows(const YAML::Node& n, const std::string& what) {
    std::vector<OpenWindow> out;
    std::vector<YAML::Node> items;
    if (n.IsSequence()) {
      for (const auto& item : n) items.push_back(item);
    } else if (n.IsScalar() && Trim(n.Scalar()) == "closed") {
      return out;
    } else if (!n.IsScalar()) {
      // Also what `{ mon,wed: "…" }` gives: in a flow mapping the comma ends the key.
      Error(n, fmt::format("{} needs opening times: HH:MM-HH:MM (e.g. 09:00-17:00), a list of "
                           "them, or closed (quote a key like \"mon,wed\" inside {{ }})",
                           what));
      return out;
    } else {
      items.push_back(n);
    }
    for (const auto& item : items) {
      auto text = Scalar(item, what);
      if (!text) continue;
      std::string t = Trim(*text);
      size_t dash = t.find('-');
      int start = dash == std::string::npos ? -1 : MinuteOfDay(Trim(t.substr(0, dash)));
      int end = dash == std::string::npos ? -1 : MinuteOfDay(Trim(t.substr(dash + 1)));
      if (start < 0 || end < 0) {
        Error(item, fmt::format("{}: '{}' is not an opening time; expected HH:MM-HH:MM (e.g. "
                                "09:00-17:00), a list of them, or closed",
                                what, t));
        continue;
      }
      if (end <= start) {
        // A window across midnight would belong to two days, and the second one may be a
        // holiday or closed: make the user say which day each half belongs to.
        Error(item, fmt::format("{}: '{}' must end after it starts (write a night across "
                                "midnight as 22:00-24:00 on one day and 00:00-06:00 on the next)",
                                what, t));
        continue;
      }
      out.push_back({start, end});
    }
    std::sort(out.begin(), out.end(), [](const OpenWindow& a, const OpenWindow& b) {
      return a.start_minute < b.start_minute;
    });
    for (size_t i = 1; i < out.size(); ++i) {
      if (out[i].start_minute < out[i - 1].end_minute) {
        Error(n, fmt::format("{}: opening times overlap ({} and {})", what,
                             FormatWindow(out[i - 1]), FormatWindow(out[i])));
      }
    }
    return out;
  }

  static std::string FormatWindow(const OpenWindow& w) {
    return fmt::format("{:02}:{:02}-{:02}:{:02}", w.start_minute / 60, w.start_minute % 60,
                       w.end_minute / 60, w.end_minute % 60);
  }

  // `hours`: a mapping of day ranges to opening windows. Days not named are closed.
  WeeklyHours Hours(const YAML::Node& n, const std::string& what) {
    WeeklyHours hours;
    if (!n.IsMap()) {
      Error(n, fmt::format("{} must be a mapping of days to opening times, e.g. "
                           "{{ mon-fri: \"09:00-17:00\", sat: closed }}",
                           what));
      return WeeklyHours::AlwaysOpen();
    }
    static const char* const kNames[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    std::bitset<7> seen;
    for (const auto& kv : n) {
      std::string key = kv.first.as<std::string>("");
      std::bitset<7> days = DaySet(key);
      if (days.none()) {
        Error(kv.first, fmt::format("{}: '{}' is not a day or a range of days (use mon, tue, wed, "
                                    "thu, fri, sat, sun, e.g. mon-fri or sat,sun)",
                                    what, key));
        continue;
      }
      std::vector<OpenWindow> windows = Windows(kv.second, fmt::format("{} {}", what, key));
      for (int d = 0; d < 7; ++d) {
        if (!days.test(d)) continue;
        if (seen.test(d)) {
          Error(kv.first, fmt::format("{}: {} is given twice", what, kNames[d]));
          continue;
        }
        seen.set(d);
        hours.days[d] = windows;
      }
    }
    return hours;
  }

  // YYYY-MM-DD as days since 1970-01-01, or nullopt.
  static std::optional<int32_t> CivilDay(const std::string& s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
    for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    }
    int y = 0;
    unsigned mo = 0, d = 0;
    auto digits = [&](size_t from, size_t len, auto& out) {
      auto [end, ec] = std::from_chars(s.data() + from, s.data() + from + len, out);
      return ec == std::errc() && end == s.data() + from + len;
    };
    if (!digits(0, 4, y) || !digits(5, 2, mo) || !digits(8, 2, d)) return std::nullopt;
    date::year_month_day ymd{date::year{y}, date::month{mo}, date::day{d}};
    if (!ymd.ok()) return std::nullopt;
    return static_cast<int32_t>(date::sys_days{ymd}.time_since_epoch().count());
  }

  // A list (or one) of dates YYYY-MM-DD and ranges YYYY-MM-DD..YYYY-MM-DD.
  std::vector<DateRange> Dates(const YAML::Node& n, const std::string& what) {
    std::vector<DateRange> out;
    if (n.IsMap()) {
      Error(n, fmt::format("{} must be a list of dates (YYYY-MM-DD) and ranges "
                           "(YYYY-MM-DD..YYYY-MM-DD)",
                           what));
      return out;
    }
    std::vector<YAML::Node> items;
    if (n.IsSequence()) {
      for (const auto& item : n) items.push_back(item);
    } else if (!n.IsNull()) {
      items.push_back(n);
    }
    for (const auto& item : items) {
      auto text = Scalar(item, what);
      if (!text) continue;
      std::string t = Trim(*text);
      size_t dots = t.find("..");
      std::optional<int32_t> first = CivilDay(Trim(t.substr(0, dots)));
      std::optional<int32_t> last =
          dots == std::string::npos ? first : CivilDay(Trim(t.substr(dots + 2)));
      if (!first || !last) {
        Error(item, fmt::format("{}: '{}' is not a date; expected YYYY-MM-DD or a range "
                                "YYYY-MM-DD..YYYY-MM-DD",
                                what, t));
        continue;
      }
      if (*last < *first) {
        Error(item, fmt::format("{}: '{}' ends before it starts", what, t));
        continue;
      }
      out.push_back({*first, *last});
    }
    return out;
  }

  static std::string Trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return "";
    size_t e = s.find_last_not_of(" \t");
    return std::string(s.substr(b, e - b + 1));
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
      CheckKeys(p, {"id", "name", "email", "phone", "role", "hours", "out_of_office", "on_call"},
                "a team member");
      TeamMember m;
      m.line = Line(p);
      m.id = RequiredString(p, "id", "a team member");
      m.name = String(p, "name", "team member " + m.id);
      m.email = String(p, "email", "team member " + m.id);
      m.phone = String(p, "phone", "team member " + m.id);
      m.role = String(p, "role", "team member " + m.id);
      if (p["hours"]) m.hours = Hours(p["hours"], fmt::format("team member {} hours", m.id));
      if (p["out_of_office"]) {
        m.out_of_office =
            Dates(p["out_of_office"], fmt::format("team member {} out_of_office", m.id));
      }
      m.on_call = Bool(p, "on_call", false);
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

WeeklyHours WeeklyHours::AlwaysOpen() {
  WeeklyHours h;
  for (auto& day : h.days) day.push_back({0, 24 * 60});
  return h;
}

bool WeeklyHours::empty() const {
  for (const auto& day : days) {
    if (!day.empty()) return false;
  }
  return true;
}

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
