// Enrichment and Trigger for a new inquiry inside its ingest write (Ingress::set_inline_stages).
// The staged path commits an inquiry three times (ingest, Enrichment, Trigger), passes it
// through the work queue twice, and each stage thread reads it back; inline, the commit that
// acknowledges the inquiry also holds its contact, task and handoffs, and the inquiry row is
// written once, as Trigger leaves it. Both paths run the same stage code (EnrichStage::Prepare
// and Apply, TriggerStage::MakePlan and Apply), so they store the same records and events.
#pragma once

#include <functional>
#include <memory>

#include "core/clock.h"
#include "enrich/enrich_stage.h"
#include "entry/ingress.h"
#include "trigger/trigger_stage.h"

namespace handoff {

// Immutable; thread-safe. The stages must outlive every advance it makes.
class InlineEnrichTrigger {
 public:
  // `on_committed` (may be null) is told each stage's latency, as the stages' WorkLoops tell it.
  InlineEnrichTrigger(const EnrichStage* enrich, const TriggerStage* trigger, const Clock* clock,
                      std::function<void(Stage stage, Micros latency)> on_committed = nullptr);

  // On the request's thread: Enrichment's part that needs no store (normalisation, hours,
  // intent). Null for an inquiry that awaits its context from the provider: fetching it is
  // the Enrichment thread's, with its retries.
  std::unique_ptr<InlineAdvance> Prepare(const Inquiry& inquiry) const;

  // As Ingress::set_inline_stages takes it.
  InlineStages AsIngressStages() const;

 private:
  const EnrichStage* enrich_;
  const TriggerStage* trigger_;
  const Clock* clock_;
  std::function<void(Stage, Micros)> on_committed_;
};

}  // namespace handoff
