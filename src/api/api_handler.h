// The REST API (/api/v1/…), the health endpoints (/healthz, /readyz), /metrics and the dashboard's
// pages (/app/). Every /api/ call needs the workspace's admin token (Authorization: Bearer …) or
// a dashboard session cookie (with X-CSRF-Token on anything but GET), and reads only that
// workspace.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/sessions.h"
#include "api/tracking_api.h"
#include "config/config.h"
#include "entry/source_adapter.h"
#include "http/http_types.h"
#include "nlohmann/json.hpp"
#include "store/store.h"
#include "trigger/task_actions.h"

namespace handoff {

class Metrics;

// Thread-safe.
class ApiHandler {
 public:
  // `ready` reports whether the process can take work (store writable, stages running), with a
  // reason when not. `destinations` (may be null) describes each destination's delivery health
  // for /readyz. `sources` (may be null) describes each source's verification in
  // /api/v1/sources.
  ApiHandler(const Config* config, Store* store, const Clock* clock,
             std::function<absl::Status()> ready,
             std::function<nlohmann::json()> destinations = nullptr,
             const SourceAdapterRegistry* sources = nullptr);

  // Serves /metrics from `metrics` (not owned; must outlive this). Without it /metrics is 404.
  void set_metrics(const Metrics* metrics) { metrics_ = metrics; }
  // What /readyz says about this node (`node`: whether it leads the cluster's duties…).
  void set_node_status(std::function<nlohmann::json()> status) { node_status_ = std::move(status); }

  // Handles /healthz, /readyz, /metrics and /api/… requests. Responds exactly once.
  void Handle(HttpRequest&& request, HttpResponder respond);

  // Whether the request's credential belongs to this workspace: its admin token as the bearer,
  // one of its dashboard sessions, or a sign-in for it (POST /api/v1/session with its token,
  // or naming it as "workspace"). How a deployment of several workspaces picks the one that
  // answers; the request body never widens what a credential reaches.
  bool IsFor(const HttpRequest& request);

 private:
  HttpResponse ListInquiries(const HttpRequest& request);
  HttpResponse ShowInquiry(const std::string& id);
  HttpResponse ListSources();
  // GET /api/v1/inbox?state=open|done|all&limit=N: the inbox connector's records, newest first,
  // each with its inquiry and task.
  HttpResponse ListInbox(const HttpRequest& request);
  // POST /api/v1/inbox/{id}/done.
  void MarkInboxItem(const std::string& id, HttpResponder respond);
  // GET /api/v1/tasks?state=open|acknowledged|done|all&owner=ID&limit=N: tasks newest first,
  // each with who it is about; GET /api/v1/tasks/{id}.
  HttpResponse ListTasks(const HttpRequest& request);
  HttpResponse ShowTask(const std::string& id);
  // The inquiries (with their first task) that the rows of a list are about, in one read
  // transaction: the list shows one moment of the store, not one per row (200 read transactions
  // took about as long as this one, measured, since a transaction is cheap while idle).
  absl::StatusOr<std::map<InquiryRef, InquiryContext>> ReadListed(
      const std::vector<std::string>& inquiry_ids);
  // POST /api/v1/tasks/{id}/ack and /done (trigger/task_actions.h): {"task": …, "changed": bool}.
  void ChangeTask(const std::string& id, TaskStep step, const HttpRequest& request,
                  HttpResponder respond);
  // GET /api/v1/leaks?state=open|closed|all&limit=N: leaks (open ones first; closed ones of the
  // last 7 days), their alert groups, and each alert channel's state (as /readyz shows it).
  HttpResponse ListLeaks(const HttpRequest& request);
  HttpResponse Ready();
  // GET /metrics: the Prometheus exposition, with gauges read from the store at each scrape.
  HttpResponse MetricsText();
  // For /readyz: each alert channel's newest alert of the last day and whether it is failing.
  nlohmann::json AlertChannels();
  // POST /api/v1/handoffs/replay: one batch of dead handoffs back to pending (transfer/replay.h).
  void ReplayHandoffs(const HttpRequest& request, HttpResponder respond);
  // The Bearer admin token, or a session cookie (whose CSRF token a request that is not a GET
  // must repeat in X-CSRF-Token). Returns the response refusing the request, or nullopt.
  std::optional<HttpResponse> Refusal(const HttpRequest& request);
  bool BearerAuthorized(const HttpRequest& request) const;
  // /api/v1/session: POST signs in, GET shows the session, DELETE signs out.
  HttpResponse SessionEndpoint(const HttpRequest& request);
  // GET /api/v1/handoffs?state=dead|failed|pending|delivering&limit=N (newest first).
  HttpResponse ListHandoffs(const HttpRequest& request);
  // GET /api/v1/inquiries.csv with ListInquiries' filters: every match (up to 10,000 rows),
  // with spreadsheet formulas neutralised.
  HttpResponse ExportInquiries(const HttpRequest& request);

  const Config* config_;
  Store* store_;
  const Clock* clock_;
  std::function<absl::Status()> ready_;
  std::function<nlohmann::json()> destinations_;
  const SourceAdapterRegistry* sources_;
  const Metrics* metrics_ = nullptr;
  std::function<nlohmann::json()> node_status_;
  SessionStore sessions_;
  TrackingApi tracking_;
};

}  // namespace handoff
