#include "track/retention.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/id.h"
#include "tests/support/store_backends.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_clock.h"
#include "track/leak_monitor.h"

namespace handoff {
namespace {

constexpr Micros kDay = kMicrosPerDay;

// Run on each store backend: the sweep's reads and deletes are SQL of each store's own.
class RetentionRunnerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    config_.workspace = "ws";
    absl::StatusOr<std::string> url = testing::StoreBackends().at(GetParam()).create(dir_.path());
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    auto store = OpenStore(url_, &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override {
    if (store_ != nullptr) store_->Shutdown();
    store_.reset();
    if (!url_.empty()) testing::StoreBackends().at(GetParam()).drop(url_);
  }

  // An inquiry received at `at`, with a UUIDv7 id of that time as Entry makes (built by hand:
  // NewUuidV7 never goes back in time within a process), and an event on its timeline.
  std::string Receive(Micros at, const std::string& workspace = "ws") {
    Inquiry i;
    const std::string n = std::to_string(++n_);
    i.id = UuidV7Floor(at) + "-7000-8000-" + std::string(12 - n.size(), '0') + n;
    i.workspace = workspace;
    i.source = "web";
    i.received_at = at;
    EXPECT_TRUE(store_
                    ->Write([&](WriteTx& tx) -> absl::Status {
                      if (auto s = tx.InsertInquiry(i); !s.ok()) return s;
                      if (auto s = tx.CountEntry(workspace, "web", "accepted", "", at, 1); !s.ok())
                        return s;
                      return tx.AppendEvent({workspace, i.id, 0, at, Stage::kEntry, "received"});
                    })
                    .ok());
    return i.id;
  }
  bool Kept(const std::string& id, const std::string& workspace = "ws") {
    return store_->GetInquiry(workspace, id).ok();
  }

  testing::TempDir dir_;
  std::string url_;
  FakeClock clock_{kT0};
  Config config_;
  std::unique_ptr<Store> store_;
  int n_ = 0;
};

TEST_P(RetentionRunnerTest, WithoutARetentionSectionNothingIsDeleted) {
  std::string ancient = Receive(kT0 - 3000 * kDay);
  RetentionRunner runner(&config_, store_.get(), &clock_);
  absl::StatusOr<RetentionSweep> sweep = runner.Sweep();
  ASSERT_TRUE(sweep.ok()) << sweep.status();
  EXPECT_EQ(sweep->inquiries, 0);
  EXPECT_TRUE(Kept(ancient));
}

TEST_P(RetentionRunnerTest, DeletesWhatWasReceivedBeforeTheHorizonInBatches) {
  config_.retention.inquiries = 30 * kDay;
  std::vector<std::string> old;
  for (Micros age : {400 * kDay, 45 * kDay, 31 * kDay, 30 * kDay + kMicrosPerMilli,
                     30 * kDay + kMicrosPerSecond}) {
    old.push_back(Receive(kT0 - age));
  }
  std::string at_horizon = Receive(kT0 - 30 * kDay);  // not before the cutoff: kept
  std::string recent = Receive(kT0 - kDay);
  std::string other_workspace = Receive(kT0 - 400 * kDay, "other");

  RetentionRunner runner(&config_, store_.get(), &clock_, /*batch=*/2);
  absl::StatusOr<RetentionSweep> sweep = runner.Sweep();
  ASSERT_TRUE(sweep.ok()) << sweep.status();
  EXPECT_EQ(sweep->inquiries, 5);
  EXPECT_EQ(sweep->cutoff, kT0 - 30 * kDay);
  for (const std::string& id : old) {
    EXPECT_FALSE(Kept(id)) << id;
    EXPECT_TRUE(store_->ListEvents("ws", id)->empty()) << id;
  }
  EXPECT_TRUE(Kept(at_horizon));
  EXPECT_TRUE(Kept(recent));
  EXPECT_EQ(store_->ListEvents("ws", recent)->size(), 1u);
  EXPECT_TRUE(Kept(other_workspace, "other")) << "a workspace's retention is its own";

  // The entry counts of the deleted days went with them; the kept ones stay.
  absl::StatusOr<std::vector<EntryCount>> counts = store_->ListEntryCounts("ws", 0);
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ(counts->at(0).count, 2);
  EXPECT_EQ(store_->ListEntryCounts("other", 0)->at(0).count, 1);

  // Nothing more to do until time passes; then the next day's inquiries go.
  EXPECT_EQ(runner.Sweep()->inquiries, 0);
  clock_.Advance(kDay);
  EXPECT_EQ(runner.Sweep()->inquiries, 1);
  EXPECT_FALSE(Kept(at_horizon));
  EXPECT_TRUE(Kept(recent));
}

// The leak monitor reads a month of entry counts to tell a silent source: a shorter retention
// deletes the inquiries but keeps those counts.
TEST_P(RetentionRunnerTest, EntryCountsStayAsLongAsTheLeakMonitorReadsThem) {
  config_.retention.inquiries = 2 * kDay;
  std::string ten_days = Receive(kT0 - 10 * kDay);
  std::string forty_days = Receive(kT0 - 40 * kDay);
  RetentionRunner runner(&config_, store_.get(), &clock_);
  ASSERT_EQ(runner.Sweep()->inquiries, 2);
  EXPECT_FALSE(Kept(ten_days));
  EXPECT_FALSE(Kept(forty_days));
  absl::StatusOr<std::vector<EntryCount>> counts = store_->ListEntryCounts("ws", 0);
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ(counts->at(0).count, 1) << "the count of 10 days ago stays, that of 40 days goes";
  EXPECT_EQ(store_->ListEntryCounts("ws", kT0 - kLeakArrivalHorizon)->at(0).count, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, RetentionRunnerTest,
                         ::testing::ValuesIn(testing::StoreBackendNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace handoff
