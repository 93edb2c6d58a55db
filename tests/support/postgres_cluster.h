// Test support: a throwaway PostgreSQL 15 cluster. Tests never assume a server is running: the
// CTest fixture `postgres` (tests/support/CMakeLists.txt) starts one in <build>/test-postgres
// for every test registered with handoff_test(... POSTGRES), and a test binary run on its own
// starts a private one, stopped and deleted when the process exits.
// The benchmark (bench/postgres_server.h) starts one too, with durable settings.
//
// As root (CI), the cluster runs as the `postgres` system user (postgres refuses to run as
// root), in a directory that user owns; otherwise as the current user.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace handoff::testing {

struct PostgresClusterOptions {
  // false (the tests): fsync, full_page_writes and synchronous_commit off, shared_buffers 32MB,
  // initdb --no-sync; the cluster is thrown away and tests never kill postgres itself.
  // true (the benchmark, bench/postgres_server.h): fsync, full_page_writes and
  // synchronous_commit on and shared_buffers at PostgreSQL's default 128MB, as a production
  // server runs (docs/SCALE-OUT.md), so commits cost what they cost there.
  bool durable = false;
};

// initdb's a cluster into dir/data (UTF8, trust authentication), starts it on a free port of
// 127.0.0.1 with its unix socket under `dir`, waits until it accepts connections, writes its
// admin URL (postgresql://postgres@127.0.0.1:PORT/postgres) to dir/url and returns it. A
// cluster left in `dir` by an earlier run is stopped and deleted first. The server's log is
// dir/postgres.log.
absl::StatusOr<std::string> StartPostgresCluster(const std::string& dir,
                                                 const PostgresClusterOptions& options = {});

// Stops the cluster in `dir` (immediate shutdown) and deletes its data; dir/postgres.log stays.
// OK when there is no cluster there.
absl::Status StopPostgresCluster(const std::string& dir);

// The admin URL of the tests' cluster: the one in $HANDOFF_TEST_POSTGRES_DIR/url when the
// fixture started one, otherwise a private cluster started on first use and deleted at exit.
// Empty when no cluster could be started; the reason is on stderr.
const std::string& TestPostgresAdminUrl();

// Creates a database of its own (t_<pid>_<n>_<hex>) in the cluster of `admin_url` and returns
// its URL.
absl::StatusOr<std::string> CreateDatabase(const std::string& admin_url);

// Drops a database CreateDatabase made in the cluster of `admin_url`, ending any session still
// connected to it.
absl::Status DropDatabase(const std::string& admin_url, const std::string& url);

// CreateDatabase in the tests' cluster (TestPostgresAdminUrl).
absl::StatusOr<std::string> CreateTestDatabase();

// Drops a database CreateTestDatabase made (each costs several megabytes of disk), ending any
// session still connected to it.
absl::Status DropTestDatabase(const std::string& url);

}  // namespace handoff::testing
