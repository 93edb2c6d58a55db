// Test support: the store backends a test runs on, for suites instantiated once per backend
// (INSTANTIATE_TEST_SUITE_P(Backends, Suite, ValuesIn(StoreBackendNames()))). A test's store
// lives in a SQLite file in the test's directory, or in a PostgreSQL database of its own in the
// tests' cluster (tests/support/postgres_cluster.h; register the binary with
// handoff_test(... POSTGRES)), dropped after the test.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/postgres/pg_connection.h"
#include "store/sqlite/sqlite_connection.h"
#include "tests/support/postgres_cluster.h"

namespace handoff::testing {

struct StoreBackend {
  // The URL a store (or a second node's store) opens; `dir` is the test's directory.
  std::function<absl::StatusOr<std::string>(const std::string& dir)> create;
  std::function<void(const std::string& url)> drop;
  // Runs SQL statements on the database at `url` directly, with no store open on it: for tests
  // that shape a database as an older build left it.
  std::function<absl::Status(const std::string& url, const std::string& sql)> exec;
};

// Turns a PostgreSQL database of this build into one as builds before PostgreSQL migration 8
// left it, with handoffs_due in place of handoffs_dead (the caller removes the migration's
// record).
inline constexpr char kPgHandoffsDueBack[] =
    "DROP INDEX handoffs_dead; CREATE INDEX handoffs_due ON handoffs (state, next_attempt_at);";

// Turns a SQLite file of this build into one as builds before SQLite migration 17 left it,
// with each inquiry's body as received in its row (the caller removes the migration's record).
inline constexpr char kSqliteBodiesBackInTheRow[] =
    "ALTER TABLE inquiries ADD COLUMN raw_payload BLOB NOT NULL DEFAULT x''; ALTER TABLE inquiries "
    "ADD COLUMN raw_content_type TEXT NOT NULL DEFAULT ''; UPDATE inquiries SET raw_payload = "
    "(SELECT body FROM inquiry_bodies b WHERE b.workspace = inquiries.workspace AND b.inquiry_id = "
    "inquiries.id), raw_content_type = (SELECT content_type FROM inquiry_bodies b WHERE "
    "b.workspace = inquiries.workspace AND b.inquiry_id = inquiries.id); DROP TABLE "
    "inquiry_bodies;";

inline const std::map<std::string, StoreBackend>& StoreBackends() {
  static const auto* backends = new std::map<std::string, StoreBackend>{
      {"sqlite",
       {[](const std::string& dir) -> absl::StatusOr<std::string> {
          return "sqlite:" + dir + "/handoff.db";
        },
        [](const std::string&) {},
        [](const std::string& url, const std::string& sql) -> absl::Status {
          absl::StatusOr<std::unique_ptr<SqliteConnection>> conn = SqliteConnection::Open(
              url.substr(std::string_view("sqlite:").size()), SqliteConnection::Mode::kReadWrite);
          if (!conn.ok()) return conn.status();
          return (*conn)->Exec(sql);
        }}},
      {"postgres",
       {[](const std::string&) { return CreateTestDatabase(); },
        [](const std::string& url) { (void)DropTestDatabase(url); },
        [](const std::string& url, const std::string& sql) -> absl::Status {
          absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Open(url);
          if (!conn.ok()) return conn.status();
          return (*conn)->Run(sql);
        }}},
  };
  return *backends;
}

inline std::vector<std::string> StoreBackendNames() {
  std::vector<std::string> names;
  for (const auto& [name, backend] : StoreBackends()) names.push_back(name);
  return names;
}

}  // namespace handoff::testing
