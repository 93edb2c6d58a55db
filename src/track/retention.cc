#include "track/retention.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/id.h"
#include "core/status.h"
#include "core/time_format.h"
#include "spdlog/spdlog.h"
#include "track/leak_monitor.h"

namespace handoff {

RetentionRunner::RetentionRunner(const Config* config, Store* store, const Clock* clock, int batch)
    : config_(config),
      store_(store),
      clock_(clock),
      batch_(std::max(batch, 1)),
      thread_("retention", [this] {
        const Micros every = config_->retention.every;
        // A node that is not the leader looks again soon, so a takeover sweeps without waiting
        // a whole period.
        if (duty_ != nullptr && !duty_->held()) return std::min(every, 10 * kMicrosPerSecond);
        absl::StatusOr<RetentionSweep> sweep = Sweep();
        if (!sweep.ok()) {
          spdlog::warn("retention: {}", std::string(sweep.status().message()));
        } else if (sweep->inquiries > 0) {
          spdlog::info("retention: deleted {} inquiries received before {}", sweep->inquiries,
                       FormatRfc3339(sweep->cutoff));
        }
        return every;
      }) {}

RetentionRunner::~RetentionRunner() { Stop(); }

void RetentionRunner::Start() {
  if (config_->retention.inquiries > 0) thread_.Start();
}

void RetentionRunner::Stop() { thread_.Stop(); }

absl::StatusOr<RetentionSweep> RetentionRunner::Sweep() {
  RetentionSweep sweep;
  if (config_->retention.inquiries <= 0) return sweep;
  const std::string& workspace = config_->workspace;
  const Micros now = clock_->Now();
  sweep.cutoff = now - config_->retention.inquiries;
  InquiryFilter old;
  old.received_until = sweep.cutoff;
  // Ids are UUIDv7 made at receipt: the id bound lets the store walk its id index from the
  // cutoff down instead of past every newer inquiry.
  old.before_id = UuidV7Floor(sweep.cutoff);
  old.limit = batch_;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<Inquiry> batch, store_->ListInquiries(workspace, old));
    if (batch.empty()) break;
    std::vector<std::string> ids;
    for (const Inquiry& i : batch) ids.push_back(i.id);
    RETURN_IF_ERROR(store_->Write(FencedByDuty(duty_, [&](WriteTx& tx) -> absl::Status {
      for (const std::string& id : ids) RETURN_IF_ERROR(tx.DeleteInquiry(workspace, id));
      return absl::OkStatus();
    })));
    sweep.inquiries += static_cast<int>(ids.size());
    if (static_cast<int>(batch.size()) < batch_) break;
  }
  // Entry counts hold no personal data, and the leak monitor reads a month of them to tell a
  // source that went silent: they are kept that long even under a shorter retention.
  const Micros counts_cutoff = std::min(sweep.cutoff, now - kLeakArrivalHorizon);
  RETURN_IF_ERROR(store_->Write(FencedByDuty(
      duty_, [&](WriteTx& tx) { return tx.DeleteEntryCountsBefore(workspace, counts_cutoff); })));
  return sweep;
}

}  // namespace handoff
