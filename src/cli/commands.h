// The `handoff` subcommands, one file each. Each Add*Command registers its subcommand, its
// flags and its callback on the root CLI11 app; the callback's exit code is stored in `*exit`.
#pragma once

namespace CLI {
class App;
}

namespace handoff {

void AddServeCommand(CLI::App& root, int* exit);
void AddCheckCommand(CLI::App& root, int* exit);
void AddInquiriesCommand(CLI::App& root, int* exit);
void AddDemoCommand(CLI::App& root, int* exit);

}  // namespace handoff
