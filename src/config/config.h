// The workspace config (handoff.yaml): how a business describes its continuity map. Parsed
// strictly: unknown keys are errors, every error names file:line, secrets come only from
// ${ENV_VAR} references.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "nlohmann/json.hpp"

namespace handoff {

// One opening window within a local day, in minutes after local midnight: [start, end).
struct OpenWindow {
  int start_minute = 0;
  int end_minute = 0;  // at most 24 * 60 ("24:00")
  bool operator==(const OpenWindow&) const = default;
};

// Opening windows for each day of the week in the business's local time, sorted and disjoint;
// index 0 is Monday. A day without windows is closed.
struct WeeklyHours {
  std::array<std::vector<OpenWindow>, 7> days;
  // Every day 00:00-24:00: what a business that gives no hours gets.
  static WeeklyHours AlwaysOpen();
  // True when no day has any window (business time then never advances).
  bool empty() const;
  bool operator==(const WeeklyHours&) const = default;
};

// A run of whole local dates, first..last inclusive, each as days since 1970-01-01.
struct DateRange {
  int32_t first = 0;
  int32_t last = 0;
  bool operator==(const DateRange&) const = default;
};

struct BusinessConfig {
  std::string name;
  std::string timezone = "UTC";  // an IANA name, checked against the tz database
  std::string region = "US";     // default country for phone numbers (ISO 3166-1 alpha-2)
  std::string public_url;        // the base URL providers call
  WeeklyHours hours = WeeklyHours::AlwaysOpen();
  std::vector<DateRange> holidays;  // closed all day, in file order
};

struct ServerConfig {
  std::string listen_address = "127.0.0.1";
  uint16_t port = 8080;
  std::string database = "sqlite:handoff.db";
  std::string admin_token;
  size_t max_body_bytes = 256 * 1024;  // default per-source limit
  int http_threads = 1;
  // Destinations on loopback/private addresses are refused unless allowed here or per
  // destination (the demo and tests deliver to loopback).
  bool allow_private_destinations = false;
  // With several nodes on one PostgreSQL database: how long a claim or the cluster duties stay
  // with a node that stopped renewing them (died or froze) before another node takes over.
  Micros lease = 10 * kMicrosPerSecond;
};

// server.lease's bounds: renewals come several times a second at most, so a shorter lease would
// race them; a longer one leaves a dead node's work waiting too long.
inline constexpr Micros kMinServerLease = 2 * kMicrosPerSecond;
inline constexpr Micros kMaxServerLease = 10 * kMicrosPerMinute;

struct TeamMember {
  std::string id;
  std::string name;
  std::string email;
  std::string phone;
  std::string role;
  int line = 0;
  // After `line`, so that existing aggregate initializers keep their meaning (and with explicit
  // initializers, so that leaving them out does not trip -Wmissing-field-initializers).
  // Their own working hours; nullopt = the business's hours. Business holidays apply too.
  std::optional<WeeklyHours> hours = std::nullopt;
  std::vector<DateRange> out_of_office = {};
  bool on_call = false;                     // the fallback for urgent work when nobody is available
  std::vector<std::string> skills = {};     // services they handle (by_skill assignment)
  std::vector<std::string> territory = {};  // postcode patterns, "941*" (by_territory)
  // Their dashboard password, as `handoff hash-password` prints it ("scrypt$…"); "" = they
  // cannot sign in with a password (api/password.h).
  std::string password_hash = {};
};

// An enrichment rule: text matching `pattern` (RE2, partial match) gives the inquiry a service
// (an intent) or an urgency level.
struct MatchRule {
  std::string name;     // the service, or the urgency level
  std::string pattern;  // RE2 syntax, checked when the config loads
  // The inquiry fields read (model/field_path.h), each matched on its own; default: the message
  // and the service the source sent.
  std::vector<std::string> on = {"message", "service"};
  double value = 0;  // intents: what such an inquiry is worth, to rank leaks
  int line = 0;
};

struct EnrichConfig {
  std::vector<MatchRule> intents;  // first match names the service
  std::vector<MatchRule> urgency;  // first match names the level
  int history_limit = 20;          // earlier inquiries read for the history summary
};

// How a source proves a request is its own. Any configured check must pass.
struct SourceAuth {
  std::vector<std::string> tokens;               // accepted tokens (several during rotation)
  std::string token_header = "x-handoff-token";  // lowercase; "Authorization: Bearer" also works
  std::string token_query = "token";             // query parameter carrying the token
  std::vector<std::string> hmac_secrets;         // HMAC-SHA256 over the raw body
  std::string hmac_header = "x-signature";       // lowercase
  std::string hmac_encoding = "hex";             // "hex" or "base64"
  std::string hmac_prefix;                       // e.g. "sha256=" stripped before decoding
  bool configured() const { return !tokens.empty() || !hmac_secrets.empty(); }
};

struct SourceConfig {
  std::string name;
  std::string adapter;
  std::string channel;  // overrides the adapter's default channel when set
  // canonical field → where to find it (dotted JSON path or form field name), in file order.
  std::vector<std::pair<std::string, std::string>> map;
  std::vector<std::string> required;  // canonical fields that must be present (default: none)
  SourceAuth auth;
  size_t max_body_bytes = 0;  // 0 = server default
  // business.public_url, copied here by the loader for adapters that need the URL the provider
  // called (Twilio signs it). "" when the business has none.
  std::string public_url;
  // Adapter-specific settings (validated against the adapter's spec) and their lines.
  nlohmann::json settings = nlohmann::json::object();
  std::map<std::string, int> setting_lines;
  int line = 0;
  // The longest silence before the source counts as broken (`expect_every: 2d`); 0 = learned
  // from its own arrivals (track/leak_rules.h).
  Micros expect_every = 0;
};

// How a destination obtains OAuth2 access tokens (transfer/oauth2.h). `grant` empty = none.
struct OAuth2Config {
  std::string grant;      // "client_credentials", "refresh_token" or "jwt_bearer"
  std::string token_url;  // "" = the connector's default (e.g. Google's)
  std::string client_id;
  std::string client_secret;
  std::string refresh_token;  // refresh_token grant
  std::string scope;          // space-separated; sent when set
  // jwt_bearer (a Google service account): the account's email and PEM private key.
  std::string client_email;
  std::string private_key;
  int line = 0;
  bool configured() const { return !grant.empty(); }
};

struct DestinationConfig {
  std::string name;
  std::string connector;
  std::string url;
  std::vector<std::string> secrets;  // signing secrets; the first signs, all are listed
  std::vector<std::pair<std::string, std::string>> headers;
  Micros timeout = 15 * kMicrosPerSecond;
  // Delay before each retry; attempts = retry.size() + 1. Default: about a day, Svix-like.
  std::vector<Micros> retry;
  bool allow_private = false;
  // Delivery limits the dispatcher keeps per destination (transfer/destination_gate.h).
  int concurrency = 8;         // requests in flight at once
  double rate_per_second = 0;  // `rate: 10/s` (or /min, /h); 0 = unlimited
  double rate_burst = 0;       // `rate_burst:`; 0 = one second's worth
  struct Breaker {
    double failure_ratio = 0.5;
    int min_requests = 10;
    int window = 20;
    Micros open_for = 30 * kMicrosPerSecond;
  } breaker;
  OAuth2Config oauth2;
  std::string ca_file;  // extra CA certificates (PEM) to trust for this destination
  nlohmann::json settings = nlohmann::json::object();
  std::map<std::string, int> setting_lines;
  int line = 0;
};

// One member of an assignment pool; `weight` counts for the weighted strategy only.
struct PoolMember {
  std::string id;
  int weight = 1;
  bool operator==(const PoolMember&) const = default;
};

// One step of a route's escalation chain, run while the task is still open `after` its creation:
// notify someone, and/or reassign the task.
struct EscalationStep {
  Micros after = 0;
  std::string notify;    // a team member id, "owner" (the current owner), or ""
  std::string via;       // the destination carrying the notice ("" = the route's first notify)
  std::string reassign;  // "next" (the next in the pool), a team member id, or ""
  int line = 0;
};

// A notification the route sends when it assigns: through destination `via`, to the owner, a
// team member, or the destination's own recipient.
struct NotifyTarget {
  std::string via;
  std::string to;  // "owner", a team member id, or "" (whoever the destination is set up for)
  int line = 0;
};

// A message back to the lead (missed-call text-back), at most once per contact per `once_per`.
struct ReplyConfig {
  std::string via;   // a twilio_sms destination
  std::string text;  // mustache, like task titles
  Micros once_per = kMicrosPerDay;
  int line = 0;
};

struct RouteConfig {
  std::string name;
  bool fallback = false;
  // `when`: every condition given must hold; a list matches any of its values.
  std::vector<std::string> when_sources;
  std::vector<std::string> when_channels;
  std::vector<std::string> when_kinds;    // fields.kind: missed_call, chat, lead_ad…
  std::vector<std::string> when_intents;  // the service enrichment found
  std::vector<std::string> when_urgency;  // the urgency level enrichment found
  std::optional<bool> when_in_hours;
  std::string when_contact;  // "new", "returning" or "" (either)
  // Field path (model/field_path.h) → RE2 pattern that must match part of its text.
  std::vector<std::pair<std::string, std::string>> when_match;
  // The context the owner needs: each entry is a list of alternatives ("contact.phone" or
  // "contact.email"), of which one must be present.
  std::vector<std::vector<std::string>> require;
  // `assign`: strategy fixed | round_robin | weighted | least_open | by_skill | by_territory |
  // on_call (trigger/assignment.h).
  std::string assign_strategy;
  std::string assign_owner;  // fixed
  std::vector<PoolMember> assign_pool;
  bool assign_available_only = false;    // skip people out of hours or out of office
  std::string assign_fallback;           // who takes it when nobody in the pool is available
  bool assign_sticky = false;            // a returning contact goes back to their last owner
  std::string task_title;                // mustache template
  Micros task_due = 0;                   // 0 = no task
  bool task_business_time = false;       // count `due` only while the business is open
  std::vector<EscalationStep> escalate;  // in order of `after`
  std::vector<NotifyTarget> notify;
  std::optional<ReplyConfig> reply;
  std::vector<std::string> deliver;
  int line = 0;
};

// Who hears about leaks (track/leak_monitor.h) and when a condition counts as one.
struct AlertsConfig {
  std::vector<NotifyTarget> via;  // people-facing destinations, each with an optional `to`
  // `leak_after`: how long each condition may last before it is a leak.
  Micros unassigned = 5 * kMicrosPerMinute;            // an inquiry with no owner, after it arrived
  Micros unconfirmed_handoff = 15 * kMicrosPerMinute;  // a handoff unconfirmed, after creation
  Micros unacknowledged_task = 0;  // an open task, after its due time (`due` = 0)
  Micros missed_call = 0;          // a missed call's task not done, after its due time
  // A group still open is told again this often, with its count (0 = never).
  Micros repeat = 4 * kMicrosPerHour;
  Micros scan_every = 15 * kMicrosPerSecond;  // how often the rules run
  Micros lookback = 7 * kMicrosPerDay;        // inquiries older than this are not examined
  int line = 0;                               // 0 when the config has no alerts section
};

// Synthetic probes (track/probes.h): a canary inquiry per source every `every`, marked
// synthetic, routed like a real one but delivered only to `target`, which must confirm it within
// `deadline` — or the path is reported as a leak (probe_failed) and alerted.
struct ProbesConfig {
  Micros every = 0;  // 0 = no probes
  Micros deadline = 5 * kMicrosPerMinute;
  std::string target;                // a destination standing in for every real one
  std::vector<std::string> sources;  // empty = every source
  int line = 0;
};

// Retention (track/retention.h): inquiries received more than `inquiries` ago are deleted with
// everything recorded about them (their contacts stay), and entry counts older than that go too;
// checked every `every`. Without the section nothing is deleted.
struct RetentionConfig {
  Micros inquiries = 0;  // 0 = keep forever
  Micros every = kMicrosPerHour;
  int line = 0;
};

struct Config {
  std::string path;  // the file it came from
  std::string workspace;
  BusinessConfig business;
  ServerConfig server;
  EnrichConfig enrich;
  std::vector<TeamMember> team;
  std::vector<SourceConfig> sources;
  std::vector<DestinationConfig> destinations;
  std::vector<RouteConfig> routes;
  AlertsConfig alerts;
  ProbesConfig probes;
  RetentionConfig retention;

  const SourceConfig* FindSource(const std::string& name) const;
  const DestinationConfig* FindDestination(const std::string& name) const;
  const TeamMember* FindMember(const std::string& id) const;
};

// The default retry schedule: 5s, 5m, 30m, 2h, 5h, 10h, 10h (8 attempts, about 27.6 h).
std::vector<Micros> DefaultRetrySchedule();

// Loads and validates a config file. On failure the status message lists every problem found,
// one per line, each as "path:line: message". `getenv` resolves ${NAME} references (tests pass
// their own); a reference to an unset variable is an error.
absl::StatusOr<Config> LoadConfig(
    const std::string& path,
    const std::function<std::optional<std::string>(const std::string&)>& getenv);
absl::StatusOr<Config> LoadConfigFromString(
    const std::string& text, const std::string& path_for_messages,
    const std::function<std::optional<std::string>(const std::string&)>& getenv);

// The process environment, for LoadConfig.
std::optional<std::string> ProcessEnv(const std::string& name);

}  // namespace handoff
