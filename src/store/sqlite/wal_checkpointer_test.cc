#include "store/sqlite/wal_checkpointer.h"

#include "gtest/gtest.h"

namespace handoff {
namespace {

using LastCopy = WalCheckpointer::LastCopy;

constexpr WalCheckpointer::Options kOptions{.background_pages = 100, .writer_pages = 1000};

bool WriterCopies(int64_t pages, LastCopy last) {
  return WalCheckpointer::WriterCopies(kOptions, pages, last);
}

TEST(WalCheckpointerTest, BelowWriterPagesTheWriterNeverCopies) {
  EXPECT_FALSE(WriterCopies(999, {.log = 999, .copied = 999}));
  EXPECT_FALSE(WriterCopies(0, {}));
}

TEST(WalCheckpointerTest, TheWriterCopiesWhenTheThreadLeftLittle) {
  EXPECT_TRUE(WriterCopies(1000, {.log = 950, .copied = 900}));  // 100 left
  // 101 left, and the pass copied less than it saw: a read held it back.
  EXPECT_FALSE(WriterCopies(1001, {.log = 950, .copied = 900}));
}

// On a busy disk one pass lasts several commits: the thread copied all it saw, yet is more than
// background_pages behind when it ends. Waiting for it to come closer only let it chase the
// writer until the hard bound (a flaky test found that); the writer copies the rest instead.
TEST(WalCheckpointerTest, TheWriterCopiesTheRestWhenTheLastPassSawNoRead) {
  EXPECT_TRUE(WriterCopies(1500, {.log = 1200, .copied = 1200}));
  EXPECT_TRUE(WriterCopies(1200, {.log = 1200, .copied = 1200}));
}

// A pass that copied less than it saw was held back by a read: the backlog stays the thread's
// (copying thousands of pages inside a commit would hold up every acknowledgement behind it).
TEST(WalCheckpointerTest, AReadHoldingThePassBackLeavesTheBacklogToTheThread) {
  EXPECT_FALSE(WriterCopies(1500, {.log = 1200, .copied = 0}));
  EXPECT_FALSE(WriterCopies(3999, {.log = 3900, .copied = 3000}));
}

// A log shorter than at the last checkpoint was restarted since: that checkpoint says nothing of
// it, and none of it is copied.
TEST(WalCheckpointerTest, ACheckpointOfTheLogBeforeARestartCountsForNothing) {
  EXPECT_FALSE(WriterCopies(1100, {.log = 1200, .copied = 1200}));
}

TEST(WalCheckpointerTest, AtTheHardBoundTheWriterCopiesWhateverHeldThePassesBack) {
  EXPECT_TRUE(WriterCopies(WalCheckpointer::kWriterBoundFactor * 1000, {.log = 3900, .copied = 0}));
  EXPECT_FALSE(WriterCopies(WalCheckpointer::kWriterBoundFactor * 1000 - 1, {.log = 3900}));
}

}  // namespace
}  // namespace handoff
