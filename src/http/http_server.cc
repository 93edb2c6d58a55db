#include "http/http_server.h"

// <utility> first: Asio 1.74 relies on it being included before its own headers.
#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/ascii.h"
#include "core/check.h"
#include "core/thread_name.h"
#include "fmt/format.h"

namespace handoff {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Strand = net::strand<net::io_context::executor_type>;
// An accepted socket bound to its own strand, which then serialises the connection.
using StrandSocket = net::basic_stream_socket<tcp, Strand>;

// Socket reads ask for at least this much room so small requests need one read, and at most
// this much so one connection cannot grab a large block per read.
constexpr size_t kMinReadBytes = 4 * 1024;
constexpr size_t kMaxReadBytes = 64 * 1024;
// An idle keep-alive connection keeps at most this much read buffer between requests.
constexpr size_t kMaxIdleBufferBytes = 64 * 1024;
// How long a rejected request's remaining bytes are drained before closing (see Linger()).
constexpr Micros kMaxLingerMicros = 2 * kMicrosPerSecond;
// Pause before accepting again after an accept error such as EMFILE, so it does not spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
// Handler-supplied header fields longer than this are dropped rather than sent.
constexpr size_t kMaxResponseFieldBytes = 8 * 1024;

std::chrono::microseconds ToDuration(Micros micros) {
  return std::chrono::microseconds(std::max<Micros>(micros, 1));
}

std::string ToString(beast::string_view s) { return std::string(s.data(), s.size()); }

// RFC 9110 token characters, the only ones allowed in a field name.
bool IsFieldName(std::string_view name) {
  if (name.empty() || name.size() > kMaxResponseFieldBytes) return false;
  for (unsigned char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// A field value must not smuggle a line break (response splitting) or a NUL.
bool IsFieldValue(std::string_view value) {
  if (value.size() > kMaxResponseFieldBytes) return false;
  for (unsigned char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// The server owns message framing; a handler cannot override these.
bool IsFramingField(std::string name) {
  LowerAsciiInPlace(name);
  return name == "content-length" || name == "transfer-encoding" || name == "connection" ||
         name == "keep-alive" || name == "upgrade";
}

class Session;

// State shared by the server object, its connections and their responders. It owns the
// io_context, so a connection (or a responder kept by the application) never outlives the
// context its socket belongs to. Thread-safe.
class ServerCore {
 public:
  ServerCore(const HttpServerOptions& options, HttpHandler handler)
      : ioc(std::max(options.threads, 1)), options(options), handler(std::move(handler)) {}

  // Declared first so that it is destroyed last, after every socket and timer.
  net::io_context ioc;
  const HttpServerOptions options;
  // Reset by Stop() after the I/O threads are joined; never called after that.
  HttpHandler handler;

  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  void BeginStop() {
    std::lock_guard lock(mu_);
    stopping_.store(true, std::memory_order_release);
  }

  // Tracks a live connection so Stop() can reach it. False once stopping.
  bool Register(const std::shared_ptr<Session>& session, Session* key) {
    std::lock_guard lock(mu_);
    if (stopping()) return false;
    sessions_.emplace(key, session);
    return true;
  }

  void Unregister(Session* key) {
    std::lock_guard lock(mu_);
    sessions_.erase(key);
    if (sessions_.empty()) cv_.notify_all();
  }

  // The connections alive now. The caller must drop the result without holding any lock that
  // Unregister() needs.
  std::vector<std::shared_ptr<Session>> Sessions() {
    std::vector<std::shared_ptr<Session>> result;
    std::lock_guard lock(mu_);
    result.reserve(sessions_.size());
    for (auto& [key, weak] : sessions_) {
      if (auto session = weak.lock()) result.push_back(std::move(session));
    }
    return result;
  }

  // Waits until every connection is gone or the deadline passes.
  void WaitForNoSessions(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [this] { return sessions_.empty(); });
  }

  // Posts `fn` unless the server has finished stopping. Responders may run on any thread at any
  // time; once the I/O threads are gone a queued handler would never run and would keep its
  // connection (and through it this core) alive forever, so late ones are dropped instead.
  template <class Fn>
  void PostWhileRunning(const Strand& strand, Fn&& fn) {
    std::lock_guard lock(mu_);
    if (posts_closed_) return;
    net::post(strand, std::forward<Fn>(fn));
  }

  void ClosePosts() {
    std::lock_guard lock(mu_);
    posts_closed_ = true;
  }

 private:
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
  bool posts_closed_ = false;
};

// One accepted connection: reads a request, hands it to the handler, writes the response, and
// repeats while keep-alive holds. Everything except Deliver() runs on the connection's strand
// (or, for CloseNow(), when no I/O thread runs any more).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ServerCore> core, StrandSocket&& socket)
      : core_(std::move(core)), executor_(socket.get_executor()), stream_(std::move(socket)) {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = endpoint.address().to_string();
  }

  ~Session() { core_->Unregister(this); }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Called on the accepting thread before anything else touches the socket.
  void Start() {
    if (!core_->Register(shared_from_this(), this)) {
      beast::error_code ec;
      stream_.socket().close(ec);
      return;
    }
    net::dispatch(strand(), beast::bind_front_handler(&Session::BeginRequest, shared_from_this()));
  }

  const Strand& strand() { return executor_; }

  // Sends the handler's response. Any thread.
  void Deliver(HttpResponse response) {
    if (executor_.running_in_this_thread()) {
      OnResponse(std::move(response));
      return;
    }
    core_->PostWhileRunning(executor_,
                            [self = shared_from_this(), response = std::move(response)]() mutable {
                              self->OnResponse(std::move(response));
                            });
  }

  // The server is stopping: drop connections that have no request with the handler; finish
  // (then close) those that do.
  void OnStop() {
    switch (state_) {
      case State::kReading:
      case State::kLingering:
        Close();
        break;
      case State::kHandling:
      case State::kWriting:
        close_after_write_ = true;
        break;
      case State::kClosed:
        break;
    }
  }

  // Closes the socket from outside the strand; only valid once no I/O thread runs.
  void CloseNow() { Close(); }

 private:
  enum class State { kReading, kHandling, kWriting, kLingering, kClosed };

  void BeginRequest() {
    if (state_ == State::kClosed) return;
    if (core_->stopping()) return Close();
    state_ = State::kReading;
    const HttpServerOptions& options = core_->options;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(static_cast<std::uint64_t>(options.max_body_bytes));
    header_checked_ = false;
    if (buffer_.size() > 0) {
      // A pipelined request is already (partly) here.
      StartRequestDeadline();
      return Parse();
    }
    request_started_ = false;
    if (buffer_.capacity() > kMaxIdleBufferBytes) buffer_.shrink_to_fit();
    // A new connection must start its request within the read timeout; between keep-alive
    // requests the (longer) idle timeout applies until the first byte arrives.
    stream_.expires_after(ToDuration(first_request_ ? options.read_timeout : options.idle_timeout));
    first_request_ = false;
    Read();
  }

  // The whole request, however slowly it trickles in, must arrive within the read timeout.
  void StartRequestDeadline() {
    request_started_ = true;
    stream_.expires_after(ToDuration(core_->options.read_timeout));
  }

  void Read() {
    const size_t room = buffer_.capacity() - buffer_.size();
    const size_t size = std::clamp(room, kMinReadBytes, kMaxReadBytes);
    stream_.async_read_some(buffer_.prepare(size),
                            beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t bytes) {
    // EOF, reset, timeout or cancellation: there is nobody left to answer.
    if (ec || state_ != State::kReading || core_->stopping()) return Close();
    buffer_.commit(bytes);
    if (!request_started_) StartRequestDeadline();
    Parse();
  }

  void Parse() {
    for (;;) {
      if (buffer_.size() == 0) return Read();
      beast::error_code ec;
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) return Read();
      if (ec) return Reject(ec);
      if (!header_checked_ && parser_->is_header_done()) {
        header_checked_ = true;
        // The header was parsed alone so Expect could be seen; the body goes in one pass.
        parser_->eager(true);
        if (!parser_->is_done() && buffer_.size() == 0 && ExpectsContinue()) {
          return WriteContinue();
        }
      }
      if (parser_->is_done()) return Dispatch();
      if (used == 0) return Read();
    }
  }

  bool ExpectsContinue() {
    const auto& message = parser_->get();
    return message.version() >= 11 &&
           beast::iequals(message[http::field::expect], beast::string_view("100-continue"));
  }

  void WriteContinue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::const_buffer(kContinue.data(), kContinue.size()),
                     beast::bind_front_handler(&Session::OnContinueWritten, shared_from_this()));
  }

  void OnContinueWritten(beast::error_code ec, size_t) {
    if (ec || core_->stopping()) return Close();
    Read();
  }

  void Dispatch() {
    auto& message = parser_->get();
    HttpRequest request;
    request.method = ToString(message.method_string());
    request.target = ToString(message.target());
    if (size_t q = request.target.find('?'); q == std::string::npos) {
      request.path = request.target;
    } else {
      request.path = request.target.substr(0, q);
      request.query = request.target.substr(q + 1);
    }
    for (const auto& field : message) {
      std::string name = ToString(field.name_string());
      LowerAsciiInPlace(name);
      request.headers.emplace_back(std::move(name), ToString(field.value()));
    }
    request.body = std::move(message.body());
    request.remote_address = remote_address_;
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    head_ = message.method() == http::verb::head;
    parser_.reset();
    state_ = State::kHandling;

    auto responder = std::make_shared<ResponderState>(shared_from_this());
    try {
      core_->handler(std::move(request), [responder](HttpResponse response) {
        responder->Respond(std::move(response));
      });
    } catch (...) {
      // Handlers should not throw; if one does, the client still gets an answer. A no-op if
      // the handler already responded.
      responder->Respond(HttpResponse::JsonError(500, "internal", "internal server error"));
    }
  }

  // Answers malformed, oversized or unparsable requests, then closes: after a framing error
  // the rest of the byte stream cannot be trusted.
  void Reject(beast::error_code ec) {
    const HttpServerOptions& options = core_->options;
    HttpResponse response;
    if (ec == http::error::body_limit) {
      response = HttpResponse::JsonError(
          413, "body_too_large",
          fmt::format("the request body exceeds {} bytes", options.max_body_bytes));
    } else if (ec == http::error::header_limit) {
      response = HttpResponse::JsonError(
          431, "headers_too_large",
          fmt::format("the request header block exceeds {} bytes", options.max_header_bytes));
    } else {
      response = HttpResponse::JsonError(400, "bad_request",
                                         fmt::format("malformed HTTP request: {}", ec.message()));
    }
    parser_.reset();
    version_ = 11;
    keep_alive_ = false;
    head_ = false;
    linger_ = true;
    state_ = State::kHandling;
    OnResponse(std::move(response));
  }

  void OnResponse(HttpResponse response) {
    // Closed meanwhile (Stop() after its grace period, or a peer reset): nothing to write to.
    if (state_ != State::kHandling) return;
    state_ = State::kWriting;
    const bool keep_alive = keep_alive_ && !close_after_write_ && !core_->stopping();
    close_after_write_ = !keep_alive;
    try {
      BuildResponse(std::move(response), keep_alive);
    } catch (const std::exception&) {
      BuildResponse(HttpResponse::JsonError(500, "internal", "invalid response"), keep_alive);
    }
    stream_.expires_after(ToDuration(core_->options.idle_timeout));
    serializer_.emplace(response_);
    auto on_write = beast::bind_front_handler(&Session::OnWrite, shared_from_this());
    if (head_) {
      http::async_write_header(stream_, *serializer_, std::move(on_write));
    } else {
      http::async_write(stream_, *serializer_, std::move(on_write));
    }
  }

  void BuildResponse(HttpResponse response, bool keep_alive) {
    int status = response.status;
    // 1xx cannot be a final response, and Beast throws on codes above 999.
    if (status < 200 || status > 599) status = 500;
    response_ = {};
    response_.result(static_cast<unsigned>(status));
    response_.version(version_);
    response_.set(http::field::server, "handoff");
    const bool bodyless = status == 204 || status == 304;
    if (!bodyless && !response.content_type.empty() && IsFieldValue(response.content_type)) {
      response_.set(http::field::content_type, response.content_type);
    }
    for (const auto& [name, value] : response.headers) {
      if (IsFieldName(name) && IsFieldValue(value) && !IsFramingField(name)) {
        response_.insert(name, value);
      }
    }
    if (!bodyless) response_.body() = std::move(response.body);
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
  }

  void OnWrite(beast::error_code ec, size_t) {
    serializer_.reset();
    response_ = {};
    if (ec || state_ != State::kWriting) return Close();
    if (linger_) return Linger();
    if (close_after_write_ || core_->stopping()) return Close();
    BeginRequest();
  }

  // After answering a request we refuse to read, the client may still be sending its body.
  // Closing with unread bytes makes the kernel send RST, which can destroy the response before
  // the client reads it; so half-close and discard input for a bounded time first.
  void Linger() {
    state_ = State::kLingering;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    buffer_.clear();
    stream_.expires_after(ToDuration(std::min(core_->options.read_timeout, kMaxLingerMicros)));
    Drain();
  }

  void Drain() {
    stream_.async_read_some(buffer_.prepare(kMinReadBytes),
                            beast::bind_front_handler(&Session::OnDrain, shared_from_this()));
  }

  void OnDrain(beast::error_code ec, size_t) {
    if (ec || state_ != State::kLingering) return Close();
    Drain();
  }

  void Close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // Guards a handler's responder: the first call wins, later ones are ignored, and a responder
  // dropped without being called answers 500 so the connection is not stuck. Thread-safe.
  struct ResponderState {
    explicit ResponderState(std::shared_ptr<Session> session) : session(std::move(session)) {}
    ~ResponderState() {
      if (!used.load()) {
        session->Deliver(
            HttpResponse::JsonError(500, "internal", "the request handler did not respond"));
      }
    }
    void Respond(HttpResponse response) {
      if (used.exchange(true)) return;
      // Only the winning call touches `session`, and it releases it promptly so that a
      // responder copy kept by the application does not keep the connection alive.
      std::shared_ptr<Session> target = std::move(session);
      target->Deliver(std::move(response));
    }
    std::shared_ptr<Session> session;
    std::atomic<bool> used{false};
  };

  // Declared first so that it is released last: the socket must die before the io_context.
  std::shared_ptr<ServerCore> core_;
  Strand executor_;  // the socket's strand: all I/O completions run on it
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
  std::string remote_address_;
  State state_ = State::kReading;
  bool first_request_ = true;
  bool request_started_ = false;
  bool header_checked_ = false;
  bool keep_alive_ = false;
  bool close_after_write_ = false;
  bool linger_ = false;
  bool head_ = false;
  unsigned version_ = 11;
};

// Keeps the I/O threads alive if a handler throws something Asio lets escape from run().
void RunIoContext(net::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "handoff http: I/O thread recovered from exception: %s\n", e.what());
    }
  }
}

class BeastHttpServer final : public HttpServer {
 public:
  explicit BeastHttpServer(std::shared_ptr<ServerCore> core)
      : core_(std::move(core)),
        acceptor_(net::make_strand(core_->ioc)),
        accept_retry_(acceptor_.get_executor()) {}

  ~BeastHttpServer() override { Stop(0); }

  absl::Status Listen() {
    const HttpServerOptions& options = core_->options;
    beast::error_code ec;
    const auto address = net::ip::make_address(options.address, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          fmt::format("invalid listen address '{}': {}", options.address, ec.message()));
    }
    const tcp::endpoint endpoint(address, options.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) port_ = acceptor_.local_endpoint(ec).port();
    if (ec) {
      return absl::UnavailableError(
          fmt::format("cannot listen on {}:{}: {}", options.address, options.port, ec.message()));
    }
    return absl::OkStatus();
  }

  void Run() {
    work_.emplace(core_->ioc.get_executor());
    net::dispatch(acceptor_.get_executor(), [this] { Accept(); });
    const int threads = std::max(core_->options.threads, 1);
    threads_.reserve(threads);
    io_thread_ids_.reserve(threads);
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([core = core_] {
        NameThisThread(core->options.thread_name);
        RunIoContext(core->ioc);
      });
      io_thread_ids_.push_back(threads_.back().get_id());
    }
  }

  uint16_t port() const override { return port_; }

  void Stop(Micros grace) override {
    for (const std::thread::id id : io_thread_ids_) {
      // Joining would deadlock: a handler must never stop its own server.
      HANDOFF_CHECK(id != std::this_thread::get_id(), "Stop() called on an I/O thread");
    }
    std::lock_guard stop_lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(grace);

    core_->BeginStop();
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_retry_.cancel();
    });
    for (const auto& session : core_->Sessions()) {
      net::post(session->strand(), [session] { session->OnStop(); });
    }
    // Requests already with the handler may still be answered and written meanwhile.
    core_->WaitForNoSessions(deadline);

    core_->ClosePosts();
    work_.reset();
    core_->ioc.stop();
    for (auto& thread : threads_) thread.join();
    threads_.clear();

    // No I/O thread runs now, so sockets can be closed from here. Running the aborted
    // completions releases the connections they hold.
    beast::error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
    for (const auto& session : core_->Sessions()) session->CloseNow();
    try {
      core_->ioc.restart();
      core_->ioc.poll();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "handoff http: exception while stopping: %s\n", e.what());
    }
    core_->handler = nullptr;
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(core_->ioc),
                           beast::bind_front_handler(&BeastHttpServer::OnAccept, this));
  }

  void OnAccept(beast::error_code ec, StrandSocket socket) {
    if (core_->stopping() || !acceptor_.is_open()) return;
    if (ec) {
      accept_retry_.expires_after(kAcceptRetryDelay);
      accept_retry_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !core_->stopping()) Accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(core_, std::move(socket))->Start();
    Accept();
  }

  // Declared first so that it is released last (the acceptor and timer need its io_context).
  std::shared_ptr<ServerCore> core_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::vector<std::thread::id> io_thread_ids_;  // fixed once Run() returns
  uint16_t port_ = 0;
  std::mutex stop_mu_;
  bool stopped_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              HttpHandler handler) {
  if (!handler) return absl::InvalidArgumentError("HttpServer::Start needs a handler");
  if (options.max_header_bytes == 0 || options.read_timeout <= 0 || options.idle_timeout <= 0) {
    return absl::InvalidArgumentError(
        "max_header_bytes, read_timeout and idle_timeout must be positive");
  }
  try {
    auto server = std::make_unique<BeastHttpServer>(
        std::make_shared<ServerCore>(options, std::move(handler)));
    if (absl::Status status = server->Listen(); !status.ok()) return status;
    server->Run();
    return std::unique_ptr<HttpServer>(std::move(server));
  } catch (const std::exception& e) {
    // Asio reports resource exhaustion (no epoll fd, no thread) by throwing.
    return absl::UnavailableError(fmt::format("cannot start the HTTP server: {}", e.what()));
  }
}

}  // namespace handoff
