#include "http/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "http/http_server.h"

namespace handoff {
namespace {

// A loopback TCP socket bound to a free port; listening only if asked. Connections to a bound
// but non-listening port are refused; connections to a listening socket that never accepts
// complete (the kernel queues them) but nobody ever answers.
class LoopbackSocket {
 public:
  explicit LoopbackSocket(bool listen) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    socklen_t len = sizeof(addr);
    ok_ = ok_ && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    if (listen) ok_ = ok_ && ::listen(fd_, 16) == 0;
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackSocket() { ::close(fd_); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  bool ok() const { return ok_; }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
  uint16_t port_ = 0;
};

// Fetches with curl. (Designated initializers that omit fields trip g++ 12's
// -Wmissing-field-initializers, hence a function.)
absl::StatusOr<HttpClientResponse> ClientFetch(
    std::string method, std::string url, std::string body = "",
    std::vector<std::pair<std::string, std::string>> headers = {},
    Micros timeout = 10 * kMicrosPerSecond) {
  HttpClientRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  request.body = std::move(body);
  request.headers = std::move(headers);
  request.timeout = timeout;
  return HttpFetch(request);
}

TEST(HttpFetch, CollectsStatusHeadersAndBody) {
  std::mutex mu;
  HttpRequest seen;
  auto server = HttpServer::Start({}, [&](HttpRequest&& request, HttpResponder respond) {
    {
      std::lock_guard lock(mu);
      seen = request;
    }
    HttpResponse response;
    response.status = 201;
    response.content_type = "text/plain; charset=utf-8";
    response.headers = {{"X-Custom", "Value 1"}, {"X-Repeated", "a"}, {"X-Repeated", "b"}};
    response.body = "created: " + request.body;
    respond(std::move(response));
  });
  ASSERT_TRUE(server.ok()) << server.status();

  auto result = ClientFetch("PUT", fmt::format("http://127.0.0.1:{}/things/1", (*server)->port()),
                            "thing", {{"X-Request", "yes"}, {"Content-Type", "text/plain"}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 201);
  EXPECT_EQ(result->body, "created: thing");
  EXPECT_EQ(result->Header("x-custom"), "Value 1");
  EXPECT_EQ(result->Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(result->Header("X-Custom"), "");  // names are stored lowercased
  EXPECT_EQ(result->Header("absent"), "");
  int repeated = 0;
  for (const auto& [name, value] : result->headers) repeated += name == "x-repeated";
  EXPECT_EQ(repeated, 2);

  std::lock_guard lock(mu);
  EXPECT_EQ(seen.method, "PUT");
  EXPECT_EQ(seen.path, "/things/1");
  EXPECT_EQ(seen.body, "thing");
  EXPECT_EQ(seen.Header("x-request"), "yes");
  EXPECT_EQ(seen.Header("expect"), std::nullopt);  // the body is sent without waiting
}

TEST(HttpFetch, SendsMethodsWithoutBodies) {
  std::mutex mu;
  std::vector<std::string> methods;
  auto server = HttpServer::Start({}, [&](HttpRequest&& request, HttpResponder respond) {
    {
      std::lock_guard lock(mu);
      methods.push_back(request.method + ":" + request.body);
    }
    respond(HttpResponse::Json(200, "{}"));
  });
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string url = fmt::format("http://127.0.0.1:{}/", (*server)->port());
  for (const char* method : {"GET", "DELETE", "POST", "HEAD"}) {
    auto result = ClientFetch(method, url);
    ASSERT_TRUE(result.ok()) << method << ": " << result.status();
    EXPECT_EQ(result->status, 200) << method;
  }
  std::lock_guard lock(mu);
  EXPECT_EQ(methods, (std::vector<std::string>{"GET:", "DELETE:", "POST:", "HEAD:"}));
}

TEST(HttpFetch, DoesNotFollowRedirects) {
  std::atomic<int> calls{0};
  auto server = HttpServer::Start({}, [&](HttpRequest&&, HttpResponder respond) {
    ++calls;
    HttpResponse response;
    response.status = 302;
    response.content_type = "text/plain";
    response.headers = {{"Location", "/elsewhere"}};
    response.body = "moved";
    respond(std::move(response));
  });
  ASSERT_TRUE(server.ok()) << server.status();
  auto result = ClientFetch("GET", fmt::format("http://127.0.0.1:{}/start", (*server)->port()));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 302);
  EXPECT_EQ(result->Header("location"), "/elsewhere");
  EXPECT_EQ(result->body, "moved");
  EXPECT_EQ(calls.load(), 1);
}

TEST(HttpFetch, ConnectionRefusedIsUnavailable) {
  LoopbackSocket closed_port(/*listen=*/false);
  ASSERT_TRUE(closed_port.ok());
  auto result = ClientFetch("GET", fmt::format("http://127.0.0.1:{}/", closed_port.port()));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
}

TEST(HttpFetch, TimeoutIsHonoured) {
  LoopbackSocket silent(/*listen=*/true);
  ASSERT_TRUE(silent.ok());
  auto result = ClientFetch("GET", fmt::format("http://127.0.0.1:{}/", silent.port()), "", {},
                            300 * kMicrosPerMilli);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
}

TEST(HttpFetch, RejectsNonHttpUrls) {
  EXPECT_EQ(ClientFetch("GET", "file:///etc/passwd").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ClientFetch("GET", "http://[::1").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HttpFetch, ACheckedAddressCanRefuseTheConnection) {
  std::atomic<int> calls{0};
  auto server = HttpServer::Start({}, [&](HttpRequest&&, HttpResponder respond) {
    ++calls;
    respond(HttpResponse::Json(200, "{}"));
  });
  ASSERT_TRUE(server.ok()) << server.status();
  HttpClientRequest request;
  request.url = fmt::format("http://127.0.0.1:{}/", (*server)->port());
  int checked = 0;
  request.check_address = [&](const sockaddr* address, socklen_t) {
    ++checked;
    EXPECT_EQ(address->sa_family, AF_INET);
    return absl::PermissionDeniedError("loopback refused");
  };
  auto refused = HttpFetch(request);
  EXPECT_TRUE(absl::IsPermissionDenied(refused.status())) << refused.status();
  EXPECT_GE(checked, 1);
  EXPECT_EQ(calls.load(), 0);

  request.check_address = [](const sockaddr*, socklen_t) { return absl::OkStatus(); };
  auto allowed = HttpFetch(request);
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace handoff
