#include "store/store.h"

#include <future>

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
    return absl::UnimplementedError(
        "the PostgreSQL store is not built yet; use sqlite:PATH (the embedded default)");
  }
  if (path.empty()) return absl::InvalidArgumentError("empty database path");
  return SqliteStore::Open(path, clock);
}

}  // namespace handoff
