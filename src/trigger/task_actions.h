// Acknowledging and finishing a task: the state machine open → acknowledged → done, applied in
// one write together with its journal entry. The API, the CLI (through the API) and the signed
// one-click link all go through here, so each records the same event.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace handoff {

enum class TaskStep { kAcknowledge, kDone };

// What a change did: the task as it is after the write, and whether this call moved it (an
// acknowledged task acknowledged again, or a done one finished again, is left as it is).
struct TaskChange {
  Task task;
  bool changed = false;
};

// The write that applies `step` to task `task_id` of `workspace` at `at`, appending
// "task.acknowledged" or "task.done" (stage trigger) with who it was done by (`via`: "api",
// "cli", "link") and whether it was before the due time. NotFound when the task does not exist
// in that workspace. `out` receives the result when the write commits.
WriteFn ChangeTaskState(std::string workspace, std::string task_id, TaskStep step, std::string via,
                        Micros at, std::shared_ptr<TaskChange> out);

}  // namespace handoff
