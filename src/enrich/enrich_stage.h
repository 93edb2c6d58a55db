// The Enrichment stage: normalizes the contact fields of each inquiry and links it to the
// Contact it belongs to (matched by email, then phone), so a form, a call and a chat from one
// person share one history. It adds the context routes, templates and owners act on, in
// Inquiry::fields: in_hours (arrived in business hours), intent/value/urgency (the config's
// rules), contact_status (new or returning), history (what became of the contact's earlier
// inquiries) and possible_duplicate_of (when the email and the phone point at two contacts).
// For sources whose webhook carries no personal data it first fetches the inquiry's context
// from the provider (SourceAdapter::FetchContext). Commits its result with the inquiry's
// Trigger work, without waiting for a sync (Durability::kDeferred).
#pragma once

#include <memory>
#include <optional>

#include "config/config.h"
#include "enrich/business_time.h"
#include "enrich/intent_rules.h"
#include "entry/source_adapter.h"
#include "store/store.h"
#include "store/work_loop.h"

namespace handoff {

// Thread-safe; its WorkLoop runs on its own thread.
class EnrichStage {
 public:
  // `adapters` (may be null in tests) supplies FetchContext for inquiries that arrive
  // without their context (status kAwaitingContext). The business hours are read from `config`
  // here, once; its time zone must be known (LoadConfig checks it).
  EnrichStage(const Config* config, Store* store, const Clock* clock, WorkLoopOptions options = {},
              const SourceAdapterRegistry* adapters = nullptr);

  // How many times a context fetch that keeps failing with a retryable error is tried before
  // the inquiry goes on without it.
  static constexpr int kMaxContextAttempts = 12;

  // Builds the write that enriches the inquiry of `item` (see WorkLoop::Processor).
  absl::StatusOr<WriteFn> Process(const WorkItem& item);

  // What Enrichment decides from the inquiry alone: the normalized contact fields, in or out of
  // hours, intent and urgency, and the problems found so far.
  struct Plan {
    Inquiry inquiry;
    nlohmann::json problems = nlohmann::json::array();
    nlohmann::json hours;
    std::optional<Event> fetched;  // the context fetch's outcome, when one was made
  };
  // Needs no store; any thread. `problems` are earlier ones (a failed context fetch).
  Plan Prepare(Inquiry inquiry, nlohmann::json problems = nlohmann::json::array()) const;
  // Enrichment's part of a write: links the inquiry to its contact (found by email, then phone,
  // or created), adds the contact's history and journals "enriched" (after `plan.fetched`).
  // Leaves `plan.inquiry` as it is to be stored (stage Enrich, status "enriched"); storing the
  // row is the caller's. Returns the contact, if the inquiry has one.
  absl::StatusOr<std::optional<Contact>> Apply(WriteTx& tx, Plan& plan, Micros now) const;

  WorkLoop& loop() { return *loop_; }

 private:
  // Lets the inquiry's source adapter fill in what its webhook did not carry.
  absl::Status FetchContext(Inquiry& inquiry) const;

  const Config* config_;
  Store* store_;
  const Clock* clock_;
  const SourceAdapterRegistry* adapters_;
  const BusinessTime business_time_;
  const IntentRules rules_;
  std::unique_ptr<WorkLoop> loop_;
};

}  // namespace handoff
