#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "app/app.h"
#include "cli/commands.h"
#include "cli/demo_config.h"
#include "config/config.h"
#include "core/id.h"
#include "core/thread_name.h"
#include "entry/common/source_auth.h"
#include "fmt/format.h"
#include "http/http_client.h"
#include "http/http_server.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace handoff {
namespace {

// The demo's stand-in for the business's CRM (/crm) and team chat (/team-chat): a real HTTP
// server on loopback that records each delivery and confirms it with a record id, as a CRM
// would. Team-chat notices are counted apart from CRM records.
class DemoCrm {
 public:
  absl::Status Start() {
    HttpServerOptions options;
    options.port = 0;
    auto server = HttpServer::Start(options, [this](HttpRequest&& req, HttpResponder respond) {
      std::lock_guard<std::mutex> lock(mu_);
      std::string id(req.Header("webhook-id").value_or(""));
      if (!seen_.insert(id).second) ++duplicates_;
      if (req.path != "/crm") {
        ++notices_;
        respond(HttpResponse::Json(200, R"({"ok":true})"));
        return;
      }
      ++received_;
      respond(HttpResponse::Json(200, fmt::format(R"({{"id":"crm-{}"}})", received_)));
    });
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    return absl::OkStatus();
  }
  uint16_t port() const { return server_->port(); }
  void Stop() {
    if (server_) server_->Stop(kMicrosPerSecond);
  }
  int received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  int duplicates() {
    std::lock_guard<std::mutex> lock(mu_);
    return duplicates_;
  }
  int notices() {
    std::lock_guard<std::mutex> lock(mu_);
    return notices_;
  }

 private:
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  int received_ = 0;
  int duplicates_ = 0;
  int notices_ = 0;
  std::set<std::string> seen_;
};

void SetDefaultEnv(const char* name, const std::string& value) {
  if (std::getenv(name) == nullptr) setenv(name, value.c_str(), 0);
}

struct Person {
  const char* name;
  const char* email;
  const char* phone;
  const char* need;
  const char* service;
};

constexpr Person kPeople[] = {
    {"Dana Whitfield", "dana.whitfield@example.com", "(415) 555-0142",
     "Our water heater stopped working this morning, no hot water at all.", "water-heater"},
    {"Luis Ortega", "luis.ortega@example.net", "415.555.0177",
     "Kitchen sink drain is backed up again.", "drains"},
    {"Priya Raman", "priya@example.org", "+1 415 555 0199",
     "Looking for a quote to remodel a bathroom.", "remodel"},
    {"Tom Becker", "tom.becker@example.com", "415 555 0123",
     "Basement is flooding near the water heater!", "water-heater"},
};

// Builds one sample delivery for the n-th post, rotating through the four channels.
HttpClientRequest Sample(int n, const std::string& base) {
  const Person& p = kPeople[n % 4];
  HttpClientRequest req;
  req.method = "POST";
  switch (n % 4) {
    case 0: {  // the website's contact form, urlencoded like a browser sends it
      req.url = base + "/in/website?key=" + std::getenv("WEBSITE_FORM_KEY");
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      auto enc = [](std::string s) {
        std::string out;
        for (char c : s) {
          if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') {
            out += c;
          } else if (c == ' ') {
            out += '+';
          } else {
            out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
          }
        }
        return out;
      };
      req.body = fmt::format("full_name={}&email={}&phone={}&details={}&service={}", enc(p.name),
                             enc(p.email), enc(p.phone), enc(p.need), enc(p.service));
      break;
    }
    case 1: {  // a missed call on the main line
      req.url = base + "/in/main-line";
      req.headers.emplace_back("Content-Type", "application/json");
      req.headers.emplace_back("X-Handoff-Token", std::getenv("PHONE_HOOK_TOKEN"));
      req.body = nlohmann::json{{"call_id", "CA" + RandomHex(16)},
                                {"caller", p.phone},
                                {"caller_name", p.name},
                                {"status", "no-answer"}}
                     .dump();
      break;
    }
    case 2: {  // a chat message, signed like the widget signs it
      req.url = base + "/in/chat";
      req.headers.emplace_back("Content-Type", "application/json");
      req.body = nlohmann::json{{"visitor", {{"name", p.name}, {"email", p.email}}},
                                {"message", {{"id", "msg_" + RandomHex(8)}, {"text", p.need}}}}
                     .dump();
      req.headers.emplace_back(
          "X-Chat-Signature",
          "sha256=" + HexEncode(HmacSha256(std::getenv("CHAT_WEBHOOK_SECRET"), req.body)));
      break;
    }
    default: {  // a booking
      req.url = base + "/in/bookings";
      req.headers.emplace_back("Content-Type", "application/json");
      req.headers.emplace_back("Authorization",
                               std::string("Bearer ") + std::getenv("BOOKING_HOOK_TOKEN"));
      req.body = nlohmann::json{
          {"uuid", RandomHex(16)},
          {"event_type", p.service},
          {"invitee", {{"name", p.name}, {"email", p.email}, {"phone", p.phone}}},
          {"notes",
           p.need}}.dump();
      break;
    }
  }
  return req;
}

// One line per inquiry: how far it got through the five stages, and how fast.
void PrintJourney(const std::string& base, const std::string& id) {
  HttpClientRequest req;
  req.url = base + "/api/v1/inquiries/" + id;
  req.headers.emplace_back("Authorization",
                           std::string("Bearer ") + std::getenv("HANDOFF_ADMIN_TOKEN"));
  auto resp = HttpFetch(req);
  if (!resp.ok() || resp->status != 200) return;
  auto b = nlohmann::json::parse(resp->body, nullptr, false);
  if (b.is_discarded()) return;
  const auto& i = b["inquiry"];
  const auto& stages = b["timeline"]["stages"];
  auto ms = [&](const char* s) -> std::string {
    if (!stages.contains(s)) return "…";
    return fmt::format("{:.1f}ms", stages[s]["since_received_ms"].get<double>());
  };
  std::string owner = "-", dest = "-";
  if (!b["tasks"].empty()) owner = b["tasks"][0]["owner"].get<std::string>();
  if (!b["handoffs"].empty()) {
    const auto& h = b["handoffs"][0];
    dest = fmt::format("{} {}", h["destination"].get<std::string>(), h["state"].get<std::string>());
  }
  std::printf("  %-7s %-16s entry ✓  enrich ✓ %-8s trigger ✓ %-8s owner %-6s transfer: %-14s %s\n",
              i["channel"].get<std::string>().c_str(),
              i["contact"]["name"].get<std::string>().c_str(), ms("enrich").c_str(),
              ms("trigger").c_str(), owner.c_str(), dest.c_str(), ms("transfer").c_str());
  std::fflush(stdout);
}

}  // namespace

void AddDemoCommand(CLI::App& root, int* exit) {
  struct Flags {
    int port = 8080;
    int seconds = 0;
    double interval = 3.0;
    std::string db;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = root.add_subcommand(
      "demo", "Run the bundled example business end to end, with a demo CRM on loopback");
  cmd->add_option("--port", flags->port, "Port for handoff (falls back to a free one if taken)")
      ->capture_default_str();
  cmd->add_option("--seconds", flags->seconds, "Stop after this many seconds (0 = until Ctrl-C)")
      ->capture_default_str();
  cmd->add_option("--interval", flags->interval, "Seconds between sample inquiries")
      ->capture_default_str();
  cmd->add_option("--db", flags->db, "Database path (default: a fresh file under /tmp)");
  cmd->callback([flags, exit] {
    sigset_t stop_signals = BlockStopSignals();

    SetDefaultEnv("HANDOFF_ADMIN_TOKEN", "demo-admin-" + RandomHex(12));
    SetDefaultEnv("WEBSITE_FORM_KEY", "form-" + RandomHex(12));
    SetDefaultEnv("PHONE_HOOK_TOKEN", "phone-" + RandomHex(12));
    SetDefaultEnv("CHAT_WEBHOOK_SECRET", "chat-" + RandomHex(16));
    SetDefaultEnv("BOOKING_HOOK_TOKEN", "booking-" + RandomHex(12));
    SetDefaultEnv("CRM_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");

    DemoCrm crm;
    if (absl::Status s = crm.Start(); !s.ok()) {
      std::fprintf(stderr, "cannot start the demo CRM: %s\n", std::string(s.message()).c_str());
      *exit = 1;
      return;
    }
    setenv("DEMO_CRM_URL", fmt::format("http://127.0.0.1:{}/crm", crm.port()).c_str(), 1);
    setenv("TEAM_CHAT_WEBHOOK_URL",
           fmt::format("http://127.0.0.1:{}/team-chat", crm.port()).c_str(), 1);

    auto config = LoadConfigFromString(kDemoConfig, "examples/harbor-plumbing.yaml", ProcessEnv);
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
      *exit = 1;
      return;
    }
    std::string db = flags->db;
    if (db.empty()) {
      char dir[] = "/tmp/handoff-demo-XXXXXX";
      if (mkdtemp(dir) == nullptr) {
        std::fprintf(stderr, "cannot create a temporary directory\n");
        *exit = 1;
        return;
      }
      db = std::string(dir) + "/handoff.db";
    }
    AppOptions options;
    options.database = "sqlite:" + db;
    options.port = flags->port;
    auto app = App::Start(*config, options);
    if (!app.ok() && absl::IsUnavailable(app.status())) {
      spdlog::warn("port {} is taken; using a free port", flags->port);
      options.port = 0;
      app = App::Start(*config, options);
    }
    if (!app.ok()) {
      std::fprintf(stderr, "%s\n", std::string(app.status().message()).c_str());
      *exit = 1;
      return;
    }
    std::string base = fmt::format("http://127.0.0.1:{}", (*app)->port());
    std::printf(
        "\nhandoff demo — Harbor Plumbing (examples/harbor-plumbing.yaml)\n"
        "  handoff      %s   (database %s)\n"
        "  demo CRM     http://127.0.0.1:%d/crm   (the transfer stage's destination)\n\n"
        "Every few seconds a sample inquiry arrives on one channel (form, call, chat, booking)\n"
        "and goes Entry -> Enrichment -> Trigger -> Transfer -> Tracking. Try it yourself:\n\n"
        "  curl -s -X POST '%s/in/website?key=%s' \\\n"
        "       -d full_name='Ada Lovelace' -d email=ada@example.com -d phone='415 555 0100' \\\n"
        "       -d details='Leaking pipe under the sink'\n"
        "  curl -s -H 'Authorization: Bearer %s' %s/api/v1/inquiries\n"
        "  curl -s -H 'Authorization: Bearer %s' %s/api/v1/inquiries/ID\n\n"
        "The dashboard (map, timelines, tasks, leaks, scorecard): %s/app/\n"
        "  sign in with the admin token %s\n\n"
        "Journeys (time since receipt at which each stage finished):\n",
        base.c_str(), db.c_str(), crm.port(), base.c_str(), std::getenv("WEBSITE_FORM_KEY"),
        std::getenv("HANDOFF_ADMIN_TOKEN"), base.c_str(), std::getenv("HANDOFF_ADMIN_TOKEN"),
        base.c_str(), base.c_str(), std::getenv("HANDOFF_ADMIN_TOKEN"));
    std::fflush(stdout);

    std::atomic<bool> done{false};
    std::atomic<int> posted{0}, accepted{0};
    std::thread poster([&] {
      NameThisThread("demo-poster");
      for (int n = 0; !done.load(); ++n) {
        auto resp = HttpFetch(Sample(n, base));
        ++posted;
        if (resp.ok() && resp->status == 202) {
          ++accepted;
          auto body = nlohmann::json::parse(resp->body, nullptr, false);
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          if (!body.is_discarded()) PrintJourney(base, body.value("id", ""));
        } else {
          std::printf(
              "  a sample post failed: %s\n",
              resp.ok() ? resp->body.c_str() : std::string(resp.status().message()).c_str());
        }
        auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<int>(flags->interval * 1000));
        while (!done.load() && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    });

    if (flags->seconds > 0) {
      timespec timeout{flags->seconds, 0};
      sigtimedwait(&stop_signals, nullptr, &timeout);
    } else {
      int sig = 0;
      sigwait(&stop_signals, &sig);
    }
    done.store(true);
    poster.join();
    // Give in-flight deliveries a moment, then stop everything gracefully.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    (*app)->Stop();
    crm.Stop();
    std::printf(
        "\ndemo summary: %d posted, %d accepted (202), %d delivered to the demo CRM, "
        "%d duplicate deliveries, %d team-chat notifications\n",
        posted.load(), accepted.load(), crm.received(), crm.duplicates(), crm.notices());
  });
}

}  // namespace handoff
