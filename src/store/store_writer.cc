#include "store/store_writer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <iterator>
#include <utility>

#include "core/thread_priority.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace handoff {

bool WriteQueue::Push(PendingWrite& w) {
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return false;
  const bool synced = w.durability == Durability::kSynced;
  queue_.push_back(std::move(w));
  if (synced) ++synced_queued_;
  // The writer sleeps on an empty queue, while deferred writes wait for a synced one (or for a
  // full batch), or while it gathers synced writes: only those arrivals must wake it.
  const bool full = queue_.size() >= max_batch_;
  const bool wake = queue_.size() == 1 || (riding_ && (synced || full)) ||
                    (gather_target_ > 0 && (synced_queued_ >= gather_target_ || full));
  lock.unlock();
  if (wake) cv_.notify_one();
  return true;
}

bool WriteQueue::Take(std::vector<PendingWrite>* batch,
                      std::shared_ptr<const WorkListener>* listener) {
  batch->clear();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !queue_.empty() || closed_; });
  if (queue_.empty()) return false;  // closed, and everything submitted was taken
  if (synced_queued_ == 0 && deferred_ride_ > 0 && !closed_ && queue_.size() < max_batch_) {
    riding_ = true;
    cv_.wait_for(lock, std::chrono::microseconds(deferred_ride_),
                 [this] { return synced_queued_ > 0 || closed_ || queue_.size() >= max_batch_; });
    riding_ = false;
  }
  const size_t target = std::min(last_synced_, max_batch_);
  if (gather_ > 0 && last_synced_ >= kLoadedBatch && synced_queued_ > 0 &&
      synced_queued_ < target && queue_.size() < max_batch_ && !closed_) {
    gather_target_ = target;
    cv_.wait_for(lock, std::chrono::microseconds(gather_), [this] {
      return synced_queued_ >= gather_target_ || queue_.size() >= max_batch_ || closed_;
    });
    gather_target_ = 0;
  }
  if (queue_.size() <= max_batch_) {
    batch->swap(queue_);
  } else {
    auto end = queue_.begin() + static_cast<std::ptrdiff_t>(max_batch_);
    batch->assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
    queue_.erase(queue_.begin(), end);
  }
  last_synced_ = 0;
  for (const PendingWrite& w : *batch) {
    if (w.durability == Durability::kSynced) ++last_synced_;
  }
  synced_queued_ -= last_synced_;
  *listener = listener_;
  return true;
}

void WriteQueue::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

void WriteQueue::SetListener(WorkListener listener) {
  auto shared = std::make_shared<const WorkListener>(std::move(listener));
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(shared);
}

std::shared_ptr<const WorkListener> WriteQueue::listener() const {
  std::lock_guard<std::mutex> lock(mu_);
  return listener_;
}

void RaiseWriterPriority() {
  absl::Status raised = SetCurrentThreadNice(kWriterNice);
  static std::atomic<bool> told{false};
  if (!raised.ok() && !told.exchange(true)) {
    spdlog::info(
        "store: the writer thread runs at normal priority ({}); allowing nice {} (CAP_SYS_NICE, "
        "or LimitNICE={} under systemd) lets it preempt the stage threads under load",
        std::string(raised.message()), kWriterNice, kWriterNice);
  }
}

absl::Status CallFn(const WriteFn& fn, WriteTx& tx) {
  if (!fn) return absl::InvalidArgumentError("empty write function");
  // An exception escaping onto the writer thread would end the process and every pending
  // write with it; it becomes this function's error instead.
  try {
    return fn(tx);
  } catch (const std::exception& e) {
    return absl::InternalError(fmt::format("the write function threw: {}", e.what()));
  } catch (...) {
    return absl::InternalError("the write function threw");
  }
}

void CallDone(const WriteDone& done, absl::Status status) {
  if (!done) return;
  try {
    done(std::move(status));
  } catch (const std::exception& e) {
    spdlog::error("store: a write's completion callback threw: {}", e.what());
  } catch (...) {
    spdlog::error("store: a write's completion callback threw");
  }
}

void TellListener(const WorkListener* listener, uint32_t stages) {
  if (listener == nullptr || !*listener) return;
  for (Stage stage : kAllStages) {
    if ((stages & StageBit(stage)) == 0) continue;
    try {
      (*listener)(stage);
    } catch (...) {
      spdlog::error("store: the work listener threw");
    }
  }
}

}  // namespace handoff
