// The task endpoints (GET /api/v1/tasks, POST /api/v1/tasks/{id}/ack|done) and the one-click
// link page (/t/{token}), against a real SQLite store.
#include <future>

#include "api/api_handler.h"
#include "api/task_link_page.h"
#include "core/time_format.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr Micros kT0 = 1'773'498'725LL * kMicrosPerSecond;  // 2026-03-14T14:32:05Z
constexpr char kAdmin[] = "admin-token-0123456789";
constexpr char kTask[] = "01900000-0000-7000-8000-000000000001";
constexpr char kOther[] = "01900000-0000-7000-8000-000000000002";

class TasksApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "acme";
    config_.business.public_url = "https://hooks.acme.example/";
    config_.server.admin_token = kAdmin;
    config_.team = {TeamMember{"ana", "Ana Ortiz", "", "", "", 1},
                    TeamMember{"ben", "Ben Cho", "", "", "", 2}};
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    api_ = std::make_unique<ApiHandler>(&config_, store_.get(), &clock_,
                                        [] { return absl::OkStatus(); });
    page_ = std::make_unique<TaskLinkPage>(&config_, store_.get(), &clock_);
    Store("inq-1", kTask, "ana", "Call back <script>alert(1)</script>");
    Store("inq-2", kOther, "ben", "Reply to Lee");
  }
  void TearDown() override { store_->Shutdown(); }

  void Store(const std::string& inquiry_id, const std::string& task_id, const std::string& owner,
             const std::string& title) {
    Inquiry i;
    i.id = inquiry_id;
    i.workspace = "acme";
    i.source = "web";
    i.channel = Channel::kForm;
    i.received_at = kT0;
    i.normalized.name = "Dana <b>Reyes</b>";
    i.message = inquiry_id == "inq-1" ? "no hot water" : "leaking tap";
    Task t;
    t.id = task_id;
    t.workspace = "acme";
    t.inquiry_id = inquiry_id;
    t.route = "web";
    t.owner = owner;
    t.title = title;
    t.due_at = kT0 + 15 * kMicrosPerMinute;
    t.created_at = kT0;
    t.missing = {"contact.phone"};
    ASSERT_TRUE(store_
                    ->Write([&](WriteTx& tx) {
                      absl::Status s = tx.InsertInquiry(i);
                      return s.ok() ? tx.InsertTask(t) : s;
                    })
                    .ok());
  }

  HttpResponse Call(std::unique_ptr<ApiHandler>& api, const std::string& method,
                    const std::string& target,
                    std::vector<std::pair<std::string, std::string>> headers = {
                        {"authorization", std::string("Bearer ") + kAdmin}}) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    r.headers = std::move(headers);
    std::promise<HttpResponse> answered;
    api->Handle(std::move(r), [&](HttpResponse resp) { answered.set_value(resp); });
    return answered.get_future().get();
  }
  HttpResponse Api(const std::string& method, const std::string& target) {
    return Call(api_, method, target);
  }
  HttpResponse Link(const std::string& method, const std::string& path) {
    HttpRequest r;
    r.method = method;
    r.path = r.target = path;
    std::promise<HttpResponse> answered;
    page_->Handle(std::move(r), [&](HttpResponse resp) { answered.set_value(resp); });
    return answered.get_future().get();
  }
  std::vector<Event> EventsOf(const std::string& inquiry_id, const std::string& kind) {
    std::vector<Event> out;
    auto events = store_->ListEvents("acme", inquiry_id);
    for (const Event& e : *events) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }
  std::string LinkPath(const std::string& task_id) {
    std::string url = TaskLinkSigner::ForConfig(config_).Url(config_, task_id, clock_.Now());
    const std::string base = "https://hooks.acme.example/t/";
    EXPECT_EQ(url.rfind(base, 0), 0u) << url;
    return url.substr(base.size() - 3);
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  Config config_;
  std::unique_ptr<handoff::Store> store_;
  std::unique_ptr<ApiHandler> api_;
  std::unique_ptr<TaskLinkPage> page_;
};

TEST_F(TasksApiTest, ListsTasksByStateAndOwnerWithWhoTheyAreAbout) {
  HttpResponse r = Api("GET", "/api/v1/tasks");
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  ASSERT_EQ(body["tasks"].size(), 2u);
  r = Api("GET", "/api/v1/tasks?owner=ana");
  body = json::parse(r.body);
  ASSERT_EQ(body["tasks"].size(), 1u);
  EXPECT_EQ(body["tasks"][0]["id"], kTask);
  EXPECT_EQ(body["tasks"][0]["missing"], json({"contact.phone"}));
  EXPECT_EQ(body["tasks"][0]["inquiry"]["message"], "no hot water");
  body = json::parse(Api("GET", "/api/v1/tasks?owner=ben").body);
  ASSERT_EQ(body["tasks"].size(), 1u);
  EXPECT_EQ(body["tasks"][0]["inquiry"]["message"], "leaking tap");
  EXPECT_EQ(json::parse(Api("GET", "/api/v1/tasks?state=done").body)["tasks"].size(), 0u);
  EXPECT_EQ(json::parse(Api("GET", std::string("/api/v1/tasks/") + kTask).body)["owner"], "ana");

  EXPECT_EQ(Api("GET", "/api/v1/tasks?state=closed").status, 400);
  EXPECT_EQ(Api("GET", "/api/v1/tasks?owner=zed").status, 400);
  EXPECT_EQ(Api("GET", "/api/v1/tasks?sort=due").status, 400);
  EXPECT_EQ(Api("GET", "/api/v1/tasks/not-a-task").status, 404);
  EXPECT_EQ(Call(api_, "GET", "/api/v1/tasks", {}).status, 401);
}

TEST_F(TasksApiTest, AcknowledgeThenDoneEachOnceWithAJournalEntry) {
  clock_.Advance(3 * kMicrosPerMinute);
  HttpResponse r = Api("POST", std::string("/api/v1/tasks/") + kTask + "/ack");
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["changed"], true);
  EXPECT_EQ(body["task"]["state"], "acknowledged");
  EXPECT_EQ(body["task"]["acknowledged_at"], FormatRfc3339(clock_.Now()));
  auto acks = EventsOf("inq-1", "task.acknowledged");
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].detail["via"], "api");
  EXPECT_EQ(acks[0].detail["seconds_after_creation"], 180);
  EXPECT_EQ(acks[0].detail["before_due"], true);

  // Again: nothing changes and nothing more is journaled.
  body = json::parse(Api("POST", std::string("/api/v1/tasks/") + kTask + "/ack").body);
  EXPECT_EQ(body["changed"], false);
  EXPECT_EQ(EventsOf("inq-1", "task.acknowledged").size(), 1u);

  body = json::parse(Api("POST", std::string("/api/v1/tasks/") + kTask + "/done").body);
  EXPECT_EQ(body["changed"], true);
  EXPECT_EQ(body["task"]["state"], "done");
  EXPECT_EQ(EventsOf("inq-1", "task.done").size(), 1u);
  // Done cannot be undone by a late acknowledgement.
  body = json::parse(Api("POST", std::string("/api/v1/tasks/") + kTask + "/ack").body);
  EXPECT_EQ(body["task"]["state"], "done");

  // The CLI identifies itself.
  HttpResponse cli =
      Call(api_, "POST", std::string("/api/v1/tasks/") + kOther + "/done",
           {{"authorization", std::string("Bearer ") + kAdmin}, {"x-handoff-client", "cli"}});
  ASSERT_EQ(cli.status, 200);
  EXPECT_EQ(EventsOf("inq-2", "task.done")[0].detail["via"], "cli");
  // Finishing without acknowledging counts as acknowledged then.
  EXPECT_EQ(json::parse(cli.body)["task"]["acknowledged_at"], FormatRfc3339(clock_.Now()));

  EXPECT_EQ(Api("POST", "/api/v1/tasks/01900000-0000-7000-8000-0000000000ff/ack").status, 404);
  EXPECT_EQ(Api("POST", std::string("/api/v1/tasks/") + kTask + "/close").status, 404);
  EXPECT_EQ(Api("GET", std::string("/api/v1/tasks/") + kTask + "/ack").status, 405);
}

TEST_F(TasksApiTest, TheLinkShowsTheTaskEscapedAndOnlyItsButtonAcknowledges) {
  const std::string path = LinkPath(kTask);
  HttpResponse page = Link("GET", path);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("Call back &lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.body.find("Dana &lt;b&gt;Reyes&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("<form method=\"post\">"), std::string::npos);
  bool csp = false, no_referrer = false;
  for (const auto& [k, v] : page.headers) {
    csp = csp || (k == "Content-Security-Policy" && v.find("default-src 'none'") == 0);
    no_referrer = no_referrer || (k == "Referrer-Policy" && v == "no-referrer");
  }
  EXPECT_TRUE(csp);
  EXPECT_TRUE(no_referrer);
  // Fetching the page (as a link preview would) changed nothing.
  EXPECT_EQ(store_->GetTask("acme", kTask)->state, "open");

  HttpResponse done = Link("POST", path);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(store_->GetTask("acme", kTask)->state, "acknowledged");
  EXPECT_EQ(EventsOf("inq-1", "task.acknowledged")[0].detail["via"], "link");

  // Usable once.
  EXPECT_EQ(Link("GET", path).status, 409);
  EXPECT_EQ(Link("POST", path).status, 409);
  EXPECT_EQ(EventsOf("inq-1", "task.acknowledged").size(), 1u);
}

TEST_F(TasksApiTest, ForgedExpiredAndForeignLinksAreRefused) {
  std::string path = LinkPath(kOther);
  std::string forged = path;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Link("POST", forged).status, 404);
  EXPECT_EQ(Link("GET", "/t/").status, 404);
  EXPECT_EQ(Link("GET", "/t/no-dot-here").status, 404);

  // Signed for another workspace with the same key: not valid here.
  TaskLinkSigner signer = TaskLinkSigner::ForConfig(config_);
  EXPECT_EQ(Link("POST", "/t/" + signer.Sign("other", kOther, kT0 + kMicrosPerDay)).status, 404);

  clock_.Advance(TaskLinkSigner::kLifetime + kMicrosPerSecond);
  EXPECT_EQ(Link("POST", path).status, 410);
  EXPECT_EQ(store_->GetTask("acme", kOther)->state, "open");
  EXPECT_EQ(Link("DELETE", path).status, 405);
}

TEST(TaskLinkSigner, NeedsAKeyAndAPublicUrl) {
  Config c;
  c.workspace = "acme";
  EXPECT_FALSE(TaskLinkSigner::ForConfig(c).enabled());
  c.server.admin_token = kAdmin;
  EXPECT_TRUE(TaskLinkSigner::ForConfig(c).enabled());
  EXPECT_EQ(TaskLinkSigner::ForConfig(c).Url(c, kTask, kT0), "");  // no public_url
  c.business.public_url = "https://h.example";
  EXPECT_EQ(TaskLinkSigner::ForConfig(c).Url(c, kTask, kT0).rfind("https://h.example/t/", 0), 0u);
  // A different admin token signs differently: rotating it revokes every link.
  Config rotated = c;
  rotated.server.admin_token = "another-admin-token-0123";
  std::string token = TaskLinkSigner::ForConfig(c).Sign("acme", kTask, kT0 + kMicrosPerDay);
  EXPECT_TRUE(TaskLinkSigner::ForConfig(c).Verify(token, kT0).ok());
  EXPECT_TRUE(
      absl::IsPermissionDenied(TaskLinkSigner::ForConfig(rotated).Verify(token, kT0).status()));
  auto claims = TaskLinkSigner::ForConfig(c).Verify(token, kT0);
  EXPECT_EQ(claims->workspace, "acme");
  EXPECT_EQ(claims->task_id, kTask);
  EXPECT_EQ(claims->expires_at, kT0 + kMicrosPerDay);
}

}  // namespace
}  // namespace handoff
