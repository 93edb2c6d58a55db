// SQLite-specific behaviour of SqliteStore: group commit, durability settings, the process
// lock, migrations, shutdown, and what happens when an fsync fails. The behaviour every backend
// shares is in tests/contracts/store_contract_test.cc.
#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/id.h"
#include "core/status.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "store/sqlite/sqlite_schema.h"
#include "store/store_codec.h"
#include "tests/support/sqlite_fault_vfs.h"
#include "tests/support/store_backends.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_clock.h"

namespace handoff {
namespace {

// The test's database directory; db() names its SQLite file.
class TempDir : public testing::TempDir {
 public:
  std::string db() const { return File("handoff.db"); }
};

Inquiry MakeInquiry(Micros at) {
  Inquiry i;
  i.id = NewUuidV7(at);
  i.workspace = "acme";
  i.source = "web";
  i.received_at = at;
  i.raw_payload = "{}";
  return i;
}

absl::Status Insert(Store& store, const Inquiry& i) {
  return store.Write([&](WriteTx& tx) { return tx.InsertInquiry(i); });
}

// Holds the writer inside one write until Release(), so the writes submitted meanwhile queue up
// and are committed together afterwards.
class WriterGate {
 public:
  explicit WriterGate(Store* store) {
    std::future<void> entered = entered_.get_future();
    std::shared_future<void> released = released_.get_future().share();
    store->SubmitWrite(
        [this, released](WriteTx&) {
          entered_.set_value();
          released.wait();
          return absl::OkStatus();
        },
        [](absl::Status) {});
    entered.wait();
  }
  ~WriterGate() { Release(); }
  void Release() {
    if (!released_once_.exchange(true)) released_.set_value();
  }

 private:
  std::promise<void> entered_;
  std::promise<void> released_;
  std::atomic<bool> released_once_{false};
};

// A raw connection for looking at the file behind the store's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path) { sqlite3_open(path.c_str(), &db_); }
  ~RawDb() { sqlite3_close(db_); }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::string out = "<error>";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t != nullptr ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(st);
    return out;
  }
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  // SQLite's plan for `sql`: the detail of each step, one per line ("<error>" if it fails).
  std::string Plan(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &st, nullptr) !=
        SQLITE_OK) {
      return "<error>";
    }
    std::string out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      out += (out.empty() ? "" : "\n") +
             std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 3)));
    }
    sqlite3_finalize(st);
    return out;
  }
  // The program SQLite compiles `sql` to, one opcode per instruction ("<error>" if it fails).
  std::vector<std::string> Opcodes(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::vector<std::string> out;
    if (sqlite3_prepare_v2(db_, ("EXPLAIN " + sql).c_str(), -1, &st, nullptr) != SQLITE_OK) {
      return {"<error>"};
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> OpenStore() {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir_.db(), &clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  TempDir dir_;
  FakeClock clock_{kT0};
};

TEST_F(SqliteStoreTest, GroupCommitPutsConcurrentWritesIntoFewTransactions) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;  // 4000 in all: two full batches of kMaxBatch
  static_assert(kThreads * kPerThread == 2 * SqliteStore::kMaxBatch);
  const int64_t commits_before = store->commits();
  const int64_t fns_before = store->committed_fns();
  std::atomic<int> ok{0};
  {
    WriterGate gate(store.get());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          store->SubmitWrite(
              [t, i](WriteTx& tx) {
                return tx.CountEntry("acme", "src" + std::to_string(t), "accepted", "", kT0 + i, 1);
              },
              [&](absl::Status s) {
                if (s.ok()) ok.fetch_add(1);
              });
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }
  ASSERT_TRUE(store->Write([](WriteTx&) { return absl::OkStatus(); }).ok());

  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  // The gate's own commit, two batches of kMaxBatch, and the final write.
  EXPECT_EQ(store->commits() - commits_before, 4);
  EXPECT_EQ(store->committed_fns() - fns_before, kThreads * kPerThread + 2);
  absl::StatusOr<std::vector<EntryCount>> counts = store->ListEntryCounts("acme", 0);
  ASSERT_TRUE(counts.ok());
  int64_t total = 0;
  for (const EntryCount& c : *counts) total += c.count;
  EXPECT_EQ(total, kThreads * kPerThread);
}

TEST_F(SqliteStoreTest, ConcurrentSubmittersAreAllCommitted) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 6;
  constexpr int kPerThread = 200;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        Inquiry in = MakeInquiry(kT0 + i);
        if (Insert(*store, in).ok() && store->GetInquiry("acme", in.id).ok()) ok.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(store->committed_fns(), kThreads * kPerThread);
  EXPECT_LE(store->commits(), store->committed_fns());
}

TEST_F(SqliteStoreTest, AFailingWriteIsRolledBackInsideTheSharedCommit) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  Inquiry good = MakeInquiry(kT0);
  Inquiry bad = MakeInquiry(kT0 + 1);
  std::promise<absl::Status> good_done, bad_done;
  int64_t commits_before = 0;
  {
    WriterGate gate(store.get());
    commits_before = store->commits();
    store->SubmitWrite([&](WriteTx& tx) { return tx.InsertInquiry(good); },
                       [&](absl::Status s) { good_done.set_value(s); });
    store->SubmitWrite(
        [&](WriteTx& tx) -> absl::Status {
          if (auto s = tx.InsertInquiry(bad); !s.ok()) return s;
          return absl::FailedPreconditionError("rule says no");
        },
        [&](absl::Status s) { bad_done.set_value(s); });
  }
  EXPECT_TRUE(good_done.get_future().get().ok());
  absl::Status bad_status = bad_done.get_future().get();
  EXPECT_EQ(bad_status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(bad_status.message(), "rule says no");
  // The gate's commit and one more for both writes.
  EXPECT_EQ(store->commits() - commits_before, 2);
  EXPECT_TRUE(store->GetInquiry("acme", good.id).ok());
  EXPECT_EQ(store->GetInquiry("acme", bad.id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ABatchRunsAgainWithASavepointPerFunctionOnlyWhenOneFails) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  // The batch's first function completes a claimed work item and journals an event: its second
  // run must pin the lease again and number the event after the committed ones, not after its
  // own undone first run.
  Inquiry a = MakeInquiry(kT0);
  WorkItem w;
  w.workspace = "acme";
  w.inquiry_id = a.id;
  w.stage = Stage::kEnrich;
  w.available_at = kT0;
  ASSERT_TRUE(store
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    RETURN_IF_ERROR(tx.InsertInquiry(a));
                    RETURN_IF_ERROR(
                        tx.AppendEvent(Event{"acme", a.id, 0, kT0, Stage::kEntry, "received", {}}));
                    return tx.EnqueueWork(w);
                  })
                  .ok());
  absl::StatusOr<std::vector<WorkItem>> claimed =
      store->ClaimWork(Stage::kEnrich, 1, kT0, kMicrosPerMinute);
  ASSERT_TRUE(claimed.ok() && claimed->size() == 1u);
  Inquiry b = MakeInquiry(kT0 + 1);
  Inquiry c = MakeInquiry(kT0 + 2);

  std::atomic<int> first_runs{0}, failing_runs{0}, last_runs{0};
  std::promise<absl::Status> first_done, failing_done, last_done;
  const int64_t reruns_before = store->guarded_reruns();
  const int64_t commits_before = store->commits();
  {
    WriterGate gate(store.get());
    store->SubmitWrite(
        [&](WriteTx& tx) -> absl::Status {
          ++first_runs;
          RETURN_IF_ERROR(tx.CompleteWork(claimed->front()));
          return tx.AppendEvent(Event{"acme", a.id, 0, kT0 + 5, Stage::kEnrich, "enriched", {}});
        },
        [&](absl::Status s) { first_done.set_value(s); });
    store->SubmitWrite(
        [&](WriteTx& tx) -> absl::Status {
          ++failing_runs;
          RETURN_IF_ERROR(tx.InsertInquiry(b));
          return absl::FailedPreconditionError("rule says no");
        },
        [&](absl::Status s) { failing_done.set_value(s); });
    store->SubmitWrite(
        [&](WriteTx& tx) {
          ++last_runs;
          return tx.InsertInquiry(c);
        },
        [&](absl::Status s) { last_done.set_value(s); });
  }
  EXPECT_TRUE(first_done.get_future().get().ok());
  EXPECT_EQ(failing_done.get_future().get().message(), "rule says no");
  EXPECT_TRUE(last_done.get_future().get().ok());
  // The first pass stopped at the failure; the second ran all three in savepoints.
  EXPECT_EQ(first_runs.load(), 2);
  EXPECT_EQ(failing_runs.load(), 2);
  EXPECT_EQ(last_runs.load(), 1);
  EXPECT_EQ(store->guarded_reruns() - reruns_before, 1);
  EXPECT_EQ(store->commits() - commits_before, 2);  // the gate's, then the batch's one
  EXPECT_EQ(store->GetInquiry("acme", b.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store->GetInquiry("acme", c.id).ok());
  absl::StatusOr<std::vector<Event>> events = store->ListEvents("acme", a.id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(events->at(1).kind, "enriched");
  EXPECT_EQ(events->at(1).seq, events->at(0).seq + 1);
  // Completed: not claimable again, however late.
  EXPECT_TRUE(store->ClaimWork(Stage::kEnrich, 1, kT0 + kMicrosPerDay, kMicrosPerMinute)->empty());

  // A batch whose functions all succeed runs each once; a lone failing one commits nothing.
  std::atomic<int> runs{0};
  {
    WriterGate gate(store.get());
    for (int i = 0; i < 3; ++i) {
      store->SubmitWrite(
          [&, i](WriteTx& tx) {
            ++runs;
            return tx.CountEntry("acme", "web", "accepted", "", kT0 + i, 1);
          },
          [](absl::Status) {});
    }
  }
  ASSERT_TRUE(store->Write([](WriteTx&) { return absl::OkStatus(); }).ok());
  EXPECT_EQ(runs.load(), 3);
  const int64_t commits_then = store->commits();
  EXPECT_EQ(store->Write([](WriteTx&) { return absl::InternalError("no"); }).code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(store->commits(), commits_then);
  EXPECT_EQ(store->guarded_reruns() - reruns_before, 1);
}

TEST_F(SqliteStoreTest, AThrowingWriteFunctionFailsAloneAndTheWriterLivesOn) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::Status s = store->Write([](WriteTx&) -> absl::Status { throw std::runtime_error("boom"); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(Insert(*store, MakeInquiry(kT0)).ok());
}

TEST_F(SqliteStoreTest, CommittedWritesSurviveCloseAndReopen) {
  Inquiry in = MakeInquiry(kT0);
  in.message = "kept";
  WorkItem work;
  {
    std::unique_ptr<SqliteStore> store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store
                    ->Write([&](WriteTx& tx) -> absl::Status {
                      if (auto s = tx.InsertInquiry(in); !s.ok()) return s;
                      Event e{"acme", in.id, 0, kT0, Stage::kEntry, "received"};
                      if (auto s = tx.AppendEvent(e); !s.ok()) return s;
                      work.workspace = "acme";
                      work.inquiry_id = in.id;
                      work.stage = Stage::kEnrich;
                      work.available_at = kT0;
                      return tx.EnqueueWork(work);
                    })
                    .ok());
    // Claimed but never completed: the claim does not outlive the process.
    ASSERT_EQ(store->ClaimWork(Stage::kEnrich, 10, kT0, kMicrosPerHour)->size(), 1u);
  }
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<Inquiry> got = store->GetInquiry("acme", in.id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->message, "kept");
  Event next{"acme", in.id, 0, kT0, Stage::kEnrich, "contact.linked"};
  ASSERT_TRUE(store->Write([&](WriteTx& tx) { return tx.AppendEvent(next); }).ok());
  absl::StatusOr<std::vector<Event>> events = store->ListEvents("acme", in.id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].seq, 2) << "numbering goes on after the reopen";
  absl::StatusOr<std::vector<WorkItem>> rescued =
      store->ClaimWork(Stage::kEnrich, 10, kT0, kMicrosPerHour);
  ASSERT_TRUE(rescued.ok());
  ASSERT_EQ(rescued->size(), 1u);
  EXPECT_EQ((*rescued)[0].inquiry_id, in.id);
  // Work ids are never reused, even after the newest item is gone.
  ASSERT_TRUE(store->Write([&](WriteTx& tx) { return tx.CompleteWork((*rescued)[0]); }).ok());
  ASSERT_TRUE(store->Write([&](WriteTx& tx) { return tx.EnqueueWork(work); }).ok());
  absl::StatusOr<std::vector<WorkItem>> fresh =
      store->ClaimWork(Stage::kEnrich, 10, kT0, kMicrosPerHour);
  ASSERT_TRUE(fresh.ok());
  ASSERT_EQ(fresh->size(), 1u);
  EXPECT_GT((*fresh)[0].id, (*rescued)[0].id);
}

TEST_F(SqliteStoreTest, ASecondOpenOfTheSameFileFailsUntilTheFirstCloses) {
  std::unique_ptr<SqliteStore> first = OpenStore();
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<SqliteStore>> second = SqliteStore::Open(dir_.db(), &clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(dir_.db()), absl::string_view::npos) << second.status();

  // Another process is refused the same way.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    absl::StatusOr<std::unique_ptr<SqliteStore>> other = SqliteStore::Open(dir_.db(), &clock_);
    _exit(!other.ok() && other.status().code() == absl::StatusCode::kFailedPrecondition ? 0 : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "the child process could open a database in use";

  first.reset();
  EXPECT_NE(OpenStore(), nullptr);
}

TEST_F(SqliteStoreTest, DurabilityPragmasAreInForce) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->WriterPragma("journal_mode"), "wal");
  EXPECT_EQ(*store->WriterPragma("synchronous"), "2");  // FULL
  EXPECT_NE(*store->WriterPragma("busy_timeout"), "0");
  // Checkpoints are the WalCheckpointer's, not the committing writer's.
  EXPECT_EQ(*store->WriterPragma("wal_autocheckpoint"), "0");
  // A small writer cache: SQLite scans all of it at the end of a commit that split a B-tree.
  EXPECT_EQ(*store->WriterPragma("cache_size"), "-4096");
  EXPECT_EQ(store->WriterPragma("synchronous; DROP TABLE inquiries").status().code(),
            absl::StatusCode::kInvalidArgument);
  // WAL is a property of the file: every connection sees it.
  RawDb raw(dir_.db());
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
}

// Inserts `n` inquiries of about 2 KiB each, one transaction apiece: a few log pages per commit.
void InsertLargeInquiries(Store& store, int n, Micros at) {
  for (int k = 0; k < n; ++k) {
    Inquiry i = MakeInquiry(at + k);
    i.raw_payload = std::string(2000, 'x');
    ASSERT_TRUE(Insert(store, i).ok());
  }
}

// The write-ahead log is copied back into the file by the checkpointer's own thread: the
// writer, and the acknowledgements waiting on its commits, never wait for a checkpoint.
TEST_F(SqliteStoreTest, CheckpointsRunOffTheWriterThread) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> opened =
      SqliteStore::Open(dir_.db(), &clock_, {.background_pages = 64, .writer_pages = 1 << 30});
  ASSERT_TRUE(opened.ok()) << opened.status();
  SqliteStore& store = **opened;
  const uintmax_t file_before = std::filesystem::file_size(dir_.db());
  InsertLargeInquiries(store, 300, kT0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (store.checkpointer().background_checkpoints() == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(store.checkpointer().background_checkpoints(), 0);
  EXPECT_EQ(store.checkpointer().writer_checkpoints(), 0);
  // The pages reached the database file itself (300 inquiries of 2 KiB).
  EXPECT_GT(std::filesystem::file_size(dir_.db()), file_before + 300 * 1000);
}

// When the background thread cannot keep up, the writer checkpoints at the bound itself, so
// the log is reused from its start instead of growing with every commit.
TEST_F(SqliteStoreTest, TheWriterCheckpointsWhenTheLogOutgrowsItsBound) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> opened =
      SqliteStore::Open(dir_.db(), &clock_, {.background_pages = 1 << 30, .writer_pages = 64});
  ASSERT_TRUE(opened.ok()) << opened.status();
  SqliteStore& store = **opened;
  InsertLargeInquiries(store, 300, kT0);
  EXPECT_GT(store.checkpointer().writer_checkpoints(), 0);
  EXPECT_EQ(store.checkpointer().background_checkpoints(), 0);
  // 300 commits of a few pages each would make a log of several MiB; the bound keeps it near
  // 64 pages (plus the commit that crossed it).
  EXPECT_LT(std::filesystem::file_size(dir_.db() + "-wal"), 1u << 20);
}

// The log's length in frames, from the size of its file.
int64_t WalFrames(const std::string& db) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(db + "-wal", ec);
  return ec || size < 32 ? 0 : static_cast<int64_t>((size - 32) / (4096 + 24));
}

// How many times the log was restarted from its start: the checkpoint sequence number of its
// header (bytes 12 to 15, big-endian), which SQLite raises at each restart.
uint32_t WalRestarts(const std::string& db) {
  std::ifstream wal(db + "-wal", std::ios::binary);
  unsigned char header[16] = {};
  if (!wal.read(reinterpret_cast<char*>(header), sizeof header)) return 0;
  return uint32_t{header[12]} << 24 | uint32_t{header[13]} << 16 | uint32_t{header[14]} << 8 |
         uint32_t{header[15]};
}

// A read that stays open pins the log: no checkpoint can copy what was committed after it began.
// The writer then leaves the backlog to the thread instead of copying it inside a commit that
// acknowledgements wait for, up to the hard bound of four times writer_pages; once the read
// ends, the thread copies the backlog and the writer restarts the log again, and keeps doing so.
TEST_F(SqliteStoreTest, AReadHoldingTheLogLeavesTheCopyToTheThreadUpToTheBound) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> opened =
      SqliteStore::Open(dir_.db(), &clock_, {.background_pages = 16, .writer_pages = 64});
  ASSERT_TRUE(opened.ok()) << opened.status();
  SqliteStore& store = **opened;
  RawDb reader(dir_.db());
  // An empty log first (what the migrations left is copied and the log restarted), so that the
  // read's snapshot lets no checkpoint copy anything committed after it.
  ASSERT_EQ(reader.Text("PRAGMA wal_checkpoint(TRUNCATE)"), "0");
  ASSERT_EQ(WalFrames(dir_.db()), 0);
  ASSERT_EQ(reader.Exec("BEGIN"), SQLITE_OK);
  ASSERT_EQ(reader.Text("SELECT count(*) FROM inquiries"), "0");  // the snapshot is taken
  Micros at = kT0;
  InsertLargeInquiries(store, 1, at++);
  const uint32_t restarts_before = WalRestarts(dir_.db());  // as the writer's header says
  while (WalFrames(dir_.db()) < 160) InsertLargeInquiries(store, 1, at++);
  EXPECT_EQ(store.checkpointer().writer_checkpoints(), 0)
      << "the writer copied a backlog the read held back";
  // Past the bound the writer checkpoints at each commit (it skips one only while the thread is
  // mid-pass, hence a few commits' leeway), copying nothing the read holds back.
  while (WalFrames(dir_.db()) < 4 * 64 + 200 && store.checkpointer().writer_checkpoints() == 0) {
    InsertLargeInquiries(store, 1, at++);
  }
  EXPECT_GT(store.checkpointer().writer_checkpoints(), 0) << "the hard bound did not hold";
  EXPECT_EQ(WalRestarts(dir_.db()), restarts_before) << "the log restarted under the read";

  ASSERT_EQ(reader.Exec("COMMIT"), SQLITE_OK);
  // With the read gone, checkpoints copy all of the log and the writer restarts it: 300 more
  // commits of some 8 frames each (2,400 frames) reuse it from its start, cycle after cycle,
  // instead of adding to it. (How long it gets before each restart depends on how long the
  // thread's passes take, which a busy disk stretches: the restarts are what is certain.)
  InsertLargeInquiries(store, 300, at);
  EXPECT_GE(WalRestarts(dir_.db()), restarts_before + 2)
      << "the log was not restarted after the read";
  EXPECT_GT(store.checkpointer().background_checkpoints(), 0);
}

// A window's outcomes are read a page at a time; inquiries received at the same instant across
// a page boundary are each read once, in (received_at, id) order, with their task and handoff.
TEST_F(SqliteStoreTest, InquiryOutcomesAreReadInPagesWithoutLosingOrRepeatingOne) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  constexpr int kInquiries = 4500;  // more than two pages of 2,000
  ASSERT_TRUE(store
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    for (int k = 0; k < kInquiries; ++k) {
                      Inquiry i = MakeInquiry(kT0 + k / 3);  // three at each instant
                      i.id = fmt::format("inq-{:05}", (k * 7919) % kInquiries);
                      RETURN_IF_ERROR(tx.InsertInquiry(i));
                      Task t;
                      t.id = "task-" + i.id;
                      t.workspace = "acme";
                      t.inquiry_id = i.id;
                      t.created_at = i.received_at;
                      RETURN_IF_ERROR(tx.InsertTask(t));
                      Handoff h;
                      h.id = "handoff-" + i.id;
                      h.workspace = "acme";
                      h.inquiry_id = i.id;
                      h.destination = "crm";
                      h.created_at = i.received_at;
                      RETURN_IF_ERROR(tx.InsertHandoff(h));
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  auto check = [&](Micros from, Micros until, size_t expected) {
    absl::StatusOr<std::vector<InquiryOutcome>> outcomes =
        store->ListInquiryOutcomes("acme", from, until);
    ASSERT_TRUE(outcomes.ok()) << outcomes.status();
    ASSERT_EQ(outcomes->size(), expected);
    std::set<std::string> seen;
    for (size_t k = 0; k < outcomes->size(); ++k) {
      const InquiryOutcome& o = (*outcomes)[k];
      EXPECT_TRUE(seen.insert(o.id).second) << o.id << " read twice";
      EXPECT_GE(o.received_at, from);
      EXPECT_LT(o.received_at, until);
      if (k > 0) {
        const InquiryOutcome& p = (*outcomes)[k - 1];
        EXPECT_LT(std::tie(p.received_at, p.id), std::tie(o.received_at, o.id)) << k;
      }
      ASSERT_TRUE(o.task.has_value()) << o.id;
      EXPECT_EQ(o.task->id, "task-" + o.id);
      ASSERT_EQ(o.handoffs.size(), 1u) << o.id;
      EXPECT_EQ(o.handoffs[0].id, "handoff-" + o.id);
    }
  };
  check(kT0, kT0 + kInquiries, kInquiries);
  check(kT0 + 100, kT0 + 1000, 2700);  // a window that starts and ends inside pages
  check(kT0 + 2000, kT0 + 2000, 0);
}

// The inquiries list filtered on a status or stage off the healthy path reads the partial index
// of those inquiries alone; an inquiry on the path (routed, then delivered) has no entry in it,
// so the writer pays nothing for it; the list's test of a filter and the index's condition
// agree on every status and stage.
TEST_F(SqliteStoreTest, ListsOffTheHealthyPathSeekTheirIndexWhichHealthyInquiriesNeverEnter) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  RawDb raw(dir_.db());
  for (const std::string status : {"received", "awaiting_context", "enriched", "unrouted",
                                   "assigned", "routed", "delivered", "attention", "canceled"}) {
    for (const std::string stage : {"entry", "enrich", "trigger", "transfer", "track"}) {
      const std::string in_index = raw.Text(
          fmt::format("SELECT " HANDOFF_OFF_THE_PATH " FROM (SELECT '{}' AS status, '{}' AS stage)",
                      status, stage));
      EXPECT_EQ(in_index == "1", OnlyOffThePath(status, "") || OnlyOffThePath("", stage))
          << status << " " << stage;
    }
    EXPECT_EQ(OnlyOffThePath(status, ""),
              status != "assigned" && status != "routed" && status != "delivered")
        << status;
  }
  EXPECT_EQ(raw.Plan("SELECT id FROM inquiries INDEXED BY inquiries_off_the_path WHERE workspace = "
                     "'acme' AND " HANDOFF_OFF_THE_PATH " AND status = 'attention' AND id < 'x' "
                     "ORDER BY id DESC LIMIT 50"),
            "SEARCH inquiries USING INDEX inquiries_off_the_path (workspace=? AND id<?)");

  // Healthy inquiries, routed then delivered as the ingest write and the dispatcher make them:
  // no entry. One that needs attention: one entry, gone when a replay routes it again.
  std::vector<Inquiry> healthy;
  for (int k = 0; k < 5; ++k) {
    Inquiry i = MakeInquiry(kT0 + k);
    i.stage = Stage::kTrigger;
    i.status = "routed";
    ASSERT_TRUE(Insert(*store, i).ok());
    healthy.push_back(i);
  }
  auto entries = [&raw] {
    return raw.Text(
        "SELECT COALESCE(SUM(ncell), 0) FROM dbstat WHERE name = "
        "'inquiries_off_the_path' AND pagetype = 'leaf'");
  };
  EXPECT_EQ(entries(), "0");
  auto progress = [&](const Inquiry& i, const char* status) {
    return store->Write(
        [&](WriteTx& tx) { return tx.SetInquiryProgress("acme", i.id, Stage::kTransfer, status); });
  };
  for (const Inquiry& i : healthy) ASSERT_TRUE(progress(i, "delivered").ok());
  EXPECT_EQ(entries(), "0");
  ASSERT_TRUE(progress(healthy[2], "attention").ok());
  EXPECT_EQ(entries(), "1");
  InquiryFilter attention;
  attention.status = "attention";
  absl::StatusOr<std::vector<Inquiry>> listed = store->ListInquiries("acme", attention);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, healthy[2].id);
  ASSERT_TRUE(progress(healthy[2], "routed").ok());
  EXPECT_EQ(entries(), "0");

  // The list names the index: without it, a filter off the path fails rather than walking
  // every inquiry, and one on the path still reads.
  ASSERT_EQ(raw.Exec("DROP INDEX inquiries_off_the_path"), SQLITE_OK);
  EXPECT_FALSE(store->ListInquiries("acme", attention).ok());
  InquiryFilter early;
  early.stage = "enrich";
  EXPECT_FALSE(store->ListInquiries("acme", early).ok());
  InquiryFilter delivered;
  delivered.status = "delivered";
  EXPECT_EQ(store->ListInquiries("acme", delivered)->size(), 4u);
}

// A partial index's condition runs at every write of its table; SQLite evaluates a constant IN
// list through a temporary B-tree (its own pager, allocated and freed per statement), which
// is why the claimable-handoffs index spells its states out with OR.
TEST_F(SqliteStoreTest, WritingAHandoffBuildsNoTemporaryBTree) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  RawDb raw(dir_.db());
  for (const std::string sql : {
           "INSERT INTO handoffs (id, workspace, inquiry_id, destination, state, attempts, "
           "next_attempt_at, created_at, confirmed_at, remote_id, last_status, last_error, "
           "last_response_excerpt) VALUES ('h', 'w', 'i', 'd', 'pending', 0, 0, 0, 0, '', 0, "
           "'', '')",
           "UPDATE handoffs SET state = 'confirmed', attempts = 1 WHERE id = 'h' AND "
           "workspace = 'w'",
       }) {
    std::vector<std::string> ops = raw.Opcodes(sql);
    ASSERT_FALSE(ops.empty());
    EXPECT_NE(ops[0], "<error>") << sql;
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "OpenEphemeral"), 0) << sql;
  }
}

// A claim reads the claimable index one destination at a time: finding the destinations is a
// seek per destination, and a destination's due handoffs are a range of the index. No walk
// passes the handoffs of a destination the dispatcher did not ask for, nor reads a table row.
TEST_F(SqliteStoreTest, ClaimsSeekEachDestinationInTheClaimableIndex) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  RawDb raw(dir_.db());
  constexpr char kClaimable[] =
      "FROM handoffs INDEXED BY handoffs_claimable WHERE (state = 'pending' OR state = 'failed' "
      "OR state = 'delivering') AND ";
  EXPECT_EQ(raw.Plan(std::string("SELECT destination ") + kClaimable +
                     "workspace = 'w' AND destination > 'crm' ORDER BY destination LIMIT 1"),
            "SEARCH handoffs USING COVERING INDEX handoffs_claimable (workspace=? AND "
            "destination>?)");
  EXPECT_EQ(raw.Plan(std::string("SELECT workspace ") + kClaimable +
                     "workspace > 'w' ORDER BY workspace LIMIT 1"),
            "SEARCH handoffs USING COVERING INDEX handoffs_claimable (workspace>?)");
  EXPECT_EQ(raw.Plan(std::string("SELECT id, next_attempt_at ") + kClaimable +
                     "workspace = 'w' AND destination = 'crm' AND next_attempt_at <= 1 "
                     "ORDER BY next_attempt_at, id LIMIT 8"),
            "SEARCH handoffs USING COVERING INDEX handoffs_claimable (workspace=? AND "
            "destination=? AND next_attempt_at<?)");
}

// No index holds the confirmed handoffs (nearly all of them), so confirming one changes only
// its row and handoffs_claimable; the reads by state find theirs in the two partial indexes.
TEST_F(SqliteStoreTest, ReadsByStateUseThePartialIndexesAndConfirmedHandoffsHaveNone) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  RawDb raw(dir_.db());
  // Every index on handoffs but the keys (id, and workspace + inquiry) is partial, none on state.
  EXPECT_EQ(raw.Text("SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE "
                     "type = 'index' AND tbl_name = 'handoffs' ORDER BY name)"),
            "handoffs_alerts handoffs_by_inquiry handoffs_claimable handoffs_dead "
            "sqlite_autoindex_handoffs_1");
  EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM sqlite_master WHERE tbl_name = 'handoffs' AND "
                     "type = 'index' AND sql LIKE '% WHERE %'"),
            "3");
  EXPECT_EQ(raw.Plan("SELECT * FROM handoffs INDEXED BY handoffs_dead WHERE state = 'dead' AND "
                     "workspace = 'w' AND id > '' ORDER BY id LIMIT 5"),
            "SEARCH handoffs USING INDEX handoffs_dead (workspace=? AND id>?)");
  EXPECT_EQ(raw.Plan("SELECT state, COUNT(*) FROM (SELECT state FROM handoffs INDEXED BY "
                     "handoffs_claimable WHERE (state = 'pending' OR state = 'failed' OR state = "
                     "'delivering') UNION ALL SELECT state FROM handoffs INDEXED BY handoffs_dead "
                     "WHERE state = 'dead') GROUP BY state"),
            "CO-ROUTINE (subquery-2)\nCOMPOUND QUERY\nLEFT-MOST SUBQUERY\nSCAN handoffs USING "
            "COVERING INDEX handoffs_claimable\nUNION ALL\nSCAN handoffs USING INDEX "
            "handoffs_dead\nSCAN (subquery-2)\nUSE TEMP B-TREE FOR GROUP BY");
}

// The scans over tasks that run every second (escalations), per page of the leak scan (the
// page's tasks), per least-open assignment (one owner's open tasks) and per task list seek their
// own index. Without statistics SQLite's planner prefers an equality on workspace and walks a
// whole state, or every task the workspace ever had: the store's statements name their indexes.
TEST_F(SqliteStoreTest, TaskScansSeekTheirIndexesInsteadOfWalkingEveryTask) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Insert(*store, MakeInquiry(kT0)).ok());
  RawDb raw(dir_.db());
  constexpr char kEscalating[] =
      "WHERE state = 'open' AND next_escalation_at > 0 AND workspace = 'acme' ";
  EXPECT_EQ(raw.Plan(std::string("SELECT id FROM tasks ") + kEscalating +
                     "ORDER BY next_escalation_at LIMIT 1"),
            "SEARCH tasks USING INDEX tasks_by_state_created (workspace=? AND state=?)\nUSE TEMP "
            "B-TREE FOR ORDER BY");
  EXPECT_EQ(raw.Plan(std::string("SELECT id FROM tasks INDEXED BY tasks_escalation_due ") +
                     kEscalating + "ORDER BY next_escalation_at LIMIT 1"),
            "SEARCH tasks USING INDEX tasks_escalation_due (next_escalation_at>?)");
  EXPECT_EQ(
      raw.Plan(std::string("SELECT id FROM tasks INDEXED BY tasks_escalation_due ") + kEscalating +
               "AND next_escalation_at <= 5 ORDER BY next_escalation_at, id "
               "LIMIT 10"),
      "SEARCH tasks USING INDEX tasks_escalation_due (next_escalation_at>? AND "
      "next_escalation_at<?)\nUSE TEMP B-TREE FOR RIGHT PART OF ORDER BY");
  EXPECT_EQ(raw.Plan("SELECT COUNT(*) FROM tasks INDEXED BY tasks_by_owner WHERE workspace = "
                     "'acme' AND owner = 'ana' AND state IN ('open', 'acknowledged')"),
            "SEARCH tasks USING COVERING INDEX tasks_by_owner (workspace=? AND owner=? AND "
            "state=?)");
  EXPECT_EQ(raw.Plan("SELECT * FROM tasks INDEXED BY tasks_by_inquiry_created WHERE workspace = "
                     "'acme' AND inquiry_id IN (SELECT id FROM inquiries WHERE workspace = 'acme' "
                     "AND received_at >= 1 AND received_at <= 2) ORDER BY created_at, id"),
            "SEARCH tasks USING INDEX tasks_by_inquiry_created (workspace=? AND inquiry_id=?)\n"
            "LIST SUBQUERY 1\nSEARCH inquiries USING INDEX inquiries_by_received_at (workspace=? "
            "AND received_at>? AND received_at<?)\nUSE TEMP B-TREE FOR ORDER BY");

  // The task lists read each state's newest rows in index order and stop at the limit: one
  // state, or a merge of one read per state, by owner or not.
  for (bool by_owner : {false, true}) {
    const std::string from =
        by_owner ? "tasks INDEXED BY tasks_by_owner" : "tasks INDEXED BY tasks_by_state_created";
    const std::string read =
        by_owner ? "SEARCH tasks USING INDEX tasks_by_owner (workspace=? AND owner=? AND state=?)"
                 : "SEARCH tasks USING INDEX tasks_by_state_created (workspace=? AND state=?)";
    EXPECT_EQ(raw.Plan(NewestTasksSql("id, created_at", from, '?', by_owner, true)),
              read + "\nUSE TEMP B-TREE FOR RIGHT PART OF ORDER BY");
    // Every state: each read cut at the limit in a co-routine, the (at most limit) rows each
    // gives sorted for the merge; never a walk of a state's whole history.
    auto arm = [&](int i) {
      return fmt::format(
          "CO-ROUTINE s{0}\n{1}\nUSE TEMP B-TREE FOR RIGHT PART OF ORDER BY\nSCAN s{0}\nUSE TEMP "
          "B-TREE FOR ORDER BY",
          i, read);
    };
    static_assert(kTaskStates.size() == 3, "one read per state: the plan below has three");
    EXPECT_EQ(raw.Plan(NewestTasksSql("id, created_at", from, '?', by_owner, false)),
              "MERGE (UNION ALL)\nLEFT\nMERGE (UNION ALL)\nLEFT\n" + arm(0) + "\nRIGHT\n" + arm(1) +
                  "\nRIGHT\n" + arm(2));
  }

  // The store's own statements name those indexes: with one gone, the read that uses it fails
  // (SQLite prepares it again after the schema change) instead of walking another.
  ASSERT_TRUE(store->NextEscalation("acme").ok());
  ASSERT_TRUE(store->ListDueEscalations("acme", kT0, 10).ok());
  ASSERT_EQ(raw.Exec("DROP INDEX tasks_escalation_due"), SQLITE_OK);
  EXPECT_FALSE(store->NextEscalation("acme").ok());
  EXPECT_FALSE(store->ListDueEscalations("acme", kT0, 10).ok());

  auto count_open = [&] {
    return store->Write([](WriteTx& tx) { return tx.CountOpenTasks("acme", {"ana"}).status(); });
  };
  ASSERT_TRUE(count_open().ok());
  ASSERT_EQ(raw.Exec("DROP INDEX tasks_by_owner"), SQLITE_OK);
  EXPECT_FALSE(count_open().ok());

  ASSERT_TRUE(store->ListInquiryOutcomes("acme", kT0 - 1, kT0 + 1).ok());
  ASSERT_EQ(raw.Exec("DROP INDEX tasks_by_inquiry_created"), SQLITE_OK);
  EXPECT_FALSE(store->ListInquiryOutcomes("acme", kT0 - 1, kT0 + 1).ok());

  for (const std::string state : {"", "open"}) {
    ASSERT_TRUE(store->ListTasksBy("acme", state, "", 10).ok());
    EXPECT_FALSE(store->ListTasksBy("acme", state, "ana", 10).ok());  // tasks_by_owner is gone
  }
  ASSERT_EQ(raw.Exec("DROP INDEX tasks_by_state_created"), SQLITE_OK);
  EXPECT_FALSE(store->ListTasksBy("acme", "", "", 10).ok());
  EXPECT_FALSE(store->ListTasksBy("acme", "open", "", 10).ok());
}

// Retention deletes an expired inquiry's rows table by table: each delete seeks the inquiry's
// rows through an index rather than scanning the table (work had none until migration 14).
TEST_F(SqliteStoreTest, RetentionSeeksAnInquirysRowsInEveryTable) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  RawDb raw(dir_.db());
  for (const std::string table :
       {"events", "tasks", "handoffs", "work", "dedupe", "inbox_items", "leaks"}) {
    const std::string plan =
        raw.Plan("DELETE FROM " + table + " WHERE workspace = 'acme' AND inquiry_id = 'i'");
    EXPECT_EQ(plan.rfind("SEARCH " + table + " USING ", 0), 0u) << table << ": " << plan;
    EXPECT_EQ(plan.find("SCAN"), std::string::npos) << table << ": " << plan;
  }
  EXPECT_EQ(raw.Plan("DELETE FROM work WHERE workspace = 'acme' AND inquiry_id = 'i'"),
            "SEARCH work USING INDEX work_by_inquiry (workspace=? AND inquiry_id=?)");
}

TEST_F(SqliteStoreTest, MigrationsRunOnceAndReopeningKeepsData) {
  Inquiry in = MakeInquiry(kT0);
  for (int round = 0; round < 3; ++round) {
    std::unique_ptr<SqliteStore> store = OpenStore();
    ASSERT_NE(store, nullptr);
    if (round == 0) {
      ASSERT_TRUE(Insert(*store, in).ok());
    }
    EXPECT_TRUE(store->GetInquiry("acme", in.id).ok());
  }
  RawDb raw(dir_.db());
  std::string latest = std::to_string(LatestSqliteSchemaVersion());
  EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM schema_migrations"), latest);
  EXPECT_EQ(raw.Text("SELECT MAX(version) FROM schema_migrations"), latest);
  EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM inquiries"), "1");
}

// The body as received lives in a table of its own, so that the inquiry's row holds no overflow
// page for a change of its status to write again; a file from before that (migration 17) moves
// every body there, bytes intact, and its inquiries' rows lose the columns.
TEST_F(SqliteStoreTest, BodiesAsReceivedLiveOutsideTheInquirysRowAndOlderFilesMoveThem) {
  std::vector<Inquiry> in = {MakeInquiry(kT0), MakeInquiry(kT0 + 1), MakeInquiry(kT0 + 2)};
  in[0].raw_payload = std::string("{\"notes\":\"") + std::string(6000, 'x') + "\"}";
  in[1].raw_payload = std::string("a\0\xff\xfe", 4);
  in[1].raw_content_type = "application/octet-stream";
  in[2].raw_payload = "";
  {
    std::unique_ptr<SqliteStore> store = OpenStore();
    ASSERT_NE(store, nullptr);
    for (const Inquiry& i : in) ASSERT_TRUE(Insert(*store, i).ok());
    ASSERT_TRUE(store
                    ->Write([&](WriteTx& tx) {
                      return tx.SetInquiryProgress("acme", in[0].id, Stage::kTransfer, "delivered");
                    })
                    .ok());
  }
  {
    RawDb raw(dir_.db());
    EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM dbstat WHERE name = 'inquiries' AND pagetype = "
                       "'overflow'"),
              "0");
    EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM dbstat WHERE name = 'inquiry_bodies' AND pagetype = "
                       "'overflow'"),
              "1");
    // The file as a build before migration 17 left it.
    ASSERT_EQ(raw.Exec(std::string(testing::kSqliteBodiesBackInTheRow) +
                       " DELETE FROM schema_migrations WHERE version = 17;"),
              SQLITE_OK);
  }
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (const Inquiry& i : in) {
    absl::StatusOr<Inquiry> got = store->GetInquiry("acme", i.id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->raw_payload, i.raw_payload);
    EXPECT_EQ(got->raw_content_type, i.raw_content_type);
  }
  EXPECT_EQ(store->GetInquiry("acme", in[0].id)->status, "delivered");
  RawDb raw(dir_.db());
  EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM pragma_table_info('inquiries') WHERE name LIKE 'raw%'"),
            "0");
  EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM inquiry_bodies"), "3");
}

TEST_F(SqliteStoreTest, ADatabaseFromANewerBuildIsRefused) {
  { ASSERT_NE(OpenStore(), nullptr); }
  {
    RawDb raw(dir_.db());
    ASSERT_EQ(raw.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)"),
              SQLITE_OK);
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir_.db(), &clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("999"), absl::string_view::npos) << store.status();
}

TEST_F(SqliteStoreTest, ShutdownCommitsQueuedWritesThenRefusesNewOnes) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  constexpr int kQueued = 100;
  std::vector<Inquiry> queued;
  for (int i = 0; i < kQueued; ++i) queued.push_back(MakeInquiry(kT0 + i));
  std::atomic<int> ok{0};
  std::atomic<int> accepted_probes{0};
  std::thread shutdown;
  {
    WriterGate gate(store.get());
    for (const Inquiry& in : queued) {
      store->SubmitWrite([&in](WriteTx& tx) { return tx.InsertInquiry(in); },
                         [&](absl::Status s) {
                           if (s.ok()) ok.fetch_add(1);
                         });
    }
    shutdown = std::thread([&] { store->Shutdown(); });
    // Wait (without a clock) until Shutdown has begun: a write is then refused at once.
    while (true) {
      std::atomic<bool> refused{false};
      store->SubmitWrite([](WriteTx&) { return absl::OkStatus(); },
                         [&](absl::Status s) {
                           if (s.code() == absl::StatusCode::kUnavailable) {
                             refused.store(true);
                           } else {
                             accepted_probes.fetch_add(1);
                           }
                         });
      if (refused.load()) break;
      std::this_thread::yield();
    }
  }
  shutdown.join();
  EXPECT_EQ(ok.load(), kQueued);
  for (const Inquiry& in : queued) EXPECT_TRUE(store->GetInquiry("acme", in.id).ok());
  EXPECT_EQ(Insert(*store, MakeInquiry(kT0)).code(), absl::StatusCode::kUnavailable);
}

TEST_F(SqliteStoreTest, EveryCommitSyncsAndAFailedSyncStopsAllWrites) {
  FaultVfs vfs;
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(Insert(*store, MakeInquiry(kT0)).ok());

  // synchronous=FULL: each commit syncs the WAL before it is acknowledged.
  const int syncs_before = vfs.syncs();
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(Insert(*store, MakeInquiry(kT0 + i)).ok());
  EXPECT_GE(vfs.syncs() - syncs_before, 5);

  vfs.FailSyncs(true);
  Inquiry lost = MakeInquiry(kT0 + 100);
  absl::Status failed = Insert(*store, lost);
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable) << failed;

  // The disk "recovers", but the store never retries: an fsync error leaves the file's state
  // unknown, so everything after is refused until a restart recovers from the log.
  vfs.FailSyncs(false);
  absl::Status after = Insert(*store, MakeInquiry(kT0 + 101));
  EXPECT_EQ(after.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(after.message().find("stopped accepting writes"), absl::string_view::npos) << after;
  // Reads still work.
  EXPECT_TRUE(store->ListInquiries("acme", {}).ok());
  store.reset();

  std::unique_ptr<SqliteStore> reopened = OpenStore();
  ASSERT_NE(reopened, nullptr);
  EXPECT_TRUE(Insert(*reopened, MakeInquiry(kT0 + 102)).ok());
}

// Submits `in`'s insert with `durability` and waits for its commit.
absl::Status InsertWith(Store& store, const Inquiry& in, Durability durability) {
  std::promise<absl::Status> done;
  store.SubmitWrite([&in](WriteTx& tx) { return tx.InsertInquiry(in); },
                    [&done](absl::Status s) { done.set_value(std::move(s)); }, durability);
  return done.get_future().get();
}

// Durability::kDeferred commits without a sync, visible at once; a batch holding any synced
// write syncs, and with it everything committed before.
TEST_F(SqliteStoreTest, DeferredWritesCommitWithoutASyncUntilASyncedOneJoinsThem) {
  FaultVfs vfs;
  absl::StatusOr<std::unique_ptr<SqliteStore>> opened =
      SqliteStore::Open(dir_.db(), &clock_, {.sync_delay = 3600 * kMicrosPerSecond});
  ASSERT_TRUE(opened.ok()) << opened.status();
  SqliteStore& store = **opened;
  ASSERT_TRUE(Insert(store, MakeInquiry(kT0)).ok());

  int syncs = vfs.syncs();
  const Inquiry deferred = MakeInquiry(kT0 + 1);
  ASSERT_TRUE(InsertWith(store, deferred, Durability::kDeferred).ok());
  EXPECT_EQ(vfs.syncs(), syncs) << "a deferred commit synced the log";
  EXPECT_EQ(store.deferred_commits(), 1);
  EXPECT_TRUE(store.GetInquiry("acme", deferred.id).ok());

  ASSERT_TRUE(InsertWith(store, MakeInquiry(kT0 + 2), Durability::kSynced).ok());
  EXPECT_GT(vfs.syncs(), syncs);
  EXPECT_EQ(*store.WriterPragma("synchronous"), "2");

  // Committed together, a deferred and a synced write are synced.
  syncs = vfs.syncs();
  const int64_t deferred_before = store.deferred_commits();
  {
    WriterGate gate(&store);
    std::promise<absl::Status> first;
    const Inquiry a = MakeInquiry(kT0 + 3);
    store.SubmitWrite([&a](WriteTx& tx) { return tx.InsertInquiry(a); },
                      [&first](absl::Status s) { first.set_value(std::move(s)); },
                      Durability::kDeferred);
    std::promise<absl::Status> second;
    const Inquiry b = MakeInquiry(kT0 + 4);
    store.SubmitWrite([&b](WriteTx& tx) { return tx.InsertInquiry(b); },
                      [&second](absl::Status s) { second.set_value(std::move(s)); });
    gate.Release();
    EXPECT_TRUE(first.get_future().get().ok());
    EXPECT_TRUE(second.get_future().get().ok());
  }
  EXPECT_EQ(store.deferred_commits(), deferred_before);
  EXPECT_GT(vfs.syncs(), syncs);
}

// Alone in the queue, deferred writes wait (up to deferred_ride) for a synced write and commit in
// its transaction: at low load a delivery's confirmation then costs no commit of its own.
TEST_F(SqliteStoreTest, DeferredWritesAloneWaitForASyncedWriteToCommitWith) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> opened =
      SqliteStore::Open(dir_.db(), &clock_, {}, /*deferred_ride=*/3600 * kMicrosPerSecond);
  ASSERT_TRUE(opened.ok()) << opened.status();
  SqliteStore& store = **opened;
  ASSERT_TRUE(Insert(store, MakeInquiry(kT0)).ok());
  const int64_t commits_before = store.commits();

  std::promise<absl::Status> deferred_done;
  std::future<absl::Status> deferred_result = deferred_done.get_future();
  const Inquiry deferred = MakeInquiry(kT0 + 1);
  store.SubmitWrite([&deferred](WriteTx& tx) { return tx.InsertInquiry(deferred); },
                    [&deferred_done](absl::Status s) { deferred_done.set_value(std::move(s)); },
                    Durability::kDeferred);
  EXPECT_EQ(deferred_result.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout)
      << "a deferred write committed alone within its hour-long ride";
  EXPECT_FALSE(store.GetInquiry("acme", deferred.id).ok());

  const Inquiry synced = MakeInquiry(kT0 + 2);
  ASSERT_TRUE(Insert(store, synced).ok());
  ASSERT_TRUE(deferred_result.get().ok());
  EXPECT_EQ(store.commits(), commits_before + 1) << "the two writes took separate commits";
  EXPECT_EQ(store.deferred_commits(), 0);
  EXPECT_TRUE(store.GetInquiry("acme", deferred.id).ok());
}

// Shutting down does not wait out a ride: the deferred writes queued are committed at once.
TEST_F(SqliteStoreTest, ShutdownCommitsDeferredWritesWithoutWaitingForCompany) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> opened =
      SqliteStore::Open(dir_.db(), &clock_, {}, /*deferred_ride=*/3600 * kMicrosPerSecond);
  ASSERT_TRUE(opened.ok()) << opened.status();
  SqliteStore& store = **opened;
  std::promise<absl::Status> done;
  std::future<absl::Status> result = done.get_future();
  const Inquiry deferred = MakeInquiry(kT0);
  store.SubmitWrite([&deferred](WriteTx& tx) { return tx.InsertInquiry(deferred); },
                    [&done](absl::Status s) { done.set_value(std::move(s)); },
                    Durability::kDeferred);
  store.Shutdown();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_TRUE(result.get().ok());
  EXPECT_TRUE(store.GetInquiry("acme", deferred.id).ok());
  EXPECT_EQ(store.deferred_commits(), 1);
}

// A deferred commit that no synced one follows is synced by the checkpointer's thread after
// sync_delay, so a quiet store does not leave it in the OS cache.
TEST_F(SqliteStoreTest, ADeferredCommitIsSyncedSoonWhenNothingElseIsWritten) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> opened =
      SqliteStore::Open(dir_.db(), &clock_, {.sync_delay = 20 * 1000});
  ASSERT_TRUE(opened.ok()) << opened.status();
  SqliteStore& store = **opened;
  ASSERT_TRUE(Insert(store, MakeInquiry(kT0)).ok());
  EXPECT_EQ(store.checkpointer().deferred_syncs(), 0) << "nothing was deferred yet";
  ASSERT_TRUE(InsertWith(store, MakeInquiry(kT0 + 1), Durability::kDeferred).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (store.checkpointer().deferred_syncs() == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(store.checkpointer().deferred_syncs(), 1);
}

TEST_F(SqliteStoreTest, ACompletionBeingCommittedIsNotClaimedAgainEvenPastItsLease) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  WorkItem w;
  w.workspace = "acme";
  w.inquiry_id = "i1";
  w.stage = Stage::kEnrich;
  w.available_at = kT0;
  ASSERT_TRUE(store->Write([&](WriteTx& tx) { return tx.EnqueueWork(w); }).ok());
  const Micros lease = kMicrosPerSecond;

  // A completion that fails gives its claim back; one that commits removes the item.
  for (bool fail : {true, false}) {
    WorkItem claimed = store->ClaimWork(Stage::kEnrich, 1, kT0, lease)->at(0);
    std::promise<void> checked;
    std::promise<void> proceed;
    std::promise<absl::Status> done;
    std::shared_future<void> go = proceed.get_future().share();
    store->SubmitWrite(
        [&, go, fail](WriteTx& tx) -> absl::Status {
          absl::Status s = tx.CompleteWork(claimed);
          checked.set_value();
          go.wait();
          if (!s.ok()) return s;
          return fail ? absl::InternalError("later step failed") : absl::OkStatus();
        },
        [&](absl::Status s) { done.set_value(s); });
    checked.get_future().wait();
    // The lease has expired, but the item's completion is in flight.
    EXPECT_TRUE(store->ClaimWork(Stage::kEnrich, 1, kT0 + 10 * lease, lease)->empty());
    proceed.set_value();
    EXPECT_EQ(done.get_future().get().ok(), !fail);
    absl::StatusOr<std::vector<WorkItem>> after =
        store->ClaimWork(Stage::kEnrich, 1, kT0 + 20 * lease, lease);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->size(), fail ? 1u : 0u);
    if (fail) {
      // Give the item back for the next round.
      ASSERT_TRUE(store->ReleaseWork(after->at(0), kT0).ok());
      ASSERT_TRUE(store->Write([](WriteTx&) { return absl::OkStatus(); }).ok());
    }
  }
}

TEST_F(SqliteStoreTest, ReleaseWorkWorksFromInsideACompletionCallback) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  WorkItem w;
  w.workspace = "acme";
  w.inquiry_id = "i1";
  w.stage = Stage::kTrigger;
  w.available_at = kT0;
  ASSERT_TRUE(store->Write([&](WriteTx& tx) { return tx.EnqueueWork(w); }).ok());
  WorkItem claimed = store->ClaimWork(Stage::kTrigger, 1, kT0, kMicrosPerMinute)->at(0);
  const Micros retry_at = kT0 + 5 * kMicrosPerSecond;

  // The way a work loop retries: its write failed, and `done` (on the writer thread) releases.
  std::promise<absl::Status> released;
  store->SubmitWrite(
      [](WriteTx&) { return absl::InternalError("processing failed"); },
      [&](absl::Status) { released.set_value(store->ReleaseWork(claimed, retry_at)); });
  ASSERT_TRUE(released.get_future().get().ok());
  ASSERT_TRUE(store->Write([](WriteTx&) { return absl::OkStatus(); }).ok());
  EXPECT_TRUE(store->ClaimWork(Stage::kTrigger, 1, retry_at - 1, kMicrosPerMinute)->empty());
  EXPECT_EQ(store->ClaimWork(Stage::kTrigger, 1, retry_at, kMicrosPerMinute)->size(), 1u);
}

}  // namespace
}  // namespace handoff
