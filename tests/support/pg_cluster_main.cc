// handoff_test_pg_cluster start DIR | stop DIR: the CTest fixture `postgres`
// (tests/support/CMakeLists.txt) around the tests registered with handoff_test(... POSTGRES).
// `start` replaces any cluster an interrupted run left in DIR and prints the admin URL, which
// it also writes to DIR/url; `stop` stops the cluster and deletes its data.
#include <string>

#include "fmt/format.h"
#include "tests/support/postgres_cluster.h"

int main(int argc, char** argv) {
  const std::string command = argc == 3 ? argv[1] : "";
  if (command == "start") {
    auto url = handoff::testing::StartPostgresCluster(argv[2]);
    if (!url.ok()) {
      fmt::print(stderr, "handoff_test_pg_cluster start {}: {}\n", argv[2],
                 url.status().ToString());
      return 1;
    }
    fmt::print("{}\n", *url);
    return 0;
  }
  if (command == "stop") {
    auto st = handoff::testing::StopPostgresCluster(argv[2]);
    if (!st.ok()) {
      fmt::print(stderr, "handoff_test_pg_cluster stop {}: {}\n", argv[2], st.ToString());
      return 1;
    }
    return 0;
  }
  fmt::print(stderr, "usage: handoff_test_pg_cluster start|stop DIR\n");
  return 2;
}
