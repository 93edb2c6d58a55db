// The SQLite schema as an ordered list of migrations, and the code that applies them.
#pragma once

#include "absl/status/status.h"
#include "core/clock.h"
#include "store/sqlite/sqlite_connection.h"

namespace handoff {

// The schema version this build writes (the number of the newest migration).
int LatestSqliteSchemaVersion();

// Brings the database on `conn` up to LatestSqliteSchemaVersion(): each migration not yet
// recorded in `schema_migrations` runs once, in its own transaction, together with its record.
// FailedPrecondition if the file was migrated by a newer build. The caller must hold the
// database's process lock (no concurrent migrations).
absl::Status MigrateSqliteSchema(SqliteConnection& conn, Micros now);

}  // namespace handoff
