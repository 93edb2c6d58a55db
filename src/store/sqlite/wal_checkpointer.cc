#include "store/sqlite/wal_checkpointer.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/status.h"
#include "spdlog/spdlog.h"
#include "store/sqlite/sqlite_connection.h"

namespace handoff {
namespace {

// How often the thread looks at the log when no commit woke it.
constexpr Micros kIdlePoll = 1 * kMicrosPerSecond;

Micros SteadyNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(const std::string& path,
                                                                        Options options) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> conn,
                   SqliteConnection::Open(path, SqliteConnection::Mode::kReadWrite));
  // FULL: the checkpoint syncs the log before it copies pages and the database file after, so
  // the log is never reset over pages the file does not durably hold.
  RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0"));
  std::unique_ptr<WalCheckpointer> self(
      new WalCheckpointer(path + "-wal", std::move(conn), options));
  self->thread_.Start();
  return self;
}

WalCheckpointer::WalCheckpointer(std::string wal_path, std::unique_ptr<SqliteConnection> conn,
                                 Options options)
    : options_(options),
      wal_path_(std::move(wal_path)),
      conn_(std::move(conn)),
      thread_("wal-checkpoint", [this] { return RunOnce(); }) {}

WalCheckpointer::~WalCheckpointer() {
  thread_.Stop();
  // What the writer committed last without a sync is synced on its way out.
  if (unsynced_since_.load() != 0) {
    unsynced_since_.store(SteadyNow() - options_.sync_delay);
    (void)SyncDeferred();
  }
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

void WalCheckpointer::NoteCommit(bool synced) {
  if (synced) {
    // A synced commit syncs the whole log, and with it every earlier commit.
    unsynced_since_.store(0);
  } else if (unsynced_since_.load() == 0) {
    unsynced_since_.store(SteadyNow());
    thread_.Wake();  // it may be asleep for kIdlePoll
  }
}

Micros WalCheckpointer::SyncDeferred() {
  const Micros since = unsynced_since_.load();
  if (since == 0) return kIdlePoll;
  const Micros wait = since + options_.sync_delay - SteadyNow();
  if (wait > 0) return wait;
  // Cleared first: a deferred commit noted from here on is either covered by this sync (its
  // pages are written before it is noted) or noted again for the next one.
  unsynced_since_.store(0);
  if (wal_fd_ < 0) wal_fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (wal_fd_ < 0 || ::fdatasync(wal_fd_) != 0) {
    spdlog::error("store: syncing {} failed: {}", wal_path_, std::strerror(errno));
    return kIdlePoll;
  }
  deferred_syncs_.fetch_add(1);
  return kIdlePoll;
}

absl::Status WalCheckpointer::Attach(SqliteConnection& writer) {
  RETURN_IF_ERROR(writer.Exec("PRAGMA wal_autocheckpoint = 0"));
  sqlite3_wal_hook(writer.db(), &WalCheckpointer::OnCommit, this);
  return absl::OkStatus();
}

void WalCheckpointer::Detach(SqliteConnection& writer) {
  sqlite3_wal_hook(writer.db(), nullptr, nullptr);
}

int WalCheckpointer::OnCommit(void* ctx, sqlite3* db, const char* schema, int pages) {
  auto* self = static_cast<WalCheckpointer*>(ctx);
  self->log_pages_.store(pages);
  if (WriterCopies(self->options_, pages, self->last_copy())) {
    // BUSY when the thread is mid-checkpoint: it is doing this very work, so carry on.
    int log = 0, copied = 0;
    if (sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) ==
        SQLITE_OK) {
      self->NoteCopied(log, copied);
      self->by_writer_.fetch_add(1);
    }
  } else if (pages >= self->options_.writer_pages) {
    // A read held back the thread's passes: it copies the backlog, not this commit.
    self->thread_.Wake();
  } else if (pages - self->GrowthBase(pages) >= self->options_.background_pages) {
    self->thread_.Wake();
  }
  return SQLITE_OK;
}

int64_t WalCheckpointer::GrowthBase(int64_t pages) const {
  const int64_t from = pass_from_.load();
  // A log shorter than at the last pass was restarted since: it has grown from nothing.
  return pages < from ? 0 : from;
}

WalCheckpointer::LastCopy WalCheckpointer::last_copy() const {
  const uint64_t word = last_copy_.load();
  return {static_cast<int64_t>(word >> 32), static_cast<int64_t>(word & 0xffffffffu)};
}

int64_t WalCheckpointer::Uncopied(int64_t pages, LastCopy last) {
  // A log shorter than at the last checkpoint was restarted since: none of it is copied.
  return pages < last.log ? pages : pages - last.copied;
}

bool WalCheckpointer::WriterCopies(const Options& options, int64_t pages, LastCopy last) {
  if (pages < options.writer_pages) return false;
  if (pages >= kWriterBoundFactor * options.writer_pages) return true;
  if (Uncopied(pages, last) <= options.background_pages) return true;
  return last.log > 0 && pages >= last.log && last.copied == last.log;
}

void WalCheckpointer::NoteCopied(int log, int copied) {
  // SQLite reports -1 for both when the database is not in WAL mode.
  const auto as_word = [](int n) { return static_cast<uint64_t>(std::max(n, 0)); };
  last_copy_.store(as_word(log) << 32 | as_word(copied));
}

Micros WalCheckpointer::RunOnce() {
  const Micros next_sync = SyncDeferred();
  const int64_t pages = log_pages_.load();
  // Due when the log has grown by background_pages, or when it is long enough for the writer's
  // checkpoint but too much of it is left to copy (a read held the last passes back). A pass
  // that a read still holds back copies nothing and costs no I/O.
  const bool catch_up =
      pages >= options_.writer_pages && !WriterCopies(options_, pages, last_copy());
  if (pages - GrowthBase(pages) < options_.background_pages && !catch_up) return next_sync;
  pass_from_.store(pages);
  int log = 0, copied = 0;
  const int rc =
      sqlite3_wal_checkpoint_v2(conn_->db(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  if (rc == SQLITE_OK) {
    NoteCopied(log, copied);
    background_.fetch_add(1);
  } else if (rc != SQLITE_BUSY) {
    // The writer's own checkpoint at writer_pages still bounds the log.
    spdlog::warn("store: a background checkpoint failed: {}", sqlite3_errmsg(conn_->db()));
  }
  return next_sync;
}

}  // namespace handoff
