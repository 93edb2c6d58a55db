#include "config/config.h"

#include <date/date.h>
#include <date/tz.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <bitset>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_split.h"
#include "core/ascii.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "model/field_path.h"
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
              {"workspace", "business", "server", "team", "enrich", "sources", "destinations",
               "routes", "alerts", "probes", "retention"},
              "the top level");
    config.workspace = RequiredString(root, "workspace", "the top level");
    if (!config.workspace.empty() && !IsName(config.workspace)) {
      Error(root["workspace"], "workspace must be lowercase letters, digits, '-' or '_'");
    }
    if (root["business"]) ParseBusiness(root["business"], config.business);
    if (root["server"]) ParseServer(root["server"], config.server);
    if (root["team"]) ParseTeam(root["team"], config.team);
    if (root["enrich"]) ParseEnrich(root["enrich"], config.enrich);
    if (root["sources"]) ParseSources(root["sources"], config);
    for (SourceConfig& s : config.sources) s.public_url = config.business.public_url;
    if (root["destinations"]) ParseDestinations(root["destinations"], config);
    if (root["routes"]) ParseRoutes(root["routes"], config);
    if (root["alerts"]) ParseAlerts(root["alerts"], config);
    if (root["probes"]) ParseProbes(root["probes"], config);
    if (root["retention"]) ParseRetention(root["retention"], config.retention);
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
      s = AsciiLowered(Trim(s));
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

  static std::string Trim(std::string_view s) { return std::string(TrimOws(s)); }

  void ParseServer(const YAML::Node& n, ServerConfig& s) {
    if (!n.IsMap()) return Error(n, "server must be a mapping");
    CheckKeys(n,
              {"listen", "database", "admin_token", "max_body", "http_threads",
               "allow_private_destinations", "lease"},
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
    if (n["lease"]) {
      s.lease = Duration(n["lease"], "server lease");
      if (s.lease < kMinServerLease || s.lease > kMaxServerLease) {
        Error(n["lease"], "lease must be from 2s to 10m");
        s.lease = 10 * kMicrosPerSecond;
      }
    }
  }

  void ParseTeam(const YAML::Node& n, std::vector<TeamMember>& team) {
    if (!n.IsSequence()) return Error(n, "team must be a list of people");
    std::set<std::string> ids;
    for (const auto& p : n) {
      if (!p.IsMap()) {
        Error(p, "each team member must be a mapping with id, name, email, phone");
        continue;
      }
      CheckKeys(p,
                {"id", "name", "email", "phone", "role", "hours", "out_of_office", "on_call",
                 "skills", "territory", "password_hash"},
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
      m.skills = StringList(p["skills"], fmt::format("team member {} skills", m.id));
      m.territory = StringList(p["territory"], fmt::format("team member {} territory", m.id));
      m.password_hash = String(p, "password_hash", "team member " + m.id);
      if (!m.password_hash.empty() && m.password_hash.rfind("scrypt$", 0) != 0) {
        Error(p["password_hash"], fmt::format("team member {}: password_hash must be what "
                                              "`handoff hash-password` prints (scrypt$…)",
                                              m.id));
      }
      if (!m.id.empty() && !ids.insert(m.id).second) {
        Error(p["id"], fmt::format("team member id '{}' is used twice", m.id));
      }
      team.push_back(std::move(m));
    }
  }

  // A regular expression the stages will compile with RE2: checked here so a typo fails the
  // load with its line instead of silently never matching.
  void CheckPattern(const YAML::Node& n, const std::string& pattern, const std::string& what) {
    RE2 re(pattern, RE2::Quiet);
    if (!re.ok())
      Error(n, fmt::format("{}: '{}' is not a valid pattern: {}", what, pattern, re.error()));
  }

  void CheckFieldPath(const YAML::Node& n, const std::string& path, const std::string& what) {
    if (!IsFieldPath(path)) {
      Error(n, fmt::format("{}: '{}' is not an inquiry field (message, service, location, "
                           "source, channel, contact.name, contact.email, contact.phone, "
                           "intent, urgency, or fields.NAME)",
                           what, path));
    }
  }

  // enrich: { intents: [{service, match, value, on}], urgency: [{level, match, on}],
  // history_limit }.
  void ParseEnrich(const YAML::Node& n, EnrichConfig& e) {
    if (!n.IsMap()) return Error(n, "enrich must be a mapping with intents and urgency");
    CheckKeys(n, {"intents", "urgency", "history_limit"}, "enrich");
    e.intents = MatchRules(n["intents"], "service", "enrich intents");
    e.urgency = MatchRules(n["urgency"], "level", "enrich urgency");
    if (n["history_limit"]) {
      e.history_limit = IntIn(n["history_limit"], "enrich history_limit", 1, 1000, 20);
    }
  }

  std::vector<MatchRule> MatchRules(const YAML::Node& n, const std::string& name_key,
                                    const std::string& where) {
    std::vector<MatchRule> rules;
    if (!n) return rules;
    if (!n.IsSequence()) {
      Error(n, fmt::format("{} must be a list of {{{}, match}}", where, name_key));
      return rules;
    }
    const bool intents = name_key == "service";
    for (const auto& r : n) {
      if (!r.IsMap()) {
        Error(r,
              fmt::format("each entry of {} must be a mapping with {} and match", where, name_key));
        continue;
      }
      if (intents) {
        CheckKeys(r, {"service", "match", "value", "on"}, where);
      } else {
        CheckKeys(r, {"level", "match", "on"}, where);
      }
      MatchRule rule;
      rule.line = Line(r);
      rule.name = RequiredString(r, name_key, where);
      rule.pattern = RequiredString(r, "match", where);
      const std::string what = fmt::format("{} '{}'", where, rule.name);
      if (!rule.pattern.empty()) CheckPattern(r["match"], rule.pattern, what);
      if (r["on"]) {
        rule.on = StringList(r["on"], what + " on");
        for (const auto& f : rule.on) CheckFieldPath(r["on"], f, what + " on");
        if (rule.on.empty()) Error(r["on"], what + ": 'on' names no field");
      }
      if (intents && r["value"]) rule.value = NumberIn(r["value"], what + " value", -1, 1e12, 0);
      rules.push_back(std::move(rule));
    }
    return rules;
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
      if (v["token_header"]) s.auth.token_header = AsciiLowered(String(v, "token_header", where));
      if (v["token_query"]) s.auth.token_query = String(v, "token_query", where);
      if (v["signature"]) ParseSignature(v["signature"], where, s.auth);
      if (v["max_body"]) s.max_body_bytes = ByteSize(v["max_body"], where + " max_body");
      if (v["expect_every"]) s.expect_every = Duration(v["expect_every"], where + " expect_every");
      static const std::set<std::string> kCommon = {
          "adapter",      "channel",     "map",       "required", "token",
          "token_header", "token_query", "signature", "max_body", "expect_every"};
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
    if (n["header"]) auth.hmac_header = AsciiLowered(String(n, "header", where));
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
      CheckKeys(r,
                {"name", "fallback", "when", "require", "assign", "task", "escalate", "notify",
                 "reply", "deliver"},
                "a route");
      route.name = String(r, "name", "a route", fmt::format("route at line {}", route.line));
      std::string where = fmt::format("route '{}'", route.name);
      route.fallback = Bool(r, "fallback", false);
      if (r["when"]) ParseWhen(r["when"], where, route);
      if (route.fallback && r["when"]) {
        Error(r["when"], where + ": a fallback route matches everything; remove its 'when'");
      }
      if (!route.fallback && !r["when"]) {
        Error(r, where + ": needs 'when' conditions (or 'fallback: true')");
      }
      if (r["require"]) {
        for (const auto& entry : StringList(r["require"], where + " require")) {
          std::vector<std::string> alternatives = absl::StrSplit(entry, '|');
          for (const auto& f : alternatives) CheckFieldPath(r["require"], f, where + " require");
          route.require.push_back(std::move(alternatives));
        }
      }
      if (r["assign"]) ParseAssign(r["assign"], where, route);
      if (r["task"]) {
        const YAML::Node& t = r["task"];
        if (!t.IsMap()) {
          Error(t, where + ": task must be a mapping with title and due");
        } else {
          CheckKeys(t, {"title", "due", "business_time"}, where + " task");
          route.task_title = RequiredString(t, "title", where + " task");
          if (t["due"]) {
            route.task_due = Duration(t["due"], where + " task due");
          } else {
            Error(t, where + ": task needs 'due' (e.g. 15m)");
          }
          route.task_business_time = Bool(t, "business_time", false);
        }
      }
      if (r["escalate"]) ParseEscalate(r["escalate"], where, route);
      if (r["notify"]) ParseNotify(r["notify"], where, route);
      if (r["reply"]) ParseReply(r["reply"], where, route);
      route.deliver = StringList(r["deliver"], where + " deliver");
      route_nodes_.push_back(r);
      config.routes.push_back(std::move(route));
    }
  }

  // when: { source, channel, kind, intent, urgency, in_hours, contact, match: {path: pattern} }.
  void ParseWhen(const YAML::Node& w, const std::string& where, RouteConfig& route) {
    if (!w.IsMap()) return Error(w, where + ": when must be a mapping of conditions");
    CheckKeys(w, {"source", "channel", "kind", "intent", "urgency", "in_hours", "contact", "match"},
              where + " when");
    route.when_sources = StringList(w["source"], where + " when.source");
    route.when_channels = StringList(w["channel"], where + " when.channel");
    for (const auto& c : route.when_channels) {
      if (!ParseChannel(c)) {
        Error(w["channel"], fmt::format("{}: channel '{}' is not one of form, call, chat, "
                                        "booking, sms, email, other",
                                        where, c));
      }
    }
    route.when_kinds = StringList(w["kind"], where + " when.kind");
    route.when_intents = StringList(w["intent"], where + " when.intent");
    route.when_urgency = StringList(w["urgency"], where + " when.urgency");
    if (w["in_hours"]) route.when_in_hours = Bool(w, "in_hours", true);
    if (w["contact"]) {
      route.when_contact = String(w, "contact", where + " when");
      if (route.when_contact != "new" && route.when_contact != "returning") {
        Error(w["contact"], fmt::format("{}: when.contact must be 'new' or 'returning' (got '{}')",
                                        where, route.when_contact));
      }
    }
    if (w["match"]) {
      const YAML::Node& m = w["match"];
      if (!m.IsMap()) {
        Error(m, where + ": when.match must map inquiry fields to patterns");
      } else {
        for (const auto& kv : m) {
          std::string field = kv.first.as<std::string>("");
          std::string pattern = Scalar(kv.second, where + " when.match").value_or("");
          CheckFieldPath(kv.first, field, where + " when.match");
          CheckPattern(kv.second, pattern, fmt::format("{} when.match {}", where, field));
          route.when_match.emplace_back(std::move(field), std::move(pattern));
        }
      }
    }
  }

  // assign: a member id (fixed), or { strategy, owner, pool, available_only, fallback, sticky };
  // pool entries are ids or { id, weight }.
  void ParseAssign(const YAML::Node& a, const std::string& where, RouteConfig& route) {
    if (a.IsScalar()) {
      route.assign_strategy = "fixed";
      route.assign_owner = Scalar(a, where + " assign").value_or("");
      return;
    }
    if (!a.IsMap()) {
      return Error(a, where + ": assign must be a team member id or {strategy, owner, pool}");
    }
    CheckKeys(a, {"strategy", "owner", "pool", "available_only", "fallback", "sticky"},
              where + " assign");
    static const std::set<std::string> kStrategies = {
        "fixed", "round_robin", "weighted", "least_open", "by_skill", "by_territory", "on_call"};
    route.assign_strategy = String(a, "strategy", where + " assign", "fixed");
    if (!kStrategies.count(route.assign_strategy)) {
      Error(a["strategy"], fmt::format("{}: assign strategy '{}' is not one of fixed, "
                                       "round_robin, weighted, least_open, by_skill, "
                                       "by_territory, on_call",
                                       where, route.assign_strategy));
    }
    route.assign_owner = String(a, "owner", where + " assign");
    if (a["pool"]) {
      const YAML::Node& pool = a["pool"];
      if (!pool.IsSequence()) {
        Error(pool, where + ": assign pool must be a list of team member ids");
      } else {
        for (const auto& m : pool) {
          PoolMember member;
          if (m.IsMap()) {
            CheckKeys(m, {"id", "weight"}, where + " assign pool");
            member.id = RequiredString(m, "id", where + " assign pool");
            if (m["weight"]) member.weight = IntIn(m["weight"], where + " pool weight", 1, 1000, 1);
          } else {
            member.id = Scalar(m, where + " assign pool").value_or("");
          }
          route.assign_pool.push_back(std::move(member));
        }
      }
    }
    route.assign_available_only = Bool(a, "available_only", false);
    route.assign_fallback = String(a, "fallback", where + " assign");
    route.assign_sticky = Bool(a, "sticky", false);
    const std::string& strategy = route.assign_strategy;
    if (strategy == "fixed") {
      if (route.assign_owner.empty()) Error(a, where + ": assign strategy fixed needs 'owner'");
      if (!route.assign_pool.empty()) {
        Error(a["pool"], where + ": assign strategy fixed takes 'owner', not a pool");
      }
    } else {
      if (!route.assign_owner.empty()) {
        Error(a["owner"], fmt::format("{}: 'owner' is for the fixed strategy; {} picks from "
                                      "'pool'",
                                      where, strategy));
      }
      if (route.assign_pool.empty() && strategy != "on_call") {
        Error(a, fmt::format("{}: assign strategy {} needs a 'pool' of team members", where,
                             strategy));
      }
    }
  }

  // escalate: [{ after: 10m, notify: maria, via: team-chat }, { after: 20m, reassign: next }].
  void ParseEscalate(const YAML::Node& n, const std::string& where, RouteConfig& route) {
    if (!n.IsSequence()) {
      return Error(n, where +
                          ": escalate must be a list of steps like { after: 10m, notify: "
                          "maria }");
    }
    Micros previous = 0;
    for (const auto& s : n) {
      if (!s.IsMap()) {
        Error(s, where +
                     ": each escalation step must be a mapping with after and notify or "
                     "reassign");
        continue;
      }
      CheckKeys(s, {"after", "notify", "via", "reassign"}, where + " escalate");
      EscalationStep step;
      step.line = Line(s);
      if (s["after"]) {
        step.after = Duration(s["after"], where + " escalate after");
      } else {
        Error(s, where + ": an escalation step needs 'after' (e.g. 10m)");
      }
      step.notify = String(s, "notify", where + " escalate");
      step.via = String(s, "via", where + " escalate");
      step.reassign = String(s, "reassign", where + " escalate");
      if (step.notify.empty() && step.reassign.empty()) {
        Error(s, where + ": an escalation step needs 'notify' or 'reassign'");
      }
      if (step.after > 0 && step.after <= previous) {
        Error(s["after"], where + ": escalation steps must come in order of 'after'");
      }
      previous = std::max(previous, step.after);
      route.escalate.push_back(std::move(step));
    }
  }

  // notify: [{ via: team-chat }, { via: sms, to: owner }].
  void ParseNotify(const YAML::Node& n, const std::string& where, RouteConfig& route) {
    if (!n.IsSequence()) {
      return Error(n, where +
                          ": notify must be a list like [{ via: team-chat }, { via: sms, to: "
                          "owner }]");
    }
    for (const auto& t : n) {
      NotifyTarget target;
      target.line = Line(t);
      if (t.IsScalar()) {
        target.via = Scalar(t, where + " notify").value_or("");
      } else if (t.IsMap()) {
        CheckKeys(t, {"via", "to"}, where + " notify");
        target.via = RequiredString(t, "via", where + " notify");
        target.to = String(t, "to", where + " notify");
      } else {
        Error(t, where + ": each notify entry must be a destination or { via, to }");
        continue;
      }
      route.notify.push_back(std::move(target));
    }
  }

  // alerts: { via: [team-chat, { via: email, to: maria }], leak_after: { unassigned: 5m,
  // unconfirmed_handoff: 2m, unacknowledged_task: due, missed_call: due }, repeat: 4h,
  // scan_every: 15s, lookback: 7d }.
  void ParseAlerts(const YAML::Node& n, Config& config) {
    AlertsConfig& a = config.alerts;
    a.line = Line(n);
    if (!n.IsMap()) return Error(n, "alerts must be a mapping with via and leak_after");
    CheckKeys(n, {"via", "leak_after", "repeat", "scan_every", "lookback"}, "alerts");
    RouteConfig holder;  // ParseNotify fills a route's list; the shape is the same
    if (n["via"]) {
      ParseNotify(n["via"], "alerts", holder);
      a.via = std::move(holder.notify);
    }
    if (const YAML::Node& l = n["leak_after"]; l) {
      if (!l.IsMap()) {
        Error(l, "alerts leak_after must be a mapping like { unassigned: 5m }");
      } else {
        CheckKeys(l, {"unassigned", "unconfirmed_handoff", "unacknowledged_task", "missed_call"},
                  "alerts leak_after");
        if (l["unassigned"]) a.unassigned = Duration(l["unassigned"], "alerts unassigned");
        if (l["unconfirmed_handoff"]) {
          a.unconfirmed_handoff = Duration(l["unconfirmed_handoff"], "alerts unconfirmed_handoff");
        }
        // Both task conditions count from the task's due time: `due`, or how long after it.
        auto after_due = [&](const char* key, Micros& out) {
          if (!l[key]) return;
          if (l[key].IsScalar() && l[key].Scalar() == "due") {
            out = 0;
          } else {
            out = Duration(l[key], fmt::format("alerts {} (`due` or a duration after it)", key));
          }
        };
        after_due("unacknowledged_task", a.unacknowledged_task);
        after_due("missed_call", a.missed_call);
      }
    }
    if (n["repeat"]) {
      a.repeat = n["repeat"].IsScalar() && n["repeat"].Scalar() == "never"
                     ? 0
                     : Duration(n["repeat"], "alerts repeat (a duration or never)");
    }
    if (n["scan_every"]) {
      a.scan_every = Duration(n["scan_every"], "alerts scan_every");
      if (a.scan_every > 0 && a.scan_every < kMicrosPerSecond) {
        Error(n["scan_every"], "alerts scan_every must be at least 1s");
      }
    }
    if (n["lookback"]) a.lookback = Duration(n["lookback"], "alerts lookback");
    for (size_t k = 0; k < a.via.size(); ++k) {
      const NotifyTarget& t = a.via[k];
      if (!t.via.empty() && !config.FindDestination(t.via)) {
        ErrorAt(t.line, fmt::format("alerts: destination '{}' is not defined", t.via));
      }
      if (t.to == "owner") {
        ErrorAt(t.line,
                "alerts: 'to: owner' means nothing here (an alert has no owner); name a "
                "team member");
      } else if (!t.to.empty() && !config.FindMember(t.to)) {
        ErrorAt(t.line, fmt::format("alerts: '{}' is not on the team", t.to));
      }
    }
  }

  // probes: { every: 1h, deadline: 5m, target: probe-hook, sources: [website, main-line] }.
  void ParseProbes(const YAML::Node& n, Config& config) {
    ProbesConfig& p = config.probes;
    p.line = Line(n);
    if (!n.IsMap()) return Error(n, "probes must be a mapping with every and target");
    CheckKeys(n, {"every", "deadline", "target", "sources"}, "probes");
    if (!n["every"]) Error(n, "probes needs 'every' (e.g. 1h)");
    if (n["every"]) {
      p.every = Duration(n["every"], "probes every");
      if (p.every > 0 && p.every < kMicrosPerSecond) {
        Error(n["every"], "probes every must be at least 1s");
      }
    }
    if (n["deadline"]) p.deadline = Duration(n["deadline"], "probes deadline");
    p.target = RequiredString(n, "target", "probes");
    if (!p.target.empty() && !config.FindDestination(p.target)) {
      Error(n["target"], fmt::format("probes: destination '{}' is not defined", p.target));
    }
    p.sources = StringList(n["sources"], "probes sources");
    for (const std::string& s : p.sources) {
      if (!config.FindSource(s)) {
        Error(n["sources"], fmt::format("probes: source '{}' is not defined", s));
      }
    }
  }

  // retention: { inquiries: 400d, every: 1h }.
  void ParseRetention(const YAML::Node& n, RetentionConfig& r) {
    r.line = Line(n);
    if (!n.IsMap()) return Error(n, "retention must be a mapping with inquiries (e.g. 400d)");
    CheckKeys(n, {"inquiries", "every"}, "retention");
    if (!n["inquiries"]) Error(n, "retention needs 'inquiries' (how long to keep them, e.g. 400d)");
    if (n["inquiries"]) {
      r.inquiries = Duration(n["inquiries"], "retention inquiries");
      // A slip like `30m` would delete the day's work: anything under a day is refused.
      if (r.inquiries < kMicrosPerDay) {
        Error(n["inquiries"], "retention inquiries must be at least 1d");
      }
    }
    if (n["every"]) {
      r.every = Duration(n["every"], "retention every");
      if (r.every < kMicrosPerMinute) Error(n["every"], "retention every must be at least 1m");
    }
  }

  // reply: { via: sms, text: "…", once_per: 24h }.
  void ParseReply(const YAML::Node& n, const std::string& where, RouteConfig& route) {
    if (!n.IsMap()) return Error(n, where + ": reply must be a mapping with via and text");
    CheckKeys(n, {"via", "text", "once_per"}, where + " reply");
    ReplyConfig reply;
    reply.line = Line(n);
    reply.via = RequiredString(n, "via", where + " reply");
    reply.text = RequiredString(n, "text", where + " reply");
    if (n["once_per"]) reply.once_per = Duration(n["once_per"], where + " reply once_per");
    route.reply = std::move(reply);
  }

  void CheckMember(const Config& config, const YAML::Node& n, const std::string& route,
                   const std::string& id, const std::string& what) {
    if (!id.empty() && !config.FindMember(id)) {
      Error(n, fmt::format("route '{}': {} '{}' is not on the team", route, what, id));
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
      CheckMember(config, node["assign"], r.name, r.assign_owner, "owner");
      CheckMember(config, node["assign"], r.name, r.assign_fallback, "fallback");
      std::set<std::string> pool_ids;
      for (const PoolMember& m : r.assign_pool) {
        CheckMember(config, node["assign"], r.name, m.id, "pool member");
        if (!pool_ids.insert(m.id).second) {
          Error(node["assign"],
                fmt::format("route '{}': pool member '{}' is listed twice", r.name, m.id));
        }
      }
      if (r.assign_strategy == "on_call" && r.assign_pool.empty()) {
        bool any = false;
        for (const TeamMember& m : config.team) any = any || m.on_call;
        if (!any) {
          Error(node["assign"], fmt::format("route '{}': strategy on_call needs a pool or a team "
                                            "member with on_call: true",
                                            r.name));
        }
      }
      auto check_destination = [&](const YAML::Node& at, const std::string& name,
                                   const std::string& what) {
        if (!name.empty() && !config.FindDestination(name)) {
          Error(at, fmt::format("route '{}': {} destination '{}' is not defined under "
                                "destinations",
                                r.name, what, name));
        }
      };
      auto check_person = [&](const YAML::Node& at, const std::string& id,
                              const std::string& what) {
        if (!id.empty() && id != "owner" && !config.FindMember(id)) {
          Error(at, fmt::format("route '{}': {} '{}' is not on the team (or 'owner')", r.name, what,
                                id));
        }
      };
      for (size_t k = 0; k < r.escalate.size(); ++k) {
        const EscalationStep& step = r.escalate[k];
        const YAML::Node at = node["escalate"][k];
        check_person(at, step.notify, "escalate notify");
        check_destination(at, step.via, "escalate via");
        if (!step.notify.empty() && step.via.empty() && r.notify.empty()) {
          Error(at, fmt::format("route '{}': escalate notify needs 'via' (or a route 'notify' "
                                "destination to use)",
                                r.name));
        }
        if (!step.reassign.empty() && step.reassign != "next") {
          check_person(at, step.reassign, "escalate reassign");
        }
        if (step.reassign == "next" && r.assign_pool.size() < 2) {
          Error(at, fmt::format("route '{}': reassign: next needs an assign pool of two or more",
                                r.name));
        }
        if (r.task_due == 0) {
          Error(at, fmt::format("route '{}': escalation needs a task to escalate", r.name));
        }
      }
      for (size_t k = 0; k < r.notify.size(); ++k) {
        const YAML::Node at = node["notify"][k];
        check_destination(at, r.notify[k].via, "notify via");
        check_person(at, r.notify[k].to, "notify to");
      }
      if (r.reply) {
        const DestinationConfig* d = config.FindDestination(r.reply->via);
        if (d == nullptr) {
          check_destination(node["reply"], r.reply->via, "reply via");
        } else if (d->connector != "twilio_sms") {
          Error(node["reply"], fmt::format("route '{}': reply via '{}' must be a twilio_sms "
                                           "destination (it texts the lead)",
                                           r.name, r.reply->via));
        }
      }
      for (const auto& intent : r.when_intents) {
        bool known = false;
        for (const MatchRule& rule : config.enrich.intents) known = known || rule.name == intent;
        if (!known) {
          Error(node["when"], fmt::format("route '{}': when.intent '{}' is not a service under "
                                          "enrich intents",
                                          r.name, intent));
        }
      }
      for (const auto& level : r.when_urgency) {
        bool known = false;
        for (const MatchRule& rule : config.enrich.urgency) known = known || rule.name == level;
        if (!known) {
          Error(node["when"], fmt::format("route '{}': when.urgency '{}' is not a level under "
                                          "enrich urgency",
                                          r.name, level));
        }
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
