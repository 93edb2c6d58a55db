#include "transfer/replay.h"

#include <utility>

#include "core/status.h"

namespace handoff {

WriteFn ReplayBatchWrite(std::string workspace, HandoffReplayFilter filter, Micros now,
                         std::shared_ptr<std::vector<Handoff>> replayed) {
  return [workspace = std::move(workspace), filter = std::move(filter), now,
          replayed = std::move(replayed)](WriteTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<Handoff> dead, tx.ReviveDeadHandoffs(workspace, filter, now));
    for (const Handoff& h : dead) {
      Event e{h.workspace,
              h.inquiry_id,
              0,
              now,
              Stage::kTransfer,
              "handoff.replayed",
              {{"handoff_id", h.id},
               {"destination", h.destination},
               {"previous_attempts", h.attempts},
               {"previous_error", h.last_error}}};
      RETURN_IF_ERROR(tx.AppendEvent(e));
      RETURN_IF_ERROR(tx.SetInquiryProgress(h.workspace, h.inquiry_id, Stage::kTransfer, "routed"));
    }
    *replayed = std::move(dead);
    return absl::OkStatus();
  };
}

}  // namespace handoff
