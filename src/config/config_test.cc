#include "config/config.h"

#include <map>

#include "date/date.h"
#include "gtest/gtest.h"

namespace handoff {
namespace {

std::optional<std::string> TestEnv(const std::string& name) {
  static const std::map<std::string, std::string> env = {
      {"ADMIN", "admin-token-0123456789"},
      {"FORM_TOKEN", "form-token-0123456789"},
      {"HOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
  };
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

constexpr char kGood[] = R"(workspace: harbor-plumbing
business:
  name: Harbor Plumbing
  timezone: America/Los_Angeles
  region: US
server:
  listen: 127.0.0.1:9090
  database: sqlite:/tmp/x.db
  admin_token: ${ADMIN}
  max_body: 64KiB
team:
  - { id: maria, name: Maria Lopez, phone: "+1 415 555 0103" }
sources:
  website:
    adapter: form
    token: ${FORM_TOKEN}
    map: { name: full_name, email: email }
    required: [email]
  partner:
    adapter: json
    channel: other
    signature: { secret: [old-secret-0123456789, new-secret-0123456789], header: X-Sig, encoding: base64, prefix: "sha256=" }
    dedupe: content
destinations:
  crm:
    connector: webhook
    url: https://crm.example/hook
    secret: ${HOOK_SECRET}
    headers: { X-Tenant: harbor }
    timeout: 5s
    retry: [1s, 10s]
routes:
  - name: web
    when: { channel: [form], source: website }
    assign: { strategy: fixed, owner: maria }
    task: { title: "Call back {{contact.name}}", due: 15m }
    deliver: [crm]
  - name: everything else
    fallback: true
    assign: maria
    deliver: crm
)";

TEST(LoadConfig, ParsesACompleteConfig) {
  auto c = LoadConfigFromString(kGood, "handoff.yaml", TestEnv);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->workspace, "harbor-plumbing");
  EXPECT_EQ(c->business.timezone, "America/Los_Angeles");
  EXPECT_EQ(c->server.port, 9090);
  EXPECT_EQ(c->server.listen_address, "127.0.0.1");
  EXPECT_EQ(c->server.admin_token, "admin-token-0123456789");
  EXPECT_EQ(c->server.max_body_bytes, 64u * 1024);
  ASSERT_EQ(c->sources.size(), 2u);
  const SourceConfig* web = c->FindSource("website");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->adapter, "form");
  EXPECT_EQ(web->auth.tokens, std::vector<std::string>{"form-token-0123456789"});
  ASSERT_EQ(web->map.size(), 2u);
  EXPECT_EQ(web->map[0], (std::pair<std::string, std::string>{"name", "full_name"}));
  EXPECT_EQ(web->required, std::vector<std::string>{"email"});
  const SourceConfig* partner = c->FindSource("partner");
  EXPECT_EQ(partner->auth.hmac_secrets.size(), 2u);
  EXPECT_EQ(partner->auth.hmac_header, "x-sig");
  EXPECT_EQ(partner->auth.hmac_encoding, "base64");
  EXPECT_EQ(partner->auth.hmac_prefix, "sha256=");
  EXPECT_EQ(partner->settings["dedupe"], "content");
  const DestinationConfig* crm = c->FindDestination("crm");
  ASSERT_NE(crm, nullptr);
  EXPECT_EQ(crm->secrets[0], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(crm->timeout, 5 * kMicrosPerSecond);
  EXPECT_EQ(crm->retry, (std::vector<Micros>{kMicrosPerSecond, 10 * kMicrosPerSecond}));
  ASSERT_EQ(crm->headers.size(), 1u);
  ASSERT_EQ(c->routes.size(), 2u);
  EXPECT_EQ(c->routes[0].when_channels, std::vector<std::string>{"form"});
  EXPECT_EQ(c->routes[0].task_due, 15 * kMicrosPerMinute);
  EXPECT_EQ(c->routes[0].task_title, "Call back {{contact.name}}");
  EXPECT_TRUE(c->routes[1].fallback);
  EXPECT_EQ(c->routes[1].assign_owner, "maria");
  EXPECT_EQ(c->routes[1].deliver, std::vector<std::string>{"crm"});
}

TEST(LoadConfig, DefaultRetryScheduleIsAboutADay) {
  auto c = LoadConfigFromString(
      "workspace: w\ndestinations:\n  d: { connector: webhook, url: https://x.example }\n", "f",
      TestEnv);
  ASSERT_TRUE(c.ok()) << c.status();
  Micros total = 0;
  for (Micros d : c->destinations[0].retry) total += d;
  EXPECT_EQ(c->destinations[0].retry.size(), 7u);
  EXPECT_GT(total, 24 * kMicrosPerHour);
  EXPECT_LT(total, 30 * kMicrosPerHour);
}

TEST(LoadConfig, SourcesSeeTheBusinessPublicUrl) {
  auto c = LoadConfigFromString(
      "workspace: w\nbusiness: { public_url: https://hooks.example.com }\n"
      "sources:\n  voice: { adapter: twilio_voice }\n",
      "f", TestEnv);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sources[0].public_url, "https://hooks.example.com")
      << "Twilio signs the URL it calls; the adapter rebuilds it from here";
}

struct BadCase {
  const char* yaml;
  const char* expected;  // substring of the error, including file:line
};

class LoadConfigRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(LoadConfigRejects, NamesFileLineAndProblem) {
  auto c = LoadConfigFromString(GetParam().yaml, "cfg.yaml", TestEnv);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message()).find(GetParam().expected), std::string::npos)
      << c.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LoadConfigRejects,
    ::testing::Values(
        BadCase{"workspace: w\nsurces: {}\n", "cfg.yaml:2: unknown key 'surces'"},
        BadCase{"workspace: w\nserver:\n  admin_token: ${NOPE}\n",
                "cfg.yaml:3: environment variable NOPE is not set"},
        BadCase{"workspace: w\nserver:\n  listen: localhost\n", "cfg.yaml:3: listen must be"},
        BadCase{"workspace: w\nserver:\n  admin_token: short\n", "at least 16 characters"},
        BadCase{"workspace: w\nsources:\n  web:\n    channel: fax\n    adapter: form\n",
                "cfg.yaml:4: source 'web': channel 'fax'"},
        BadCase{"workspace: w\nsources:\n  Web Form: { adapter: form }\n",
                "cfg.yaml:3: source name 'Web Form'"},
        BadCase{"workspace: w\nsources:\n  web: { channel: form }\n", "needs 'adapter'"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { channel: form }\n"
                "    deliver: [crm]\n",
                "cfg.yaml:5: route 'r': destination 'crm' is not defined"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { source: nope }\n",
                "cfg.yaml:4: route 'r': when.source 'nope'"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { channel: form }\n"
                "    assign: bob\n",
                "cfg.yaml:5: route 'r': owner 'bob' is not on the team"},
        BadCase{"workspace: w\nroutes:\n  - name: a\n    fallback: true\n  - name: b\n"
                "    when: { channel: form }\n",
                "the fallback route must be the last"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { chanel: form }\n",
                "cfg.yaml:4: unknown key 'chanel' in route 'r' when"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { channel: form }\n"
                "    task: { title: x, due: soon }\n",
                "cfg.yaml:5: route 'r' task due: not a duration: 'soon'"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n", "needs 'when' conditions"},
        BadCase{"workspace: [a\n", ": invalid YAML: end of sequence flow not found"},
        BadCase{"- just\n- a list\n", "must be a mapping"},
        BadCase{"business: { name: x }\n", "needs 'workspace'"},
        BadCase{"workspace: w\nbusiness: { region: usa }\n", "two-letter country code"},
        BadCase{"workspace: w\ndestinations:\n  d: { connector: webhook, retry: 5s }\n",
                "cfg.yaml:3: destination 'd': retry must be a list"},
        BadCase{"workspace: w\ndestinations:\n  d:\n    connector: webhook\n    headers: { "
                "\"X-A\": \"a\\r\\nBcc: x\" }\n",
                "cannot contain line breaks"},
        BadCase{"workspace: w\ndestinations:\n  d: { connector: webhook, concurrency: 0 }\n",
                "cfg.yaml:3: destination 'd' concurrency must be a whole number from 1 to 1000"},
        BadCase{"workspace: w\ndestinations:\n  d: { connector: webhook, rate: fast }\n",
                "cfg.yaml:3: destination 'd' rate must look like 10/s"},
        BadCase{"workspace: w\ndestinations:\n  d:\n    connector: webhook\n"
                "    breaker: { failure_ratio: 1.5 }\n",
                "cfg.yaml:5: destination 'd' breaker failure_ratio must be a number above 0"},
        BadCase{"workspace: w\ndestinations:\n  d:\n    connector: webhook\n"
                "    breaker: { trips: 3 }\n",
                "unknown key 'trips'"}));

// Business time: every message is the whole line the user sees.
INSTANTIATE_TEST_SUITE_P(
    BusinessTime, LoadConfigRejects,
    ::testing::Values(
        BadCase{"workspace: w\nbusiness:\n  timezone: America/Los_Angles\n",
                "cfg.yaml:3: business timezone 'America/Los_Angles' is not a known IANA time zone "
                "(e.g. America/Los_Angeles, Europe/Berlin, UTC)"},
        BadCase{"workspace: w\nbusiness:\n  hours: \"09:00-17:00\"\n",
                "cfg.yaml:3: business hours must be a mapping of days to opening times, e.g. "
                "{ mon-fri: \"09:00-17:00\", sat: closed }"},
        BadCase{"workspace: w\nbusiness:\n  hours:\n    mon-fri: \"09:00-17:00\"\n"
                "    weekdays: \"09:00-17:00\"\n",
                "cfg.yaml:5: business hours: 'weekdays' is not a day or a range of days (use mon, "
                "tue, wed, thu, fri, sat, sun, e.g. mon-fri or sat,sun)"},
        BadCase{"workspace: w\nbusiness:\n  hours:\n    mon-fri: \"9-5\"\n",
                "cfg.yaml:4: business hours mon-fri: '9-5' is not an opening time; expected "
                "HH:MM-HH:MM (e.g. 09:00-17:00), a list of them, or closed"},
        BadCase{"workspace: w\nbusiness:\n  hours:\n    mon: \"09:00-24:30\"\n",
                "cfg.yaml:4: business hours mon: '09:00-24:30' is not an opening time"},
        BadCase{"workspace: w\nbusiness:\n  hours:\n    fri: \"22:00-06:00\"\n",
                "cfg.yaml:4: business hours fri: '22:00-06:00' must end after it starts (write a "
                "night across midnight as 22:00-24:00 on one day and 00:00-06:00 on the next)"},
        BadCase{"workspace: w\nbusiness:\n  hours:\n    mon: [\"09:00-12:00\", \"11:00-14:00\"]\n",
                "cfg.yaml:4: business hours mon: opening times overlap (09:00-12:00 and "
                "11:00-14:00)"},
        BadCase{"workspace: w\nbusiness:\n  hours:\n    mon-fri: \"09:00-17:00\"\n"
                "    wed,sat: closed\n",
                "cfg.yaml:5: business hours: wed is given twice"},
        BadCase{"workspace: w\nbusiness:\n  holidays: [2026-12-25, 2026-02-30]\n",
                "cfg.yaml:3: business holidays: '2026-02-30' is not a date; expected YYYY-MM-DD "
                "or a range YYYY-MM-DD..YYYY-MM-DD"},
        BadCase{"workspace: w\nbusiness:\n  holidays:\n    - 2026-12-31..2026-12-20\n",
                "cfg.yaml:4: business holidays: '2026-12-31..2026-12-20' ends before it starts"},
        BadCase{"workspace: w\nbusiness:\n  holidays: { christmas: 2026-12-25 }\n",
                "cfg.yaml:3: business holidays must be a list of dates (YYYY-MM-DD) and ranges "
                "(YYYY-MM-DD..YYYY-MM-DD)"},
        BadCase{"workspace: w\nbusiness:\n  hours: { mon,wed: \"09:00-17:00\" }\n",
                "cfg.yaml:3: business hours mon needs opening times: HH:MM-HH:MM (e.g. "
                "09:00-17:00), a list of them, or closed (quote a key like \"mon,wed\" inside { "
                "})"},
        BadCase{"workspace: w\nteam:\n  - id: ben\n    hours: { mon-thu: \"8-4\" }\n",
                "cfg.yaml:4: team member ben hours mon-thu: '8-4' is not an opening time"},
        BadCase{"workspace: w\nteam:\n  - id: ben\n    out_of_office: [2026-12-20..2026-12]\n",
                "cfg.yaml:4: team member ben out_of_office: '2026-12-20..2026-12' is not a date"},
        BadCase{"workspace: w\nteam:\n  - id: ben\n    on_call: sometimes\n",
                "cfg.yaml:4: 'on_call' must be true or false"},
        BadCase{"workspace: w\nteam:\n  - id: ben\n    vacation: [2026-12-20]\n",
                "cfg.yaml:4: unknown key 'vacation' in a team member (expected one of: email, "
                "hours, id, name, on_call, out_of_office, password_hash, phone, role, skills, "
                "territory)"}));

// Enrichment rules, route conditions, required context and assignment.
INSTANTIATE_TEST_SUITE_P(
    Routing, LoadConfigRejects,
    ::testing::Values(
        BadCase{"workspace: w\nenrich:\n  intents:\n    - { service: drains, match: '(clog' }\n",
                "cfg.yaml:4: enrich intents 'drains': '(clog' is not a valid pattern: missing )"},
        BadCase{"workspace: w\nenrich:\n  intents:\n    - { match: clog }\n",
                "cfg.yaml:4: enrich intents needs 'service'"},
        BadCase{"workspace: w\nenrich:\n  urgency:\n    - { level: high, match: x, value: 3 }\n",
                "cfg.yaml:4: unknown key 'value' in enrich urgency"},
        BadCase{"workspace: w\nenrich:\n  intents:\n    - { service: a, match: x, on: [body] }\n",
                "cfg.yaml:4: enrich intents 'a' on: 'body' is not an inquiry field"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { intent: drains }\n",
                "cfg.yaml:4: route 'r': when.intent 'drains' is not a service under enrich "
                "intents"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { urgency: high }\n",
                "cfg.yaml:4: route 'r': when.urgency 'high' is not a level under enrich urgency"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { contact: known }\n",
                "cfg.yaml:4: route 'r': when.contact must be 'new' or 'returning' (got 'known')"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when:\n      match: { zip: '^9' }\n",
                "cfg.yaml:5: route 'r' when.match: 'zip' is not an inquiry field"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when:\n"
                "      match: { fields.zip: '[9' }\n",
                "cfg.yaml:5: route 'r' when.match fields.zip: '[9' is not a valid pattern"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { channel: form }\n"
                "    require: [contact.phone|contact.fax]\n",
                "cfg.yaml:5: route 'r' require: 'contact.fax' is not an inquiry field"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { channel: form }\n"
                "    assign: { strategy: random, pool: [a] }\n",
                "cfg.yaml:5: route 'r': assign strategy 'random' is not one of fixed, "
                "round_robin, weighted, least_open, by_skill, by_territory, on_call"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { channel: form }\n"
                "    assign: { strategy: round_robin }\n",
                "cfg.yaml:5: route 'r': assign strategy round_robin needs a 'pool' of team "
                "members"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { channel: form }\n"
                "    assign: { strategy: least_open, owner: ana, pool: [ana] }\n",
                "cfg.yaml:5: route 'r': 'owner' is for the fixed strategy; least_open picks "
                "from 'pool'"},
        BadCase{"workspace: w\nteam: [{ id: ana }]\nroutes:\n  - name: r\n"
                "    when: { channel: form }\n"
                "    assign: { strategy: round_robin, pool: [ana, zed] }\n",
                "cfg.yaml:6: route 'r': pool member 'zed' is not on the team"},
        BadCase{"workspace: w\nteam: [{ id: ana }]\nroutes:\n  - name: r\n"
                "    when: { channel: form }\n"
                "    assign: { strategy: round_robin, pool: [ana, ana] }\n",
                "cfg.yaml:6: route 'r': pool member 'ana' is listed twice"},
        BadCase{"workspace: w\nteam: [{ id: ana }]\nroutes:\n  - name: r\n"
                "    when: { channel: form }\n"
                "    assign: { strategy: weighted, pool: [{ id: ana, weight: 0 }] }\n",
                "cfg.yaml:6: route 'r' pool weight must be a whole number from 1 to 1000"},
        BadCase{"workspace: w\nteam: [{ id: ana }]\nroutes:\n  - name: r\n"
                "    when: { channel: form }\n"
                "    assign: { strategy: round_robin, pool: [ana], fallback: zed }\n",
                "cfg.yaml:6: route 'r': fallback 'zed' is not on the team"},
        BadCase{"workspace: w\nteam: [{ id: ana }]\nroutes:\n  - name: r\n"
                "    when: { channel: call }\n    assign: { strategy: on_call }\n",
                "cfg.yaml:6: route 'r': strategy on_call needs a pool or a team member with "
                "on_call: true"},
        BadCase{"workspace: w\nroutes:\n  - name: r\n    when: { channel: form }\n"
                "    task: { title: x, due: 5m, business_time: maybe }\n",
                "cfg.yaml:5: 'business_time' must be true or false"}));

TEST(LoadConfig, ReadsEnrichRulesConditionsRequirementsAndAssignment) {
  auto c = LoadConfigFromString(R"(workspace: w
team:
  - { id: ana, skills: [water-heater], territory: ["941*", "940*"] }
  - { id: ben }
  - { id: maria, on_call: true }
enrich:
  intents:
    - { service: water-heater, match: '(?i)water heater', value: 900 }
    - { service: vip, match: '@bigclient\.example$', on: [contact.email] }
  urgency:
    - { level: emergency, match: '(?i)flood' }
  history_limit: 5
routes:
  - name: urgent heaters
    when:
      intent: water-heater
      urgency: emergency
      in_hours: false
      contact: returning
      kind: [missed_call, voicemail]
      match: { fields.postcode: '^941', contact.email: 'x' }
    require: [contact.phone|contact.email, message]
    assign:
      strategy: weighted
      pool: [ana, { id: ben, weight: 3 }]
      available_only: true
      fallback: maria
      sticky: true
    task: { title: "Call {{contact.name}}", due: 15m, business_time: true }
  - name: rest
    fallback: true
    assign: { strategy: on_call }
)",
                                "f", TestEnv);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->team[0].skills, std::vector<std::string>{"water-heater"});
  EXPECT_EQ(c->team[0].territory, (std::vector<std::string>{"941*", "940*"}));
  ASSERT_EQ(c->enrich.intents.size(), 2u);
  EXPECT_EQ(c->enrich.intents[0].name, "water-heater");
  EXPECT_EQ(c->enrich.intents[0].value, 900);
  EXPECT_EQ(c->enrich.intents[0].on, (std::vector<std::string>{"message", "service"}));
  EXPECT_EQ(c->enrich.intents[1].on, std::vector<std::string>{"contact.email"});
  EXPECT_EQ(c->enrich.intents[1].pattern, "@bigclient\\.example$");
  EXPECT_EQ(c->enrich.urgency[0].name, "emergency");
  EXPECT_EQ(c->enrich.history_limit, 5);
  const RouteConfig& r = c->routes[0];
  EXPECT_EQ(r.when_intents, std::vector<std::string>{"water-heater"});
  EXPECT_EQ(r.when_urgency, std::vector<std::string>{"emergency"});
  EXPECT_EQ(r.when_in_hours, std::optional<bool>(false));
  EXPECT_EQ(r.when_contact, "returning");
  EXPECT_EQ(r.when_kinds, (std::vector<std::string>{"missed_call", "voicemail"}));
  ASSERT_EQ(r.when_match.size(), 2u);
  EXPECT_EQ(r.when_match[0], (std::pair<std::string, std::string>{"fields.postcode", "^941"}));
  ASSERT_EQ(r.require.size(), 2u);
  EXPECT_EQ(r.require[0], (std::vector<std::string>{"contact.phone", "contact.email"}));
  EXPECT_EQ(r.require[1], std::vector<std::string>{"message"});
  EXPECT_EQ(r.assign_strategy, "weighted");
  EXPECT_EQ(r.assign_pool, (std::vector<PoolMember>{{"ana", 1}, {"ben", 3}}));
  EXPECT_TRUE(r.assign_available_only);
  EXPECT_EQ(r.assign_fallback, "maria");
  EXPECT_TRUE(r.assign_sticky);
  EXPECT_TRUE(r.task_business_time);
  EXPECT_EQ(r.task_due, 15 * kMicrosPerMinute);
  EXPECT_EQ(c->routes[1].assign_strategy, "on_call");
  EXPECT_TRUE(c->routes[1].assign_pool.empty());
}

// Days since 1970-01-01 for a date, to state expectations readably.
int32_t Day(int y, unsigned m, unsigned d) {
  return static_cast<int32_t>(
      date::sys_days{date::year{y} / date::month{m} / date::day{d}}.time_since_epoch().count());
}

TEST(LoadConfig, ReadsBusinessHoursHolidaysAndTeamAvailability) {
  auto c = LoadConfigFromString(R"(workspace: w
business:
  timezone: Europe/Berlin
  hours:
    mon-tue,wed-fri: "07:30-18:00"
    sat: ["09:00-11:00", "12:00-13:00"]
    Sun: closed
  holidays: [2026-12-25, 2026-12-31..2027-01-01]
team:
  - id: ben
    hours: { "mon,thu": "08:00-16:00", fri-sat: "10:00-24:00" }
    out_of_office: [2026-12-20..2026-12-31, 2027-02-01]
  - id: maria
    on_call: true
)",
                                "f", TestEnv);
  ASSERT_TRUE(c.ok()) << c.status();
  const WeeklyHours& h = c->business.hours;
  for (int d = 0; d < 5; ++d) EXPECT_EQ(h.days[d], (std::vector<OpenWindow>{{450, 1080}})) << d;
  EXPECT_EQ(h.days[5], (std::vector<OpenWindow>{{540, 660}, {720, 780}}));
  EXPECT_TRUE(h.days[6].empty());
  EXPECT_EQ(c->business.holidays, (std::vector<DateRange>{{Day(2026, 12, 25), Day(2026, 12, 25)},
                                                          {Day(2026, 12, 31), Day(2027, 1, 1)}}));
  const TeamMember* ben = c->FindMember("ben");
  ASSERT_TRUE(ben->hours.has_value());
  EXPECT_EQ(ben->hours->days[0], (std::vector<OpenWindow>{{480, 960}}));
  EXPECT_TRUE(ben->hours->days[1].empty()) << "days a person's hours do not name are off";
  EXPECT_EQ(ben->hours->days[3], (std::vector<OpenWindow>{{480, 960}}));
  EXPECT_EQ(ben->hours->days[4], (std::vector<OpenWindow>{{600, 1440}}));
  EXPECT_EQ(ben->hours->days[5], (std::vector<OpenWindow>{{600, 1440}}));
  EXPECT_EQ(ben->out_of_office, (std::vector<DateRange>{{Day(2026, 12, 20), Day(2026, 12, 31)},
                                                        {Day(2027, 2, 1), Day(2027, 2, 1)}}));
  EXPECT_FALSE(ben->on_call);
  const TeamMember* maria = c->FindMember("maria");
  EXPECT_FALSE(maria->hours.has_value()) << "no hours of her own: she keeps the business's";
  EXPECT_TRUE(maria->on_call);
}

TEST(LoadConfig, ABusinessWithoutHoursIsAlwaysOpen) {
  auto c = LoadConfigFromString("workspace: w\n", "f", TestEnv);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->business.timezone, "UTC");
  EXPECT_EQ(c->business.hours, WeeklyHours::AlwaysOpen());
  EXPECT_TRUE(c->business.holidays.empty());
}

TEST(LoadConfig, DayRangesWrapAroundTheWeek) {
  auto c = LoadConfigFromString("workspace: w\nbusiness:\n  hours: { fri-mon: \"10:00-14:00\" }\n",
                                "f", TestEnv);
  ASSERT_TRUE(c.ok()) << c.status();
  for (int d : {4, 5, 6, 0}) EXPECT_EQ(c->business.hours.days[d].size(), 1u) << d;
  for (int d : {1, 2, 3}) EXPECT_TRUE(c->business.hours.days[d].empty()) << d;
}

TEST(LoadConfig, AllClosedHoursAreAccepted) {
  // The loader takes it; business-time arithmetic reports that it can never finish.
  auto c =
      LoadConfigFromString("workspace: w\nbusiness:\n  hours: { mon-sun: closed }\n", "f", TestEnv);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->business.hours.empty());
}

TEST(LoadConfig, ReadsDeliveryLimits) {
  auto c = LoadConfigFromString(
      "workspace: w\ndestinations:\n  d:\n    connector: webhook\n    url: https://x.example\n"
      "    concurrency: 3\n    rate: 120/min\n    rate_burst: 5\n"
      "    breaker: { failure_ratio: 0.25, min_requests: 4, window: 8, open_for: 1m }\n"
      "  e: { connector: webhook, url: https://y.example }\n",
      "f", TestEnv);
  ASSERT_TRUE(c.ok()) << c.status();
  const DestinationConfig& d = c->destinations[0];
  EXPECT_EQ(d.concurrency, 3);
  EXPECT_DOUBLE_EQ(d.rate_per_second, 2.0);
  EXPECT_DOUBLE_EQ(d.rate_burst, 5.0);
  EXPECT_DOUBLE_EQ(d.breaker.failure_ratio, 0.25);
  EXPECT_EQ(d.breaker.min_requests, 4);
  EXPECT_EQ(d.breaker.window, 8);
  EXPECT_EQ(d.breaker.open_for, kMicrosPerMinute);
  EXPECT_TRUE(d.settings.empty()) << d.settings.dump() << ": limits are not connector settings";
  const DestinationConfig& e = c->destinations[1];
  EXPECT_EQ(e.concurrency, 8);
  EXPECT_EQ(e.rate_per_second, 0);
}

TEST(LoadConfig, ReportsEveryProblemNotJustTheFirst) {
  auto c = LoadConfigFromString("workspace: w\nfoo: 1\nbar: 2\n", "cfg.yaml", TestEnv);
  ASSERT_FALSE(c.ok());
  std::string msg(c.status().message());
  EXPECT_NE(msg.find("cfg.yaml:2: unknown key 'foo'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cfg.yaml:3: unknown key 'bar'"), std::string::npos) << msg;
}

TEST(LoadConfig, MissingFileIsNotFound) {
  auto c = LoadConfig("/nonexistent/handoff.yaml", TestEnv);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace handoff

namespace handoff {
namespace {

TEST(AlertsConfig, ParsesChannelsThresholdsAndSourceSilence) {
  auto c = LoadConfigFromString(R"(workspace: w
team: [{ id: maria }]
sources:
  bookings: { adapter: json, expect_every: 2d }
destinations:
  chat: { connector: slack, webhook_url: "https://hooks.slack.com/services/T/B/x" }
alerts:
  via: [chat, { via: chat, to: maria }]
  leak_after: { unassigned: 3m, unconfirmed_handoff: 90s, unacknowledged_task: 10m, missed_call: due }
  repeat: never
  scan_every: 5s
  lookback: 2d
)",
                                "cfg.yaml", [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sources[0].expect_every, 2 * kMicrosPerDay);
  const AlertsConfig& a = c->alerts;
  ASSERT_EQ(a.via.size(), 2u);
  EXPECT_EQ(a.via[0].via, "chat");
  EXPECT_EQ(a.via[1].to, "maria");
  EXPECT_EQ(a.unassigned, 3 * kMicrosPerMinute);
  EXPECT_EQ(a.unconfirmed_handoff, 90 * kMicrosPerSecond);
  EXPECT_EQ(a.unacknowledged_task, 10 * kMicrosPerMinute);
  EXPECT_EQ(a.missed_call, 0);
  EXPECT_EQ(a.repeat, 0);
  EXPECT_EQ(a.scan_every, 5 * kMicrosPerSecond);
  EXPECT_EQ(a.lookback, 2 * kMicrosPerDay);
  EXPECT_EQ(a.line, 8);  // where the section's mapping begins

  // Defaults without the section.
  auto plain = LoadConfigFromString("workspace: w\n", "cfg.yaml",
                                    [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->alerts.via.empty());
  EXPECT_EQ(plain->alerts.unassigned, 5 * kMicrosPerMinute);
  EXPECT_EQ(plain->alerts.repeat, 4 * kMicrosPerHour);
}

TEST(AlertsConfig, RejectsUnknownDestinationsAndKeys) {
  auto c = LoadConfigFromString(R"(workspace: w
alerts:
  via: [nowhere]
  leak_after: { unasigned: 5m }
  scan_every: 100ms
)",
                                "cfg.yaml", [](const std::string&) { return std::nullopt; });
  ASSERT_FALSE(c.ok());
  const std::string m(c.status().message());
  EXPECT_NE(m.find("cfg.yaml:3: alerts: destination 'nowhere' is not defined"), std::string::npos)
      << m;
  EXPECT_NE(m.find("cfg.yaml:4: unknown key 'unasigned' in alerts leak_after"), std::string::npos)
      << m;
  EXPECT_NE(m.find("cfg.yaml:5: alerts scan_every must be at least 1s"), std::string::npos) << m;
}

}  // namespace
}  // namespace handoff

namespace handoff {
namespace {

TEST(ProbesConfig, ParsesScheduleTargetAndSources) {
  const auto env = [](const std::string&) { return std::nullopt; };
  auto c = LoadConfigFromString(R"(workspace: w
sources:
  website: { adapter: form }
destinations:
  probe-hook: { connector: webhook, url: "https://monitor.example/probe" }
probes: { every: 30m, deadline: 2m, target: probe-hook, sources: [website] }
)",
                                "cfg.yaml", env);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->probes.every, 30 * kMicrosPerMinute);
  EXPECT_EQ(c->probes.deadline, 2 * kMicrosPerMinute);
  EXPECT_EQ(c->probes.target, "probe-hook");
  EXPECT_EQ(c->probes.sources, std::vector<std::string>{"website"});

  auto bad = LoadConfigFromString(
      "workspace: w\nprobes: { every: 100ms, target: nowhere, sources: [ghost] }\n", "cfg.yaml",
      env);
  ASSERT_FALSE(bad.ok());
  const std::string m(bad.status().message());
  EXPECT_NE(m.find("cfg.yaml:2: probes every must be at least 1s"), std::string::npos) << m;
  EXPECT_NE(m.find("cfg.yaml:2: probes: destination 'nowhere' is not defined"), std::string::npos)
      << m;
  EXPECT_NE(m.find("cfg.yaml:2: probes: source 'ghost' is not defined"), std::string::npos) << m;
}

TEST(RetentionConfig, ParsesHowLongToKeepAndHowOftenToLook) {
  const auto env = [](const std::string&) { return std::nullopt; };
  auto none = LoadConfigFromString("workspace: w\n", "cfg.yaml", env);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->retention.inquiries, 0) << "without the section nothing is deleted";

  auto c = LoadConfigFromString("workspace: w\nretention: { inquiries: 400d, every: 30m }\n",
                                "cfg.yaml", env);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->retention.inquiries, 400 * kMicrosPerDay);
  EXPECT_EQ(c->retention.every, 30 * kMicrosPerMinute);
  auto defaults =
      LoadConfigFromString("workspace: w\nretention: { inquiries: 2d }\n", "cfg.yaml", env);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->retention.every, kMicrosPerHour);

  auto bad = LoadConfigFromString(
      "workspace: w\nretention:\n  inquiries: 30m\n  every: 10s\n  keep: forever\n", "cfg.yaml",
      env);
  ASSERT_FALSE(bad.ok());
  const std::string m(bad.status().message());
  EXPECT_NE(m.find("cfg.yaml:3: retention inquiries must be at least 1d"), std::string::npos) << m;
  EXPECT_NE(m.find("cfg.yaml:4: retention every must be at least 1m"), std::string::npos) << m;
  EXPECT_NE(m.find("cfg.yaml:5:"), std::string::npos) << m;  // the unknown key, by its line
  auto missing = LoadConfigFromString("workspace: w\nretention: { every: 1h }\n", "cfg.yaml", env);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("retention needs 'inquiries'"),
            std::string::npos)
      << missing.status();
}

}  // namespace
}  // namespace handoff
