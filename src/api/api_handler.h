// The REST API (/api/v1/…) and the health endpoints (/healthz, /readyz). Every /api/ call needs
// the workspace's admin token (Authorization: Bearer …) and reads only that workspace.
#pragma once

#include <functional>

#include "config/config.h"
#include "entry/source_adapter.h"
#include "http/http_types.h"
#include "nlohmann/json.hpp"
#include "store/store.h"
#include "trigger/task_actions.h"

namespace handoff {

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

  // Handles /healthz, /readyz and /api/… requests. Responds exactly once.
  void Handle(HttpRequest&& request, HttpResponder respond);

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
  // POST /api/v1/tasks/{id}/ack and /done (trigger/task_actions.h): {"task": …, "changed": bool}.
  void ChangeTask(const std::string& id, TaskStep step, const HttpRequest& request,
                  HttpResponder respond);
  HttpResponse Ready();
  // POST /api/v1/handoffs/replay: one batch of dead handoffs back to pending (transfer/replay.h).
  void ReplayHandoffs(const HttpRequest& request, HttpResponder respond);
  bool Authorized(const HttpRequest& request) const;

  const Config* config_;
  Store* store_;
  const Clock* clock_;
  std::function<absl::Status()> ready_;
  std::function<nlohmann::json()> destinations_;
  const SourceAdapterRegistry* sources_;
};

}  // namespace handoff
