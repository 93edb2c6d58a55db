#include "http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "http/http_client.h"

namespace handoff {
namespace {

// A plain blocking TCP client, for what curl will not send: garbage, partial requests,
// pipelined or hand-chunked requests. A 10 s receive timeout only keeps a broken server from
// hanging the test; no assertion depends on it.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  struct Response {
    int status = 0;
    std::string head;  // status line and header lines, lowercased
    std::string body;
  };

  // Reads one response framed by Content-Length (or only its head, for a HEAD request);
  // nullopt if the connection ends first.
  std::optional<Response> ReadResponse(bool head_only = false) {
    size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    Response response;
    response.head = pending_.substr(0, end);
    for (char& c : response.head)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    pending_.erase(0, end + 4);
    response.status = std::stoi(response.head.substr(9, 3));
    size_t length = 0;
    if (head_only) return response;
    if (auto pos = response.head.find("content-length:"); pos != std::string::npos) {
      length = std::stoul(response.head.substr(pos + 15));
    }
    while (pending_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    response.body = pending_.substr(0, length);
    pending_.erase(0, length);
    return response;
  }

  // Reads and discards until the server closes the connection: true on EOF or reset, false if
  // the receive timeout expired first.
  bool WaitForClose() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

  // True if the server has closed (read returns 0 or reset) without waiting.
  bool ClosedNow() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool Fill() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

std::string Url(const HttpServer& server, std::string_view target) {
  return fmt::format("http://127.0.0.1:{}{}", server.port(), target);
}

std::unique_ptr<HttpServer> StartServer(HttpServerOptions options, HttpHandler handler) {
  auto server = HttpServer::Start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(server).value() : nullptr;
}

// Fetches with curl. (Designated initializers that omit fields trip g++ 12's
// -Wmissing-field-initializers, hence a function.)
absl::StatusOr<HttpClientResponse> Fetch(
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

std::string ErrorCode(const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.contains("error")) return "<not a JSON error: " + body + ">";
  return json["error"]["code"].get<std::string>();
}

// Responders handed over by a handler that defers its answer. Thread-safe.
class PendingResponders {
 public:
  void Push(HttpRequest request, HttpResponder respond) {
    std::lock_guard lock(mu_);
    items_.emplace_back(std::move(request), std::move(respond));
    cv_.notify_all();
  }
  std::pair<HttpRequest, HttpResponder> Pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !items_.empty(); });
    auto item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<HttpRequest, HttpResponder>> items_;
};

TEST(HttpServer, GetAndPostRoundTrip) {
  std::mutex mu;
  std::vector<HttpRequest> seen;
  auto server = StartServer({}, [&](HttpRequest&& request, HttpResponder respond) {
    HttpResponse response = HttpResponse::Json(202, R"({"ok":true})");
    response.headers.emplace_back("X-Echo-Method", request.method);
    {
      std::lock_guard lock(mu);
      seen.push_back(std::move(request));
    }
    respond(std::move(response));
  });
  ASSERT_NE(server, nullptr);

  auto get = Fetch("GET", Url(*server, "/items/7?x=1&y=two"), "",
                   {{"X-Trace", "abc"}, {"X-Multi", "1"}, {"x-multi", "2"}});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->status, 202);
  EXPECT_EQ(get->body, R"({"ok":true})");
  EXPECT_EQ(get->Header("content-type"), "application/json");
  EXPECT_EQ(get->Header("server"), "handoff");
  EXPECT_EQ(get->Header("content-length"), "11");
  EXPECT_EQ(get->Header("x-echo-method"), "GET");

  auto post = Fetch("POST", Url(*server, "/in/acme/form"), R"({"name":"Ada"})",
                    {{"Content-Type", "application/json"}});
  ASSERT_TRUE(post.ok()) << post.status();
  EXPECT_EQ(post->status, 202);
  EXPECT_EQ(post->Header("x-echo-method"), "POST");

  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 2u);
  const HttpRequest& g = seen[0];
  EXPECT_EQ(g.method, "GET");
  EXPECT_EQ(g.target, "/items/7?x=1&y=two");
  EXPECT_EQ(g.path, "/items/7");
  EXPECT_EQ(g.query, "x=1&y=two");
  EXPECT_EQ(g.Header("x-trace"), "abc");
  EXPECT_EQ(g.Header("X-Trace"), std::nullopt);  // lookups use lowercase names
  EXPECT_EQ(g.HeaderCount("x-multi"), 2);
  EXPECT_EQ(g.Header("x-multi"), "1");
  EXPECT_EQ(g.remote_address, "127.0.0.1");
  EXPECT_TRUE(g.body.empty());
  const HttpRequest& p = seen[1];
  EXPECT_EQ(p.method, "POST");
  EXPECT_EQ(p.path, "/in/acme/form");
  EXPECT_EQ(p.query, "");
  EXPECT_EQ(p.body, R"({"name":"Ada"})");
  EXPECT_EQ(p.Header("content-type"), "application/json");
}

TEST(HttpServer, HandlerRespondsLaterFromAnotherThread) {
  std::promise<void> handler_returned;
  HttpResponder saved;
  auto server = StartServer({}, [&](HttpRequest&&, HttpResponder respond) {
    struct SignalOnReturn {
      std::promise<void>& promise;
      ~SignalOnReturn() { promise.set_value(); }
    } signal{handler_returned};
    saved = std::move(respond);
  });
  ASSERT_NE(server, nullptr);

  std::thread responder([&] {
    handler_returned.get_future().wait();
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = "late answer";
    saved(std::move(response));
  });
  auto result = Fetch("GET", Url(*server, "/slow"));
  responder.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "late answer");
  EXPECT_EQ(result->Header("content-type"), "text/plain");
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = StartServer({}, [](HttpRequest&& request, HttpResponder respond) {
    respond(HttpResponse::Json(200, fmt::format(R"({{"path":"{}"}})", request.path)));
  });
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.connected());

  ASSERT_TRUE(client.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = client.ReadResponse();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body, R"({"path":"/a"})");
  EXPECT_EQ(first->head.find("connection: close"), std::string::npos);

  ASSERT_TRUE(client.Send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto second = client.ReadResponse();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body, R"({"path":"/b"})");

  // "Connection: close" is honoured after the response.
  ASSERT_TRUE(client.Send("GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto third = client.ReadResponse();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->body, R"({"path":"/c"})");
  EXPECT_NE(third->head.find("connection: close"), std::string::npos);
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServer, PipelinedRequestsAreHandledOneAtATimeInOrder) {
  PendingResponders pending;
  auto server = StartServer({}, [&](HttpRequest&& request, HttpResponder respond) {
    pending.Push(std::move(request), std::move(respond));
  });
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(
      client.Send("POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                  "GET /two HTTP/1.1\r\nHost: x\r\n\r\n"));

  auto [first_request, first_respond] = pending.Pop();
  EXPECT_EQ(first_request.path, "/one");
  EXPECT_EQ(first_request.body, "abc");
  first_respond(HttpResponse::Json(200, R"("one")"));
  auto [second_request, second_respond] = pending.Pop();
  EXPECT_EQ(second_request.path, "/two");
  second_respond(HttpResponse::Json(200, R"("two")"));

  auto first = client.ReadResponse();
  auto second = client.ReadResponse();
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(first->body, R"("one")");
  EXPECT_EQ(second->body, R"("two")");
}

TEST(HttpServer, ContentLengthBodyOverLimitGets413WithoutReachingHandler) {
  std::atomic<int> calls{0};
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer(options, [&](HttpRequest&&, HttpResponder respond) {
    ++calls;
    respond(HttpResponse::Json(200, "{}"));
  });
  ASSERT_NE(server, nullptr);

  auto at_limit = Fetch("POST", Url(*server, "/in"), std::string(1024, 'a'));
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();
  EXPECT_EQ(at_limit->status, 200);

  auto over = Fetch("POST", Url(*server, "/in"), std::string(64 * 1024, 'a'));
  ASSERT_TRUE(over.ok()) << over.status();
  EXPECT_EQ(over->status, 413);
  EXPECT_EQ(ErrorCode(over->body), "body_too_large");
  EXPECT_EQ(over->Header("content-type"), "application/json");

  // Refused from the announced length alone, before any body byte is sent.
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(ErrorCode(response->body), "body_too_large");
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(calls.load(), 1);
}

std::string Chunked(int chunks, size_t chunk_size) {
  std::string body;
  for (int i = 0; i < chunks; ++i) {
    body += fmt::format("{:x}\r\n{}\r\n", chunk_size, std::string(chunk_size, 'a' + i % 26));
  }
  return body + "0\r\n\r\n";
}

TEST(HttpServer, ChunkedBodiesAreAcceptedAndCappedByTheBodyLimit) {
  std::mutex mu;
  std::string seen_body;
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer(options, [&](HttpRequest&& request, HttpResponder respond) {
    std::lock_guard lock(mu);
    seen_body = request.body;
    respond(HttpResponse::Json(200, "{}"));
  });
  ASSERT_NE(server, nullptr);
  const std::string head = "POST /in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

  {
    RawClient client(server->port());
    ASSERT_TRUE(client.Send(head + Chunked(4, 256)));  // exactly the limit
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    std::lock_guard lock(mu);
    EXPECT_EQ(seen_body, std::string(256, 'a') + std::string(256, 'b') + std::string(256, 'c') +
                             std::string(256, 'd'));
  }
  {
    // Each chunk is small; their sum is not.
    RawClient client(server->port());
    ASSERT_TRUE(client.Send(head + Chunked(8, 256)));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 413);
    EXPECT_EQ(ErrorCode(response->body), "body_too_large");
    EXPECT_TRUE(client.WaitForClose());
  }
  {
    // One chunk announcing more than the limit is refused from its size line.
    RawClient client(server->port());
    ASSERT_TRUE(client.Send(head + "100000\r\n"));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 413);
  }
}

TEST(HttpServer, OversizedHeadersGet431) {
  std::atomic<int> calls{0};
  HttpServerOptions options;
  options.max_header_bytes = 4096;
  auto server = StartServer(options, [&](HttpRequest&&, HttpResponder respond) {
    ++calls;
    respond(HttpResponse::Json(200, "{}"));
  });
  ASSERT_NE(server, nullptr);
  auto result = Fetch("GET", Url(*server, "/"), "", {{"X-Big", std::string(8192, 'h')}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 431);
  EXPECT_EQ(ErrorCode(result->body), "headers_too_large");
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServer, MalformedRequestsGet400AndTheConnectionIsClosed) {
  std::atomic<int> calls{0};
  auto server = StartServer({}, [&](HttpRequest&&, HttpResponder respond) {
    ++calls;
    respond(HttpResponse::Json(200, "{}"));
  });
  ASSERT_NE(server, nullptr);
  const std::vector<std::string> garbage = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 22),
      "GET / HTTP/9.x\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
  };
  for (const std::string& bytes : garbage) {
    RawClient client(server->port());
    ASSERT_TRUE(client.Send(bytes));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.has_value()) << bytes;
    EXPECT_EQ(response->status, 400) << bytes;
    EXPECT_EQ(ErrorCode(response->body), "bad_request") << bytes;
    EXPECT_TRUE(client.WaitForClose()) << bytes;
  }
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServer, PartialRequestIsClosedAfterReadTimeout) {
  std::atomic<int> calls{0};
  HttpServerOptions options;
  options.read_timeout = 300 * kMicrosPerMilli;
  auto server = StartServer(options, [&](HttpRequest&&, HttpResponder respond) {
    ++calls;
    respond(HttpResponse::Json(200, "{}"));
  });
  ASSERT_NE(server, nullptr);

  RawClient partial(server->port());
  ASSERT_TRUE(partial.Send("POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(partial.WaitForClose());

  RawClient silent(server->port());  // connects and never sends anything
  EXPECT_TRUE(silent.WaitForClose());
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServer, TricklingRequestDoesNotExtendTheReadTimeout) {
  HttpServerOptions options;
  options.read_timeout = 300 * kMicrosPerMilli;
  auto server = StartServer(options, [](HttpRequest&&, HttpResponder respond) {
    respond(HttpResponse::Json(200, "{}"));
  });
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  // One header byte every 20 ms would take 80 s to finish this header; each byte arrives well
  // within the timeout, so only a whole-request deadline closes the connection.
  const std::string request = "GET / HTTP/1.1\r\nX-Slow: " + std::string(4000, 'z');
  bool closed = false;
  for (char c : request) {
    if (client.ClosedNow() || !client.Send(std::string_view(&c, 1))) {
      closed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(closed);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosed) {
  HttpServerOptions options;
  options.idle_timeout = 300 * kMicrosPerMilli;
  auto server = StartServer(options, [](HttpRequest&&, HttpResponder respond) {
    respond(HttpResponse::Json(200, "{}"));
  });
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServer, ExpectContinueGets100BeforeTheBody) {
  auto server = StartServer({}, [](HttpRequest&& request, HttpResponder respond) {
    respond(HttpResponse::Json(200, "\"" + request.body + "\""));
  });
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = client.ReadResponse();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("hello"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "\"hello\"");
}

TEST(HttpServer, HeadResponseHasLengthButNoBody) {
  auto server = StartServer({}, [](HttpRequest&& request, HttpResponder respond) {
    respond(HttpResponse::Json(200, request.method == "HEAD" ? "[1,2,3]" : "[]"));
  });
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = client.ReadResponse(/*head_only=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_NE(head->head.find("content-length: 7"), std::string::npos);
  // Had the HEAD body been sent, its bytes would now stand where this status line is.
  auto get = client.ReadResponse();
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "[]");
}

TEST(HttpServer, ResponseHeadersCannotBreakFraming) {
  auto server = StartServer({}, [](HttpRequest&&, HttpResponder respond) {
    HttpResponse response = HttpResponse::Json(200, "{}");
    response.headers = {{"X-Ok", "fine"},
                        {"X-Injected", "a\r\nSet-Cookie: evil=1"},
                        {"Bad Name", "x"},
                        {"Content-Length", "999"},
                        {"Transfer-Encoding", "chunked"}};
    respond(std::move(response));
  });
  ASSERT_NE(server, nullptr);
  auto result = Fetch("GET", Url(*server, "/"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->body, "{}");
  EXPECT_EQ(result->Header("x-ok"), "fine");
  EXPECT_EQ(result->Header("x-injected"), "");
  EXPECT_EQ(result->Header("set-cookie"), "");
  EXPECT_EQ(result->Header("content-length"), "2");
  EXPECT_EQ(result->Header("transfer-encoding"), "");
}

TEST(HttpServer, ResponderIsGuardedAgainstMisuse) {
  auto server = StartServer({}, [](HttpRequest&& request, HttpResponder respond) {
    if (request.path == "/twice") {
      respond(HttpResponse::Json(201, R"("first")"));
      respond(HttpResponse::Json(202, R"("second")"));
    } else if (request.path == "/dropped") {
      // Never calls respond.
    } else if (request.path == "/throws") {
      throw std::runtime_error("handler bug");
    } else {
      respond(HttpResponse::JsonError(404, "not_found", "no such path"));
    }
  });
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());  // one connection: each case must leave it usable
  for (const char* path : {"/twice", "/dropped", "/throws", "/other"}) {
    ASSERT_TRUE(client.Send(fmt::format("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", path)));
  }
  auto twice = client.ReadResponse();
  auto dropped = client.ReadResponse();
  auto threw = client.ReadResponse();
  auto other = client.ReadResponse();
  ASSERT_TRUE(twice && dropped && threw && other);
  EXPECT_EQ(twice->status, 201);
  EXPECT_EQ(twice->body, R"("first")");
  EXPECT_EQ(dropped->status, 500);
  EXPECT_EQ(ErrorCode(dropped->body), "internal");
  EXPECT_EQ(threw->status, 500);
  EXPECT_EQ(other->status, 404);
  EXPECT_EQ(ErrorCode(other->body), "not_found");
}

TEST(HttpServer, ManyConcurrentClientsAreAllAnsweredCorrectly) {
  HttpServerOptions options;
  options.threads = 4;
  auto server = StartServer(options, [](HttpRequest&& request, HttpResponder respond) {
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = request.path + ":" + request.body;
    respond(std::move(response));
  });
  ASSERT_NE(server, nullptr);
  constexpr int kThreads = 16;
  constexpr int kRequests = 50;
  std::atomic<int> correct{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kRequests; ++i) {
        const std::string body = fmt::format("body-{}-{}", t, i);
        auto result = Fetch("POST", Url(*server, fmt::format("/c/{}", t)), body);
        if (result.ok() && result->status == 200 &&
            result->body == fmt::format("/c/{}:{}", t, body)) {
          ++correct;
        }
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(correct.load(), kThreads * kRequests);
}

TEST(HttpServer, StopLetsPendingResponseBeWrittenWithinGrace) {
  PendingResponders pending;
  auto server = StartServer({}, [&](HttpRequest&& request, HttpResponder respond) {
    pending.Push(std::move(request), std::move(respond));
  });
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();

  std::promise<absl::StatusOr<HttpClientResponse>> fetched;
  std::thread client([&] { fetched.set_value(Fetch("GET", Url(*server, "/pending"))); });
  auto [request, respond] = pending.Pop();
  EXPECT_EQ(request.path, "/pending");

  std::thread stopper([&] { server->Stop(60 * kMicrosPerSecond); });
  // Once new connections are refused, Stop() is under way; only then answer.
  bool refused = false;
  for (int attempt = 0; attempt < 10000 && !refused; ++attempt) {
    RawClient probe(port);
    refused = !probe.connected();
    if (!refused) probe.WaitForClose();
  }
  EXPECT_TRUE(refused);
  respond(HttpResponse::Json(200, R"("made it")"));
  stopper.join();
  client.join();
  auto result = fetched.get_future().get();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, R"("made it")");
  EXPECT_EQ(result->Header("connection"), "close");
}

TEST(HttpServer, RespondersCalledAfterStopAreHarmless) {
  PendingResponders pending;
  auto server = StartServer({}, [&](HttpRequest&& request, HttpResponder respond) {
    pending.Push(std::move(request), std::move(respond));
  });
  ASSERT_NE(server, nullptr);

  std::promise<absl::StatusOr<HttpClientResponse>> first_result;
  std::promise<absl::StatusOr<HttpClientResponse>> second_result;
  std::thread first([&] { first_result.set_value(Fetch("GET", Url(*server, "/1"))); });
  std::thread second([&] { second_result.set_value(Fetch("GET", Url(*server, "/2"))); });
  auto one = pending.Pop();
  auto two = pending.Pop();

  server->Stop(0);
  // The clients were cut off: no response arrived within the (zero) grace.
  first.join();
  second.join();
  EXPECT_FALSE(first_result.get_future().get().ok());
  EXPECT_FALSE(second_result.get_future().get().ok());

  one.second(HttpResponse::Json(200, "{}"));  // after Stop
  server.reset();
  two.second(HttpResponse::Json(200, "{}"));  // after the server is destroyed
  two.second(HttpResponse::Json(200, "{}"));
}

TEST(HttpServer, StopIsIdempotentAndStartReportsBindErrors) {
  auto first = StartServer(
      {}, [](HttpRequest&&, HttpResponder respond) { respond(HttpResponse::Json(200, "{}")); });
  ASSERT_NE(first, nullptr);

  HttpServerOptions same_port;
  same_port.port = first->port();
  auto clash = HttpServer::Start(same_port, [](HttpRequest&&, HttpResponder) {});
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kUnavailable);

  HttpServerOptions bad_address;
  bad_address.address = "not-an-address";
  auto bad = HttpServer::Start(bad_address, [](HttpRequest&&, HttpResponder) {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);

  first->Stop(kMicrosPerSecond);
  first->Stop(kMicrosPerSecond);
  EXPECT_FALSE(Fetch("GET", Url(*first, "/")).ok());
}

TEST(HttpResponse, JsonErrorEscapesItsFields) {
  HttpResponse response = HttpResponse::JsonError(422, "bad\"code", "line\nbreak \xff");
  EXPECT_EQ(response.status, 422);
  EXPECT_EQ(response.content_type, "application/json");
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << response.body;
  EXPECT_EQ(json["error"]["code"], "bad\"code");
  EXPECT_EQ(json["error"]["message"], "line\nbreak \xef\xbf\xbd");
}

}  // namespace
}  // namespace handoff
