#include "enrich/enrich_stage.h"

#include "core/id.h"
#include "core/status.h"
#include "core/time_format.h"
#include "enrich/history.h"
#include "enrich/normalize.h"
#include "fmt/format.h"

namespace handoff {
namespace {

// Fills the contact's empty fields from what this inquiry brought; true when it changed.
bool FillContact(Contact& c, const ContactFields& f) {
  bool changed = false;
  if (c.name.empty() && !f.name.empty()) c.name = f.name, changed = true;
  if (c.email.empty() && !f.email.empty()) c.email = f.email, changed = true;
  if (c.phone.empty() && !f.phone.empty()) c.phone = f.phone, changed = true;
  return changed;
}

bool IsRetryable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsResourceExhausted(s);
}

// What a later delivery of the inquiry's thread may change at the entry (MergeThreadDelivery):
// compared between this stage's read and its write, so a thread update that commits in between
// is not overwritten by the whole-row update below.
nlohmann::json SourceFields(const Inquiry& i) {
  const Attribution& a = i.attribution;
  return {i.received.name, i.received.email, i.received.phone, i.message,      i.service,
          i.location,      a.utm_source,     a.utm_medium,     a.utm_campaign, a.utm_term,
          a.utm_content,   a.referrer,       a.landing_page,   i.fields};
}

}  // namespace

EnrichStage::EnrichStage(const Config* config, Store* store, const Clock* clock,
                         WorkLoopOptions options, const SourceAdapterRegistry* adapters)
    : config_(config),
      store_(store),
      clock_(clock),
      adapters_(adapters),
      business_time_(BusinessTime::FromLoadedConfig(*config)),
      rules_(config->enrich) {
  // Enrichment is redone from the committed inquiry if a power loss undoes it, and nothing
  // outside acts on it before Trigger's synced commit (which makes it durable too).
  options.durability = Durability::kDeferred;
  loop_ = std::make_unique<WorkLoop>(
      "enrich", Stage::kEnrich, store, clock,
      [this](const WorkItem& item) { return Process(item); }, options);
}

absl::StatusOr<WriteFn> EnrichStage::Process(const WorkItem& item) {
  auto found = store_->GetInquiry(item.workspace, item.inquiry_id);
  if (absl::IsNotFound(found.status())) {
    // Nothing to enrich (cannot happen through the ingress, which commits both together);
    // drop the orphan work item rather than retry it forever.
    return WriteFn([item](WriteTx& tx) { return tx.CompleteWork(item); });
  }
  if (!found.ok()) return found.status();
  Inquiry inquiry = std::move(*found);
  nlohmann::json read_fields = SourceFields(inquiry);

  nlohmann::json problems = nlohmann::json::array();
  std::optional<Event> fetched;
  if (inquiry.status == kAwaitingContext) {
    absl::Status got = FetchContext(inquiry);
    if (IsRetryable(got) && item.attempts + 1 < kMaxContextAttempts) {
      return got;  // released; the WorkLoop tries again after its retry delay
    }
    fetched = Event{inquiry.workspace,
                    inquiry.id,
                    0,
                    0,
                    Stage::kEnrich,
                    got.ok() ? "context_fetched" : "context_missing",
                    {{"attempts", item.attempts + 1}}};
    if (!got.ok()) {
      fetched->detail["error"] = std::string(got.message());
      problems.push_back("the source's context could not be fetched: " +
                         std::string(got.message()));
    }
  }
  Plan plan = Prepare(std::move(inquiry), std::move(problems));
  plan.fetched = std::move(fetched);

  // The write runs on the store's writer thread; this stage outlives it (WorkLoop waits for
  // every write it submitted before it stops).
  return WriteFn([this, item, plan = std::move(plan),
                  read_fields = std::move(read_fields)](WriteTx& tx) -> absl::Status {
    {
      ASSIGN_OR_RETURN(Inquiry current, tx.GetInquiry(plan.inquiry.workspace, plan.inquiry.id));
      if (SourceFields(current) != read_fields) {
        // A thread update (a reschedule, a voicemail) committed after our read: enriching the
        // old copy would undo it. Fail this write; the WorkLoop retries from the current row.
        return absl::AbortedError("the inquiry changed while it was being enriched");
      }
    }
    const Micros now = clock_->Now();
    Plan applied = plan;  // a write may run again after a failed attempt
    RETURN_IF_ERROR(Apply(tx, applied, now).status());
    RETURN_IF_ERROR(tx.UpdateInquiry(applied.inquiry));
    RETURN_IF_ERROR(tx.CompleteWork(item));
    WorkItem next;
    next.workspace = applied.inquiry.workspace;
    next.inquiry_id = applied.inquiry.id;
    next.stage = Stage::kTrigger;
    next.available_at = now;
    return tx.EnqueueWork(next);
  });
}

EnrichStage::Plan EnrichStage::Prepare(Inquiry inquiry, nlohmann::json problems) const {
  Plan plan;
  plan.inquiry = std::move(inquiry);
  plan.problems = std::move(problems);
  Inquiry& i = plan.inquiry;
  i.normalized.name = NormalizeName(i.received.name);
  i.normalized.email = NormalizeEmail(i.received.email);
  if (!i.received.email.empty() && i.normalized.email.empty()) {
    plan.problems.push_back("email is not a valid address");
  }
  i.normalized.phone = NormalizePhone(i.received.phone, config_->business.region);
  if (!i.received.phone.empty() && i.normalized.phone.empty()) {
    plan.problems.push_back("phone is not a possible phone number");
  }

  // In or out of hours is judged by when it happened at the source: a voicemail left at 19:00
  // and delivered at 07:31 came in out of hours.
  const BusinessCalendar& calendar = business_time_.business();
  const Micros arrived = i.occurred_at != 0 ? i.occurred_at : i.received_at;
  const bool in_hours = calendar.IsOpen(arrived);
  if (!i.fields.is_object()) i.fields = nlohmann::json::object();
  i.fields["in_hours"] = in_hours;
  plan.hours = {{"in_hours", in_hours}, {"local_time", calendar.FormatLocal(arrived)}};
  if (!in_hours) {
    // Absent when the calendar never opens (no hours at all): there is nothing to wait for.
    if (absl::StatusOr<Micros> next = calendar.NextOpen(arrived); next.ok()) {
      plan.hours["next_open"] = FormatRfc3339(*next);
    }
  }

  // Intent and urgency read the normalized contact fields and whatever the source sent.
  for (const char* key : {"intent", "value", "urgency"}) i.fields.erase(key);
  const Classification found_intent = rules_.Classify(i);
  if (!found_intent.service.empty()) {
    i.fields["intent"] = found_intent.service;
    i.fields["value"] = found_intent.value;
  }
  if (!found_intent.urgency.empty()) i.fields["urgency"] = found_intent.urgency;
  return plan;
}

absl::StatusOr<std::optional<Contact>> EnrichStage::Apply(WriteTx& tx, Plan& plan,
                                                          Micros now) const {
  Inquiry& inquiry = plan.inquiry;
  nlohmann::json& problems = plan.problems;
  const ContactFields& f = inquiry.normalized;
  std::optional<Contact> by_email, by_phone;
  if (!f.email.empty()) {
    ASSIGN_OR_RETURN(by_email, tx.FindContactByEmail(inquiry.workspace, f.email));
  }
  if (!f.phone.empty()) {
    ASSIGN_OR_RETURN(by_phone, tx.FindContactByPhone(inquiry.workspace, f.phone));
  }
  nlohmann::json detail = nlohmann::json::object();
  std::optional<Contact> contact = by_email ? by_email : by_phone;
  const bool known = contact.has_value();  // a contact created below has no history yet
  if (by_email && by_phone && by_email->id != by_phone->id) {
    // Two people share these details, or one person was recorded twice: link to the email
    // match and show the conflict rather than merging silently.
    detail["possible_duplicate_of"] = by_phone->id;
    inquiry.fields["possible_duplicate_of"] = by_phone->id;
  } else {
    inquiry.fields.erase("possible_duplicate_of");
  }
  if (contact) {
    detail["contact"] = "returning";
    // Filling a field the other contact already holds would break the one-phone-one-contact
    // rule; only fill what is free.
    ContactFields fill = f;
    if (by_phone && by_phone->id != contact->id) fill.phone.clear();
    if (by_email && by_email->id != contact->id) fill.email.clear();
    if (FillContact(*contact, fill)) {
      contact->updated_at = now;
      RETURN_IF_ERROR(tx.UpsertContact(*contact));
    }
  } else if (!f.email.empty() || !f.phone.empty()) {
    Contact c;
    c.id = NewUuidV7(now);
    c.workspace = inquiry.workspace;
    c.name = f.name;
    c.email = f.email;
    c.phone = f.phone;
    c.created_at = c.updated_at = now;
    RETURN_IF_ERROR(tx.UpsertContact(c));
    contact = std::move(c);
    detail["contact"] = "new";
  } else {
    detail["contact"] = "none";
    problems.push_back("no email or phone to identify the contact");
  }
  std::vector<PastInquiry> past;
  if (contact) {
    inquiry.contact_id = contact->id;
    detail["contact_id"] = contact->id;
  }
  if (known) {
    ASSIGN_OR_RETURN(past, tx.ContactHistory(inquiry.workspace, contact->id, inquiry.id,
                                             config_->enrich.history_limit));
  }
  const nlohmann::json history = SummarizeHistory(past, *config_, business_time_.business());
  const bool returning = history["returning"].get<bool>();
  inquiry.fields["contact_status"] = returning ? "returning" : "new";
  inquiry.fields["history"] = history;
  detail["history"] = history;
  for (const char* key : {"intent", "value", "urgency"}) {
    if (inquiry.fields.contains(key)) detail[key] = inquiry.fields[key];
  }
  detail["normalized"] = {{"name", f.name}, {"email", f.email}, {"phone", f.phone}};
  detail.update(plan.hours);
  if (!problems.empty()) detail["problems"] = problems;

  inquiry.stage = Stage::kEnrich;
  inquiry.status = "enriched";
  if (plan.fetched) {
    plan.fetched->at = now;
    RETURN_IF_ERROR(tx.AppendEvent(*plan.fetched));
  }
  RETURN_IF_ERROR(tx.AppendEvent(
      Event{inquiry.workspace, inquiry.id, 0, now, Stage::kEnrich, "enriched", std::move(detail)}));
  return contact;
}

absl::Status EnrichStage::FetchContext(Inquiry& inquiry) const {
  const SourceConfig* source = config_->FindSource(inquiry.source);
  const SourceAdapter* adapter = source && adapters_ ? adapters_->Find(source->adapter) : nullptr;
  if (adapter == nullptr) {
    return absl::FailedPreconditionError(
        fmt::format("source '{}' or its adapter is no longer configured", inquiry.source));
  }
  return adapter->FetchContext(*source, inquiry);
}

}  // namespace handoff
