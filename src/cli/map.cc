// `handoff map`: the continuity map (track/continuity_map.h) as text, JSON, Graphviz DOT or SVG,
// with the running server's live figures (GET /api/v1/map), or with --offline from the config
// file alone.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "cli/api_client.h"
#include "cli/commands.h"
#include "config/config.h"
#include "core/time_format.h"
#include "entry/source_adapter.h"
#include "fmt/format.h"
#include "http/url_encoding.h"
#include "nlohmann/json.hpp"
#include "track/continuity_map.h"

extern char** environ;

namespace handoff {
namespace {

// Closes the file descriptors it holds when it goes out of scope.
struct Fds {
  int fd[2] = {-1, -1};
  void Close(int i) {
    if (fd[i] >= 0) close(fd[i]);
    fd[i] = -1;
  }
  ~Fds() {
    Close(0);
    Close(1);
  }
};

// Runs Graphviz's `dot -Tsvg` (found on PATH) with `graph` on its stdin and returns what it
// printed. Its stderr stays ours, so its own complaints reach the user.
absl::StatusOr<std::string> RenderSvg(const std::string& graph) {
  Fds in, out;
  if (pipe2(in.fd, O_CLOEXEC) != 0 || pipe2(out.fd, O_CLOEXEC) != 0) {
    return absl::InternalError(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fd[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], STDOUT_FILENO);
  char arg0[] = "dot", arg1[] = "-Tsvg";
  char* argv[] = {arg0, arg1, nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "dot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned == ENOENT) {
    return absl::FailedPreconditionError(
        "Graphviz's `dot` was not found on PATH: install Graphviz (Debian: apt install "
        "graphviz), or use --format dot and render it elsewhere");
  }
  if (spawned != 0) {
    return absl::InternalError(fmt::format("cannot run dot: {}", std::strerror(spawned)));
  }
  in.Close(0);
  out.Close(1);
  // A dot that exits early must not kill us with SIGPIPE: the write fails and we report it.
  signal(SIGPIPE, SIG_IGN);
  fcntl(in.fd[1], F_SETFL, fcntl(in.fd[1], F_GETFL) | O_NONBLOCK);
  // Feed and drain at once, so that neither side waits on a full pipe.
  std::string svg;
  size_t written = 0;
  if (graph.empty()) in.Close(1);
  while (out.fd[0] >= 0) {
    pollfd fds[2] = {{.fd = out.fd[0], .events = POLLIN, .revents = 0},
                     {.fd = in.fd[1], .events = POLLOUT, .revents = 0}};
    const nfds_t count = in.fd[1] >= 0 ? 2 : 1;
    if (poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      out.Close(0);  // so that dot, if still writing, ends too
      break;
    }
    if (count == 2 && fds[1].revents != 0) {
      const ssize_t n = write(in.fd[1], graph.data() + written, graph.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == graph.size()) in.Close(1);
    }
    if (fds[0].revents != 0) {
      char buf[65536];
      const ssize_t n = read(out.fd[0], buf, sizeof(buf));
      if (n > 0) {
        svg.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        out.Close(0);
      }
    }
  }
  in.Close(1);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(WIFEXITED(status)
                                   ? fmt::format("dot failed (exit {})", WEXITSTATUS(status))
                                   : fmt::format("dot was killed by signal {}", WTERMSIG(status)));
  }
  if (svg.empty()) return absl::InternalError("dot printed nothing");
  return svg;
}

// The map of the config alone: no store, no figures, every edge idle.
absl::StatusOr<nlohmann::json> OfflineMap(const std::string& path) {
  auto config = LoadConfig(path, ProcessEnv);
  if (!config.ok()) return config.status();
  // Sources that name no channel take their adapter's: which channel routes they reach.
  SourceAdapterRegistry sources;
  RegisterBuiltinSources(sources);
  MapInputs in;
  for (const std::string& name : sources.Names()) {
    in.adapter_channels[name] = sources.FindSpec(name)->default_channel;
  }
  return ContinuityMapJson(*config, in);
}

}  // namespace

void AddMapCommand(CLI::App& root, int* exit) {
  auto flags = std::make_shared<ApiFlags>();
  auto format = std::make_shared<std::string>("text");
  auto window = std::make_shared<std::string>("24h");
  auto offline = std::make_shared<bool>(false);
  CLI::App* cmd = root.add_subcommand(
      "map",
      "Draw the continuity map (sources -> routes -> owners and destinations -> alerts) with "
      "each edge's volume, success ratio, p95 latency, open leaks and health");
  AddApiFlags(cmd, *flags);
  cmd->add_option("--format", *format, "text, json, dot (Graphviz) or svg (runs Graphviz's dot)")
      ->check(CLI::IsMember({"text", "json", "dot", "svg"}))
      ->capture_default_str();
  cmd->add_option("--window", *window, "How far back the live figures go: 24h, 7d, 1h30m…")
      ->check([](const std::string& s) {
        auto d = ParseDuration(s);
        return d.ok() ? std::string() : std::string(d.status().message());
      })
      ->capture_default_str();
  cmd->add_flag("--offline", *offline,
                "Draw the map from the --config file alone: no server, no live figures");
  cmd->callback([flags, format, window, offline, exit] {
    nlohmann::json map;
    if (*offline) {
      auto offline_map = OfflineMap(flags->config);
      if (!offline_map.ok()) {
        std::fprintf(stderr, "%s\n", std::string(offline_map.status().message()).c_str());
        *exit = 1;
        return;
      }
      map = *std::move(offline_map);
    } else {
      auto body = CallApi(*flags, "/api/v1/map?window=" + PercentEncode(*window));
      if (!body) {
        std::fprintf(stderr, "(--offline draws the map from the config alone, without figures)\n");
        *exit = 1;
        return;
      }
      map = *std::move(body);
    }
    const std::string how = flags->json ? "json" : *format;
    if (how == "json") {
      std::printf("%s\n", map.dump(2).c_str());
    } else if (how == "text") {
      std::fputs(MapText(map).c_str(), stdout);
    } else if (how == "dot") {
      std::fputs(MapDot(map).c_str(), stdout);
    } else {
      auto svg = RenderSvg(MapDot(map));
      if (!svg.ok()) {
        std::fprintf(stderr, "cannot draw the SVG: %s\n",
                     std::string(svg.status().message()).c_str());
        *exit = 1;
        return;
      }
      std::fwrite(svg->data(), 1, svg->size(), stdout);
    }
  });
}

}  // namespace handoff
