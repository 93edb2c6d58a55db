// The Entry stage's front door: answers POST /in/{source} and /in/{workspace}/{source} (and,
// for adapters with SourceAdapterSpec::path_key, the same with a trailing /{key}). Finds
// the source, checks the body size, lets the source's adapter verify and parse the request,
// recognises redeliveries, and answers 202 with the inquiry id only after the inquiry, its
// first event and its Enrichment work are durably committed (DESIGN invariant 1). Every
// outcome is counted per source and reason.
//
// With inline stages (set_inline_stages) a new inquiry's Enrichment and Trigger run inside the
// same write instead of on the stages' own threads: one commit then acknowledges the inquiry
// and holds its contact, task and handoffs, where the staged path takes three commits, two
// work-queue round trips and two stage threads' reads.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "entry/source_adapter.h"
#include "http/http_types.h"
#include "store/store.h"

namespace handoff {

// A new inquiry's later stages, done inside its ingest write (trigger/inline_stages.h makes
// them; app/ wires them in).
class InlineAdvance {
 public:
  virtual ~InlineAdvance() = default;
  // Runs in the ingest write after the inquiry's "received" event, in place of storing the
  // inquiry and its Enrichment work: writes what the later stages write and stores the inquiry
  // as they leave it. May run again after a failed attempt. On an error the ingest is written
  // again without it, and the stages' own threads take the inquiry as usual.
  virtual absl::Status Record(WriteTx& tx) = 0;
  // After the write that Record was part of is durably committed (metrics).
  virtual void Committed() = 0;
};

// Makes the InlineAdvance of a new inquiry, on the request's thread before the write; null when
// the inquiry must go through the stages' threads (it awaits its context from the provider).
using InlineStages = std::function<std::unique_ptr<InlineAdvance>(const Inquiry& inquiry)>;

// Thread-safe: one instance serves every I/O thread.
class Ingress {
 public:
  Ingress(const Config* config, const SourceAdapterRegistry* adapters, Store* store,
          const Clock* clock);

  // Handles one request whose path starts with /in/. Responds exactly once.
  void Handle(HttpRequest&& request, HttpResponder respond);

  // The largest body any source accepts (the HTTP server's own cap).
  size_t MaxBodyBytes() const;

  // Before the first request only.
  void set_inline_stages(InlineStages stages) { inline_stages_ = std::move(stages); }

 private:
  void Refuse(const std::string& source, const absl::Status& why, HttpResponder& respond);
  void Count(const std::string& source, const std::string& outcome, const std::string& reason);

  const Config* config_;
  const SourceAdapterRegistry* adapters_;
  Store* store_;
  const Clock* clock_;
  InlineStages inline_stages_;  // empty: every inquiry goes through the stages' threads
};

// Entry's part of the write that stores a new inquiry: the inquiry, its "received" event and the
// enrichment work item. The ingress adds its dedupe rows and entry counter to the same write; the
// probes (track/probes.h) use it alone.
absl::Status RecordNewInquiry(WriteTx& tx, const Inquiry& inquiry);
// The same with its "received" event already made (ReceivedEvent), its detail perhaps rendered.
absl::Status RecordNewInquiry(WriteTx& tx, const Inquiry& inquiry, const Event& received);
// The "received" event, the first of every inquiry's journal.
Event ReceivedEvent(const Inquiry& inquiry);

}  // namespace handoff
