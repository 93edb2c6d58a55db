#include "store/work_loop.h"

#include <set>
#include <thread>

#include "core/id.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace handoff {
namespace {

class WorkLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), SystemClock::Get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override { store_->Shutdown(); }

  void Enqueue(int n) {
    ASSERT_TRUE(store_
                    ->Write([&](WriteTx& tx) {
                      for (int i = 0; i < n; ++i) {
                        WorkItem w;
                        w.workspace = "ws";
                        w.inquiry_id = NewUuidV7(SystemClock::Get()->Now());
                        w.stage = Stage::kEnrich;
                        w.available_at = SystemClock::Get()->Now();
                        auto s = tx.EnqueueWork(w);
                        if (!s.ok()) return s;
                      }
                      return absl::OkStatus();
                    })
                    .ok());
  }

  // Retries and polls quickly so a failed item comes back within the test's patience.
  static WorkLoopOptions FastRetry() {
    WorkLoopOptions options;
    options.retry_delay = 50 * kMicrosPerMilli;
    options.idle_poll = 20 * kMicrosPerMilli;
    return options;
  }

  static bool WaitFor(const std::function<bool()>& pred) {
    for (int i = 0; i < 1000 && !pred(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(WorkLoopTest, DrainsTheQueueInBatchesEachItemOnce) {
  std::mutex mu;
  std::multiset<std::string> seen;
  WorkLoopOptions options;
  options.batch = 16;
  WorkLoop loop(
      "test", Stage::kEnrich, store_.get(), SystemClock::Get(),
      [&](const WorkItem& item) -> absl::StatusOr<WriteFn> {
        std::lock_guard<std::mutex> lock(mu);
        seen.insert(item.inquiry_id);
        return WriteFn([item](WriteTx& tx) { return tx.CompleteWork(item); });
      },
      options);
  Enqueue(100);
  loop.Start();
  ASSERT_TRUE(WaitFor([&] { return loop.processed() == 100; }));
  loop.Stop();
  EXPECT_EQ(seen.size(), 100u);
  for (const auto& id : seen) EXPECT_EQ(seen.count(id), 1u);
  EXPECT_TRUE(
      store_->ClaimWork(Stage::kEnrich, 10, SystemClock::Get()->Now(), kMicrosPerMinute)->empty());
}

TEST_F(WorkLoopTest, WakeStartsWorkWithoutWaitingForThePoll) {
  WorkLoopOptions options;
  options.idle_poll = 3600 * kMicrosPerSecond;  // only a wake can start the second batch
  WorkLoop loop(
      "test", Stage::kEnrich, store_.get(), SystemClock::Get(),
      [](const WorkItem& item) -> absl::StatusOr<WriteFn> {
        return WriteFn([item](WriteTx& tx) { return tx.CompleteWork(item); });
      },
      options);
  loop.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let it go idle
  Enqueue(3);
  loop.Wake();
  EXPECT_TRUE(WaitFor([&] { return loop.processed() == 3; }));
  loop.Stop();
}

TEST_F(WorkLoopTest, AFailedItemIsReleasedAndRetriedLater) {
  std::atomic<int> calls{0};
  WorkLoopOptions options = FastRetry();
  WorkLoop loop(
      "test", Stage::kEnrich, store_.get(), SystemClock::Get(),
      [&](const WorkItem& item) -> absl::StatusOr<WriteFn> {
        if (calls.fetch_add(1) == 0) return absl::UnavailableError("read failed");
        return WriteFn([item](WriteTx& tx) { return tx.CompleteWork(item); });
      },
      options);
  Enqueue(1);
  loop.Start();
  ASSERT_TRUE(WaitFor([&] { return loop.processed() == 1; }));
  loop.Stop();
  EXPECT_EQ(loop.failed(), 1);
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(WorkLoopTest, AWriteThatFailsToCommitIsRetried) {
  std::atomic<int> calls{0};
  WorkLoopOptions options = FastRetry();
  WorkLoop loop(
      "test", Stage::kEnrich, store_.get(), SystemClock::Get(),
      [&](const WorkItem& item) -> absl::StatusOr<WriteFn> {
        bool fail = calls.fetch_add(1) == 0;
        return WriteFn([item, fail](WriteTx& tx) {
          if (fail) return absl::InternalError("constraint failed");
          return tx.CompleteWork(item);
        });
      },
      options);
  Enqueue(1);
  loop.Start();
  ASSERT_TRUE(WaitFor([&] { return loop.processed() == 1; }));
  loop.Stop();
  EXPECT_EQ(loop.failed(), 1);
}

}  // namespace
}  // namespace handoff
