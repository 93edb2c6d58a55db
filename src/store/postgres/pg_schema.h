// The PostgreSQL schema and its migrations (append only, like the SQLite ones).
#pragma once

#include "absl/status/status.h"
#include "core/clock.h"
#include "store/postgres/pg_connection.h"

namespace handoff {

int LatestPgSchemaVersion();

// Brings the database to the latest schema. Several nodes may start at once: an advisory lock
// lets one migrate while the others wait, then find nothing left to do.
absl::Status MigratePgSchema(PgConnection& conn, Micros now);

}  // namespace handoff
