// The Trigger stage: gives each inquiry its route (trigger/router.h), its owner
// (trigger/assignment.h), a task with a due time (wall clock, or business time counted only
// while the business is open) listing the required context the inquiry lacks, and the handoffs
// to every destination the route delivers to. Commits all of it with the handoffs as the
// Transfer stage's outbox; the owner is chosen inside that same write.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "enrich/business_time.h"
#include "store/store.h"
#include "store/work_loop.h"
#include "trigger/assignment.h"
#include "trigger/router.h"

namespace handoff {

// Thread-safe; its WorkLoop runs on its own thread.
class TriggerStage {
 public:
  TriggerStage(const Config* config, Store* store, const Clock* clock,
               WorkLoopOptions options = {});

  // Builds the write that routes the inquiry of `item` (see WorkLoop::Processor).
  absl::StatusOr<WriteFn> Process(const WorkItem& item);

  // What Trigger decides before its write: the route, the task and the handoffs with their ids,
  // and the journal event. The owner is left to the write (Apply).
  struct Plan {
    const RouteConfig* route = nullptr;  // null: no route matched (a leak by construction)
    AssignmentRequest request;
    std::string reply_key;  // the rate key of the route's text-back, "" when it sends none
    Event event;            // "routed" or "unrouted"
    std::optional<Task> task;
    std::vector<Handoff> handoffs;
    std::string status;  // the inquiry's status once routed
    // The route the inquiry keeps (Inquiry::route), "" when none matched.
    std::string RouteName() const { return route ? route->name : std::string(); }
  };
  // Needs no store: `inquiry` as Enrichment left it, `contact` its contact (may be null).
  Plan MakePlan(const Inquiry& inquiry, const Contact* contact, Micros now) const;
  // Trigger's part of a write: the text-back rate slot, the owner (the strategies that share
  // state choose here, where the writer serialises them), the task, the handoffs (the
  // Transfer stage's outbox) and the event. Moving the inquiry to `plan.status` is the caller's.
  absl::Status Apply(WriteTx& tx, Plan& plan) const;

  WorkLoop& loop() { return *loop_; }

 private:
  const Config* config_;
  Store* store_;
  const Clock* clock_;
  const BusinessTime business_time_;
  const Router router_;
  const Assigner assigner_;
  std::unique_ptr<WorkLoop> loop_;
};

}  // namespace handoff
