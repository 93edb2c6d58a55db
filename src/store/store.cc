#include "store/store.h"

#include <future>

#include "core/status.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

namespace handoff {

absl::Status Store::Write(WriteFn fn) {
  std::promise<absl::Status> promise;
  auto future = promise.get_future();
  SubmitWrite(std::move(fn), [&promise](absl::Status s) { promise.set_value(std::move(s)); });
  return future.get();
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& url, const Clock* clock) {
  std::string path = url;
  if (url.starts_with("sqlite:")) {
    path = url.substr(7);
  } else if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    ASSIGN_OR_RETURN(std::unique_ptr<PgStore> store, PgStore::Open(url, clock));
    return std::unique_ptr<Store>(std::move(store));
  }
  if (path.empty()) return absl::InvalidArgumentError("empty database path");
  return SqliteStore::Open(path, clock);
}

}  // namespace handoff
