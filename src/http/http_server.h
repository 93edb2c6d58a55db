// The HTTP/1.1 server (Boost.Beast) that serves ingress, the API and the dashboard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "http/http_types.h"

namespace handoff {

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0 = pick a free port (see HttpServer::port())
  int threads = 1;    // I/O threads
  // Bodies above this are answered 413 with a JSON error without reaching the handler.
  size_t max_body_bytes = 256 * 1024;
  size_t max_header_bytes = 16 * 1024;  // larger header blocks get 431
  // A whole request must arrive within this, counted from its first byte (or from the
  // connection for a first request); otherwise the connection is closed (slowloris).
  Micros read_timeout = 15 * kMicrosPerSecond;
  // Keep-alive connections idle longer are closed; also bounds writing one response.
  Micros idle_timeout = 60 * kMicrosPerSecond;
  std::string thread_name = "http-io";  // the I/O threads' name for the OS (core/thread_name.h)
};

// Accepts connections, parses requests, calls the handler, writes its response. Keep-alive and
// pipelining-safe (one request in flight per connection). Malformed HTTP gets 400; oversized
// bodies 413; oversized headers 431; all with a JSON body. Thread-safe.
class HttpServer {
 public:
  // Binds and starts serving on background threads. Fails if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           HttpHandler handler);
  virtual ~HttpServer() = default;

  // The bound port (useful when options.port was 0).
  virtual uint16_t port() const = 0;

  // Stops accepting new connections; waits up to `grace` for requests already handed to the
  // handler to be answered and written, then closes every connection and joins the threads.
  // Idempotent; the destructor calls Stop(0). Must not be called from a handler.
  virtual void Stop(Micros grace) = 0;
};

}  // namespace handoff
