#include "trigger/trigger_stage.h"

#include "core/id.h"
#include "core/status.h"
#include "core/time_format.h"
#include "trigger/router.h"

namespace handoff {

TriggerStage::TriggerStage(const Config* config, Store* store, const Clock* clock,
                           WorkLoopOptions options)
    : config_(config), store_(store), clock_(clock) {
  loop_ = std::make_unique<WorkLoop>(
      "trigger", Stage::kTrigger, store, clock,
      [this](const WorkItem& item) { return Process(item); }, options);
}

absl::StatusOr<WriteFn> TriggerStage::Process(const WorkItem& item) {
  auto found = store_->GetInquiry(item.workspace, item.inquiry_id);
  if (absl::IsNotFound(found.status())) {
    return WriteFn([item](WriteTx& tx) { return tx.CompleteWork(item); });
  }
  if (!found.ok()) return found.status();
  Inquiry inquiry = std::move(*found);
  const RouteConfig* route = MatchRoute(*config_, inquiry);
  std::string title;
  if (route && route->task_due > 0) {
    std::optional<Contact> contact;
    if (!inquiry.contact_id.empty()) {
      auto found_contact = store_->GetContact(inquiry.workspace, inquiry.contact_id);
      if (found_contact.ok()) contact = std::move(*found_contact);
    }
    title = RenderTitle(route->task_title, inquiry, contact ? &*contact : nullptr);
  }

  // Everything the write needs is decided here, on the stage's thread: the writer thread only
  // stores it (it is the pipeline's one serial resource).
  const Micros now = clock_->Now();
  nlohmann::json detail;
  std::optional<Task> task;
  std::vector<Handoff> handoffs;
  std::string kind = "routed";
  std::string status;
  if (!route) {
    // A leak by construction: nobody owns it. Recorded so tracking shows it.
    kind = "unrouted";
    status = "unrouted";
    detail = {{"reason", "no route matched and no fallback"}};
  } else {
    detail = {{"route", route->name}, {"fallback", route->fallback}};
    if (!route->assign_owner.empty()) {
      const TeamMember* m = config_->FindMember(route->assign_owner);
      detail["owner"] = {{"id", route->assign_owner},
                         {"name", m ? m->name : ""},
                         {"strategy", route->assign_strategy}};
    }
    if (route->task_due > 0) {
      task.emplace();
      task->id = NewUuidV7(now);
      task->workspace = inquiry.workspace;
      task->inquiry_id = inquiry.id;
      task->route = route->name;
      task->owner = route->assign_owner;
      task->title = std::move(title);
      task->due_at = inquiry.received_at + route->task_due;
      task->created_at = now;
      detail["task"] = {{"id", task->id},
                        {"owner", task->owner},
                        {"title", task->title},
                        {"due_at", FormatRfc3339(task->due_at)}};
    }
    nlohmann::json created = nlohmann::json::array();
    for (const std::string& dest : route->deliver) {
      Handoff& h = handoffs.emplace_back();
      h.id = NewUuidV7(now);
      h.workspace = inquiry.workspace;
      h.inquiry_id = inquiry.id;
      h.destination = dest;
      h.next_attempt_at = now;
      h.created_at = now;
      created.push_back({{"id", h.id}, {"destination", dest}});
    }
    detail["handoffs"] = std::move(created);
    status = handoffs.empty() ? "assigned" : "routed";
  }
  Event event{inquiry.workspace, inquiry.id, 0, now, Stage::kTrigger, kind, std::move(detail)};

  return WriteFn([item, event = std::move(event), task = std::move(task),
                  handoffs = std::move(handoffs), status](WriteTx& tx) mutable -> absl::Status {
    if (task) RETURN_IF_ERROR(tx.InsertTask(*task));
    for (const Handoff& h : handoffs) RETURN_IF_ERROR(tx.InsertHandoff(h));
    RETURN_IF_ERROR(tx.AppendEvent(event));
    RETURN_IF_ERROR(
        tx.SetInquiryProgress(event.workspace, event.inquiry_id, Stage::kTrigger, status));
    return tx.CompleteWork(item);
  });
}

}  // namespace handoff
