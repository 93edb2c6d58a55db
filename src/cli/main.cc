// handoff: the integration-continuity engine. One binary; see `handoff --help`.
#include <pthread.h>

#include <CLI/CLI.hpp>

#include "app/logging.h"
#include "cli/commands.h"

#ifndef HANDOFF_VERSION
#define HANDOFF_VERSION "dev"
#endif

namespace handoff {

sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

}  // namespace handoff

int main(int argc, char** argv) {
  CLI::App root{
      "handoff: every inquiry captured, enriched, owned, delivered and tracked.\n"
      "Entry -> Enrichment -> Trigger -> Transfer -> Tracking."};
  root.set_version_flag("--version", std::string("handoff ") + HANDOFF_VERSION);
  root.require_subcommand(1);
  bool log_json = false;
  std::string log_level = "info";
  root.add_flag("--log-json", log_json, "Write logs as JSON lines");
  root.add_option("--log-level", log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  root.parse_complete_callback([&] { handoff::SetUpLogging(log_json, log_level); });

  int exit = 0;
  handoff::AddServeCommand(root, &exit);
  handoff::AddCheckCommand(root, &exit);
  handoff::AddInquiriesCommand(root, &exit);
  handoff::AddSourcesCommand(root, &exit);
  handoff::AddInboxCommand(root, &exit);
  handoff::AddLeaksCommand(root, &exit);
  handoff::AddScoreCommand(root, &exit);
  handoff::AddHashPasswordCommand(root, &exit);
  handoff::AddMapCommand(root, &exit);
  handoff::AddTasksCommand(root, &exit);
  handoff::AddDemoCommand(root, &exit);
  handoff::AddReplayCommand(root, &exit);
  CLI11_PARSE(root, argc, argv);
  return exit;
}
