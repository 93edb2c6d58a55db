#include "app/app.h"

#include <atomic>
#include <chrono>

#include "api/api_handler.h"
#include "api/task_link_page.h"
#include "app/config_check.h"
#include "core/time_format.h"
#include "enrich/enrich_stage.h"
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
#include "transfer/connector.h"
#include "transfer/dispatcher.h"
#include "trigger/escalation.h"
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

}  // namespace

struct App::Parts {
  Config config;
  const Clock* clock = nullptr;
  std::unique_ptr<Metrics> metrics;
  SourceAdapterRegistry sources;
  ConnectorRegistry connectors;
  std::unique_ptr<Store> store;
  std::unique_ptr<EnrichStage> enrich;
  std::unique_ptr<TriggerStage> trigger;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<Ingress> ingress;
  std::unique_ptr<ApiHandler> api;
  std::unique_ptr<TaskLinkPage> task_links;
  std::unique_ptr<DutyLease> duty;
  std::unique_ptr<EscalationRunner> escalation;
  std::unique_ptr<LeakMonitor> leaks;
  std::unique_ptr<ProbeRunner> probes;
  std::unique_ptr<HttpServer> server;
  std::atomic<bool> stopping{false};
  bool stopped = false;
};

App::App(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

App::~App() { Stop(); }

uint16_t App::port() const { return parts_->server->port(); }

const Config& App::config() const { return parts_->config; }

absl::StatusOr<std::unique_ptr<App>> App::Start(Config config, const AppOptions& options) {
  auto p = std::make_unique<Parts>();
  p->config = std::move(config);
  p->clock = options.clock ? options.clock : SystemClock::Get();
  RegisterBuiltinSources(p->sources);
  RegisterBuiltinConnectors(p->connectors);

  ConfigFindings findings = CheckConfig(p->config, p->sources, p->connectors);
  if (!findings.errors.empty()) {
    std::string all;
    for (const auto& e : findings.errors) all += (all.empty() ? "" : "\n") + e;
    return absl::InvalidArgumentError(all);
  }
  for (const auto& w : findings.warnings) spdlog::warn("config: {}", w);

  std::string db = options.database.empty() ? p->config.server.database : options.database;
  auto store = OpenStore(db, p->clock);
  if (!store.ok()) return store.status();
  p->store = std::move(*store);

  Parts* raw = p.get();
  p->metrics = std::make_unique<Metrics>(&p->config);
  WorkLoopOptions loop_options;
  DispatcherOptions dispatcher_options;
  if (p->store->shared()) {
    // Claims are renewed while this node lives: the lease is only how soon a dead node's work
    // moves to the others.
    loop_options.lease = p->config.server.lease;
    dispatcher_options.lease = p->config.server.lease;
  }
  loop_options.on_committed = [m = p->metrics.get()](Stage stage, Micros latency) {
    m->ObserveStage(stage, static_cast<double>(latency) / kMicrosPerSecond);
  };
  dispatcher_options.on_attempt = [m = p->metrics.get(), clock = p->clock](
                                      const Handoff& h, std::string_view outcome, double ms) {
    m->ObserveAttempt(h, outcome, ms / 1000,
                      static_cast<double>(clock->Now() - h.created_at) / kMicrosPerSecond);
  };
  p->enrich = std::make_unique<EnrichStage>(&p->config, p->store.get(), p->clock, loop_options,
                                            &p->sources);
  p->trigger = std::make_unique<TriggerStage>(&p->config, p->store.get(), p->clock, loop_options);
  p->dispatcher = std::make_unique<Dispatcher>(&p->config, &p->connectors, p->store.get(), p->clock,
                                               dispatcher_options);
  p->store->SetWorkListener([raw](Stage stage) {
    switch (stage) {
      case Stage::kEnrich:
        raw->enrich->loop().Wake();
        break;
      case Stage::kTrigger:
        raw->trigger->loop().Wake();
        break;
      case Stage::kTransfer:
        raw->dispatcher->Wake();
        break;
      default:
        break;
    }
  });
  // Workers start before the listener so work left by a previous run resumes at once.
  p->enrich->loop().Start();
  p->trigger->loop().Start();
  p->dispatcher->Start();
  // The cluster-wide duties run on the node holding the duty lease (always this one on SQLite).
  DutyLeaseOptions duty_options;
  duty_options.ttl = p->config.server.lease;
  duty_options.renew_every = p->config.server.lease / 5;
  p->duty = std::make_unique<DutyLease>(p->store.get(), p->clock, duty_options);
  p->duty->Start();
  p->escalation = std::make_unique<EscalationRunner>(&p->config, p->store.get(), p->clock);
  p->escalation->set_duty(p->duty.get());
  p->escalation->Start();
  p->leaks = std::make_unique<LeakMonitor>(&p->config, p->store.get(), p->clock);
  p->leaks->set_duty(p->duty.get());
  p->leaks->Start();
  p->probes = std::make_unique<ProbeRunner>(&p->config, p->store.get(), p->clock, &p->sources);
  p->probes->set_duty(p->duty.get());
  p->probes->Start();

  p->ingress = std::make_unique<Ingress>(&p->config, &p->sources, p->store.get(), p->clock);
  auto ready = [raw]() -> absl::Status {
    if (raw->stopping.load()) return absl::UnavailableError("shutting down");
    return absl::OkStatus();
  };
  auto destinations = [raw]() {
    nlohmann::json out = nlohmann::json::object();
    for (const Dispatcher::DestinationHealth& h : raw->dispatcher->Health()) {
      nlohmann::json d = {
          {"breaker", h.breaker}, {"in_flight", h.in_flight}, {"times_opened", h.times_opened}};
      if (h.open_until > 0) d["open_until"] = FormatRfc3339(h.open_until);
      out[h.destination] = std::move(d);
    }
    return out;
  };
  p->api = std::make_unique<ApiHandler>(&p->config, p->store.get(), p->clock, ready, destinations,
                                        &p->sources);
  p->api->set_metrics(p->metrics.get());
  p->api->set_node_status([raw] {
    return nlohmann::json{{"leader", raw->duty->held()},
                          {"database", raw->store->shared() ? "postgres" : "sqlite"}};
  });

  p->task_links = std::make_unique<TaskLinkPage>(&p->config, p->store.get(), p->clock);

  HttpServerOptions http;
  http.address =
      options.listen_address.empty() ? p->config.server.listen_address : options.listen_address;
  http.port = options.port >= 0 ? static_cast<uint16_t>(options.port) : p->config.server.port;
  http.threads = p->config.server.http_threads;
  http.max_body_bytes = p->ingress->MaxBodyBytes();
  auto server = HttpServer::Start(http, [raw](HttpRequest&& request, HttpResponder respond) {
    if (request.path.rfind("/in/", 0) == 0) {
      // Timed from here to the response: a 202 is sent only once the inquiry is durable.
      HttpResponder timed = [inner = std::move(respond), m = raw->metrics.get(),
                             source = SourceOfPath(raw->config, request.path),
                             start = std::chrono::steady_clock::now()](HttpResponse r) {
        m->ObserveIngress(
            source, r.status,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        inner(std::move(r));
      };
      raw->ingress->Handle(std::move(request), std::move(timed));
    } else if (request.path.rfind("/t/", 0) == 0) {
      raw->task_links->Handle(std::move(request), std::move(respond));
    } else {
      raw->api->Handle(std::move(request), std::move(respond));
    }
  });
  if (!server.ok()) {
    p->probes->Stop();
    p->leaks->Stop();
    p->escalation->Stop();
    p->duty->Stop();
    p->dispatcher->Stop();
    p->trigger->loop().Stop();
    p->enrich->loop().Stop();
    p->store->Shutdown();
    return absl::UnavailableError(fmt::format("cannot listen on {}:{}: {}", http.address, http.port,
                                              std::string(server.status().message())));
  }
  p->server = std::move(*server);
  spdlog::info("handoff serving workspace '{}' on http://{}:{} (database {})", p->config.workspace,
               http.address, p->server->port(), RedactCredentials(db));
  return std::unique_ptr<App>(new App(std::move(p)));
}

void App::Stop() {
  if (!parts_ || parts_->stopped) return;
  parts_->stopping.store(true);
  // Order matters: stop taking requests, let in-flight ones be answered (their commits are
  // already queued), then drain the stages and close the store last.
  parts_->server->Stop(5 * kMicrosPerSecond);
  parts_->enrich->loop().Stop();
  parts_->trigger->loop().Stop();
  parts_->probes->Stop();
  parts_->leaks->Stop();
  parts_->escalation->Stop();
  // Handed on at once: another node need not wait for the lease to run out.
  parts_->duty->Stop();
  parts_->dispatcher->Stop();
  parts_->store->Shutdown();
  parts_->stopped = true;
  spdlog::info("handoff stopped");
}

}  // namespace handoff
