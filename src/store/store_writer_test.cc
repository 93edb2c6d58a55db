#include "store/store_writer.h"

#include <chrono>
#include <future>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace handoff {
namespace {

constexpr Micros kHour = 3600 * kMicrosPerSecond;

// Queues `n` writes that do nothing, of one durability.
void PushWrites(WriteQueue& queue, int n, Durability durability = Durability::kSynced) {
  for (int i = 0; i < n; ++i) {
    PendingWrite w{[](WriteTx&) { return absl::OkStatus(); }, nullptr, durability};
    ASSERT_TRUE(queue.Push(w));
  }
}

// Take on another thread: its batch, once it returns.
std::future<std::vector<PendingWrite>> TakeAsync(WriteQueue& queue) {
  return std::async(std::launch::async, [&queue] {
    std::vector<PendingWrite> batch;
    std::shared_ptr<const WorkListener> listener;
    EXPECT_TRUE(queue.Take(&batch, &listener));
    return batch;
  });
}

size_t TakeNow(WriteQueue& queue) {
  std::vector<PendingWrite> batch;
  std::shared_ptr<const WorkListener> listener;
  EXPECT_TRUE(queue.Take(&batch, &listener));
  return batch.size();
}

// After a loaded batch the writer waits for as many synced writes as it carried, and takes them
// in one batch instead of committing the first few alone.
TEST(WriteQueueTest, ALoadedWriterGathersAsManySyncedWritesAsItsLastBatch) {
  WriteQueue queue(100, /*deferred_ride=*/0, /*gather=*/kHour);
  PushWrites(queue, 6);
  ASSERT_EQ(TakeNow(queue), 6u) << "the first batch takes what waits, without gathering";

  PushWrites(queue, 2);
  PushWrites(queue, 3, Durability::kDeferred);  // deferred writes do not count towards the six
  std::future<std::vector<PendingWrite>> next = TakeAsync(queue);
  EXPECT_EQ(next.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout)
      << "the writer took 2 synced writes after a batch of 6 instead of gathering";
  PushWrites(queue, 3);
  EXPECT_EQ(next.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout)
      << "the writer stopped gathering at 5 of 6 synced writes";
  PushWrites(queue, 1);
  ASSERT_EQ(next.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "the sixth synced write did not end the gathering";
  EXPECT_EQ(next.get().size(), 9u);
}

// A store at low load (a last batch of fewer than kLoadedBatch synced writes) never waits: a
// single connection's acknowledgement is not delayed.
TEST(WriteQueueTest, AWriterAtLowLoadDoesNotGather) {
  WriteQueue queue(100, /*deferred_ride=*/0, /*gather=*/kHour);
  PushWrites(queue, WriteQueue::kLoadedBatch - 1);
  ASSERT_EQ(TakeNow(queue), WriteQueue::kLoadedBatch - 1);
  std::future<std::vector<PendingWrite>> next = TakeAsync(queue);
  PushWrites(queue, 1);
  ASSERT_EQ(next.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "the writer gathered after a batch below kLoadedBatch";
  EXPECT_EQ(next.get().size(), 1u);
}

// The gathering ends after `gather` with what came, and the next batch's target follows that
// smaller batch: a load that falls away is not waited for again and again.
TEST(WriteQueueTest, GatheringEndsAfterItsTimeWithWhatCame) {
  WriteQueue queue(100, /*deferred_ride=*/0, /*gather=*/20 * kMicrosPerMilli);
  PushWrites(queue, 8);
  ASSERT_EQ(TakeNow(queue), 8u);
  PushWrites(queue, 5);
  EXPECT_EQ(TakeNow(queue), 5u);
  PushWrites(queue, 2);
  EXPECT_EQ(TakeNow(queue), 2u);
}

// A full batch ends the gathering, and so does closing the queue (shutdown does not wait).
TEST(WriteQueueTest, AFullBatchOrClosingEndsTheGathering) {
  WriteQueue queue(10, /*deferred_ride=*/0, /*gather=*/kHour);
  PushWrites(queue, 10);
  ASSERT_EQ(TakeNow(queue), 10u);
  PushWrites(queue, 1);
  std::future<std::vector<PendingWrite>> next = TakeAsync(queue);
  PushWrites(queue, 9, Durability::kDeferred);
  ASSERT_EQ(next.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "a full queue did not end the gathering";
  EXPECT_EQ(next.get().size(), 10u);

  WriteQueue closing(10, /*deferred_ride=*/0, /*gather=*/kHour);
  PushWrites(closing, 5);
  ASSERT_EQ(TakeNow(closing), 5u);
  PushWrites(closing, 1);
  std::future<std::vector<PendingWrite>> last = TakeAsync(closing);
  EXPECT_EQ(last.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  closing.Close();
  ASSERT_EQ(last.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "closing the queue did not end the gathering";
  EXPECT_EQ(last.get().size(), 1u);
}

}  // namespace
}  // namespace handoff
