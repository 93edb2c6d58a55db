// The `handoff` subcommands, one file each. Each Add*Command registers its subcommand, its
// flags and its callback on the root CLI11 app; the callback's exit code is stored in `*exit`.
#pragma once

#include <signal.h>

namespace CLI {
class App;
}

namespace handoff {

void AddServeCommand(CLI::App& root, int* exit);
void AddCheckCommand(CLI::App& root, int* exit);
void AddInquiriesCommand(CLI::App& root, int* exit);
void AddSourcesCommand(CLI::App& root, int* exit);
void AddDemoCommand(CLI::App& root, int* exit);
void AddReplayCommand(CLI::App& root, int* exit);
void AddInboxCommand(CLI::App& root, int* exit);
void AddTasksCommand(CLI::App& root, int* exit);
void AddLeaksCommand(CLI::App& root, int* exit);
void AddScoreCommand(CLI::App& root, int* exit);
void AddHashPasswordCommand(CLI::App& root, int* exit);
void AddMapCommand(CLI::App& root, int* exit);

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards, so
// the caller can wait for them with sigwait; ignores SIGPIPE. Returns the blocked set.
sigset_t BlockStopSignals();

}  // namespace handoff
