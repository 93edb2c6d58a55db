// Every kind of bad input gets a clear status and JSON error naming the problem, is counted per
// source and reason, and neither crashes the server nor loses what it accepted before.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"
#include "tests/support/test_config.h"

namespace handoff::testing {
namespace {

using nlohmann::json;

struct BadRequest {
  const char* name;
  std::string path;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  int status;
  const char* code;
};

std::string Website() { return std::string("/in/website?key=") + kFormToken; }
std::vector<std::pair<std::string, std::string>> CallAuth() {
  return {{"X-Handoff-Token", kCallToken}};
}

std::vector<BadRequest> Cases() {
  std::string deep(10000, '[');     // under the body limit: the depth check must catch it
  std::string big(20 * 1024, 'a');  // over the calls source's 16KiB, under the server's 64KiB
  return {
      {"malformed json", "/in/calls", "application/json", "{\"caller\": ", CallAuth(), 400,
       "malformed_body"},
      {"json not an object", "/in/calls", "application/json", "[1,2]", CallAuth(), 400, nullptr},
      {"deeply nested json", "/in/calls", "application/json", deep, CallAuth(), 400, "too_deep"},
      {"invalid utf-8", "/in/calls", "application/json",
       "{\"caller\":\"+14155550100\",\"caller_name\":\"\xff\xfe\"}", CallAuth(), 400,
       "invalid_utf8"},
      {"wrong content type", "/in/calls", "text/plain", "caller=1", CallAuth(), 415,
       "unsupported_media_type"},
      {"missing content type", "/in/calls", "", "{}", CallAuth(), 415, "unsupported_media_type"},
      {"json to a form source",
       Website(),
       "application/json",
       "{\"details\":\"x\"}",
       {},
       415,
       "unsupported_media_type"},
      {"missing required field",
       Website(),
       "application/x-www-form-urlencoded",
       "full_name=Ana&email=a%40example.com",
       {},
       422,
       "missing_field"},
      {"nothing to act on", "/in/calls", "application/json", "{\"status\":\"no-answer\"}",
       CallAuth(), 422, "missing_field"},
      {"malformed urlencoding",
       Website(),
       "application/x-www-form-urlencoded",
       "details=%zz",
       {},
       400,
       "malformed_body"},
      {"multipart without boundary",
       Website(),
       "multipart/form-data",
       "--x--",
       {},
       400,
       "malformed_body"},
      {"body over the limit", "/in/calls", "application/json", "{\"caller\":\"" + big + "\"}",
       CallAuth(), 413, "body_too_large"},
      {"no token",
       "/in/calls",
       "application/json",
       "{\"caller\":\"+14155550100\"}",
       {},
       401,
       "bad_credentials"},
      {"wrong token",
       "/in/calls",
       "application/json",
       "{\"caller\":\"+14155550100\"}",
       {{"X-Handoff-Token", "not-the-token-0123456789"}},
       401,
       "bad_credentials"},
      {"wrong form key",
       "/in/website?key=nope-nope-nope-nope",
       "application/x-www-form-urlencoded",
       "details=x",
       {},
       401,
       "bad_credentials"},
      {"bad signature",
       "/in/chat",
       "application/json",
       "{\"message\":{\"text\":\"x\"}}",
       {{"X-Chat-Signature", "sha256=" + std::string(64, '0')}},
       401,
       "bad_credentials"},
      {"missing signature",
       "/in/chat",
       "application/json",
       "{\"message\":{\"text\":\"x\"}}",
       {},
       401,
       "bad_credentials"},
      {"unknown source", "/in/nope", "application/json", "{}", {}, 404, "unknown_source"},
      {"other workspace", "/in/other-ws/calls", "application/json", "{}", CallAuth(), 404,
       "unknown_source"},
  };
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.File("handoff.yaml"), TestConfig(sink_.url("/crm")));
    server_ = std::make_unique<ServerProcess>(dir_.File("handoff.yaml"), dir_.File("handoff.db"));
    server_->Start();
  }
  TempDir dir_;
  Sink sink_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(BadInputTest, EachProblemGetsItsStatusAndANamedJsonError) {
  // Something accepted before the attack must survive it.
  auto ok = server_->Post(Website(), "full_name=Ana&email=a%40example.com&details=Hi",
                          "application/x-www-form-urlencoded");
  ASSERT_EQ(ok.status, 202);
  std::string accepted_id = json::parse(ok.body)["id"];

  for (const BadRequest& c : Cases()) {
    SCOPED_TRACE(c.name);
    auto r = server_->Post(c.path, c.body, c.content_type, c.headers);
    EXPECT_EQ(r.status, c.status) << r.body;
    json body = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << r.body;
    ASSERT_TRUE(body.contains("error")) << r.body;
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
    if (c.code) {
      EXPECT_EQ(body["error"]["code"], c.code) << r.body;
    }
  }

  // Still up, and the earlier inquiry is intact and delivered.
  ASSERT_TRUE(Eventually([&] {
    auto r = server_->ApiGet("/api/v1/inquiries/" + accepted_id);
    return r.status == 200 && json::parse(r.body)["inquiry"]["status"] == "delivered";
  }));
  auto fine = server_->Post(Website(), "full_name=Bo&email=b%40example.com&details=Hi",
                            "application/x-www-form-urlencoded");
  EXPECT_EQ(fine.status, 202);

  // Rejections are counted per source and reason (unknown sources are not: their names are
  // the attacker's choice).
  json sources;
  ASSERT_TRUE(Eventually([&] {
    sources = json::parse(server_->ApiGet("/api/v1/sources").body);
    for (const auto& s : sources["sources"]) {
      if (s["name"] == "calls" && s["last_hour"]["rejected"] == 10) return true;
    }
    return false;
  })) << sources.dump(2);
  for (const auto& s : sources["sources"]) {
    const json& h = s["last_hour"];
    if (s["name"] == "calls") {
      EXPECT_EQ(h["rejected_by_reason"]["bad_credentials"], 2);
      EXPECT_EQ(h["rejected_by_reason"]["body_too_large"], 1);
      EXPECT_EQ(h["rejected_by_reason"]["too_deep"], 1);
      EXPECT_EQ(h["rejected_by_reason"]["unsupported_media_type"], 2);
    } else if (s["name"] == "website") {
      EXPECT_EQ(h["accepted"], 2);
      EXPECT_EQ(h["rejected"], 5);
      EXPECT_EQ(h["rejected_by_reason"]["missing_field"], 1);
      EXPECT_EQ(s["webhook_url"], "https://hooks.test.example/in/website");
      EXPECT_EQ(s["verification"], "token");
    } else if (s["name"] == "chat") {
      EXPECT_EQ(h["rejected_by_reason"]["bad_credentials"], 2);
      EXPECT_EQ(s["verification"], "hmac-sha256");
    }
  }
}

TEST_F(BadInputTest, GarbageAndOversizedHttpNeverTakeTheServerDown) {
  auto raw = [&](const std::string& bytes) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    std::string reply;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      (void)!write(fd, bytes.data(), bytes.size());
      shutdown(fd, SHUT_WR);
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return reply;
  };
  EXPECT_NE(raw("\x16\x03\x01 not http at all\r\n\r\n").find(" 400 "), std::string::npos);
  EXPECT_NE(
      raw("POST /in/calls HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n").find(" 413 "),
      std::string::npos);
  std::string many_headers = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  EXPECT_NE(raw(many_headers + "\r\n").find(" 431 "), std::string::npos);
  auto r = server_->Post(Website(), "full_name=Cy&email=c%40example.com&details=Hi",
                         "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 202);
}

}  // namespace
}  // namespace handoff::testing
