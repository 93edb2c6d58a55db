// Replay of dead handoffs: the operator's way to send again what a destination refused or
// never confirmed, once the cause is fixed. A replayed handoff keeps its id (the idempotency
// key destinations dedupe on) and starts a fresh retry schedule; its inquiry's timeline shows
// a `handoff.replayed` event and the inquiry goes back to `routed` until it settles again.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace handoff {

// The write that replays one batch of dead handoffs matching `filter` (see
// WriteTx::ReviveDeadHandoffs); `replayed` receives them (as they were when dead).
WriteFn ReplayBatchWrite(std::string workspace, HandoffReplayFilter filter, Micros now,
                         std::shared_ptr<std::vector<Handoff>> replayed);

}  // namespace handoff
