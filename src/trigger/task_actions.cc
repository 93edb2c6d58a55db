#include "trigger/task_actions.h"

#include "core/status.h"
#include "core/time_format.h"

namespace handoff {

WriteFn ChangeTaskState(std::string workspace, std::string task_id, TaskStep step, std::string via,
                        Micros at, std::shared_ptr<TaskChange> out) {
  return [workspace = std::move(workspace), task_id = std::move(task_id), step,
          via = std::move(via), at, out = std::move(out)](WriteTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Task task, tx.GetTask(workspace, task_id));
    bool changed = false;
    if (step == TaskStep::kAcknowledge && task.state == "open") {
      task.state = "acknowledged";
      task.acknowledged_at = at;
      changed = true;
    } else if (step == TaskStep::kDone && task.state != "done") {
      // Done implies seen: a task finished without an explicit acknowledgement counts as
      // acknowledged when it was finished.
      if (task.acknowledged_at == 0) task.acknowledged_at = at;
      task.state = "done";
      task.done_at = at;
      changed = true;
    }
    if (changed) {
      RETURN_IF_ERROR(tx.UpdateTask(task));
      Event event{workspace,
                  task.inquiry_id,
                  0,
                  at,
                  Stage::kTrigger,
                  step == TaskStep::kAcknowledge ? "task.acknowledged" : "task.done",
                  {{"task_id", task.id},
                   {"owner", task.owner},
                   {"via", via},
                   {"seconds_after_creation", (at - task.created_at) / kMicrosPerSecond},
                   {"before_due", task.due_at == 0 || at <= task.due_at}}};
      RETURN_IF_ERROR(tx.AppendEvent(event));
    }
    out->task = std::move(task);
    out->changed = changed;
    return absl::OkStatus();
  };
}

}  // namespace handoff
