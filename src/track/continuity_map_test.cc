#include "track/continuity_map.h"

#include <cctype>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"

namespace handoff {
namespace {

constexpr Micros kMapFrom = 1'800'000'000'000'000;
constexpr Micros kMapUntil = kMapFrom + kMicrosPerDay;
constexpr Micros kAt = kMapFrom + kMicrosPerHour;  // when the test inquiries arrive

// Three sources (a form, a phone line, a chat widget), two routes and no fallback, so chat goes
// unrouted. "missed calls" assigns round robin over ana and ben (maria when nobody is
// available), tells Slack, escalates on Slack, texts the caller back and delivers to the CRM;
// "web" gives ana a task and delivers to the CRM. Leaks are told on Slack.
Config MapTestConfig() {
  Config c;
  for (const char* id : {"ana", "ben", "maria"}) {
    TeamMember m;
    m.id = id;
    m.name = std::string(1, static_cast<char>(std::toupper(id[0]))) + (id + 1);
    m.on_call = m.id == "maria";
    c.team.push_back(m);
  }
  SourceConfig website;
  website.name = "website";
  website.adapter = "form";
  website.channel = "form";
  SourceConfig phone;
  phone.name = "phone";
  phone.adapter = "json";
  phone.channel = "call";
  SourceConfig chat;
  chat.name = "chat";
  chat.adapter = "json";
  chat.channel = "chat";
  c.sources = {website, phone, chat};
  for (const char* name : {"crm", "slack", "sms"}) {
    DestinationConfig d;
    d.name = name;
    d.connector = "webhook";
    c.destinations.push_back(d);
  }
  RouteConfig calls;
  calls.name = "missed calls";
  calls.when_channels = {"call"};
  calls.assign_strategy = "round_robin";
  calls.assign_pool = {{"ana", 1}, {"ben", 1}};
  calls.assign_fallback = "maria";
  calls.task_due = 10 * kMicrosPerMinute;
  calls.notify = {NotifyTarget{.via = "slack", .to = "owner", .line = 0}};
  EscalationStep step;
  step.after = 15 * kMicrosPerMinute;
  step.notify = "maria";  // on the route's first notify destination
  calls.escalate = {step};
  calls.reply = ReplyConfig{.via = "sms", .text = "We'll call you back"};
  calls.deliver = {"crm"};
  RouteConfig web;
  web.name = "web";
  web.when_channels = {"form"};
  web.assign_strategy = "fixed";
  web.assign_owner = "ana";
  web.task_due = 15 * kMicrosPerMinute;
  web.deliver = {"crm"};
  c.routes = {calls, web};
  c.alerts.via = {NotifyTarget{.via = "slack", .to = "", .line = 0}};
  c.alerts.unassigned = 5 * kMicrosPerMinute;
  return c;
}

InquiryOutcome MapOutcome(const std::string& id, const std::string& source,
                          const std::string& route, Micros at = kAt) {
  InquiryOutcome o;
  o.id = id;
  o.source = source;
  o.route = route;
  o.received_at = at;
  o.status = route.empty() ? "received" : "routed";
  return o;
}

Handoff MakeHandoff(const std::string& id, const std::string& destination,
                    const std::string& purpose, const std::string& state,
                    Micros confirmed_after = 0) {
  Handoff h;
  h.id = id;
  h.destination = destination;
  h.purpose = purpose;
  h.state = state;
  h.created_at = kAt;
  h.confirmed_at = state == "confirmed" ? kAt + confirmed_after : 0;
  return h;
}

// A task for `owner` created `after` the inquiry, due 10m after creation, acknowledged `ack`
// after creation (0 = not acknowledged).
Task MakeTask(const std::string& owner, Micros after, Micros ack) {
  Task t;
  t.owner = owner;
  t.created_at = kAt + after;
  t.due_at = t.created_at + 10 * kMicrosPerMinute;
  t.acknowledged_at = ack == 0 ? 0 : t.created_at + ack;
  t.state = ack == 0 ? "open" : "acknowledged";
  return t;
}

Leak MakeLeak(const std::string& kind, const std::string& key_id) {
  Leak l;
  l.kind = kind;
  l.key = kind + ":" + key_id;
  return l;
}

MapInputs MapWindow() {
  MapInputs in;
  in.from = kMapFrom;
  in.until = kMapUntil;
  return in;
}

const nlohmann::json& FindNode(const nlohmann::json& map, const std::string& id) {
  for (const nlohmann::json& n : map["nodes"]) {
    if (n["id"] == id) return n;
  }
  ADD_FAILURE() << "no node " << id << " in " << map.dump(2);
  static const nlohmann::json kMissing = nlohmann::json::object();
  return kMissing;
}

const nlohmann::json& FindEdge(const nlohmann::json& map, const std::string& from,
                               const std::string& to, const std::string& kind) {
  for (const nlohmann::json& e : map["edges"]) {
    if (e["from"] == from && e["to"] == to && e["kind"] == kind) return e;
  }
  ADD_FAILURE() << "no edge " << from << " -> " << to << " (" << kind << ") in " << map.dump(2);
  static const nlohmann::json kMissing = nlohmann::json::object();
  return kMissing;
}

TEST(ContinuityMap, DrawsEveryConfigEdgeIdleWithoutTraffic) {
  const nlohmann::json map = ContinuityMapJson(MapTestConfig(), {});
  std::vector<std::tuple<std::string, std::string, std::string>> edges;
  for (const nlohmann::json& e : map["edges"]) {
    edges.emplace_back(e["from"], e["to"], e["kind"]);
    EXPECT_EQ(e["volume"], 0) << e.dump();
    EXPECT_EQ(e["open_leaks"], 0) << e.dump();
    EXPECT_TRUE(e["success_ratio"].is_null()) << e.dump();
    EXPECT_TRUE(e["p95_ms"].is_null()) << e.dump();
    EXPECT_EQ(e["health"], "idle") << e.dump();
  }
  using E = std::tuple<std::string, std::string, std::string>;
  EXPECT_EQ(edges, (std::vector<E>{
                       {"source:website", "route:web", "inquiries"},
                       {"source:phone", "route:missed calls", "inquiries"},
                       {"source:chat", "route:(none)", "inquiries"},  // no route, no fallback
                       {"route:missed calls", "owner:ana", "task"},
                       {"route:missed calls", "owner:ben", "task"},
                       {"route:missed calls", "owner:maria", "task"},
                       {"route:missed calls", "destination:crm", "deliver"},
                       {"route:missed calls", "destination:slack", "notify"},
                       {"route:missed calls", "destination:slack", "escalate"},
                       {"route:missed calls", "destination:sms", "reply"},
                       {"route:web", "owner:ana", "task"},
                       {"route:web", "destination:crm", "deliver"},
                       {"destination:slack", "alerts", "alert"},
                   }));
  std::vector<std::string> nodes;
  for (const nlohmann::json& n : map["nodes"]) {
    nodes.push_back(n["id"]);
    EXPECT_EQ(n["health"], "idle") << n.dump();
  }
  EXPECT_EQ(nodes, (std::vector<std::string>{
                       "source:website", "source:phone", "source:chat", "route:missed calls",
                       "route:web", "route:(none)", "owner:ana", "owner:ben", "owner:maria",
                       "destination:crm", "destination:slack", "destination:sms", "alerts"}));
  EXPECT_EQ(FindNode(map, "source:phone")["kind"], "source");
  EXPECT_EQ(FindNode(map, "source:phone")["channel"], "call");
  EXPECT_EQ(FindNode(map, "route:missed calls")["label"], "missed calls");
  EXPECT_EQ(FindNode(map, "owner:maria")["name"], "Maria");
  EXPECT_EQ(FindNode(map, "destination:crm")["kind"], "destination");
  EXPECT_EQ(FindNode(map, "alerts")["kind"], "alerts");
  EXPECT_TRUE(map["window"]["from"].is_null());
}

TEST(ContinuityMap, FirstContentFreeRouteHidesLaterOnesAndTheFallback) {
  Config c = MapTestConfig();
  RouteConfig urgent;
  urgent.name = "urgent";
  urgent.when_urgency = {"emergency"};  // depends on content: later routes still see the rest
  urgent.deliver = {"crm"};
  RouteConfig rest;
  rest.name = "rest";
  rest.fallback = true;
  rest.deliver = {"crm"};
  c.routes.insert(c.routes.begin(), urgent);
  c.routes.push_back(rest);
  // json gives no channel of its own here: the adapter's default says what it is.
  c.sources[2].channel = "";
  MapInputs in;
  in.adapter_channels = {{"json", Channel::kChat}};
  const nlohmann::json map = ContinuityMapJson(c, in);
  std::vector<std::pair<std::string, std::string>> from_sources;
  for (const nlohmann::json& e : map["edges"]) {
    if (e["kind"] == "inquiries") from_sources.emplace_back(e["from"], e["to"]);
  }
  EXPECT_EQ(from_sources, (std::vector<std::pair<std::string, std::string>>{
                              {"source:website", "route:urgent"},
                              {"source:website", "route:web"},
                              {"source:phone", "route:urgent"},
                              {"source:phone", "route:missed calls"},
                              {"source:chat", "route:urgent"},
                              {"source:chat", "route:rest"},
                          }));
  for (const nlohmann::json& n : map["nodes"]) EXPECT_NE(n["id"], "route:(none)");
}

TEST(ContinuityMap, SourceOfUnknownChannelReachesEveryChannelRoute) {
  Config c = MapTestConfig();
  c.sources[2].channel = "";  // json, and no adapter channels given
  const nlohmann::json map = ContinuityMapJson(c, {});
  FindEdge(map, "source:chat", "route:missed calls", "inquiries");
  FindEdge(map, "source:chat", "route:web", "inquiries");
  FindEdge(map, "source:chat", "route:(none)", "inquiries");
}

TEST(ContinuityMap, CountsDeliveriesWithRatioAndP95) {
  MapInputs in = MapWindow();
  const Micros confirm_after[] = {1 * kMicrosPerSecond, 2 * kMicrosPerSecond, 3 * kMicrosPerSecond};
  for (int i = 0; i < 3; ++i) {
    InquiryOutcome o = MapOutcome("w" + std::to_string(i), "website", "web");
    o.handoffs.push_back(
        MakeHandoff("h" + std::to_string(i), "crm", "deliver", "confirmed", confirm_after[i]));
    in.outcomes.push_back(o);
  }
  InquiryOutcome failing = MapOutcome("w3", "website", "web");
  failing.handoffs.push_back(MakeHandoff("h3", "crm", "deliver", "failed"));
  failing.handoffs.push_back(MakeHandoff("h4", "crm", "deliver", "pending"));
  in.outcomes.push_back(failing);

  const nlohmann::json map = ContinuityMapJson(MapTestConfig(), in);
  const nlohmann::json& e = FindEdge(map, "route:web", "destination:crm", "deliver");
  EXPECT_EQ(e["volume"], 5);
  EXPECT_EQ(e["confirmed"], 3);
  EXPECT_EQ(e["failed"], 1);
  EXPECT_EQ(e["dead"], 0);
  EXPECT_EQ(e["pending"], 1);
  EXPECT_DOUBLE_EQ(e["success_ratio"].get<double>(), 0.75);
  EXPECT_EQ(e["p95_ms"], 3000);  // nearest rank: the 3rd of 3
  EXPECT_EQ(e["open_leaks"], 0);
  EXPECT_EQ(e["health"], "degraded");  // 0.75 < 0.95
  EXPECT_EQ(FindNode(map, "destination:crm")["health"], "degraded");
  EXPECT_EQ(FindNode(map, "destination:crm")["volume"], 5);
  // The other route's edge to the same destination saw nothing.
  EXPECT_EQ(FindEdge(map, "route:missed calls", "destination:crm", "deliver")["health"], "idle");
}

TEST(ContinuityMap, HealthThresholds) {
  struct Case {
    int confirmed, dead;
    const char* health;
  };
  for (const Case& c : {Case{19, 1, "ok"}, Case{18, 2, "degraded"}, Case{1, 1, "degraded"},
                        Case{2, 3, "broken"}, Case{0, 0, "idle"}}) {
    MapInputs in = MapWindow();
    for (int i = 0; i < c.confirmed + c.dead; ++i) {
      InquiryOutcome o = MapOutcome("i" + std::to_string(i), "website", "web");
      o.handoffs.push_back(MakeHandoff("h" + std::to_string(i), "crm", "deliver",
                                       i < c.confirmed ? "confirmed" : "dead", kMicrosPerSecond));
      in.outcomes.push_back(o);
    }
    const nlohmann::json map = ContinuityMapJson(MapTestConfig(), in);
    EXPECT_EQ(FindEdge(map, "route:web", "destination:crm", "deliver")["health"], c.health)
        << c.confirmed << " confirmed, " << c.dead << " dead";
  }
}

TEST(ContinuityMap, CountsTasksAcknowledgedBeforeDue) {
  MapInputs in = MapWindow();
  in.until = kAt + 30 * kMicrosPerMinute;
  const Task tasks[] = {
      MakeTask("ana", kMicrosPerSecond, 2 * kMicrosPerMinute),   // on time
      MakeTask("ana", kMicrosPerSecond, 4 * kMicrosPerMinute),   // on time
      MakeTask("ana", kMicrosPerSecond, 12 * kMicrosPerMinute),  // late
      MakeTask("ana", kMicrosPerSecond, 0),                      // open, past due
      MakeTask("ben", 25 * kMicrosPerMinute, 0),                 // open, not due yet
  };
  for (size_t i = 0; i < std::size(tasks); ++i) {
    InquiryOutcome o = MapOutcome("c" + std::to_string(i), "phone", "missed calls");
    o.task = tasks[i];
    in.outcomes.push_back(o);
  }
  const nlohmann::json map = ContinuityMapJson(MapTestConfig(), in);
  const nlohmann::json& ana = FindEdge(map, "route:missed calls", "owner:ana", "task");
  EXPECT_EQ(ana["volume"], 4);
  EXPECT_EQ(ana["confirmed"], 2);
  EXPECT_EQ(ana["failed"], 2);
  EXPECT_EQ(ana["pending"], 0);
  EXPECT_DOUBLE_EQ(ana["success_ratio"].get<double>(), 0.5);
  EXPECT_EQ(ana["p95_ms"], 12 * 60'000);  // time to acknowledgement, nearest rank of 3
  EXPECT_EQ(ana["health"], "degraded");   // exactly 0.5 is not below it
  const nlohmann::json& ben = FindEdge(map, "route:missed calls", "owner:ben", "task");
  EXPECT_EQ(ben["volume"], 1);
  EXPECT_EQ(ben["pending"], 1);
  EXPECT_TRUE(ben["success_ratio"].is_null());
  EXPECT_TRUE(ben["p95_ms"].is_null());
  EXPECT_EQ(ben["health"], "ok");
  EXPECT_EQ(FindEdge(map, "route:missed calls", "owner:maria", "task")["health"], "idle");

  // Every inquiry got an owner: p95 from arrival to the task (nearest rank of 5: the 5th).
  const nlohmann::json& in_edge = FindEdge(map, "source:phone", "route:missed calls", "inquiries");
  EXPECT_EQ(in_edge["volume"], 5);
  EXPECT_EQ(in_edge["confirmed"], 5);
  EXPECT_DOUBLE_EQ(in_edge["success_ratio"].get<double>(), 1.0);
  EXPECT_EQ(in_edge["p95_ms"], 25 * 60'000);
  EXPECT_EQ(in_edge["health"], "ok");
  EXPECT_EQ(FindNode(map, "owner:ana")["volume"], 4);
  EXPECT_EQ(FindNode(map, "route:missed calls")["volume"], 5);
  EXPECT_EQ(FindNode(map, "route:missed calls")["health"], "degraded");
}

TEST(ContinuityMap, UnroutedInquiriesGoToRouteNoneAndBreakIt) {
  MapInputs in = MapWindow();
  InquiryOutcome unrouted = MapOutcome("u1", "chat", "");
  unrouted.status = "unrouted";
  in.outcomes.push_back(unrouted);
  // Never routed, long after alerts.unassigned.
  in.outcomes.push_back(MapOutcome("u2", "chat", ""));
  // Just arrived and still on its way: pending, not a failure.
  in.outcomes.push_back(MapOutcome("u3", "website", "", kMapUntil - kMicrosPerMinute));

  const nlohmann::json map = ContinuityMapJson(MapTestConfig(), in);
  const nlohmann::json& chat = FindEdge(map, "source:chat", "route:(none)", "inquiries");
  EXPECT_EQ(chat["volume"], 2);
  EXPECT_EQ(chat["confirmed"], 0);
  EXPECT_EQ(chat["failed"], 2);
  EXPECT_DOUBLE_EQ(chat["success_ratio"].get<double>(), 0.0);
  EXPECT_EQ(chat["health"], "broken");
  const nlohmann::json& web = FindEdge(map, "source:website", "route:(none)", "inquiries");
  EXPECT_EQ(web["volume"], 1);
  EXPECT_EQ(web["pending"], 1);
  EXPECT_EQ(web["health"], "ok");
  EXPECT_EQ(FindNode(map, "route:(none)")["health"], "broken");
  EXPECT_EQ(FindNode(map, "route:(none)")["volume"], 3);
  EXPECT_EQ(FindNode(map, "source:chat")["health"], "broken");
  EXPECT_EQ(FindEdge(map, "source:website", "route:web", "inquiries")["health"], "idle");
}

TEST(ContinuityMap, LeavesSyntheticInquiriesOut) {
  MapInputs in = MapWindow();
  InquiryOutcome probe = MapOutcome("probe", "website", "web");
  probe.synthetic = true;
  probe.task = MakeTask("ana", kMicrosPerSecond, kMicrosPerMinute);
  probe.handoffs.push_back(MakeHandoff("hp", "crm", "deliver", "dead"));
  in.outcomes.push_back(probe);
  Leak leak = MakeLeak("dead_handoff", "hp");
  leak.inquiry_id = "probe";
  leak.source = "website";
  leak.route = "web";
  leak.destination = "crm";
  in.open_leaks.push_back(leak);

  const nlohmann::json map = ContinuityMapJson(MapTestConfig(), in);
  for (const nlohmann::json& e : map["edges"]) {
    EXPECT_EQ(e["volume"], 0) << e.dump();
    EXPECT_EQ(e["open_leaks"], 0) << e.dump();
    EXPECT_EQ(e["health"], "idle") << e.dump();
  }
}

TEST(ContinuityMap, CountsOpenLeaksOnTheEdgesTheyConcern) {
  MapInputs in = MapWindow();
  in.until = kAt + 5 * kMicrosPerMinute;  // ben's task is not due yet
  InquiryOutcome call = MapOutcome("c1", "phone", "missed calls");
  call.task = MakeTask("ben", kMicrosPerSecond, 0);
  call.handoffs.push_back(MakeHandoff("d1", "crm", "deliver", "confirmed", kMicrosPerSecond));
  call.handoffs.push_back(MakeHandoff("n1", "slack", "notify", "pending"));
  in.outcomes.push_back(call);

  Leak unconfirmed = MakeLeak("unconfirmed_handoff", "n1");  // the notify, by its handoff id
  unconfirmed.inquiry_id = "c1";
  unconfirmed.source = "phone";
  unconfirmed.route = "missed calls";
  unconfirmed.destination = "slack";
  Leak overdue = MakeLeak("overdue_task", "t1");
  overdue.inquiry_id = "c1";
  overdue.source = "phone";
  overdue.route = "missed calls";
  overdue.owner = "ben";
  Leak old_dead = MakeLeak("dead_handoff", "older");  // an inquiry before the window
  old_dead.inquiry_id = "c0";
  old_dead.source = "website";
  old_dead.route = "web";
  old_dead.destination = "crm";
  Leak unassigned = MakeLeak("unassigned", "c9");
  unassigned.inquiry_id = "c9";
  unassigned.source = "chat";
  Leak silent = MakeLeak("silent_source", "website");
  silent.source = "website";
  in.open_leaks = {unconfirmed, overdue, old_dead, unassigned, silent};

  const nlohmann::json map = ContinuityMapJson(MapTestConfig(), in);
  const nlohmann::json& notify = FindEdge(map, "route:missed calls", "destination:slack", "notify");
  EXPECT_EQ(notify["open_leaks"], 1);
  EXPECT_EQ(notify["health"], "degraded");
  EXPECT_EQ(FindEdge(map, "route:missed calls", "destination:crm", "deliver")["health"], "ok");
  EXPECT_EQ(FindEdge(map, "route:missed calls", "destination:slack", "escalate")["open_leaks"], 0);
  const nlohmann::json& ben = FindEdge(map, "route:missed calls", "owner:ben", "task");
  EXPECT_EQ(ben["open_leaks"], 1);
  EXPECT_EQ(ben["health"], "degraded");
  const nlohmann::json& web_crm = FindEdge(map, "route:web", "destination:crm", "deliver");
  EXPECT_EQ(web_crm["volume"], 0);
  EXPECT_EQ(web_crm["open_leaks"], 1);
  EXPECT_EQ(web_crm["health"], "broken");  // dead, even with no traffic in the window
  const nlohmann::json& chat = FindEdge(map, "source:chat", "route:(none)", "inquiries");
  EXPECT_EQ(chat["open_leaks"], 1);
  EXPECT_EQ(chat["health"], "broken");

  const nlohmann::json& website = FindNode(map, "source:website");
  EXPECT_EQ(website["open_leaks"], 1);
  EXPECT_EQ(website["health"], "broken");
  EXPECT_EQ(FindEdge(map, "source:website", "route:web", "inquiries")["open_leaks"], 0);
  EXPECT_EQ(FindNode(map, "route:missed calls")["open_leaks"], 2);
  EXPECT_EQ(FindNode(map, "route:missed calls")["health"], "degraded");
  EXPECT_EQ(FindNode(map, "destination:crm")["open_leaks"], 1);
  EXPECT_EQ(FindNode(map, "destination:crm")["health"], "broken");
}

// A handoff leak names its handoff, whose purpose picks the edge: an escalation's leak is not
// drawn on the notify edge to the same destination.
TEST(ContinuityMap, AHandoffLeakSitsOnTheEdgeOfItsHandoffsPurpose) {
  MapInputs in = MapWindow();
  InquiryOutcome call = MapOutcome("c1", "phone", "missed calls");
  call.handoffs.push_back(MakeHandoff("n1", "slack", "notify", "confirmed", kMicrosPerSecond));
  call.handoffs.push_back(MakeHandoff("e1", "slack", "escalate", "pending"));
  in.outcomes.push_back(call);
  Leak late = MakeLeak("unconfirmed_handoff", "e1");
  late.inquiry_id = "c1";
  late.source = "phone";
  late.route = "missed calls";
  late.destination = "slack";
  in.open_leaks = {late};

  const nlohmann::json map = ContinuityMapJson(MapTestConfig(), in);
  EXPECT_EQ(FindEdge(map, "route:missed calls", "destination:slack", "escalate")["open_leaks"], 1);
  EXPECT_EQ(FindEdge(map, "route:missed calls", "destination:slack", "notify")["open_leaks"], 0);
}

TEST(ContinuityMap, AlertHandoffsFeedTheAlertsEdge) {
  MapInputs in = MapWindow();
  in.alert_handoffs = {MakeHandoff("a1", "slack", "alert", "confirmed", 500 * kMicrosPerMilli),
                       MakeHandoff("a2", "slack", "alert", "confirmed", 700 * kMicrosPerMilli)};
  const nlohmann::json map = ContinuityMapJson(MapTestConfig(), in);
  const nlohmann::json& e = FindEdge(map, "destination:slack", "alerts", "alert");
  EXPECT_EQ(e["volume"], 2);
  EXPECT_EQ(e["confirmed"], 2);
  EXPECT_EQ(e["p95_ms"], 700);
  EXPECT_EQ(e["health"], "ok");
  EXPECT_EQ(FindNode(map, "alerts")["health"], "ok");
  EXPECT_EQ(FindNode(map, "destination:slack")["volume"], 2);
  EXPECT_EQ(map["window"]["until"], "2027-01-16T08:00:00.000Z");
}

TEST(ContinuityMap, TextNamesEverySourceOneLinePerEdge) {
  Config c = MapTestConfig();
  c.routes[1].name = "web\nforms";  // a newline in a name stays on its line
  MapInputs in = MapWindow();
  InquiryOutcome o = MapOutcome("w1", "website", "web\nforms");
  o.task = MakeTask("ana", kMicrosPerSecond, kMicrosPerMinute);
  o.handoffs.push_back(MakeHandoff("h1", "crm", "deliver", "confirmed", 2 * kMicrosPerSecond));
  in.outcomes.push_back(o);
  const nlohmann::json map = ContinuityMapJson(c, in);
  const std::string text = MapText(map);
  for (const char* source : {"  website [", "  phone [", "  chat ["}) {
    EXPECT_NE(text.find(source), std::string::npos) << source << " in\n" << text;
  }
  for (const char* line :
       {"\n  website [ok]\n    -> route web forms: 1 inquiry: 1 owned (100%), p95 1.0s [ok]\n",
        "\n  web forms [ok]\n    -> owner ana: 1 task: 1 acknowledged on time (100%), p95 "
        "1m [ok]\n    -> destination crm (deliver): 1 handoff: 1 confirmed (100%), p95 2.0s "
        "[ok]\n",
        "\nAlerts\n  alerts [idle]\n    destination slack -> alerts (alert): no traffic "
        "[idle]\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " in\n" << text;
  }
  size_t edge_lines = 0;
  for (size_t at = text.find("    "); at != std::string::npos; at = text.find("\n    ", at + 1)) {
    ++edge_lines;
  }
  EXPECT_EQ(edge_lines, map["edges"].size()) << text;
}

// The unescaped '"' characters of a DOT line: an odd count would mean a string broke out.
int BareQuotes(const std::string& line) {
  int n = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\') {
      ++i;
    } else if (line[i] == '"') {
      ++n;
    }
  }
  return n;
}

TEST(ContinuityMap, DotEscapesHostileNames) {
  Config c = MapTestConfig();
  const std::string hostile = "a\" -> b [label=\"x";
  c.routes[1].name = hostile;
  c.sources[0].name = "back\\slash\\N\nline";
  MapInputs in = MapWindow();
  InquiryOutcome o = MapOutcome("w1", c.sources[0].name, hostile);
  o.handoffs.push_back(MakeHandoff("h1", "crm", "deliver", "dead"));
  in.outcomes.push_back(o);
  const std::string dot = MapDot(ContinuityMapJson(c, in));

  EXPECT_NE(dot.find("rankdir=LR;"), std::string::npos);
  EXPECT_NE(dot.find("a\\\" -> b [label=\\\"x"), std::string::npos) << dot;
  EXPECT_EQ(dot.find("a\" -> b"), std::string::npos) << dot;
  EXPECT_NE(dot.find("back\\\\slash\\\\N line"), std::string::npos) << dot;
  size_t lines = 0;
  size_t start = 0;
  for (size_t end = dot.find('\n'); end != std::string::npos; end = dot.find('\n', start)) {
    const std::string line = dot.substr(start, end - start);
    EXPECT_EQ(BareQuotes(line) % 2, 0) << line;
    start = end + 1;
    ++lines;
  }
  // Header lines, one per node, one per edge, and the closing brace: nothing was split.
  const nlohmann::json map = ContinuityMapJson(c, in);
  EXPECT_EQ(lines, 6 + map["nodes"].size() + map["edges"].size() + 1) << dot;
  // Colours by health: the dead delivery is red, the idle edges grey.
  EXPECT_NE(dot.find("color=\"#c62828\""), std::string::npos);
  EXPECT_NE(dot.find("color=\"#9e9e9e\""), std::string::npos);
}

}  // namespace
}  // namespace handoff
