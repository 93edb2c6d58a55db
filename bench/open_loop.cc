#include "bench/open_loop.h"

#include <curl/curl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "bench/measure.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace handoff::bench {
namespace {

struct Request {
  CURL* easy = nullptr;
  Micros scheduled = 0;
  std::string body;
  std::string response;
};

size_t Collect(char* data, size_t size, size_t n, void* user) {
  auto* request = static_cast<Request*>(user);
  if (request->response.size() < 64 * 1024) request->response.append(data, size * n);
  return size * n;
}

struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// A timerfd closed on destruction. curl_multi_poll waits in whole milliseconds; arming this at
// the next send time and handing it to the poll wakes the loop on time without spinning.
// Not thread-safe.
class SendTimer {
 public:
  SendTimer() : fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {}
  ~SendTimer() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }
  // Fires at `at` on MonotonicMicros()'s clock (at once if that has passed).
  void ArmAt(Micros at) {
    itimerspec spec{};
    spec.it_value.tv_sec = at / kMicrosPerSecond;
    spec.it_value.tv_nsec = (at % kMicrosPerSecond) * 1000;
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
    timerfd_settime(fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }
  void Clear() {
    uint64_t expirations = 0;
    while (read(fd_, &expirations, sizeof expirations) > 0) {
    }
  }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<OpenLoopResult> RunOpenLoop(const OpenLoopOptions& options) {
  if (options.rate <= 0 || options.duration_s <= 0 || !options.body || options.urls.empty()) {
    return absl::InvalidArgumentError(
        "the open-loop generator needs a rate, a duration, a body and a URL");
  }
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  if (!multi) return absl::InternalError("curl_multi_init failed");
  // Keep every connection opened under a burst, so later sends reuse them instead of paying
  // a new TCP handshake.
  curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, 1024L);
  curl_slist* raw_headers = nullptr;
  for (const auto& h : options.headers) raw_headers = curl_slist_append(raw_headers, h.c_str());
  raw_headers = curl_slist_append(raw_headers, "Expect:");
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);

  OpenLoopResult result;
  const int64_t total = static_cast<int64_t>(options.rate * options.duration_s);
  const double interval = kMicrosPerSecond / options.rate;
  SendTimer timer;
  if (timer.fd() < 0) return absl::InternalError("timerfd_create failed");
  std::vector<CURL*> idle_handles;
  int in_flight = 0;
  int64_t next = 0;
  result.ack_latencies.reserve(static_cast<size_t>(total));
  result.sent_at.reserve(static_cast<size_t>(total));
  result.started = MonotonicMicros();
  auto scheduled = [&](int64_t n) {
    return result.started + static_cast<Micros>(static_cast<double>(n) * interval);
  };

  while (next < total || in_flight > 0) {
    Micros now = MonotonicMicros();
    while (next < total && scheduled(next) <= now) {
      auto request = std::make_unique<Request>();
      request->scheduled = scheduled(next);
      request->body = options.body(next);
      if (idle_handles.empty()) {
        request->easy = curl_easy_init();
        if (request->easy == nullptr) return absl::InternalError("curl_easy_init failed");
      } else {
        request->easy = idle_handles.back();
        idle_handles.pop_back();
        curl_easy_reset(request->easy);
      }
      CURL* e = request->easy;
      const std::string& url = options.urls[static_cast<size_t>(next) % options.urls.size()];
      curl_easy_setopt(e, CURLOPT_URL, url.c_str());
      curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, request->body.c_str());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(request->body.size()));
      curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, Collect);
      curl_easy_setopt(e, CURLOPT_WRITEDATA, request.get());
      curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout / 1000));
      curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(e, CURLOPT_PRIVATE, request.get());
      curl_multi_add_handle(multi.get(), e);
      result.max_send_lag = std::max(result.max_send_lag, now - request->scheduled);
      request.release();  // owned through CURLOPT_PRIVATE until it completes
      ++in_flight;
      ++next;
      ++result.sent;
    }
    result.max_in_flight = std::max(result.max_in_flight, in_flight);

    int running = 0;
    curl_multi_perform(multi.get(), &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Micros answered = MonotonicMicros();
      CURL* e = msg->easy_handle;
      CURLcode code = msg->data.result;
      Request* raw = nullptr;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, &raw);
      std::unique_ptr<Request> request(raw);
      long status = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      curl_multi_remove_handle(multi.get(), e);
      idle_handles.push_back(e);
      --in_flight;
      std::string id;
      if (code == CURLE_OK && status == 202) {
        try {
          id = nlohmann::json::parse(request->response).at("id").get<std::string>();
        } catch (const std::exception&) {
          id.clear();
        }
      }
      if (id.empty()) {
        ++result.failed;
        if (result.first_failure.empty()) {
          result.first_failure = code != CURLE_OK ? curl_easy_strerror(code)
                                                  : fmt::format("HTTP {}: {}", status,
                                                                request->response.substr(0, 200));
        }
        continue;
      }
      ++result.acked;
      result.ack_latencies.push_back(answered - request->scheduled);
      result.sent_at.emplace(std::move(id), request->scheduled);
    }

    if (next < total) {
      if (scheduled(next) <= MonotonicMicros()) continue;
      timer.ArmAt(scheduled(next));
      curl_waitfd wake{timer.fd(), CURL_WAIT_POLLIN, 0};
      curl_multi_poll(multi.get(), &wake, 1, 100, nullptr);
      timer.Clear();
    } else {
      curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
    }
  }
  result.ended = MonotonicMicros();
  for (CURL* e : idle_handles) curl_easy_cleanup(e);
  return result;
}

}  // namespace handoff::bench
