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

  const Config* config = config_;
  const Clock* clock = clock_;
  return WriteFn([item, inquiry = std::move(inquiry), route, title, config,
                  clock](WriteTx& tx) mutable {
    Micros now = clock->Now();
    auto append = [&](std::string kind, nlohmann::json detail) {
      Event ev{inquiry.workspace, inquiry.id,       0, now, Stage::kTrigger,
               std::move(kind),   std::move(detail)};
      return tx.AppendEvent(ev);
    };
    int handoffs = 0;
    if (!route) {
      // A leak by construction: nobody owns it. Recorded so tracking shows it.
      RETURN_IF_ERROR(append("route.none", {{"reason", "no route matched and no fallback"}}));
    } else {
      RETURN_IF_ERROR(
          append("route.matched", {{"route", route->name}, {"fallback", route->fallback}}));
      if (!route->assign_owner.empty()) {
        const TeamMember* m = config->FindMember(route->assign_owner);
        RETURN_IF_ERROR(append("owner.assigned", {{"owner", route->assign_owner},
                                                  {"name", m ? m->name : ""},
                                                  {"strategy", route->assign_strategy}}));
      }
      if (route->task_due > 0) {
        Task task;
        task.id = NewUuidV7(now);
        task.workspace = inquiry.workspace;
        task.inquiry_id = inquiry.id;
        task.route = route->name;
        task.owner = route->assign_owner;
        task.title = title;
        task.due_at = inquiry.received_at + route->task_due;
        task.created_at = now;
        RETURN_IF_ERROR(tx.InsertTask(task));
        RETURN_IF_ERROR(append("task.created", {{"task_id", task.id},
                                                {"owner", task.owner},
                                                {"title", task.title},
                                                {"due_at", FormatRfc3339(task.due_at)}}));
      }
      for (const std::string& dest : route->deliver) {
        Handoff h;
        h.id = NewUuidV7(now);
        h.workspace = inquiry.workspace;
        h.inquiry_id = inquiry.id;
        h.destination = dest;
        h.next_attempt_at = now;
        h.created_at = now;
        RETURN_IF_ERROR(tx.InsertHandoff(h));
        RETURN_IF_ERROR(append("handoff.created", {{"handoff_id", h.id}, {"destination", dest}}));
        ++handoffs;
      }
    }
    RETURN_IF_ERROR(tx.SetInquiryProgress(inquiry.workspace, inquiry.id, Stage::kTrigger,
                                          !route         ? "unrouted"
                                          : handoffs > 0 ? "routed"
                                                         : "assigned"));
    return tx.CompleteWork(item);
  });
}

}  // namespace handoff
