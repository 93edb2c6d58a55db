#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/app.h"
#include "cli/commands.h"
#include "config/config.h"
#include "core/time_format.h"
#include "spdlog/spdlog.h"

namespace handoff {

void AddServeCommand(CLI::App& root, int* exit) {
  struct Flags {
    std::string config = "handoff.yaml";
    std::string db;
    std::string listen;
    std::string port_file;
    std::string workspaces;
    std::string lease;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = root.add_subcommand("serve", "Run ingress, the stage workers and the API");
  cmd->add_option("-c,--config", flags->config, "The workspace config file")->capture_default_str();
  cmd->add_option("--db", flags->db,
                  "Database URL (sqlite:PATH or postgres://…); overrides server.database");
  cmd->add_option("--workspaces", flags->workspaces,
                  "Serve every workspace config (*.yaml) in this directory, picking up added, "
                  "changed and removed files while running (--config is then not read)");
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on; overrides server.listen");
  cmd->add_option("--lease", flags->lease,
                  "How soon a node's claims and cluster duties move to another node when it dies "
                  "or freezes, e.g. 10s (2s to 10m; on PostgreSQL); overrides server.lease, and "
                  "is the only way to set it with --workspaces");
  cmd->add_option("--port-file", flags->port_file,
                  "Write the bound port to this file once listening (useful with port 0)");
  cmd->callback([flags, exit] {
    sigset_t stop_signals = BlockStopSignals();

    AppOptions options;
    options.database = flags->db;
    if (!flags->lease.empty()) {
      absl::StatusOr<Micros> lease = ParseDuration(flags->lease);
      if (!lease.ok() || *lease < kMinServerLease || *lease > kMaxServerLease) {
        std::fprintf(stderr, "--lease must be a duration from 2s to 10m, like 10s (got \"%s\")\n",
                     flags->lease.c_str());
        *exit = 2;
        return;
      }
      options.lease = *lease;
    }
    if (!flags->listen.empty()) {
      size_t colon = flags->listen.rfind(':');
      if (colon == std::string::npos) {
        std::fprintf(stderr, "--listen must be HOST:PORT\n");
        *exit = 2;
        return;
      }
      options.listen_address = flags->listen.substr(0, colon);
      try {
        options.port = std::stoi(flags->listen.substr(colon + 1));
      } catch (const std::exception&) {
        options.port = -2;
      }
      if (options.port < 0 || options.port > 65535) {
        std::fprintf(stderr, "--listen must be HOST:PORT with a port from 0 to 65535\n");
        *exit = 2;
        return;
      }
    }
    absl::StatusOr<std::unique_ptr<App>> app = absl::UnknownError("not started");
    if (!flags->workspaces.empty()) {
      app = App::StartDirectory(flags->workspaces, options);
    } else {
      auto config = LoadConfig(flags->config, ProcessEnv);
      if (!config.ok()) {
        std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
        *exit = 2;
        return;
      }
      app = App::Start(std::move(*config), options);
    }
    if (!app.ok()) {
      std::fprintf(stderr, "%s\n", std::string(app.status().message()).c_str());
      *exit = 1;
      return;
    }
    if (!flags->port_file.empty()) {
      // Written to a temporary name and renamed, so a reader never sees a partial file.
      std::string tmp = flags->port_file + ".tmp";
      if (FILE* f = std::fopen(tmp.c_str(), "w")) {
        std::fprintf(f, "%u\n", (*app)->port());
        std::fclose(f);
        std::rename(tmp.c_str(), flags->port_file.c_str());
      }
    }
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("received {}, stopping gracefully", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    (*app)->Stop();
  });
}

}  // namespace handoff
