#include "store/store.h"

#include <algorithm>
#include <future>
#include <iterator>
#include <tuple>

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

absl::StatusOr<std::vector<InquiryOutcome>> Store::ListInquiryOutcomes(const std::string& workspace,
                                                                       Micros from, Micros until) {
  std::vector<InquiryOutcome> out;
  RETURN_IF_ERROR(ScanInquiryOutcomes(
      workspace, from, until, kOutcomesPerPage, [&out](std::vector<InquiryOutcome>& page) {
        std::move(page.begin(), page.end(), std::back_inserter(out));
        return absl::OkStatus();
      }));
  // Pages come in received_at order; ties are ordered by id here, as the interface promises.
  std::sort(out.begin(), out.end(), [](const InquiryOutcome& a, const InquiryOutcome& b) {
    return std::tie(a.received_at, a.id) < std::tie(b.received_at, b.id);
  });
  return out;
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
