#include "entry/ingress.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "core/id.h"
#include "core/status.h"
#include "entry/rejection.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "spdlog/spdlog.h"

namespace handoff {
namespace {

// The segments after "/in/" ("/in/a/b" gives {"a", "b"}; a trailing slash is ignored); empty
// for any other shape, an empty segment, or more than three segments.
std::vector<std::string> IngressSegments(const std::string& path) {
  if (path.rfind("/in/", 0) != 0) return {};
  std::string rest = path.substr(4);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  std::vector<std::string> segments;
  size_t start = 0;
  while (true) {
    const size_t slash = rest.find('/', start);
    segments.push_back(rest.substr(start, slash == std::string::npos ? slash : slash - start));
    if (segments.back().empty() || segments.size() > 3) return {};
    if (slash == std::string::npos) return segments;
    start = slash + 1;
  }
}

// Where a request is going: "/in/{source}", "/in/{workspace}/{source}", and for adapters that
// take a key in the path "/in/{source}/{key}" and "/in/{workspace}/{source}/{key}". A
// two-segment path is read as workspace/source when it names this workspace and one of its
// sources.
struct IngressTarget {
  std::string workspace;
  std::string source;
  bool has_key = false;
};

bool ResolveIngressPath(const std::string& path, const Config& config, IngressTarget& target) {
  const std::vector<std::string> seg = IngressSegments(path);
  switch (seg.size()) {
    case 1:
      target.source = seg[0];
      return true;
    case 2:
      if (seg[0] == config.workspace && config.FindSource(seg[1]) != nullptr) {
        target.workspace = seg[0];
        target.source = seg[1];
      } else {
        target.source = seg[0];
        target.has_key = true;
      }
      return true;
    case 3:
      target.workspace = seg[0];
      target.source = seg[1];
      target.has_key = true;
      return true;
    default:
      return false;
  }
}

// What the ingest write did with one delivery.
struct IngestOutcome {
  enum Kind { kCreated, kDuplicate, kUpdated, kIgnored } kind = kCreated;
  std::string existing_id;  // the inquiry a duplicate or an update belongs to
  bool advanced = false;    // a new inquiry that went through its later stages in the write
  absl::Status advance_error = absl::OkStatus();  // why those stages failed in the write
};

HttpResponse Answer(const IngestOutcome& outcome, const std::string& new_id) {
  switch (outcome.kind) {
    case IngestOutcome::kCreated:
      return HttpResponse::Json(202, nlohmann::json{{"id", new_id}, {"status", "accepted"}}.dump());
    case IngestOutcome::kDuplicate:
      return HttpResponse::Json(
          200, nlohmann::json{{"id", outcome.existing_id}, {"status", "duplicate"}}.dump());
    case IngestOutcome::kUpdated:
      return HttpResponse::Json(
          200, nlohmann::json{{"id", outcome.existing_id}, {"status", "updated"}}.dump());
    case IngestOutcome::kIgnored:
      break;
  }
  return HttpResponse::Json(200, R"({"status":"ignored"})");
}

// The answer to a request that carried several deliveries: 202 when any created an inquiry,
// else 200; the first delivery's id and status at the top (as for one delivery) and each
// delivery's in "deliveries", in request order.
HttpResponse AnswerBatch(const std::vector<ParsedDelivery>& deliveries,
                         const std::vector<IngestOutcome>& outcomes) {
  nlohmann::json each = nlohmann::json::array();
  bool created = false;
  for (size_t i = 0; i < deliveries.size(); ++i) {
    const HttpResponse one = Answer(outcomes[i], deliveries[i].inquiry.id);
    each.push_back(nlohmann::json::parse(one.body, nullptr, false));
    created = created || outcomes[i].kind == IngestOutcome::kCreated;
  }
  nlohmann::json body = each.front();
  body["deliveries"] = std::move(each);
  return HttpResponse::Json(created ? 202 : 200, body.dump());
}

// The thread keys live in the dedupe table beside the delivery keys, in their own namespace.
std::string ThreadDedupeKey(const std::string& thread_key) { return "thread:" + thread_key; }

// Records the keys under which later deliveries find the thread of `inquiry_id`.
absl::Status RememberThread(WriteTx& tx, const ParsedDelivery& d, const std::string& inquiry_id) {
  const Inquiry& in = d.inquiry;
  if (d.thread_key.empty()) return absl::OkStatus();
  std::vector<std::string> keys = d.thread_aliases;
  keys.push_back(d.thread_key);
  for (const std::string& key : keys) {
    ASSIGN_OR_RETURN(auto known, tx.FindDedupe(in.workspace, in.source, ThreadDedupeKey(key)));
    if (known) continue;
    RETURN_IF_ERROR(
        tx.InsertDedupe(in.workspace, in.source, ThreadDedupeKey(key), inquiry_id, in.received_at));
  }
  return absl::OkStatus();
}

// Records the keys of the deliveries `d` makes stale, so a late one is answered as a duplicate.
absl::Status RememberSuperseded(WriteTx& tx, const ParsedDelivery& d,
                                const std::string& inquiry_id) {
  const Inquiry& in = d.inquiry;
  for (const std::string& key : d.supersedes) {
    if (key.empty() || key == d.dedupe_key) continue;
    ASSIGN_OR_RETURN(auto known, tx.FindDedupe(in.workspace, in.source, key));
    if (known) continue;
    RETURN_IF_ERROR(tx.InsertDedupe(in.workspace, in.source, key, inquiry_id, in.received_at));
  }
  return absl::OkStatus();
}

// Folds a later delivery into its thread's inquiry and journals what changed, with the
// delivery's raw body (the inquiry row keeps the first one verbatim; the journal keeps the rest).
absl::Status UpdateThread(WriteTx& tx, const ParsedDelivery& d, const std::string& inquiry_id) {
  const Inquiry& in = d.inquiry;
  ASSIGN_OR_RETURN(Inquiry existing, tx.GetInquiry(in.workspace, inquiry_id));
  std::vector<std::string> changed = MergeThreadDelivery(existing, d);
  if (!changed.empty()) RETURN_IF_ERROR(tx.UpdateInquiry(existing));
  Event updated{in.workspace,
                inquiry_id,
                0,
                in.received_at,
                Stage::kEntry,
                "updated",
                {{"changed", changed},
                 {"raw", {{"content_type", in.raw_content_type}, {"body", in.raw_payload}}}}};
  if (!in.provider_event_id.empty()) updated.detail["provider_event_id"] = in.provider_event_id;
  if (!in.fields.empty()) updated.detail["fields"] = in.fields;
  RETURN_IF_ERROR(tx.AppendEvent(updated));
  RETURN_IF_ERROR(RememberThread(tx, d, inquiry_id));
  return tx.CountEntry(in.workspace, in.source, "updated", "", in.received_at, 1);
}

// The ingest write: dedupe, then either a thread update or a new inquiry with its first event
// and either its Enrichment work or, through `advance` (may be null), its later stages' output.
absl::Status Ingest(WriteTx& tx, const ParsedDelivery& d, const Event& received,
                    InlineAdvance* advance, IngestOutcome& outcome) {
  const Inquiry& in = d.inquiry;
  if (!d.dedupe_key.empty()) {
    ASSIGN_OR_RETURN(auto prior, tx.FindDedupe(in.workspace, in.source, d.dedupe_key));
    if (prior) {
      outcome.kind = IngestOutcome::kDuplicate;
      outcome.existing_id = *prior;
      return tx.CountEntry(in.workspace, in.source, "duplicate", "", in.received_at, 1);
    }
  }
  std::optional<std::string> thread;
  if (!d.thread_key.empty()) {
    std::vector<std::string> keys = {d.thread_key};
    keys.insert(keys.end(), d.thread_aliases.begin(), d.thread_aliases.end());
    for (const std::string& key : keys) {
      ASSIGN_OR_RETURN(thread, tx.FindDedupe(in.workspace, in.source, ThreadDedupeKey(key)));
      if (thread) break;
    }
  }
  if (!thread && d.thread_mode == ParsedDelivery::ThreadMode::kUpdateOnly) {
    outcome.kind = IngestOutcome::kIgnored;
    return tx.CountEntry(in.workspace, in.source, "ignored", "unknown thread", in.received_at, 1);
  }
  const std::string& inquiry_id = thread ? *thread : in.id;
  if (!d.dedupe_key.empty()) {
    RETURN_IF_ERROR(
        tx.InsertDedupe(in.workspace, in.source, d.dedupe_key, inquiry_id, in.received_at));
  }
  RETURN_IF_ERROR(RememberSuperseded(tx, d, inquiry_id));
  if (thread) {
    outcome.kind = IngestOutcome::kUpdated;
    outcome.existing_id = *thread;
    return UpdateThread(tx, d, *thread);
  }
  if (advance != nullptr) {
    RETURN_IF_ERROR(tx.AppendEvent(received));
    outcome.advance_error = advance->Record(tx);
    RETURN_IF_ERROR(outcome.advance_error);
    outcome.advanced = true;
  } else {
    RETURN_IF_ERROR(RecordNewInquiry(tx, in, received));
  }
  RETURN_IF_ERROR(RememberThread(tx, d, in.id));
  return tx.CountEntry(in.workspace, in.source, "accepted", "", in.received_at, 1);
}

// One request's deliveries on their way through the ingest write, and what it did with them.
struct PendingIngest {
  std::vector<ParsedDelivery> deliveries;
  std::vector<std::unique_ptr<InlineAdvance>> advances;  // per delivery; null: the stage threads
  // Per delivery, its "received" event with the detail rendered here, before the write (unused
  // when the write finds a duplicate or a thread to update).
  std::vector<Event> received;
  std::vector<IngestOutcome> outcomes;
  std::optional<HttpResponse> reply;  // the provider's own answer, if it expects one
  HttpResponder respond;
};

void CommitIngest(Store* store, std::shared_ptr<PendingIngest> pending) {
  store->SubmitWrite(
      [pending](WriteTx& tx) {
        // One transaction: a batch is acknowledged whole or not at all, so a retry of the
        // request finds every delivery or none.
        for (size_t i = 0; i < pending->deliveries.size(); ++i) {
          pending->outcomes[i] = IngestOutcome{};  // a write may run again after a failed attempt
          RETURN_IF_ERROR(Ingest(tx, pending->deliveries[i], pending->received[i],
                                 pending->advances[i].get(), pending->outcomes[i]));
        }
        return absl::OkStatus();
      },
      [store, pending](absl::Status s) {
        const ParsedDelivery& first = pending->deliveries.front();
        if (!s.ok()) {
          auto failed = std::find_if(pending->outcomes.begin(), pending->outcomes.end(),
                                     [](const IngestOutcome& o) { return !o.advance_error.ok(); });
          if (failed != pending->outcomes.end()) {
            // The later stages failed inside the write (a bug or a config they could not
            // follow): store the deliveries as Entry alone would, and let the stages' own
            // threads take them, where a failure is retried and journaled.
            spdlog::warn("entry: inquiry {} goes through the stage threads: {}", first.inquiry.id,
                         std::string(failed->advance_error.message()));
            for (auto& advance : pending->advances) advance.reset();
            // Cleared here too: a write refused at once (the store is shutting down) never runs
            // the function that would clear them, and must end in the 503 below.
            for (IngestOutcome& o : pending->outcomes) o = IngestOutcome{};
            CommitIngest(store, pending);
            return;
          }
          // Nothing was acknowledged, so the source will retry: say so with 503.
          spdlog::error("entry: could not commit inquiry {}: {}", first.inquiry.id,
                        std::string(s.message()));
          pending->respond(HttpResponse::JsonError(503, "unavailable",
                                                   "the inquiry could not be stored; retry later"));
          return;
        }
        for (size_t i = 0; i < pending->advances.size(); ++i) {
          if (pending->outcomes[i].advanced) pending->advances[i]->Committed();
        }
        // The provider expects its own answer on a redelivery too (TwiML, a 303).
        if (pending->reply) {
          pending->respond(std::move(*pending->reply));
          return;
        }
        if (pending->deliveries.size() == 1) {
          pending->respond(Answer(pending->outcomes.front(), first.inquiry.id));
          return;
        }
        pending->respond(AnswerBatch(pending->deliveries, pending->outcomes));
      });
}

}  // namespace

Event ReceivedEvent(const Inquiry& in) {
  Event received{in.workspace,
                 in.id,
                 0,
                 in.received_at,
                 Stage::kEntry,
                 "received",
                 {{"source", in.source},
                  {"channel", ChannelName(in.channel)},
                  {"bytes", in.raw_payload.size()}}};
  if (!in.provider_event_id.empty()) received.detail["provider_event_id"] = in.provider_event_id;
  if (IsProbe(in)) received.detail["probe"] = true;
  return received;
}

absl::Status RecordNewInquiry(WriteTx& tx, const Inquiry& in) {
  return RecordNewInquiry(tx, in, ReceivedEvent(in));
}

absl::Status RecordNewInquiry(WriteTx& tx, const Inquiry& in, const Event& received) {
  RETURN_IF_ERROR(tx.InsertInquiry(in));
  RETURN_IF_ERROR(tx.AppendEvent(received));
  WorkItem next;
  next.workspace = in.workspace;
  next.inquiry_id = in.id;
  next.stage = Stage::kEnrich;
  next.available_at = in.received_at;
  return tx.EnqueueWork(next);
}

Ingress::Ingress(const Config* config, const SourceAdapterRegistry* adapters, Store* store,
                 const Clock* clock)
    : config_(config), adapters_(adapters), store_(store), clock_(clock) {}

size_t Ingress::MaxBodyBytes() const {
  size_t max = config_->server.max_body_bytes;
  for (const auto& s : config_->sources) max = std::max(max, s.max_body_bytes);
  return max;
}

void Ingress::Count(const std::string& source, const std::string& outcome,
                    const std::string& reason) {
  std::string workspace = config_->workspace;
  Micros now = clock_->Now();
  // Counters are bookkeeping, not acknowledged data: nobody waits for their commit.
  store_->SubmitWrite(
      [=](WriteTx& tx) { return tx.CountEntry(workspace, source, outcome, reason, now, 1); },
      [](absl::Status) {});
}

void Ingress::Refuse(const std::string& source, const absl::Status& why, HttpResponder& respond) {
  std::string code = RejectionCode(why);
  int status = RejectionHttpStatus(why);
  Count(source, "rejected", code);
  spdlog::info("entry: rejected a request for source '{}': {} ({})", source, code, status);
  respond(HttpResponse::JsonError(status, code, RejectionDetail(why)));
}

void Ingress::Handle(HttpRequest&& request, HttpResponder respond) {
  IngressTarget target;
  if (!ResolveIngressPath(request.path, *config_, target)) {
    respond(HttpResponse::JsonError(404, "not_found", "expected /in/{source}"));
    return;
  }
  const SourceConfig* source = config_->FindSource(target.source);
  const SourceAdapterSpec* spec = source ? adapters_->FindSpec(source->adapter) : nullptr;
  if ((!target.workspace.empty() && target.workspace != config_->workspace) || source == nullptr ||
      (target.has_key && (spec == nullptr || !spec->path_key))) {
    // Not counted per source: the name is attacker-chosen and would grow the table unbounded.
    respond(HttpResponse::JsonError(
        404, "unknown_source",
        fmt::format("no source named '{}' in this workspace", target.source.substr(0, 64))));
    return;
  }
  const SourceAdapter* adapter = adapters_->Find(source->adapter);
  if (spec == nullptr || adapter == nullptr) {
    // `handoff check` refuses such configs; guard anyway since a config could be edited live.
    respond(HttpResponse::JsonError(500, "internal", "the source's adapter is not available"));
    return;
  }
  if (std::find(spec->methods.begin(), spec->methods.end(), request.method) ==
      spec->methods.end()) {
    Refuse(source->name,
           handoff::Reject(RejectReason::kMethodNotAllowed,
                           fmt::format("use {}", fmt::join(spec->methods, " or "))),
           respond);
    return;
  }
  size_t limit = source->max_body_bytes ? source->max_body_bytes : config_->server.max_body_bytes;
  if (request.body.size() > limit) {
    Refuse(source->name,
           handoff::Reject(RejectReason::kBodyTooLarge,
                           fmt::format("the body is {} bytes; this source accepts at most {}",
                                       request.body.size(), limit)),
           respond);
    return;
  }
  Micros now = clock_->Now();
  if (absl::Status v = adapter->Verify(*source, request, now); !v.ok()) {
    Refuse(source->name, v, respond);
    return;
  }
  auto parsed = adapter->Parse(*source, request);
  if (!parsed.ok()) {
    if (RejectionCode(parsed.status()) == "ignored") {
      Count(source->name, "ignored", RejectionDetail(parsed.status()).substr(0, 64));
      respond(HttpResponse::Json(200, R"({"status":"ignored"})"));
      return;
    }
    Refuse(source->name, parsed.status(), respond);
    return;
  }
  // Spam is answered like an accepted delivery, so a bot learns nothing from the answer.
  const auto answer_spam = [&](std::optional<HttpResponse>& reply) {
    respond(reply ? std::move(*reply)
                  : Answer(IngestOutcome{IngestOutcome::kCreated, ""}, NewUuidV7(now)));
  };
  if (parsed->spam && parsed->batch.empty()) {
    Count(source->name, "spam", "");
    answer_spam(parsed->reply);
    return;
  }
  if (!parsed->store && !parsed->spam) {
    Count(source->name, "handshake", "");
    respond(parsed->reply ? std::move(*parsed->reply) : HttpResponse::Json(200, "{}"));
    return;
  }

  // The request's deliveries: the parsed one, then any it carries in its batch. Spam and the
  // dedupe window apply to each delivery on its own: a spam delivery is counted and dropped.
  auto pending = std::make_shared<PendingIngest>();
  pending->reply = std::move(parsed->reply);
  std::vector<ParsedDelivery>& deliveries = pending->deliveries;
  std::vector<ParsedDelivery> batch = std::move(parsed->batch);
  parsed->batch.clear();
  if (parsed->spam) {
    Count(source->name, "spam", "");
  } else {
    deliveries.push_back(std::move(*parsed));
  }
  for (ParsedDelivery& d : batch) {
    d.batch.clear();
    if (d.spam) {
      Count(source->name, "spam", "");
      continue;
    }
    deliveries.push_back(std::move(d));
  }
  if (deliveries.empty()) {
    answer_spam(pending->reply);
    return;
  }
  for (ParsedDelivery& d : deliveries) {
    Inquiry& inquiry = d.inquiry;
    inquiry.id = NewUuidV7(now);
    inquiry.workspace = config_->workspace;
    inquiry.source = source->name;
    inquiry.received_at = now;
    if (inquiry.occurred_at == 0) inquiry.occurred_at = now;
    inquiry.stage = Stage::kEntry;
    if (inquiry.status.empty()) inquiry.status = "received";
    if (d.dedupe_window > 0 && !d.dedupe_key.empty()) {
      d.dedupe_key += fmt::format("@{}", now / d.dedupe_window);
    }
  }
  pending->respond = std::move(respond);
  pending->outcomes.resize(deliveries.size());
  pending->advances.resize(deliveries.size());
  for (const ParsedDelivery& d : deliveries) {
    pending->received.push_back(ReceivedEvent(d.inquiry));
    RenderDetail(pending->received.back());
  }
  if (inline_stages_) {
    for (size_t i = 0; i < deliveries.size(); ++i) {
      pending->advances[i] = inline_stages_(deliveries[i].inquiry);
    }
  }
  CommitIngest(store_, std::move(pending));
}

}  // namespace handoff
