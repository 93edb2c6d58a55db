// `handoff hash-password`: reads a dashboard password from stdin and prints the `password_hash`
// to put on the team member in the config (api/password.h). The password never appears in the
// shell's history or the process list.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "api/password.h"
#include "cli/commands.h"

namespace handoff {

void AddHashPasswordCommand(CLI::App& root, int* exit) {
  CLI::App* cmd = root.add_subcommand(
      "hash-password",
      "Read a dashboard password on stdin and print its password_hash for the config");
  cmd->callback([exit] {
    if (isatty(STDIN_FILENO)) std::fprintf(stderr, "Password (then Enter): ");
    std::string password;
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.size() < 12) {
      std::fprintf(stderr, "the password must be at least 12 characters\n");
      *exit = 1;
      return;
    }
    auto hash = HashPassword(password);
    if (!hash.ok()) {
      std::fprintf(stderr, "%s\n", std::string(hash.status().message()).c_str());
      *exit = 1;
      return;
    }
    std::printf("%s\n", hash->c_str());
  });
}

}  // namespace handoff
