#include "bench/delivery_sink.h"

#include <chrono>

#include "bench/measure.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace handoff::bench {

absl::StatusOr<std::unique_ptr<DeliverySink>> DeliverySink::Start() {
  std::unique_ptr<DeliverySink> sink(new DeliverySink());
  HttpServerOptions options;
  options.port = 0;
  options.threads = 1;
  DeliverySink* raw = sink.get();
  auto server = HttpServer::Start(options, [raw](HttpRequest&& request, HttpResponder respond) {
    raw->OnDelivery(request, MonotonicMicros(), respond);
  });
  if (!server.ok()) return server.status();
  sink->server_ = std::move(*server);
  return sink;
}

DeliverySink::~DeliverySink() {
  if (server_) server_->Stop(kMicrosPerSecond);
}

std::string DeliverySink::url() const {
  return fmt::format("http://127.0.0.1:{}/hook", server_->port());
}

void DeliverySink::OnDelivery(const HttpRequest& request, Micros arrived, HttpResponder& respond) {
  std::string id;
  try {
    auto body = nlohmann::json::parse(request.body);
    id = body.at("inquiry").at("id").get<std::string>();
  } catch (const std::exception&) {
    id.clear();
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (id.empty()) {
    ++malformed_;
    lock.unlock();
    respond(HttpResponse::JsonError(400, "bad_delivery", "no inquiry.id in the body"));
    return;
  }
  auto [it, inserted] = arrivals_.emplace(std::move(id), arrived);
  if (inserted) {
    last_first_delivery_ = std::max(last_first_delivery_, arrived);
  } else {
    ++duplicates_;
  }
  lock.unlock();
  if (inserted) arrived_.notify_all();
  respond(HttpResponse::Json(200, R"({"id":"sink"})"));
}

void DeliverySink::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  arrivals_.clear();
  duplicates_ = 0;
  malformed_ = 0;
  last_first_delivery_ = 0;
}

int64_t DeliverySink::distinct() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(arrivals_.size());
}

int64_t DeliverySink::duplicates() const {
  std::lock_guard<std::mutex> lock(mu_);
  return duplicates_;
}

int64_t DeliverySink::malformed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return malformed_;
}

Micros DeliverySink::last_first_delivery() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_first_delivery_;
}

std::unordered_map<std::string, Micros> DeliverySink::arrivals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return arrivals_;
}

std::optional<Micros> DeliverySink::WaitForArrival(const std::string& inquiry_id,
                                                   Micros timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  std::optional<Micros> at;
  arrived_.wait_for(lock, std::chrono::microseconds(timeout), [&] {
    auto it = arrivals_.find(inquiry_id);
    if (it != arrivals_.end()) at = it->second;
    return at.has_value();
  });
  return at;
}

}  // namespace handoff::bench
