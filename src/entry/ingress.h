// The Entry stage's front door: answers POST /in/{source} and /in/{workspace}/{source} (and,
// for adapters with SourceAdapterSpec::path_key, the same with a trailing /{key}). Finds
// the source, checks the body size, lets the source's adapter verify and parse the request,
// recognises redeliveries, and answers 202 with the inquiry id only after the inquiry, its
// first event and its Enrichment work are durably committed (DESIGN invariant 1). Every
// outcome is counted per source and reason.
#pragma once

#include <string>

#include "config/config.h"
#include "entry/source_adapter.h"
#include "http/http_types.h"
#include "store/store.h"

namespace handoff {

// Thread-safe: one instance serves every I/O thread.
class Ingress {
 public:
  Ingress(const Config* config, const SourceAdapterRegistry* adapters, Store* store,
          const Clock* clock);

  // Handles one request whose path starts with /in/. Responds exactly once.
  void Handle(HttpRequest&& request, HttpResponder respond);

  // The largest body any source accepts (the HTTP server's own cap).
  size_t MaxBodyBytes() const;

 private:
  void Refuse(const std::string& source, const absl::Status& why, HttpResponder& respond);
  void Count(const std::string& source, const std::string& outcome, const std::string& reason);

  const Config* config_;
  const SourceAdapterRegistry* adapters_;
  Store* store_;
  const Clock* clock_;
};

// Entry's part of the write that stores a new inquiry: the inquiry, its "received" event and the
// enrichment work item. The ingress adds its dedupe rows and entry counter to the same write; the
// probes (track/probes.h) use it alone.
absl::Status RecordNewInquiry(WriteTx& tx, const Inquiry& inquiry);

}  // namespace handoff
