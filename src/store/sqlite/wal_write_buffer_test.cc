// The log-buffering VFS under real SQLite files: what reaches the VFS underneath (a FaultVfs that
// counts and can fail log writes), what other connections read after each commit, and what a
// process that dies right after its commits leaves on disk.
#include "store/sqlite/wal_write_buffer.h"

#include <sqlite3.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "store/sqlite/sqlite_connection.h"
#include "tests/support/sqlite_fault_vfs.h"
#include "tests/support/temp_dir.h"

namespace handoff {
namespace {

constexpr int kFrameBytes = 24 + 4096;
constexpr long long kMaxWrite = 0x1ffff;  // the most SQLite's unix VFS writes in one call

// Inserts `rows` rows of 1,000 random bytes each in one statement (one transaction).
std::string InsertRows(int rows) {
  return fmt::format(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) "
      "INSERT INTO t(body) SELECT randomblob(1000) FROM n",
      rows);
}

class WalWriteBufferTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteConnection> OpenWriter(const char* synchronous) {
    absl::StatusOr<std::unique_ptr<SqliteConnection>> conn =
        SqliteConnection::Open(path_, SqliteConnection::Mode::kReadWrite);
    EXPECT_TRUE(conn.ok()) << conn.status();
    if (!conn.ok()) return nullptr;
    EXPECT_EQ((*conn)->QueryText("PRAGMA journal_mode = WAL").value_or(""), "wal");
    EXPECT_TRUE((*conn)
                    ->Exec(fmt::format("PRAGMA synchronous = {}; PRAGMA wal_autocheckpoint = 0; "
                                       "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, "
                                       "body BLOB NOT NULL)",
                                       synchronous))
                    .ok());
    return std::move(*conn);
  }

  std::unique_ptr<SqliteConnection> OpenReader() {
    absl::StatusOr<std::unique_ptr<SqliteConnection>> conn =
        SqliteConnection::Open(path_, SqliteConnection::Mode::kReadOnly);
    EXPECT_TRUE(conn.ok()) << conn.status();
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  static std::string Count(SqliteConnection& conn) {
    return conn.QueryText("SELECT count(*) FROM t").value_or("error");
  }

  // A new connection, with file handles of its own, finds `rows` rows in a sound database.
  void ExpectOnDisk(int rows) {
    std::unique_ptr<SqliteConnection> reader = OpenReader();
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(Count(*reader), std::to_string(rows));
    EXPECT_EQ(reader->QueryText("PRAGMA integrity_check").value_or(""), "ok");
  }

  FaultVfs vfs_;  // the default VFS, under the buffering one, before any connection opens
  testing::TempDir dir_;
  std::string path_ = dir_.File("log.db");
};

TEST_F(WalWriteBufferTest, ACommitOfUpTo31FramesReachesTheFileAsOneWrite) {
  std::unique_ptr<SqliteConnection> writer = OpenWriter("FULL");
  ASSERT_NE(writer, nullptr);
  // The buffering VFS sits over the fault VFS that this test made the default.
  EXPECT_STREQ(sqlite3_vfs_find(WalWriteBufferVfsName())->zName, WalWriteBufferVfsName());

  const int writes = vfs_.log_writes();
  const long long bytes = vfs_.log_bytes();
  const int syncs = vfs_.syncs();
  absl::Status inserted = writer->Exec(InsertRows(100));
  ASSERT_TRUE(inserted.ok()) << inserted;

  const long long written = vfs_.log_bytes() - bytes;
  EXPECT_EQ(written % kFrameBytes, 0) << written;
  EXPECT_GE(written / kFrameBytes, 25) << "100 rows of 1,000 bytes fill at least 25 pages";
  EXPECT_LE(written, kMaxWrite);
  EXPECT_EQ(vfs_.log_writes() - writes, 1) << "SQLite wrote each of those frames in two writes";
  EXPECT_EQ(vfs_.syncs() - syncs, 1) << "the commit's sync is unchanged";
  std::unique_ptr<SqliteConnection> reader = OpenReader();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(Count(*reader), "100");
}

TEST_F(WalWriteBufferTest, AnotherConnectionReadsEveryCommitMadeWithoutASync) {
  // With synchronous = OFF no sync follows a commit: what is gathered must reach the file when
  // the commit frame is written, before SQLite tells other connections about the commit.
  std::unique_ptr<SqliteConnection> writer = OpenWriter("OFF");
  std::unique_ptr<SqliteConnection> reader = OpenReader();
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(reader, nullptr);
  const int syncs = vfs_.syncs();
  for (int round = 1; round <= 30; ++round) {
    ASSERT_TRUE(writer->Exec(InsertRows(20)).ok());
    ASSERT_EQ(Count(*reader), std::to_string(20 * round)) << "after commit " << round;
  }
  EXPECT_EQ(reader->QueryText("SELECT sum(length(body)) FROM t").value_or(""), "600000");
  EXPECT_EQ(vfs_.syncs(), syncs);
}

TEST_F(WalWriteBufferTest, ALargeCommitIsWrittenInPiecesOfAtMost128KiB) {
  std::unique_ptr<SqliteConnection> writer = OpenWriter("FULL");
  ASSERT_NE(writer, nullptr);
  const int writes = vfs_.log_writes();
  const long long bytes = vfs_.log_bytes();
  // About 9 MB of frames in one commit. Each piece is as large as the VFS underneath takes in
  // one call (SQLite's unix VFS reports the disk full if asked for more), less under a frame.
  ASSERT_TRUE(writer->Exec(InsertRows(9000)).ok());
  const long long written = vfs_.log_bytes() - bytes;
  const int pieces = vfs_.log_writes() - writes;
  EXPECT_GE(written, 9'000'000);
  EXPECT_GE(pieces, written / kMaxWrite);
  EXPECT_LE(pieces, 1 + written / (kMaxWrite - kFrameBytes)) << written;
  ExpectOnDisk(9000);
}

TEST_F(WalWriteBufferTest, AfterTheLogStartsAgainACommitIsStillGatheredAndReadable) {
  std::unique_ptr<SqliteConnection> writer = OpenWriter("FULL");
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Exec(InsertRows(100)).ok());
  // TRUNCATE copies the whole log into the database and empties it: the next commit writes the
  // log's header at offset 0 again, then its frames.
  ASSERT_TRUE(writer->Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  const int writes = vfs_.log_writes();
  ASSERT_TRUE(writer->Exec(InsertRows(100)).ok());
  // The header is synced on its own before any frame (synchronous = FULL), then the frames.
  EXPECT_LE(vfs_.log_writes() - writes, 2);
  ExpectOnDisk(200);
}

TEST_F(WalWriteBufferTest, AFailedLogWriteFailsTheCommitAndKeepsWhatWasCommitted) {
  std::unique_ptr<SqliteConnection> writer = OpenWriter("FULL");
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Exec(InsertRows(100)).ok());

  vfs_.FailLogWrites(true);
  absl::Status failed = writer->Exec(InsertRows(100));
  vfs_.FailLogWrites(false);
  EXPECT_FALSE(failed.ok()) << "the gathered frames never reached the file";
  if (writer->in_transaction()) {
    ASSERT_TRUE(writer->Exec("ROLLBACK").ok());
  }

  EXPECT_EQ(Count(*writer), "100");
  ExpectOnDisk(100);
  // The same connection commits again once the disk works.
  ASSERT_TRUE(writer->Exec(InsertRows(50)).ok());
  ExpectOnDisk(150);
}

TEST_F(WalWriteBufferTest, EveryCommitSurvivesTheProcessEndingRightAfterIt) {
  // A child process commits with synchronous = NORMAL (no sync at commit) and ends without
  // closing anything, as kill -9 would end it; what it gathered in memory ends with it.
  // "fast": the child is a fork of this process, so it writes the database this test reads.
  GTEST_FLAG_SET(death_test_style, "fast");
  // First a commit whose pages spill from a tiny cache and are written again in place, after
  // which SQLite rewrites the frames' checksums: headers written on their own, the commit
  // frame's last, with nothing after it to push it out.
  EXPECT_EXIT(
      {
        std::unique_ptr<SqliteConnection> writer = OpenWriter("NORMAL");
        if (writer == nullptr) _exit(2);
        const int headers_before = vfs_.log_frame_header_writes();
        if (!writer->Exec("PRAGMA cache_size = 10").ok()) _exit(3);
        if (!writer->Exec("BEGIN").ok() || !writer->Exec(InsertRows(300)).ok() ||
            !writer->Exec("UPDATE t SET body = randomblob(1000) WHERE id <= 60").ok() ||
            !writer->Exec("COMMIT").ok()) {
          _exit(4);
        }
        if (vfs_.log_frame_header_writes() == headers_before) _exit(5);  // none rewritten
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "");
  // No other process has the database open: SQLite rebuilds the log's index from the file,
  // trusting only frames whose checksums hold.
  ExpectOnDisk(300);

  // Then a one-frame commit and a commit of many frames, the process ending right after it.
  EXPECT_EXIT(
      {
        std::unique_ptr<SqliteConnection> writer = OpenWriter("NORMAL");
        if (writer == nullptr) _exit(2);
        if (!writer->Exec("INSERT INTO t(body) VALUES (x'00')").ok()) _exit(3);
        if (!writer->Exec(InsertRows(20)).ok()) _exit(4);
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "");
  ExpectOnDisk(321);
  std::unique_ptr<SqliteConnection> reader = OpenReader();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->QueryText("SELECT sum(length(body)) FROM t").value_or(""), "320001");
}

}  // namespace
}  // namespace handoff
