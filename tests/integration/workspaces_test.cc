// One deployment serving several workspaces from a directory of config files (the real binary,
// `handoff serve --workspaces DIR`): each file is a business with its own sources, tokens and
// data; files added, changed or removed are picked up without a restart; and a workspace's
// credentials never reach another workspace's records — every such request is answered exactly
// as a request for something that does not exist.
#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"
#include "tests/support/test_config.h"

namespace handoff::testing {
namespace {

using nlohmann::json;

std::string AdminToken(const std::string& workspace) {
  return fmt::format("admin-token-of-{}-0123456789", workspace);
}
std::string CallToken(const std::string& workspace) {
  return fmt::format("call-token-of-{}-0123456789", workspace);
}

// The test config as workspace `name`, with tokens of its own.
std::string WorkspaceConfig(const std::string& name, const Sink& sink) {
  std::string config = TestConfig(sink.url("/" + name), "[200ms, 200ms, 200ms]");
  config.replace(config.find("workspace: test-works"), 21, "workspace: " + name);
  config.replace(config.find("${HANDOFF_ADMIN_TOKEN}"), 22, AdminToken(name));
  config.replace(config.find(kCallToken), std::string(kCallToken).size(), CallToken(name));
  return config;
}

HttpClientResponse Call(const ServerProcess& server, const std::string& method,
                        const std::string& path, const std::string& body,
                        std::vector<std::pair<std::string, std::string>> headers) {
  HttpClientRequest req;
  req.method = method;
  req.url = server.base_url() + path;
  req.body = body;
  req.headers = std::move(headers);
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  auto resp = HttpFetch(req);
  if (!resp.ok()) return HttpClientResponse{0, {}, std::string(resp.status().message())};
  return *resp;
}

std::vector<std::pair<std::string, std::string>> Bearer(const std::string& workspace) {
  return {{"Authorization", "Bearer " + AdminToken(workspace)}};
}

HttpClientResponse PostCall(const ServerProcess& server, const std::string& workspace,
                            const std::string& call_id, const std::string& name = "Lead") {
  return Call(server, "POST", "/in/" + workspace + "/calls",
              json{{"call_id", call_id}, {"caller", "+14155550123"}, {"caller_name", name}}.dump(),
              {{"X-Handoff-Token", CallToken(workspace)}});
}

class WorkspacesTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directory(dir_.File("workspaces")); }
  std::string File(const std::string& name) { return dir_.File("workspaces/" + name); }
  void StartServer() {
    server_ = ServerProcess::ServingDirectory(
        dir_.File("workspaces"), "sqlite:" + dir_.File("handoff.db"), dir_.File("server"));
    server_->Start();
  }

  TempDir dir_;
  Sink sink_;
  std::unique_ptr<ServerProcess> server_;
};

// A directory's files have no say over the process (their server sections do not apply): the
// lease comes from --lease, or is the default.
TEST_F(WorkspacesTest, TheLeaseOfADirectoryOfWorkspacesComesFromTheFlag) {
  WriteFile(File("acme.yaml"), WorkspaceConfig("acme", sink_));
  server_ = ServerProcess::ServingDirectory(
      dir_.File("workspaces"), "sqlite:" + dir_.File("handoff.db"), dir_.File("server"));
  server_->set_extra_args({"--lease", "3s"});
  server_->Start();
  json ready = json::parse(Call(*server_, "GET", "/readyz", "", {}).body);
  EXPECT_EQ(ready["node"]["lease_seconds"], 3.0) << ready.dump();
  EXPECT_EQ(ready["workspaces"], 1);
}

TEST_F(WorkspacesTest, EachFileIsAWorkspaceAndChangesNeedNoRestart) {
  WriteFile(File("acme.yaml"), WorkspaceConfig("acme", sink_));
  WriteFile(File("bolt.yaml"), WorkspaceConfig("bolt", sink_));
  StartServer();

  ASSERT_EQ(PostCall(*server_, "acme", "a-1").status, 202);
  ASSERT_EQ(PostCall(*server_, "bolt", "b-1").status, 202);
  // The workspace is part of every source URL; another workspace's source token is refused.
  EXPECT_EQ(Call(*server_, "POST", "/in/calls", R"({"call_id":"x"})",
                 {{"X-Handoff-Token", CallToken("acme")}})
                .status,
            404);
  EXPECT_EQ(Call(*server_, "POST", "/in/bolt/calls", R"({"call_id":"x"})",
                 {{"X-Handoff-Token", CallToken("acme")}})
                .status,
            401);
  ASSERT_TRUE(sink_.WaitFor([](const auto& d) { return d.size() >= 2; }));
  for (const char* ws : {"acme", "bolt"}) {
    json list = json::parse(Call(*server_, "GET", "/api/v1/inquiries", "", Bearer(ws)).body);
    ASSERT_EQ(list["inquiries"].size(), 1u) << list.dump();
    EXPECT_EQ(list["inquiries"][0]["workspace"], ws);
  }
  // Deliveries went to each workspace's own destination.
  std::set<std::string> paths;
  for (const Sink::Delivery& d : sink_.deliveries()) paths.insert(d.path);
  EXPECT_EQ(paths, (std::set<std::string>{"/acme", "/bolt"}));

  // A new file is a new workspace, served while the others keep taking inquiries.
  WriteFile(File("cafe.yaml"), WorkspaceConfig("cafe", sink_));
  int accepted_meanwhile = 0;
  EXPECT_TRUE(Eventually([&] {
    accepted_meanwhile +=
        PostCall(*server_, "acme", fmt::format("a-{}", accepted_meanwhile + 2)).status == 202;
    return PostCall(*server_, "cafe", "c-1").status == 202;
  }));
  EXPECT_GT(accepted_meanwhile, 0);

  // A changed file replaces its workspace: bolt's new admin token works, the old one no more.
  std::string bolt = WorkspaceConfig("bolt", sink_);
  bolt.replace(bolt.find(AdminToken("bolt")), AdminToken("bolt").size(),
               "a-brand-new-admin-token-for-bolt");
  WriteFile(File("bolt.yaml"), bolt);
  EXPECT_TRUE(Eventually([&] {
    return Call(*server_, "GET", "/api/v1/inquiries", "",
                {{"Authorization", "Bearer a-brand-new-admin-token-for-bolt"}})
               .status == 200;
  }));
  EXPECT_EQ(Call(*server_, "GET", "/api/v1/inquiries", "", Bearer("bolt")).status, 401);

  // A broken file leaves what runs as it was, and says why in the log.
  WriteFile(File("acme.yaml"), "workspace: acme\nsources: [not, a, mapping\n");
  EXPECT_TRUE(
      Eventually([&] { return server_->Logs().find("acme.yaml not") != std::string::npos; }));
  EXPECT_EQ(PostCall(*server_, "acme", "a-after-break").status, 202);

  // A removed file stops its workspace.
  std::filesystem::remove(File("cafe.yaml"));
  EXPECT_TRUE(Eventually([&] { return PostCall(*server_, "cafe", "c-2").status == 404; }));
  EXPECT_EQ(PostCall(*server_, "bolt", "b-2").status, 202);
}

TEST_F(WorkspacesTest, ACredentialNeverReachesAnotherWorkspaceAndLooksLikeNotFound) {
  WriteFile(File("acme.yaml"), WorkspaceConfig("acme", sink_));
  WriteFile(File("bolt.yaml"), WorkspaceConfig("bolt", sink_));
  StartServer();
  constexpr int kEach = 20;
  for (int i = 0; i < kEach; ++i) {
    ASSERT_EQ(PostCall(*server_, "acme", fmt::format("a-{}", i), "Alice Acme").status, 202);
    ASSERT_EQ(PostCall(*server_, "bolt", fmt::format("b-{}", i), "Bob Bolt").status, 202);
  }
  ASSERT_TRUE(sink_.WaitFor([](const auto& d) { return d.size() >= 2 * kEach; }));

  // bolt's records, as bolt sees them.
  std::vector<std::string> inquiry_ids, task_ids, handoff_ids;
  json bolt_list =
      json::parse(Call(*server_, "GET", "/api/v1/inquiries?limit=100", "", Bearer("bolt")).body);
  for (const json& i : bolt_list["inquiries"]) {
    inquiry_ids.push_back(i["id"]);
    json full = json::parse(
        Call(*server_, "GET", "/api/v1/inquiries/" + inquiry_ids.back(), "", Bearer("bolt")).body);
    for (const json& t : full["tasks"]) task_ids.push_back(t["id"]);
    for (const json& h : full["handoffs"]) handoff_ids.push_back(h["id"]);
  }
  ASSERT_EQ(inquiry_ids.size(), static_cast<size_t>(kEach));
  ASSERT_EQ(task_ids.size(), static_cast<size_t>(kEach));
  ASSERT_EQ(handoff_ids.size(), static_cast<size_t>(kEach));

  // acme's credentials: its admin token, and a dashboard session signed in with it.
  HttpClientResponse signed_in =
      Call(*server_, "POST", "/api/v1/session", json{{"token", AdminToken("acme")}}.dump(), {});
  ASSERT_EQ(signed_in.status, 200) << signed_in.body;
  std::string cookie;
  for (const auto& [k, v] : signed_in.headers) {
    if (k == "set-cookie" || k == "Set-Cookie") cookie = v.substr(0, v.find(';'));
  }
  ASSERT_FALSE(cookie.empty());
  const std::string csrf = json::parse(signed_in.body)["csrf_token"];
  const std::vector<std::vector<std::pair<std::string, std::string>>> credentials = {
      Bearer("acme"), {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}};

  // Every request names one of bolt's ids; the same request with an id that exists nowhere
  // must get the very same answer (the id masked in the body).
  struct Probe {
    std::string method;
    std::string path;  // with {id}
    std::string body;  // with {id}
  };
  const std::vector<std::pair<std::vector<std::string>*, Probe>> probes = {
      {&inquiry_ids, {"GET", "/api/v1/inquiries/{id}", ""}},
      {&task_ids, {"GET", "/api/v1/tasks/{id}", ""}},
      {&task_ids, {"POST", "/api/v1/tasks/{id}/ack", "{}"}},
      {&task_ids, {"POST", "/api/v1/tasks/{id}/done", "{}"}},
      {&handoff_ids, {"POST", "/api/v1/handoffs/replay", R"({"handoff_id":"{id}"})"}},
      {&handoff_ids, {"POST", "/api/v1/inbox/{id}/done", "{}"}},
      {&inquiry_ids, {"GET", "/api/v1/inquiries.csv?q={id}", ""}},
  };
  auto fill = [](std::string s, const std::string& id) {
    for (size_t at; (at = s.find("{id}")) != std::string::npos;) s.replace(at, 4, id);
    return s;
  };
  auto masked = [](std::string body, const std::string& id) {
    for (size_t at; (at = body.find(id)) != std::string::npos;) body.replace(at, id.size(), "ID");
    return body;
  };
  std::mt19937 rng(7);
  int calls = 0;
  for (int round = 0; round < 4; ++round) {
    for (const auto& creds : credentials) {
      for (const auto& [ids, probe] : probes) {
        for (const std::string& id : *ids) {
          // An id of the same shape that exists in no workspace.
          std::string absent = id;
          std::shuffle(absent.begin() + 15, absent.end(), rng);
          const HttpClientResponse theirs =
              Call(*server_, probe.method, fill(probe.path, id), fill(probe.body, id), creds);
          const HttpClientResponse nothing = Call(*server_, probe.method, fill(probe.path, absent),
                                                  fill(probe.body, absent), creds);
          calls += 2;
          ASSERT_EQ(theirs.status, nothing.status) << probe.method << " " << probe.path;
          ASSERT_EQ(masked(theirs.body, id), masked(nothing.body, absent))
              << probe.method << " " << probe.path;
          ASSERT_EQ(theirs.body.find("Bob Bolt"), std::string::npos);
        }
      }
    }
  }
  // Listings, search and exports under acme's credentials show acme's records only.
  for (const auto& creds : credentials) {
    for (const char* path :
         {"/api/v1/inquiries?limit=100", "/api/v1/inquiries?q=bolt", "/api/v1/inquiries.csv",
          "/api/v1/tasks?state=all&limit=100", "/api/v1/handoffs?state=pending",
          "/api/v1/leaks?state=all", "/api/v1/scorecard", "/api/v1/map", "/metrics"}) {
      const HttpClientResponse r = Call(*server_, "GET", path, "", creds);
      ++calls;
      EXPECT_EQ(r.status, 200) << path;
      EXPECT_EQ(r.body.find("Bob Bolt"), std::string::npos) << path;
      for (const std::string& id : inquiry_ids) {
        ASSERT_EQ(r.body.find(id), std::string::npos) << path;
      }
    }
  }
  // bolt's records were not changed by any of it.
  for (const std::string& id : task_ids) {
    json task = json::parse(Call(*server_, "GET", "/api/v1/tasks/" + id, "", Bearer("bolt")).body);
    ASSERT_EQ(task["state"], "open") << task.dump();
  }
  std::cout << calls << " cross-workspace calls refused as not found\n";
  EXPECT_GE(calls, 1000);
}

}  // namespace
}  // namespace handoff::testing
