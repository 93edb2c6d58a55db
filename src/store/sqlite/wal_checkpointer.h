// Copies SQLite's write-ahead log back into the database file on a thread of its own. With
// SQLite's automatic checkpoint the committing writer made the whole copy, and every
// acknowledgement queued behind the commit waited for it: 8,192 pages and two fsyncs every few
// seconds under load, the largest part of the ack p99 at 64 connections. The writer now only
// reports the log's length after each commit (a WAL hook); each time the log has grown by
// `background_pages` this thread runs a PASSIVE checkpoint, which never blocks the writer or
// the readers. Only the writer can restart the log from its beginning, and only when a
// checkpoint has copied all of it before the writer's next transaction begins, which under a
// steady load a concurrent checkpoint never achieves: so at `writer_pages` the writer still
// checkpoints itself, as SQLite did, but finds all but the last pages already copied.
// A long read (a leak scan over a week of inquiries) holds back every checkpoint until it ends;
// the writer then leaves that backlog to the thread too, and copies itself only once the thread
// has caught up (or the log reaches four times `writer_pages`, the hard bound), so that no
// acknowledgement waits for the copy of thousands of pages. "Caught up" is judged by what the
// last checkpoint saw, not by how far it is behind: on a busy disk one pass lasts several
// commits, so the thread is always more than `background_pages` behind, and waiting for it to
// come closer let the log grow to the hard bound on every cycle instead of restarting.
//
// It also bounds how long a commit made without a sync (Durability::kDeferred) stays only in
// the OS cache: `sync_delay` after the first such commit that no synced commit followed, it
// syncs the log file itself (as PostgreSQL's WAL writer does for asynchronous commits).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/periodic_thread.h"

struct sqlite3;

namespace handoff {

class SqliteConnection;

// Thread-safe. Attach() to the writer connection, Detach() before that connection closes.
class WalCheckpointer {
 public:
  struct Options {
    // The growth of the log (pages) that wakes the thread. Small passes keep what each one
    // syncs into the database file, and what the writer copies itself at writer_pages, small:
    // 512 rather than 2,048 took a fifth off the ack p99 at 64 connections (PERFORMANCE.md,
    // session 20); 256 gained little more for more passes.
    int64_t background_pages = 512;
    // The length at which the writer checkpoints itself, when the thread has left at most
    // background_pages of the log to copy (or copied all it saw); at kWriterBoundFactor times
    // this, in any case.
    int64_t writer_pages = 8192;
    Micros sync_delay = 100 * 1000;  // the longest a deferred commit waits for a sync
  };

  static constexpr int64_t kWriterBoundFactor = 4;

  // What the last checkpoint (by either thread) reported: the log's length then and the pages
  // of it copied.
  struct LastCopy {
    int64_t log = 0;
    int64_t copied = 0;
  };

  // Whether the writer, after a commit that left the log `pages` long, copies the rest itself:
  // at writer_pages when the last checkpoint left at most background_pages of this log, or
  // copied all of it that it saw (no read held it back: the rest was committed while it ran,
  // and another pass would only chase the writer again); at the hard bound in any case.
  static bool WriterCopies(const Options& options, int64_t pages, LastCopy last);

  // Opens a connection of its own to the database at `path` and starts the thread.
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(const std::string& path,
                                                                Options options);
  ~WalCheckpointer();

  // Turns SQLite's automatic checkpoint off on `writer` and installs the hook that reports the
  // log's length after each of its commits. Call from the thread that owns `writer`.
  absl::Status Attach(SqliteConnection& writer);
  // Removes the hook; after this the checkpointer may be destroyed before `writer`.
  void Detach(SqliteConnection& writer);

  // Called by the writer after each commit: whether it synced the log.
  void NoteCommit(bool synced);

  // Checkpoints run by this thread, and by the writer because the log reached writer_pages.
  int64_t background_checkpoints() const { return background_.load(); }
  int64_t writer_checkpoints() const { return by_writer_.load(); }
  // Syncs of the log made by this thread for deferred commits.
  int64_t deferred_syncs() const { return deferred_syncs_.load(); }

 private:
  WalCheckpointer(std::string wal_path, std::unique_ptr<SqliteConnection> conn, Options options);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int pages);
  // The length from which a log now `pages` long counts its growth towards the next pass.
  int64_t GrowthBase(int64_t pages) const;
  // How much of a log now `pages` long the last checkpoint left to copy.
  static int64_t Uncopied(int64_t pages, LastCopy last);
  LastCopy last_copy() const;
  // Records what a checkpoint reported: the log's length and how much of it is copied.
  void NoteCopied(int log, int copied);
  // One pass of the thread; returns how long to sleep.
  Micros RunOnce();
  // Syncs the log file when a deferred commit has waited sync_delay; returns how long until
  // one will have (kIdle when none waits).
  Micros SyncDeferred();

  const Options options_;
  const std::string wal_path_;
  int wal_fd_ = -1;                         // opened at the first sync (thread only)
  std::atomic<Micros> unsynced_since_{0};   // steady time of the oldest unsynced commit, or 0
  std::unique_ptr<SqliteConnection> conn_;  // used by the thread only
  std::atomic<int64_t> log_pages_{0};       // the log's length after the last commit
  std::atomic<int64_t> pass_from_{0};       // its length at the last pass (0: none since a restart)
  // The last checkpoint, by either thread: the log's length then (high 32 bits) and the pages
  // of it copied (low 32 bits), in one word so that neither thread reads half of an update.
  std::atomic<uint64_t> last_copy_{0};
  std::atomic<int64_t> background_{0};
  std::atomic<int64_t> by_writer_{0};
  std::atomic<int64_t> deferred_syncs_{0};
  PeriodicThread thread_;
};

}  // namespace handoff
