#include "trigger/trigger_stage.h"

#include "core/id.h"
#include "core/status.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "model/field_path.h"

namespace handoff {
namespace {

// The route's required context, split into what the inquiry has and what it lacks: each entry
// names its alternatives joined by '|', as the config wrote them ("contact.phone|contact.email").
struct RequiredContext {
  std::vector<std::string> present;
  std::vector<std::string> missing;
};

RequiredContext CheckRequired(const RouteConfig& route, const Inquiry& inquiry,
                              const Contact* contact) {
  RequiredContext out;
  for (const std::vector<std::string>& alternatives : route.require) {
    bool present = false;
    std::string entry;
    for (const std::string& path : alternatives) {
      present = present || !FieldText(inquiry, path, contact).empty();
      entry += (entry.empty() ? "" : "|") + path;
    }
    (present ? out.present : out.missing).push_back(std::move(entry));
  }
  return out;
}

}  // namespace

TriggerStage::TriggerStage(const Config* config, Store* store, const Clock* clock,
                           WorkLoopOptions options)
    : config_(config),
      store_(store),
      clock_(clock),
      business_time_(BusinessTime::FromLoadedConfig(*config)),
      router_(*config),
      assigner_(*config, business_time_) {
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
  const Inquiry& inquiry = *found;
  std::optional<Contact> contact;
  if (!inquiry.contact_id.empty()) {
    auto found_contact = store_->GetContact(inquiry.workspace, inquiry.contact_id);
    if (found_contact.ok()) contact = std::move(*found_contact);
  }
  // Everything the write needs is decided here, on the stage's thread, except the owner: the
  // strategies that share state (round robin, least open) choose inside the write, where the
  // writer serialises them.
  Plan plan = MakePlan(inquiry, contact ? &*contact : nullptr, clock_->Now());
  return WriteFn([this, item, plan = std::move(plan)](WriteTx& tx) -> absl::Status {
    Plan applied = plan;  // a write may run again after a failed attempt
    RETURN_IF_ERROR(Apply(tx, applied));
    RETURN_IF_ERROR(tx.SetInquiryTriggered(applied.event.workspace, applied.event.inquiry_id,
                                           applied.status, applied.RouteName()));
    return tx.CompleteWork(item);
  });
}

TriggerStage::Plan TriggerStage::MakePlan(const Inquiry& inquiry, const Contact* who,
                                          Micros now) const {
  const RouteConfig* route = router_.Match(inquiry, who);
  nlohmann::json detail;
  std::optional<Task> task;
  std::vector<Handoff> handoffs;
  std::string kind = "routed";
  std::string status;
  AssignmentRequest request;
  std::string reply_key;  // the rate key of the route's text-back, "" when it sends none
  if (!route) {
    // A leak by construction: nobody owns it. Recorded so tracking shows it.
    kind = "unrouted";
    status = "unrouted";
    detail = {{"reason", "no route matched and no fallback"}};
  } else {
    detail = {{"route", route->name}, {"fallback", route->fallback}};
    request.workspace = inquiry.workspace;
    request.service = FieldText(inquiry, "intent");
    if (request.service.empty()) request.service = inquiry.service;
    request.postcode = FieldText(inquiry, "fields.postcode");
    if (request.postcode.empty()) request.postcode = inquiry.location;
    request.previous_owner = FieldText(inquiry, "fields.history.last_owner");
    request.at = now;
    const RequiredContext context = CheckRequired(*route, inquiry, who);
    if (!route->require.empty()) {
      detail["context"] = {{"present", context.present}, {"missing", context.missing}};
    }
    if (route->task_due > 0) {
      task.emplace();
      task->id = NewUuidV7(now);
      task->workspace = inquiry.workspace;
      task->inquiry_id = inquiry.id;
      task->route = route->name;
      task->title = RenderTitle(route->task_title, inquiry, who);
      task->missing = context.missing;
      task->created_at = now;
      task->due_at = inquiry.received_at + route->task_due;
      nlohmann::json task_detail = {{"id", task->id}, {"title", task->title}};
      if (route->task_business_time) {
        // "15 minutes in hours": counted only while the business is open, so an evening form
        // is due 15 minutes after the next opening.
        absl::StatusOr<Micros> due =
            business_time_.business().AddBusinessTime(inquiry.received_at, route->task_due);
        if (due.ok()) {
          task->due_at = *due;
          task_detail["business_time"] = true;
        } else {
          task_detail["business_time_error"] = std::string(due.status().message());
        }
      }
      if (!route->escalate.empty()) {
        // Escalation runs on wall-clock time from the task's creation: a chain is for when
        // nobody reacts, in or out of hours (its first notice can go to the on-call person).
        task->next_escalation_at = task->created_at + route->escalate.front().after;
        task_detail["escalation_at"] = FormatRfc3339(task->next_escalation_at);
      }
      task_detail["due_at"] = FormatRfc3339(task->due_at);
      task_detail["due_local"] = business_time_.business().FormatLocal(task->due_at);
      if (!task->missing.empty()) task_detail["missing"] = task->missing;
      detail["task"] = std::move(task_detail);
    }
    auto add = [&](const std::string& dest, const std::string& purpose) -> Handoff& {
      Handoff& h = handoffs.emplace_back();
      h.id = NewUuidV7(now);
      h.workspace = inquiry.workspace;
      h.inquiry_id = inquiry.id;
      h.destination = dest;
      h.purpose = purpose;
      h.next_attempt_at = now;
      h.created_at = now;
      return h;
    };
    for (const std::string& dest : route->deliver) add(dest, "deliver");
    // Recipients named "owner" are resolved in the write, once the owner is chosen.
    for (const NotifyTarget& n : route->notify) add(n.via, "notify").recipient = n.to;
    if (route->reply) {
      const std::string phone = FieldText(inquiry, "contact.phone", who);
      if (phone.empty()) {
        detail["reply"] = {{"destination", route->reply->via},
                           {"skipped", "no phone number to text"}};
      } else {
        Handoff& h = add(route->reply->via, "reply");
        h.recipient = "lead";
        h.text = RenderTitle(route->reply->text, inquiry, who);
        reply_key = "text-back:" + phone;
      }
    }
    if (IsProbe(inquiry)) {
      // A probe proves the path without touching the business's systems or people: its
      // deliveries go to the probe target, nobody is notified or texted, and its task (owner
      // chosen as for a real inquiry) is closed at once, so it never counts as open work.
      std::erase_if(handoffs, [](const Handoff& h) { return h.purpose != "deliver"; });
      for (Handoff& h : handoffs) {
        h.text = "probe of " + h.destination;
        h.destination = config_->probes.target;
      }
      if (task) {
        task->state = "done";
        task->done_at = now;
        task->next_escalation_at = 0;
      }
      reply_key.clear();
      detail["probe"] = true;
    }
    status = handoffs.empty() ? "assigned" : "routed";
  }
  return Plan{
      route,
      std::move(request),
      std::move(reply_key),
      Event{inquiry.workspace, inquiry.id, 0, now, Stage::kTrigger, kind, std::move(detail)},
      std::move(task),
      std::move(handoffs),
      std::move(status)};
}

absl::Status TriggerStage::Apply(WriteTx& tx, Plan& plan) const {
  const RouteConfig* route = plan.route;
  const AssignmentRequest& request = plan.request;
  Event& event = plan.event;
  std::optional<Task>& task = plan.task;
  std::vector<Handoff>& handoffs = plan.handoffs;
  std::string& status = plan.status;
  if (route != nullptr) {
    // Once per contact per window, decided here so that two calls committed together do not
    // both text.
    if (!plan.reply_key.empty()) {
      ASSIGN_OR_RETURN(bool free, tx.TakeRateSlot(request.workspace, plan.reply_key, request.at,
                                                  route->reply->once_per));
      if (!free) {
        std::erase_if(handoffs, [](const Handoff& h) { return h.purpose == "reply"; });
        event.detail["reply"] = {{"destination", route->reply->via},
                                 {"skipped", "already texted within once_per"}};
      }
    }
    ASSIGN_OR_RETURN(Assignment assigned, assigner_.Assign(*route, request, tx));
    if (!assigned.owner.empty()) {
      const TeamMember* m = config_->FindMember(assigned.owner);
      nlohmann::json owner = {{"id", assigned.owner},
                              {"name", m ? m->name : ""},
                              {"strategy", route->assign_strategy},
                              {"reason", assigned.reason}};
      if (!assigned.unavailable.empty()) owner["unavailable"] = assigned.unavailable;
      event.detail["owner"] = std::move(owner);
    }
    if (task) {
      task->owner = assigned.owner;
      event.detail["task"]["owner"] = task->owner;
    }
    nlohmann::json created = nlohmann::json::array();
    for (Handoff& h : handoffs) {
      if (h.recipient == "owner") h.recipient = assigned.owner;
      nlohmann::json entry = {{"id", h.id}, {"destination", h.destination}};
      if (h.purpose != "deliver") entry["purpose"] = h.purpose;
      if (!h.recipient.empty()) entry["to"] = h.recipient;
      created.push_back(std::move(entry));
    }
    event.detail["handoffs"] = std::move(created);
    if (handoffs.empty() && status == "routed") status = "assigned";
  }
  if (task) RETURN_IF_ERROR(tx.InsertTask(*task));
  for (const Handoff& h : handoffs) RETURN_IF_ERROR(tx.InsertHandoff(h));
  return tx.AppendEvent(event);
}

}  // namespace handoff
