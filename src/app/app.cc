#include "app/app.h"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>

#include "api/api_handler.h"
#include "api/dashboard.h"
#include "api/task_link_page.h"
#include "app/config_check.h"
#include "core/periodic_thread.h"
#include "core/status.h"
#include "core/time_format.h"
#include "enrich/enrich_stage.h"
#include "entry/common/source_auth.h"
#include "entry/ingress.h"
#include "entry/source_adapter.h"
#include "fmt/format.h"
#include "http/http_server.h"
#include "spdlog/spdlog.h"
#include "store/duty_lease.h"
#include "store/store.h"
#include "track/leak_monitor.h"
#include "track/metrics.h"
#include "track/probes.h"
#include "track/retention.h"
#include "transfer/connector.h"
#include "transfer/dispatcher.h"
#include "trigger/escalation.h"
#include "trigger/inline_stages.h"
#include "trigger/trigger_stage.h"

namespace handoff {
namespace {

// The database URL without credentials, for logs ("postgres://user:secret@db/x" →
// "postgres://***@db/x").
std::string RedactCredentials(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  return url.substr(0, scheme + 3) + "***" + url.substr(at);
}

// The configured source a request to /in/… is for: /in/{source}, /in/{workspace}/{source} or
// /in/{source}/{key}; "" when none matches (metrics then count it as "unknown").
std::string SourceOfPath(const Config& config, std::string_view path) {
  path.remove_prefix(4);  // "/in/"
  for (int segment = 0; segment < 2 && !path.empty(); ++segment) {
    const std::string_view name = path.substr(0, path.find('/'));
    if (config.FindSource(std::string(name)) != nullptr) return std::string(name);
    if (name.size() >= path.size()) break;
    path.remove_prefix(name.size() + 1);
  }
  return "";
}

// The first path segment after "/in/".
std::string_view FirstIngressSegment(std::string_view path) {
  path.remove_prefix(4);
  return path.substr(0, path.find('/'));
}

}  // namespace

// What identifies a workspace file's version: a change to either means read it again. Not in the
// anonymous namespace: App::Parts holds it, and a unity build would see that as a header's class
// with a member of internal type (-Wsubobject-linkage).
struct WorkspaceFileStamp {
  int64_t mtime_ns = 0;
  int64_t size = -1;
  bool operator==(const WorkspaceFileStamp&) const = default;
};

namespace {

std::optional<WorkspaceFileStamp> StampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return WorkspaceFileStamp{
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
      static_cast<int64_t>(st.st_size)};
}

}  // namespace

// Everything that serves one workspace, built from its config and started and stopped as a
// unit. The ingress, API and task pages have no threads: a request that still holds a
// replaced runtime finishes on it.
struct WorkspaceRuntime {
  Config config;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<EnrichStage> enrich;
  std::unique_ptr<TriggerStage> trigger;
  std::unique_ptr<InlineEnrichTrigger> inline_stages;  // the two above, inside ingest writes
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<Ingress> ingress;
  std::unique_ptr<ApiHandler> api;
  std::unique_ptr<TaskLinkPage> task_links;
  std::unique_ptr<EscalationRunner> escalation;
  std::unique_ptr<LeakMonitor> leaks;
  std::unique_ptr<ProbeRunner> probes;
  std::unique_ptr<RetentionRunner> retention;

  void Wake(Stage stage) {
    switch (stage) {
      case Stage::kEnrich:
        enrich->loop().Wake();
        break;
      case Stage::kTrigger:
        trigger->loop().Wake();
        break;
      case Stage::kTransfer:
        dispatcher->Wake();
        break;
      default:
        break;
    }
  }

  // Finishes the stages' current batches and in-flight deliveries, then stops every thread.
  void Stop() {
    enrich->loop().Stop();
    trigger->loop().Stop();
    retention->Stop();
    probes->Stop();
    leaks->Stop();
    escalation->Stop();
    dispatcher->Stop();
  }
};

struct App::Parts {
  const Clock* clock = nullptr;
  std::string directory;  // "" = one workspace, given to Start
  AppOptions options;
  std::string database;
  Micros lease = 10 * kMicrosPerSecond;  // server.lease: claims and duties on a shared store
  SourceAdapterRegistry sources;
  ConnectorRegistry connectors;
  std::unique_ptr<Store> store;
  std::unique_ptr<DutyLease> duty;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<PeriodicThread> watcher;
  std::atomic<bool> stopping{false};
  bool stopped = false;

  mutable std::mutex mu;
  std::map<std::string, std::shared_ptr<WorkspaceRuntime>> workspaces;  // by name; guarded by mu
  // Directory mode, touched by Reload only: each file's last version and the workspace it
  // serves ("" when it had errors).
  std::map<std::string, std::pair<WorkspaceFileStamp, std::string>> files;
  std::mutex reload_mu;

  // Failed sign-ins that matched no workspace (directory mode).
  std::unique_ptr<SignInLimiter> sign_in_limiter;

  std::vector<std::shared_ptr<WorkspaceRuntime>> All() const {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::shared_ptr<WorkspaceRuntime>> out;
    for (const auto& [name, w] : workspaces) out.push_back(w);
    return out;
  }
  std::shared_ptr<WorkspaceRuntime> Find(std::string_view name) const {
    std::lock_guard<std::mutex> lock(mu);
    auto it = workspaces.find(std::string(name));
    return it == workspaces.end() ? nullptr : it->second;
  }
  // The only workspace when there is exactly one (a single-workspace deployment).
  std::shared_ptr<WorkspaceRuntime> Only() const {
    std::lock_guard<std::mutex> lock(mu);
    return directory.empty() && workspaces.size() == 1 ? workspaces.begin()->second : nullptr;
  }

  // Opens the store and starts the duty lease: what every workspace shares.
  absl::Status OpenShared();
  // Starts the HTTP server on the address `options` names (else `server`'s), every request
  // going through Route.
  absl::Status Listen(const ServerConfig& server, size_t max_body_bytes);
  std::string listening_on;  // HOST:PORT, once listening
  // Every config error (file:line) of `config` against this build; logs its warnings.
  absl::Status Check(const Config& config) const;
  // Starts a workspace's runtime from a config that passed Check.
  std::shared_ptr<WorkspaceRuntime> Build(Config config);
  void Route(HttpRequest&& request, HttpResponder respond);
  HttpResponse DeploymentReady() const;
  // This node's part in a cluster, for /readyz: duty holder, database kind, lease.
  nlohmann::json NodeStatus() const;
  HttpResponse RefuseSignIn();
  void Reload();
};

absl::Status App::Parts::Check(const Config& config) const {
  ConfigFindings findings = CheckConfig(config, sources, connectors);
  if (!findings.errors.empty()) {
    std::string all;
    for (const auto& e : findings.errors) all += (all.empty() ? "" : "\n") + e;
    return absl::InvalidArgumentError(all);
  }
  for (const auto& w : findings.warnings) spdlog::warn("config: {}", w);
  return absl::OkStatus();
}

std::shared_ptr<WorkspaceRuntime> App::Parts::Build(Config config) {
  auto w = std::make_shared<WorkspaceRuntime>();
  w->config = std::move(config);
  const Config* c = &w->config;
  w->metrics = std::make_unique<Metrics>(c);
  WorkLoopOptions loop_options;
  loop_options.workspace = c->workspace;
  loop_options.on_committed = [m = w->metrics.get()](Stage stage, Micros latency) {
    m->ObserveStage(stage, static_cast<double>(latency) / kMicrosPerSecond);
  };
  DispatcherOptions dispatcher_options;
  dispatcher_options.workspace = c->workspace;
  if (store->shared()) {
    // Claims are renewed while this node lives: the lease is only how soon a dead node's work
    // moves to the others.
    loop_options.lease = lease;
    dispatcher_options.lease = lease;
  }
  dispatcher_options.on_attempt = [m = w->metrics.get(), clock = clock](
                                      const Handoff& h, std::string_view outcome, double ms) {
    m->ObserveAttempt(h, outcome, ms / 1000,
                      static_cast<double>(clock->Now() - h.created_at) / kMicrosPerSecond);
  };
  w->enrich = std::make_unique<EnrichStage>(c, store.get(), clock, loop_options, &sources);
  w->trigger = std::make_unique<TriggerStage>(c, store.get(), clock, loop_options);
  w->dispatcher =
      std::make_unique<Dispatcher>(c, &connectors, store.get(), clock, dispatcher_options);
  w->enrich->loop().Start();
  w->trigger->loop().Start();
  w->dispatcher->Start();
  w->escalation = std::make_unique<EscalationRunner>(c, store.get(), clock);
  w->escalation->set_duty(duty.get());
  w->escalation->Start();
  w->leaks = std::make_unique<LeakMonitor>(c, store.get(), clock);
  w->leaks->set_duty(duty.get());
  w->leaks->Start();
  w->probes = std::make_unique<ProbeRunner>(c, store.get(), clock, &sources);
  w->probes->set_duty(duty.get());
  w->probes->Start();
  w->retention = std::make_unique<RetentionRunner>(c, store.get(), clock);
  w->retention->set_duty(duty.get());
  w->retention->Start();

  w->ingress = std::make_unique<Ingress>(c, &sources, store.get(), clock);
  w->inline_stages = std::make_unique<InlineEnrichTrigger>(w->enrich.get(), w->trigger.get(), clock,
                                                           loop_options.on_committed);
  w->ingress->set_inline_stages(w->inline_stages->AsIngressStages());
  auto ready = [this]() -> absl::Status {
    if (stopping.load()) return absl::UnavailableError("shutting down");
    return absl::OkStatus();
  };
  auto destinations = [d = w->dispatcher.get()]() {
    nlohmann::json out = nlohmann::json::object();
    for (const Dispatcher::DestinationHealth& h : d->Health()) {
      nlohmann::json one = {
          {"breaker", h.breaker}, {"in_flight", h.in_flight}, {"times_opened", h.times_opened}};
      if (h.open_until > 0) one["open_until"] = FormatRfc3339(h.open_until);
      out[h.destination] = std::move(one);
    }
    return out;
  };
  w->api = std::make_unique<ApiHandler>(c, store.get(), clock, ready, destinations, &sources);
  w->api->set_metrics(w->metrics.get());
  w->api->set_node_status([this] { return NodeStatus(); });
  w->task_links = std::make_unique<TaskLinkPage>(c, store.get(), clock);
  return w;
}

nlohmann::json App::Parts::NodeStatus() const {
  return {{"leader", duty->held()},
          {"database", store->shared() ? "postgres" : "sqlite"},
          {"lease_seconds", static_cast<double>(lease) / kMicrosPerSecond}};
}

HttpResponse App::Parts::DeploymentReady() const {
  const bool ok = !stopping.load();
  nlohmann::json body = {{"status", ok ? "ready" : "not_ready"}};
  if (!ok) body["reason"] = "shutting down";
  if (auto depths = store->QueueDepths(); depths.ok()) {
    nlohmann::json q = nlohmann::json::object();
    for (const auto& [name, n] : *depths) q[name] = n;
    body["queues"] = q;
  }
  // Which workspaces are served is nobody's business without a credential: only how many.
  body["workspaces"] = All().size();
  body["node"] = NodeStatus();
  return HttpResponse::Json(ok ? 200 : 503, body.dump());
}

HttpResponse App::Parts::RefuseSignIn() {
  if (auto closed = sign_in_limiter->Refusal()) return *std::move(closed);
  sign_in_limiter->CountFailure();
  return HttpResponse::JsonError(401, "unauthorized", "wrong token, user or password");
}

void App::Parts::Route(HttpRequest&& request, HttpResponder respond) {
  const std::string& path = request.path;
  std::shared_ptr<WorkspaceRuntime> target = Only();
  if (path.rfind("/in/", 0) == 0) {
    if (target == nullptr) {
      // /in/{workspace}/{source}…: the workspace is named in the URL the source was given.
      target = Find(FirstIngressSegment(path));
      if (target == nullptr) {
        respond(HttpResponse::JsonError(404, "unknown_source",
                                        "no such source: post to /in/{workspace}/{source}"));
        return;
      }
    }
    // Timed from here to the response: a 202 is sent only once the inquiry is durable.
    HttpResponder timed = [inner = std::move(respond), w = target,
                           source = SourceOfPath(target->config, path),
                           start = std::chrono::steady_clock::now()](HttpResponse r) {
      w->metrics->ObserveIngress(
          source, r.status,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      inner(std::move(r));
    };
    target->ingress->Handle(std::move(request), std::move(timed));
    return;
  }
  if (path.rfind("/t/", 0) == 0) {
    if (target == nullptr) {
      for (const auto& w : All()) {
        if (w->task_links->Recognizes(request)) target = w;
      }
    }
    if (target == nullptr) target = All().empty() ? nullptr : All().front();
    if (target == nullptr) {
      respond(HttpResponse::JsonError(404, "not_found", "no such link"));
      return;
    }
    target->task_links->Handle(std::move(request), std::move(respond));
    return;
  }
  if (target != nullptr) {
    target->api->Handle(std::move(request), std::move(respond));
    return;
  }
  // Several workspaces: the credential decides which one answers.
  if (path == "/healthz") {
    respond(HttpResponse::Json(200, R"({"status":"ok"})"));
    return;
  }
  if (path == "/readyz") {
    respond(DeploymentReady());
    return;
  }
  std::vector<std::shared_ptr<WorkspaceRuntime>> all = All();
  if (IsDashboardPath(path) && !all.empty()) {
    all.front()->api->Handle(std::move(request), std::move(respond));  // the same pages for all
    return;
  }
  for (const auto& w : all) {
    if (w->api->IsFor(request)) {
      w->api->Handle(std::move(request), std::move(respond));
      return;
    }
  }
  if (path == "/api/v1/session" && request.method == "POST") {
    respond(RefuseSignIn());
    return;
  }
  HttpResponse r = HttpResponse::JsonError(
      401, "unauthorized",
      "send a workspace's admin token as 'Authorization: Bearer <token>' or sign in to the "
      "dashboard");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  respond(std::move(r));
}

void App::Parts::Reload() {
  std::lock_guard<std::mutex> reload_lock(reload_mu);
  std::error_code ec;
  std::map<std::string, WorkspaceFileStamp> present;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    const std::string ext = entry.path().extension().string();
    if (!entry.is_regular_file(ec) || (ext != ".yaml" && ext != ".yml")) continue;
    if (auto stamp = StampOf(entry.path().string())) present[entry.path().string()] = *stamp;
  }
  if (ec) {
    spdlog::error("workspaces: cannot read {}: {}", directory, ec.message());
    return;
  }
  std::vector<std::shared_ptr<WorkspaceRuntime>> retired;
  // Files gone: their workspaces stop.
  for (auto it = files.begin(); it != files.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    if (!it->second.second.empty()) {
      std::lock_guard<std::mutex> lock(mu);
      if (auto w = workspaces.find(it->second.second); w != workspaces.end()) {
        retired.push_back(w->second);
        workspaces.erase(w);
      }
      spdlog::info("workspaces: {} removed ({})", it->second.second, it->first);
    }
    it = files.erase(it);
  }
  for (const auto& [path, stamp] : present) {
    auto known = files.find(path);
    if (known != files.end() && known->second.first == stamp) continue;
    const std::string previous = known == files.end() ? "" : known->second.second;
    files[path] = {stamp, previous};
    absl::StatusOr<Config> config = LoadConfig(path, ProcessEnv);
    if (!config.ok()) {
      spdlog::error("workspaces: {} not (re)loaded:\n{}", path,
                    std::string(config.status().message()));
      continue;
    }
    const std::string name = config->workspace;
    bool clash = false;
    for (const auto& [other_path, other] : files) {
      if (other_path != path && other.second == name) clash = true;
    }
    for (const auto& w : All()) {
      if (w->config.workspace != previous && !config->server.admin_token.empty() &&
          ConstantTimeEquals(w->config.server.admin_token, config->server.admin_token)) {
        clash = true;
      }
    }
    if (clash) {
      spdlog::error(
          "workspaces: {} not loaded: its workspace name or admin token is already used by "
          "another file; each workspace needs its own",
          path);
      continue;
    }
    if (absl::Status checked = Check(*config); !checked.ok()) {
      spdlog::error("workspaces: {} not (re)loaded:\n{}", path, std::string(checked.message()));
      continue;
    }
    std::shared_ptr<WorkspaceRuntime> built = Build(std::move(*config));
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!previous.empty() && previous != name) {
        if (auto w = workspaces.find(previous); w != workspaces.end()) {
          retired.push_back(w->second);
          workspaces.erase(w);
        }
      }
      if (auto w = workspaces.find(name); w != workspaces.end()) retired.push_back(w->second);
      workspaces[name] = std::move(built);
    }
    files[path].second = name;
    spdlog::info("workspaces: {} {} from {}", name, previous.empty() ? "added" : "reloaded", path);
  }
  // Stopped after the swap: requests already go to the new runtime meanwhile.
  for (const auto& w : retired) w->Stop();
}

App::App(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

App::~App() { Stop(); }

uint16_t App::port() const { return parts_->server->port(); }

const Config& App::config() const {
  static const Config* const kNone = new Config();
  std::lock_guard<std::mutex> lock(parts_->mu);
  return parts_->workspaces.empty() ? *kNone : parts_->workspaces.begin()->second->config;
}

std::vector<std::string> App::workspaces() const {
  std::vector<std::string> out;
  for (const auto& w : parts_->All()) out.push_back(w->config.workspace);
  return out;
}

void App::Reload() {
  if (!parts_->directory.empty()) parts_->Reload();
}

absl::StatusOr<std::unique_ptr<App>> App::Start(Config config, const AppOptions& options) {
  auto p = std::make_unique<Parts>();
  p->options = options;
  p->clock = options.clock ? options.clock : SystemClock::Get();
  RegisterBuiltinSources(p->sources);
  RegisterBuiltinConnectors(p->connectors);
  // The config is checked before the store is opened: a config error touches nothing.
  RETURN_IF_ERROR(p->Check(config));
  const ServerConfig server = config.server;
  p->database = options.database.empty() ? server.database : options.database;
  p->lease = options.lease > 0 ? options.lease : server.lease;
  RETURN_IF_ERROR(p->OpenShared());
  std::shared_ptr<WorkspaceRuntime> w = p->Build(std::move(config));
  const std::string name = w->config.workspace;
  const size_t max_body = w->ingress->MaxBodyBytes();
  p->workspaces[name] = std::move(w);
  auto app = std::unique_ptr<App>(new App(std::move(p)));
  absl::Status listening = app->parts_->Listen(server, max_body);
  if (!listening.ok()) {
    app->Stop();
    return listening;
  }
  spdlog::info("handoff serving workspace '{}' on http://{} (database {})", name,
               app->parts_->listening_on, RedactCredentials(app->parts_->database));
  return app;
}

absl::StatusOr<std::unique_ptr<App>> App::StartDirectory(const std::string& dir,
                                                         const AppOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(fmt::format("{} is not a directory", dir));
  }
  auto p = std::make_unique<Parts>();
  p->options = options;
  p->directory = dir;
  p->clock = options.clock ? options.clock : SystemClock::Get();
  RegisterBuiltinSources(p->sources);
  RegisterBuiltinConnectors(p->connectors);
  // The files' server sections do not apply here: the process-wide settings are the flags'.
  ServerConfig server;
  p->database = options.database.empty() ? server.database : options.database;
  p->lease = options.lease > 0 ? options.lease : server.lease;
  RETURN_IF_ERROR(p->OpenShared());
  p->sign_in_limiter = std::make_unique<SignInLimiter>(p->clock);
  p->Reload();
  Parts* raw = p.get();
  auto app = std::unique_ptr<App>(new App(std::move(p)));
  // Each source's own limit is enforced by the ingress; this is the ceiling for all of them.
  absl::Status listening = raw->Listen(server, 4 * 1024 * 1024);
  if (!listening.ok()) {
    app->Stop();
    return listening;
  }
  raw->watcher = std::make_unique<PeriodicThread>("config-watch", [raw] {
    raw->Reload();
    return raw->options.reload_every;
  });
  raw->watcher->Start();
  spdlog::info("handoff serving {} workspace(s) from {} on http://{} (database {})",
               raw->All().size(), dir, raw->listening_on, RedactCredentials(raw->database));
  return app;
}

absl::Status App::Parts::OpenShared() {
  auto opened = OpenStore(database, clock);
  if (!opened.ok()) return opened.status();
  store = std::move(*opened);
  // The cluster-wide duties run on the node holding the duty lease (always this one on SQLite).
  DutyLeaseOptions duty_options;
  duty_options.ttl = lease;
  duty_options.renew_every = lease / 5;
  duty = std::make_unique<DutyLease>(store.get(), clock, duty_options);
  duty->Start();
  store->SetWorkListener([this](Stage stage) {
    for (const auto& w : All()) w->Wake(stage);
  });
  return absl::OkStatus();
}

absl::Status App::Parts::Listen(const ServerConfig& server_config, size_t max_body_bytes) {
  HttpServerOptions http;
  http.address =
      options.listen_address.empty() ? server_config.listen_address : options.listen_address;
  http.port = options.port >= 0 ? static_cast<uint16_t>(options.port) : server_config.port;
  http.threads = server_config.http_threads;
  http.max_body_bytes = max_body_bytes;
  auto started = HttpServer::Start(http, [this](HttpRequest&& request, HttpResponder respond) {
    Route(std::move(request), std::move(respond));
  });
  if (!started.ok()) {
    return absl::UnavailableError(fmt::format("cannot listen on {}:{}: {}", http.address, http.port,
                                              std::string(started.status().message())));
  }
  server = std::move(*started);
  listening_on = fmt::format("{}:{}", http.address, server->port());
  return absl::OkStatus();
}

void App::Stop() {
  if (!parts_ || parts_->stopped) return;
  parts_->stopping.store(true);
  if (parts_->watcher != nullptr) parts_->watcher->Stop();
  // Order matters: stop taking requests, let in-flight ones be answered (their commits are
  // already queued), then drain the stages and close the store last.
  if (parts_->server != nullptr) parts_->server->Stop(5 * kMicrosPerSecond);
  for (const auto& w : parts_->All()) w->Stop();
  // Handed on at once: another node need not wait for the lease to run out.
  parts_->duty->Stop();
  parts_->store->Shutdown();
  parts_->stopped = true;
  spdlog::info("handoff stopped");
}

}  // namespace handoff
