#include "trigger/escalation.h"

#include <algorithm>

#include "core/id.h"
#include "core/status.h"
#include "core/time_format.h"
#include "spdlog/spdlog.h"

namespace handoff {

EscalationRunner::EscalationRunner(const Config* config, Store* store, const Clock* clock,
                                   EscalationOptions options)
    : config_(config),
      store_(store),
      clock_(clock),
      options_(options),
      business_time_(BusinessTime::FromLoadedConfig(*config)),
      thread_("escalation", [this] { return RunOnce(); }) {}

EscalationRunner::~EscalationRunner() { Stop(); }

void EscalationRunner::Start() { thread_.Start(); }

void EscalationRunner::Stop() { thread_.Stop(); }

Micros EscalationRunner::RunOnce() {
  if (duty_ != nullptr && !duty_->held()) return options_.poll;
  absl::StatusOr<int> ran = RunDue();
  if (!ran.ok()) spdlog::warn("escalation scan failed: {}", std::string(ran.status().message()));
  if (ran.ok() && *ran >= options_.batch) return 0;  // more may be due right now
  Micros wait = options_.poll;
  auto next = store_->NextEscalation(config_->workspace);
  if (next.ok() && next->has_value()) {
    wait = std::clamp(**next - clock_->Now(), Micros{0}, options_.poll);
  }
  return wait;
}

const RouteConfig* EscalationRunner::FindRoute(const std::string& name) const {
  for (const RouteConfig& r : config_->routes) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::string EscalationRunner::NextInPool(const RouteConfig& route, const std::string& current,
                                         Micros at) const {
  const auto& pool = route.assign_pool;
  if (pool.empty()) return current;
  size_t from = 0;
  for (size_t i = 0; i < pool.size(); ++i) {
    if (pool[i].id == current) from = i + 1;
  }
  std::string plain;
  for (size_t k = 0; k < pool.size(); ++k) {
    const std::string& id = pool[(from + k) % pool.size()].id;
    if (id == current) continue;
    if (plain.empty()) plain = id;
    if (!route.assign_available_only || business_time_.IsAvailable(id, at)) return id;
  }
  return plain.empty() ? current : plain;
}

WriteFn EscalationRunner::Step(const Task& seen, Micros now, std::shared_ptr<bool> ran) const {
  return [this, workspace = seen.workspace, id = seen.id, now, ran](WriteTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Task task, tx.GetTask(workspace, id));
    // Acknowledged (or finished, or already stepped by an earlier scan) since it was listed.
    if (task.state != "open" || task.next_escalation_at == 0 || task.next_escalation_at > now) {
      return absl::OkStatus();
    }
    const RouteConfig* route = FindRoute(task.route);
    const int index = task.escalation_step;
    if (route == nullptr || index >= static_cast<int>(route->escalate.size())) {
      // The config changed under the task: its chain is gone or shorter. Stop here.
      task.next_escalation_at = 0;
      return tx.UpdateTask(task);
    }
    const EscalationStep& step = route->escalate[index];
    nlohmann::json detail = {{"task_id", task.id},
                             {"step", index + 1},
                             {"of", route->escalate.size()},
                             {"after_seconds", step.after / kMicrosPerSecond}};
    if (!step.reassign.empty()) {
      const std::string from = task.owner;
      const std::string to =
          step.reassign == "next" ? NextInPool(*route, task.owner, now) : step.reassign;
      task.owner = to;
      detail["reassign"] = {{"from", from}, {"to", to}};
    }
    if (!step.notify.empty()) {
      Handoff h;
      h.id = NewUuidV7(now);
      h.workspace = task.workspace;
      h.inquiry_id = task.inquiry_id;
      h.destination = step.via.empty() ? route->notify.front().via : step.via;
      h.purpose = "escalate";
      h.recipient = step.notify == "owner" ? task.owner : step.notify;
      h.next_attempt_at = now;
      h.created_at = now;
      RETURN_IF_ERROR(tx.InsertHandoff(h));
      detail["notify"] = {{"to", h.recipient}, {"via", h.destination}, {"handoff_id", h.id}};
    }
    task.escalation_step = index + 1;
    const bool last = task.escalation_step >= static_cast<int>(route->escalate.size());
    task.next_escalation_at =
        last ? 0 : task.created_at + route->escalate[task.escalation_step].after;
    if (!last) detail["next_at"] = FormatRfc3339(task.next_escalation_at);
    RETURN_IF_ERROR(tx.UpdateTask(task));
    Event event{task.workspace,    task.inquiry_id,  0, now, Stage::kTrigger,
                "escalation.step", std::move(detail)};
    RETURN_IF_ERROR(tx.AppendEvent(event));
    if (last) {
      // Everyone in the chain was told and nobody acknowledged: a leak tracking must show.
      Event ended{task.workspace,
                  task.inquiry_id,
                  0,
                  now,
                  Stage::kTrigger,
                  "escalation.ended",
                  {{"task_id", task.id},
                   {"steps", task.escalation_step},
                   {"reason", "the chain ran to its end and the task is still open"},
                   {"owner", task.owner}}};
      RETURN_IF_ERROR(tx.AppendEvent(ended));
    }
    *ran = true;
    return absl::OkStatus();
  };
}

absl::StatusOr<int> EscalationRunner::RunDue() {
  const Micros now = clock_->Now();
  ASSIGN_OR_RETURN(std::vector<Task> due,
                   store_->ListDueEscalations(config_->workspace, now, options_.batch));
  int ran = 0;
  for (const Task& task : due) {
    auto stepped = std::make_shared<bool>(false);
    RETURN_IF_ERROR(store_->Write(FencedByDuty(duty_, Step(task, now, stepped))));
    if (*stepped) ++ran;
  }
  return ran;
}

}  // namespace handoff
