#include "trigger/inline_stages.h"

#include <optional>
#include <utility>

#include "core/status.h"
#include "entry/source_adapter.h"

namespace handoff {
namespace {

// One inquiry's prepared Enrichment, finished with Trigger inside the ingest write.
class EnrichedAndRouted : public InlineAdvance {
 public:
  EnrichedAndRouted(const EnrichStage* enrich, const TriggerStage* trigger, const Clock* clock,
                    const std::function<void(Stage, Micros)>* on_committed, EnrichStage::Plan plan)
      : enrich_(enrich),
        trigger_(trigger),
        clock_(clock),
        on_committed_(on_committed),
        plan_(std::move(plan)) {}

  absl::Status Record(WriteTx& tx) override {
    EnrichStage::Plan enriched = plan_;  // a write may run again after a failed attempt
    const Micros now = clock_->Now();
    ASSIGN_OR_RETURN(std::optional<Contact> contact, enrich_->Apply(tx, enriched, now));
    TriggerStage::Plan routed =
        trigger_->MakePlan(enriched.inquiry, contact ? &*contact : nullptr, now);
    RETURN_IF_ERROR(trigger_->Apply(tx, routed));
    Inquiry& inquiry = enriched.inquiry;
    inquiry.stage = Stage::kTrigger;
    inquiry.status = routed.status;
    inquiry.route = routed.RouteName();
    return tx.InsertInquiry(inquiry);
  }

  void Committed() override {
    if (*on_committed_ == nullptr) return;
    const Micros waited = clock_->Now() - plan_.inquiry.received_at;
    (*on_committed_)(Stage::kEnrich, waited);
    (*on_committed_)(Stage::kTrigger, waited);
  }

 private:
  const EnrichStage* enrich_;
  const TriggerStage* trigger_;
  const Clock* clock_;
  const std::function<void(Stage, Micros)>* on_committed_;
  const EnrichStage::Plan plan_;
};

}  // namespace

InlineEnrichTrigger::InlineEnrichTrigger(const EnrichStage* enrich, const TriggerStage* trigger,
                                         const Clock* clock,
                                         std::function<void(Stage, Micros)> on_committed)
    : enrich_(enrich), trigger_(trigger), clock_(clock), on_committed_(std::move(on_committed)) {}

std::unique_ptr<InlineAdvance> InlineEnrichTrigger::Prepare(const Inquiry& inquiry) const {
  if (inquiry.status == kAwaitingContext) return nullptr;
  return std::make_unique<EnrichedAndRouted>(enrich_, trigger_, clock_, &on_committed_,
                                             enrich_->Prepare(inquiry));
}

InlineStages InlineEnrichTrigger::AsIngressStages() const {
  return [this](const Inquiry& inquiry) { return Prepare(inquiry); };
}

}  // namespace handoff
