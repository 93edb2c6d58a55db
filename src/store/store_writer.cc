#include "store/store_writer.h"

#include <atomic>
#include <exception>
#include <utility>

#include "core/thread_priority.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace handoff {

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
