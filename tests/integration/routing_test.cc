// The real binary on loopback: context and ownership across channels (one contact, one history,
// the right owner), and escalation when nobody acknowledges, through notifications delivered to
// a real HTTP sink and the one-click link they carry.
#include <algorithm>
#include <set>
#include <thread>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"
#include "tests/support/test_config.h"

namespace handoff::testing {
namespace {

using nlohmann::json;

// Always open (no hours): availability never decides here. The chat route notifies the team and
// escalates quickly so a test can watch the whole chain.
std::string RoutingConfig(const std::string& crm_url, const std::string& chat_url) {
  return fmt::format(R"(workspace: routing-works
business:
  name: Routing Works
  timezone: Europe/Berlin
  region: US
  public_url: https://hooks.routing.example
server:
  admin_token: ${{HANDOFF_ADMIN_TOKEN}}
team:
  - {{ id: ana, name: Ana Ortiz, skills: [water-heater] }}
  - {{ id: ben, name: Ben Cho, skills: [drains] }}
  - {{ id: maria, name: Maria Lopez, role: manager, on_call: true }}
enrich:
  intents:
    - {{ service: water-heater, match: '(?i)water heater|hot water', value: 900 }}
    - {{ service: drains, match: '(?i)drain|clog', value: 250 }}
  urgency:
    - {{ level: emergency, match: '(?i)flood|burst' }}
sources:
  website:
    adapter: form
    token: {form}
    token_query: key
    map: {{ name: full_name, email: email, phone: phone, message: details }}
  calls:
    adapter: json
    channel: call
    token: {call}
    map: {{ phone: caller, name: caller_name, event_id: call_id }}
  chat:
    adapter: json
    channel: chat
    signature: {{ secret: {chat}, header: X-Chat-Signature, encoding: hex, prefix: "sha256=" }}
    map: {{ name: visitor.name, email: visitor.email, message: message.text, event_id: message.id }}
destinations:
  crm:
    connector: webhook
    url: {crm}
    secret: {secret}
    allow_private: true
  team-chat:
    connector: webhook
    url: {chat_url}
    secret: {secret}
    allow_private: true
routes:
  - name: emergencies
    when: {{ urgency: emergency }}
    assign: {{ strategy: on_call }}
    task: {{ title: "EMERGENCY: {{{{contact.name}}}}", due: 5m }}
    notify: [{{ via: team-chat, to: owner }}]
    escalate:
      - {{ after: 1s, notify: ana }}
      - {{ after: 2s, reassign: ben }}
      - {{ after: 3s, notify: owner }}
    deliver: [crm]
  - name: calls
    when: {{ channel: call }}
    assign: {{ strategy: round_robin, pool: [ana, ben], sticky: true }}
    task: {{ title: "Call back {{{{contact.name}}}}", due: 10m }}
    deliver: [crm]
  - name: leads
    when: {{ channel: [form, chat] }}
    require: [contact.phone|contact.email, message]
    assign: {{ strategy: by_skill, pool: [ana, ben], sticky: true }}
    task: {{ title: "Reply to {{{{contact.name}}}} about {{{{intent.service}}}}", due: 15m }}
    deliver: [crm]
  - name: rest
    fallback: true
    assign: maria
    task: {{ title: "Triage", due: 1h }}
    deliver: [crm]
)",
                     fmt::arg("form", kFormToken), fmt::arg("call", kCallToken),
                     fmt::arg("chat", kChatSecret), fmt::arg("crm", crm_url),
                     fmt::arg("chat_url", chat_url), fmt::arg("secret", kHookSecret));
}

class RoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.File("handoff.yaml"), RoutingConfig(sink_.url("/crm"), sink_.url("/chat")));
    server_ = std::make_unique<ServerProcess>(dir_.File("handoff.yaml"), dir_.File("handoff.db"));
    server_->Start();
  }

  std::string Accepted(const HttpClientResponse& r) {
    EXPECT_EQ(r.status, 202) << r.body;
    return json::parse(r.body, nullptr, false).value("id", "");
  }
  std::string PostForm(const std::string& body) {
    return Accepted(server_->Post(std::string("/in/website?key=") + kFormToken, body,
                                  "application/x-www-form-urlencoded"));
  }
  std::string PostCall(const json& body) {
    return Accepted(server_->Post("/in/calls", body.dump(), "application/json",
                                  {{"X-Handoff-Token", kCallToken}}));
  }
  std::string PostChat(const json& body) {
    const std::string text = body.dump();
    return Accepted(server_->Post("/in/chat", text, "application/json",
                                  {{"X-Chat-Signature", "sha256=" + HmacHex(kChatSecret, text)}}));
  }
  json Show(const std::string& id) {
    auto r = server_->ApiGet("/api/v1/inquiries/" + id);
    return r.status == 200 ? json::parse(r.body, nullptr, false) : json();
  }
  // Waits until the inquiry's timeline has an event of `kind`; returns its last view.
  json WaitForEvent(const std::string& id, const std::string& kind) {
    json last;
    Eventually([&] {
      last = Show(id);
      if (!last.is_object()) return false;
      for (const auto& e : last["timeline"]["events"]) {
        if (e["kind"] == kind) return true;
      }
      return false;
    });
    return last;
  }
  static json Event(const json& shown, const std::string& kind, int nth = 0) {
    for (const auto& e : shown["timeline"]["events"]) {
      if (e["kind"] == kind && nth-- == 0) return e;
    }
    return json();
  }
  std::vector<json> Notices(const std::string& inquiry_id) {
    std::vector<json> out;
    for (const auto& d : sink_.deliveries()) {
      if (d.path != "/chat") continue;
      json payload = json::parse(d.body, nullptr, false);
      if (payload["inquiry"]["id"] == inquiry_id) out.push_back(payload);
    }
    return out;
  }

  TempDir dir_;
  Sink sink_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(RoutingTest, ThreeChannelsFromOnePersonAreOneContactWithOneHistoryAndOneOwner) {
  // A form about a water heater: by skill, Ana.
  std::string form = PostForm(
      "full_name=Dana+Reyes&email=dana%40example.com&phone=%28415%29+555-0142"
      "&details=No+hot+water+since+this+morning");
  json a = WaitForEvent(form, "routed");
  ASSERT_TRUE(a.is_object()) << server_->Logs();
  EXPECT_EQ(a["inquiry"]["fields"]["intent"], "water-heater");
  EXPECT_EQ(a["inquiry"]["fields"]["contact_status"], "new");
  EXPECT_EQ(a["tasks"][0]["owner"], "ana");
  EXPECT_EQ(a["tasks"][0]["title"], "Reply to Dana Reyes about water-heater");

  // She calls (a missed call carries only her number): round robin would give Ben the first
  // slot, but she is returning and Ana owned her last inquiry.
  std::string call = PostCall({{"call_id", "CA-dana-1"}, {"caller", "+14155550142"}});
  json b = WaitForEvent(call, "routed");
  EXPECT_EQ(b["inquiry"]["contact_id"], a["inquiry"]["contact_id"]);
  EXPECT_EQ(b["inquiry"]["fields"]["contact_status"], "returning");
  EXPECT_EQ(b["tasks"][0]["owner"], "ana");
  EXPECT_EQ(Event(b, "routed")["detail"]["owner"]["reason"],
            "sticky: owned the contact's last inquiry");
  EXPECT_EQ(b["tasks"][0]["title"], "Call back Dana Reyes");

  // Then she writes in the chat about a drain (Ben's skill) — still Ana's customer.
  std::string chat = PostChat({{"visitor", {{"name", "Dana Reyes"}, {"email", "DANA@example.com"}}},
                               {"message", {{"id", "m-1"}, {"text", "Also the drain is slow"}}}});
  json c = WaitForEvent(chat, "routed");
  EXPECT_EQ(c["inquiry"]["contact_id"], a["inquiry"]["contact_id"]);
  EXPECT_EQ(c["tasks"][0]["owner"], "ana");
  const json& history = c["inquiry"]["fields"]["history"];
  EXPECT_EQ(history["earlier"], 2);
  EXPECT_EQ(history["last_inquiry_id"], call);
  EXPECT_EQ(history["last_owner"], "ana");
  EXPECT_EQ(history["last_channel"], "call");
  EXPECT_NE(history["text"].get<std::string>().find("returning: 2 earlier inquiries"),
            std::string::npos);
  EXPECT_NE(history["text"].get<std::string>().find("with Ana Ortiz"), std::string::npos);

  // One contact, holding all three.
  auto list = json::parse(server_->ApiGet("/api/v1/inquiries").body);
  std::set<std::string> contacts;
  for (const auto& i : list["inquiries"]) contacts.insert(i["contact_id"].get<std::string>());
  EXPECT_EQ(contacts.size(), 1u);

  // A form that says nothing reachable lists what to ask for.
  std::string vague = PostForm("full_name=Lee&details=");
  json v = WaitForEvent(vague, "routed");
  EXPECT_EQ(v["tasks"][0]["missing"], json({"contact.phone|contact.email", "message"}));
}

TEST_F(RoutingTest, NobodyAcknowledgesAndTheEscalationChainRunsToItsEnd) {
  std::string id = PostForm(
      "full_name=Tom+Becker&phone=415+555+0123&details=Basement+is+flooding%2C+pipe+burst");
  json shown = WaitForEvent(id, "escalation.ended");
  ASSERT_TRUE(shown.is_object()) << server_->Logs();
  EXPECT_EQ(shown["inquiry"]["fields"]["urgency"], "emergency");
  const json& task = shown["tasks"][0];
  EXPECT_EQ(task["state"], "open");
  EXPECT_EQ(task["owner"], "ben");  // reassigned by step 2
  EXPECT_EQ(task["escalation_step"], 3);
  json first = Event(shown, "escalation.step", 0);
  json second = Event(shown, "escalation.step", 1);
  json third = Event(shown, "escalation.step", 2);
  EXPECT_EQ(first["detail"]["notify"]["to"], "ana");
  EXPECT_EQ(second["detail"]["reassign"], json({{"from", "maria"}, {"to", "ben"}}));
  EXPECT_EQ(third["detail"]["notify"]["to"], "ben");
  EXPECT_EQ(Event(shown, "escalation.ended")["detail"]["steps"], 3);

  // The team chat got the routing notice (for the on-call owner) and two escalation notices,
  // each with the recipient and the link that acknowledges the task.
  ASSERT_TRUE(sink_.WaitFor([&](const auto&) { return Notices(id).size() >= 3; }));
  std::vector<json> notices = Notices(id);
  ASSERT_EQ(notices.size(), 3u);
  std::vector<std::string> types, recipients;
  for (const json& n : notices) {
    types.push_back(n["type"]);
    recipients.push_back(n["recipient"]["id"]);
    EXPECT_EQ(n["ack_url"].get<std::string>().rfind("https://hooks.routing.example/t/", 0), 0u);
  }
  std::sort(recipients.begin(), recipients.end());
  EXPECT_EQ(recipients, (std::vector<std::string>{"ana", "ben", "maria"}));
  EXPECT_EQ(std::count(types.begin(), types.end(), "inquiry.escalate"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "inquiry.notify"), 1);
}

TEST_F(RoutingTest, TheOneClickLinkAcknowledgesAndStopsTheChain) {
  std::string id = PostForm("full_name=Kim&phone=415+555+0188&details=Water+everywhere%2C+flood");
  ASSERT_TRUE(sink_.WaitFor([&](const auto&) { return !Notices(id).empty(); }));
  const std::string url = Notices(id)[0]["ack_url"];
  const std::string path = url.substr(std::string("https://hooks.routing.example").size());

  auto page = server_->Post(path, "", "application/x-www-form-urlencoded");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("Acknowledged"), std::string::npos);
  auto again = server_->Post(path, "", "application/x-www-form-urlencoded");
  EXPECT_EQ(again.status, 409);

  json shown = WaitForEvent(id, "task.acknowledged");
  const json ack = Event(shown, "task.acknowledged");
  EXPECT_EQ(ack["detail"]["via"], "link");
  // Wait past the whole chain (3 s), then check that no step ran after the acknowledgement
  // (a slow machine may have run some steps before it).
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  shown = Show(id);
  EXPECT_EQ(shown["tasks"][0]["state"], "acknowledged");
  // (escalation.ended included: had the chain run on, its last events would come after.)
  for (const auto& e : shown["timeline"]["events"]) {
    if (e["kind"].get<std::string>().rfind("escalation.", 0) == 0) {
      EXPECT_LT(e["seq"], ack["seq"]) << e.dump();
    }
  }
}

TEST_F(RoutingTest, TasksAreListedAndAcknowledgedFromTheCli) {
  std::string id = PostCall({{"call_id", "CA-77"}, {"caller", "+14155550177"}});
  json shown = WaitForEvent(id, "routed");
  const std::string task = shown["tasks"][0]["id"];
  const std::vector<std::string> api = {"--url", server_->base_url(), "--token", kAdminToken};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), api.begin(), api.end());
    return args;
  };
  CommandResult listed = RunHandoff(with({"tasks"}));
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(task), std::string::npos) << listed.out;
  CommandResult acked = RunHandoff(with({"tasks", "ack", task}));
  ASSERT_EQ(acked.exit_code, 0) << acked.err;
  EXPECT_NE(acked.out.find("is now acknowledged"), std::string::npos) << acked.out;
  EXPECT_EQ(Event(WaitForEvent(id, "task.acknowledged"), "task.acknowledged")["detail"]["via"],
            "cli");
  CommandResult none = RunHandoff(with({"tasks"}));
  EXPECT_EQ(none.out.find(task), std::string::npos);  // no longer open
  CommandResult bad = RunHandoff(with({"tasks", "done", "01900000-0000-7000-8000-0000000000ff"}));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("no such task"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace handoff::testing
