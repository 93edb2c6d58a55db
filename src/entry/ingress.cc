#include "entry/ingress.h"

#include <memory>

#include "core/id.h"
#include "core/status.h"
#include "entry/rejection.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace handoff {
namespace {

// Splits "/in/{source}" or "/in/{workspace}/{source}"; false for any other shape.
bool SplitIngressPath(const std::string& path, std::string& workspace, std::string& source) {
  if (path.rfind("/in/", 0) != 0) return false;
  std::string rest = path.substr(4);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  size_t slash = rest.find('/');
  if (slash == std::string::npos) {
    source = rest;
  } else {
    workspace = rest.substr(0, slash);
    source = rest.substr(slash + 1);
    if (source.find('/') != std::string::npos) return false;
  }
  return !source.empty();
}

HttpResponse Accepted(int status, const std::string& id, bool duplicate) {
  nlohmann::json body = {{"id", id}, {"status", duplicate ? "duplicate" : "accepted"}};
  return HttpResponse::Json(status, body.dump());
}

}  // namespace

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
  std::string workspace, source_name;
  if (!SplitIngressPath(request.path, workspace, source_name)) {
    respond(HttpResponse::JsonError(404, "not_found", "expected /in/{source}"));
    return;
  }
  const SourceConfig* source = config_->FindSource(source_name);
  if ((!workspace.empty() && workspace != config_->workspace) || source == nullptr) {
    // Not counted per source: the name is attacker-chosen and would grow the table unbounded.
    respond(HttpResponse::JsonError(
        404, "unknown_source",
        fmt::format("no source named '{}' in this workspace", source_name.substr(0, 64))));
    return;
  }
  if (request.method != "POST") {
    Refuse(source->name, handoff::Reject(RejectReason::kMethodNotAllowed, "use POST"), respond);
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
  const SourceAdapter* adapter = adapters_->Find(source->adapter);
  if (adapter == nullptr) {
    // `handoff check` refuses such configs; guard anyway since a config could be edited live.
    respond(HttpResponse::JsonError(500, "internal", "the source's adapter is not available"));
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

  auto inquiry = std::make_shared<Inquiry>(std::move(parsed->inquiry));
  inquiry->id = NewUuidV7(now);
  inquiry->workspace = config_->workspace;
  inquiry->source = source->name;
  inquiry->received_at = now;
  if (inquiry->occurred_at == 0) inquiry->occurred_at = now;
  inquiry->stage = Stage::kEntry;
  inquiry->status = "received";
  std::string dedupe_key = std::move(parsed->dedupe_key);
  auto existing = std::make_shared<std::string>();

  WriteFn write = [inquiry, dedupe_key, existing](WriteTx& tx) -> absl::Status {
    if (!dedupe_key.empty()) {
      ASSIGN_OR_RETURN(auto prior, tx.FindDedupe(inquiry->workspace, inquiry->source, dedupe_key));
      if (prior) {
        *existing = *prior;
        return tx.CountEntry(inquiry->workspace, inquiry->source, "duplicate", "",
                             inquiry->received_at, 1);
      }
      RETURN_IF_ERROR(tx.InsertDedupe(inquiry->workspace, inquiry->source, dedupe_key, inquiry->id,
                                      inquiry->received_at));
    }
    RETURN_IF_ERROR(tx.InsertInquiry(*inquiry));
    Event received{inquiry->workspace,
                   inquiry->id,
                   0,
                   inquiry->received_at,
                   Stage::kEntry,
                   "received",
                   {{"source", inquiry->source},
                    {"channel", ChannelName(inquiry->channel)},
                    {"bytes", inquiry->raw_payload.size()}}};
    if (!inquiry->provider_event_id.empty()) {
      received.detail["provider_event_id"] = inquiry->provider_event_id;
    }
    RETURN_IF_ERROR(tx.AppendEvent(received));
    WorkItem next;
    next.workspace = inquiry->workspace;
    next.inquiry_id = inquiry->id;
    next.stage = Stage::kEnrich;
    next.available_at = inquiry->received_at;
    RETURN_IF_ERROR(tx.EnqueueWork(next));
    return tx.CountEntry(inquiry->workspace, inquiry->source, "accepted", "", inquiry->received_at,
                         1);
  };
  store_->SubmitWrite(std::move(write), [inquiry, existing, respond](absl::Status s) {
    if (!s.ok()) {
      // Nothing was acknowledged, so the source will retry: say so with 503.
      spdlog::error("entry: could not commit inquiry {}: {}", inquiry->id,
                    std::string(s.message()));
      respond(HttpResponse::JsonError(503, "unavailable",
                                      "the inquiry could not be stored; retry later"));
      return;
    }
    if (!existing->empty()) {
      respond(Accepted(200, *existing, true));
    } else {
      respond(Accepted(202, inquiry->id, false));
    }
  });
}

}  // namespace handoff
