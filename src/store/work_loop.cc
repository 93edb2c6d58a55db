#include "store/work_loop.h"

#include <chrono>
#include <vector>

#include "core/thread_name.h"
#include "spdlog/spdlog.h"

namespace handoff {

WorkLoop::WorkLoop(std::string name, Stage stage, Store* store, const Clock* clock,
                   Processor processor, WorkLoopOptions options)
    : name_(std::move(name)),
      stage_(stage),
      store_(store),
      clock_(clock),
      processor_(std::move(processor)),
      options_(options) {}

WorkLoop::~WorkLoop() { Stop(); }

void WorkLoop::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void WorkLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WorkLoop::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void WorkLoop::Run() {
  NameThisThread("work-" + name_);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }
    int claimed = RunBatch();
    if (claimed >= options_.batch) continue;  // more may be waiting right now

    Micros wait = options_.idle_poll;
    auto next = store_->NextAvailable(stage_, options_.workspace);
    if (next.ok() && next->has_value()) {
      Micros until = **next - clock_->Now();
      // Work that is due but still leased elsewhere shows as "now": keep polling gently.
      if (until > 0 && until < wait) wait = until;
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::microseconds(wait), [this] { return woken_ || stopping_; });
  }
}

int WorkLoop::RunBatch() {
  Micros now = clock_->Now();
  auto items = store_->ClaimWork(stage_, options_.batch, now, options_.lease, options_.workspace);
  if (!items.ok()) {
    spdlog::error("{}: claiming work failed: {}", name_, std::string(items.status().message()));
    return 0;
  }
  if (items->empty()) return 0;

  // Submit every item's write, then wait for all of them: the writer commits them together
  // (with whatever ingest arrived meanwhile) in one transaction.
  std::mutex done_mu;
  std::condition_variable done_cv;
  size_t pending = 0;
  for (const WorkItem& item : *items) {
    auto write = processor_(item);
    if (!write.ok()) {
      failed_.fetch_add(1);
      spdlog::warn("{}: inquiry {} failed, retrying later: {}", name_, item.inquiry_id,
                   std::string(write.status().message()));
      (void)store_->ReleaseWork(item, now + options_.retry_delay);
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(done_mu);
      ++pending;
    }
    store_->SubmitWrite(
        std::move(*write),
        [&, item](absl::Status s) {
          if (s.ok()) {
            processed_.fetch_add(1);
            if (options_.on_committed) {
              options_.on_committed(stage_, clock_->Now() - item.available_at);
            }
          } else {
            failed_.fetch_add(1);
            spdlog::warn("{}: committing inquiry {} failed, retrying later: {}", name_,
                         item.inquiry_id, std::string(s.message()));
            (void)store_->ReleaseWork(item, clock_->Now() + options_.retry_delay);
          }
          std::lock_guard<std::mutex> lock(done_mu);
          if (--pending == 0) done_cv.notify_all();
        },
        options_.durability);
  }
  std::unique_lock<std::mutex> lock(done_mu);
  done_cv.wait(lock, [&] { return pending == 0; });
  return static_cast<int>(items->size());
}

}  // namespace handoff
