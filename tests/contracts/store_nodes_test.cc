// Several nodes on one PostgreSQL database: what only a shared store must guarantee beyond the
// conformance suite. Each PgStore here is one node, as each `handoff serve` process holds one.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/id.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_store.h"
#include "tests/support/postgres_cluster.h"
#include "tests/support/test_clock.h"

namespace handoff {
namespace {

constexpr Micros kLease = 5 * kMicrosPerSecond;

class StoreNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> url = testing::CreateTestDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
  }
  void TearDown() override {
    nodes_.clear();
    (void)testing::DropTestDatabase(url_);
  }

  // A node; `frozen` nodes never renew their claims (a process stopped with SIGSTOP).
  PgStore* Node(bool frozen = false) {
    PgStoreOptions options;
    if (frozen) options.renew_every = 24 * kMicrosPerHour;
    absl::StatusOr<std::unique_ptr<PgStore>> store = PgStore::Open(url_, &clock_, options);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return nullptr;
    nodes_.push_back(std::move(*store));
    return nodes_.back().get();
  }

  WorkItem Enqueue(Store* store, const std::string& inquiry_id) {
    WorkItem w;
    w.workspace = "acme";
    w.inquiry_id = inquiry_id;
    w.stage = Stage::kEnrich;
    w.available_at = kT0;
    EXPECT_TRUE(store->Write([&](WriteTx& tx) { return tx.EnqueueWork(w); }).ok());
    return w;
  }

  std::string url_;
  FakeClock clock_{kT0};
  std::vector<std::unique_ptr<PgStore>> nodes_;
};

TEST_F(StoreNodesTest, ManyWorkersOnThreeNodesClaimEachItemExactlyOnce) {
  std::vector<PgStore*> nodes = {Node(), Node(), Node()};
  ASSERT_TRUE(nodes[0] && nodes[1] && nodes[2]);
  constexpr int kItems = 3000;
  ASSERT_TRUE(nodes[0]
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    for (int i = 0; i < kItems; ++i) {
                      WorkItem w;
                      w.workspace = "acme";
                      w.inquiry_id = "i" + std::to_string(i);
                      w.stage = Stage::kEnrich;
                      w.available_at = kT0;
                      if (absl::Status s = tx.EnqueueWork(w); !s.ok()) return s;
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  std::mutex mu;
  std::multiset<int64_t> claimed;
  std::atomic<int> completed{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 9; ++t) {
    workers.emplace_back([&, node = nodes[t % 3]] {
      while (true) {
        absl::StatusOr<std::vector<WorkItem>> batch =
            node->ClaimWork(Stage::kEnrich, 40, kT0, kLease);
        ASSERT_TRUE(batch.ok()) << batch.status();
        if (batch->empty()) return;
        {
          std::lock_guard<std::mutex> lock(mu);
          for (const WorkItem& w : *batch) claimed.insert(w.id);
        }
        absl::Status done = node->Write([&](WriteTx& tx) -> absl::Status {
          for (const WorkItem& w : *batch) {
            if (absl::Status s = tx.CompleteWork(w); !s.ok()) return s;
          }
          return absl::OkStatus();
        });
        ASSERT_TRUE(done.ok()) << done;
        completed += static_cast<int>(batch->size());
      }
    });
  }
  for (std::thread& w : workers) w.join();
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kItems));
  EXPECT_EQ(std::set<int64_t>(claimed.begin(), claimed.end()).size(), claimed.size())
      << "an item was claimed twice";
  EXPECT_EQ(completed.load(), kItems);
  EXPECT_EQ(nodes[1]->NextAvailable(Stage::kEnrich).value(), std::nullopt);
}

TEST_F(StoreNodesTest, AFrozenNodesLateCompletionChangesNothing) {
  PgStore* zombie = Node(/*frozen=*/true);
  PgStore* other = Node();
  ASSERT_TRUE(zombie && other);
  Enqueue(other, "i1");
  absl::StatusOr<std::vector<WorkItem>> mine = zombie->ClaimWork(Stage::kEnrich, 1, kT0, kLease);
  ASSERT_TRUE(mine.ok() && mine->size() == 1u);
  // While the lease runs the other node cannot take it; once it lapsed it can.
  EXPECT_TRUE(other->ClaimWork(Stage::kEnrich, 1, kT0 + kLease - 1, kLease)->empty());
  clock_.Advance(kLease + 1);
  absl::StatusOr<std::vector<WorkItem>> taken =
      other->ClaimWork(Stage::kEnrich, 1, clock_.Now(), kLease);
  ASSERT_TRUE(taken.ok() && taken->size() == 1u);
  EXPECT_NE((*taken)[0].lease_token, (*mine)[0].lease_token);

  // The zombie wakes and writes its outcome: the write fails as a whole.
  Inquiry late;
  late.id = "i1";
  late.workspace = "acme";
  late.source = "web";
  late.received_at = kT0;
  absl::Status zombie_write = zombie->Write([&](WriteTx& tx) -> absl::Status {
    if (absl::Status s = tx.InsertInquiry(late); !s.ok()) return s;
    return tx.CompleteWork((*mine)[0]);
  });
  EXPECT_TRUE(absl::IsAborted(zombie_write)) << zombie_write;
  EXPECT_TRUE(absl::IsNotFound(other->GetInquiry("acme", "i1").status()))
      << "the zombie's writes were rolled back with its completion";
  EXPECT_TRUE(absl::IsAborted(zombie->ReleaseWork((*mine)[0], kT0)));
  EXPECT_TRUE(other->Write([&](WriteTx& tx) { return tx.CompleteWork((*taken)[0]); }).ok());

  // The same for a delivery: the handoff the zombie was delivering was taken over.
  Handoff h;
  h.id = NewUuidV7(kT0);
  h.workspace = "acme";
  h.inquiry_id = "i1";
  h.destination = "crm";
  h.next_attempt_at = clock_.Now();
  h.created_at = clock_.Now();
  ASSERT_TRUE(other->Write([&](WriteTx& tx) { return tx.InsertHandoff(h); }).ok());
  std::vector<std::string> zombie_tokens;
  ASSERT_EQ(zombie->ClaimHandoffs(1, clock_.Now(), kLease, &zombie_tokens)->size(), 1u);
  clock_.Advance(kLease + 1);
  std::vector<std::string> tokens;
  ASSERT_EQ(other->ClaimHandoffs(1, clock_.Now(), kLease, &tokens)->size(), 1u);
  Handoff confirmed = h;
  confirmed.state = "confirmed";
  confirmed.attempts = 1;
  confirmed.remote_id = "crm-1";
  ASSERT_TRUE(
      other->Write([&](WriteTx& tx) { return tx.UpdateHandoff(confirmed, tokens[0]); }).ok());
  Handoff dead = h;
  dead.state = "dead";
  dead.attempts = 7;
  absl::Status late_outcome =
      zombie->Write([&](WriteTx& tx) { return tx.UpdateHandoff(dead, zombie_tokens[0]); });
  EXPECT_TRUE(absl::IsAborted(late_outcome)) << late_outcome;
  absl::StatusOr<Handoff> stored = other->GetHandoff("acme", h.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, "confirmed");
  EXPECT_EQ(stored->attempts, 1);
  EXPECT_EQ(stored->remote_id, "crm-1");
}

TEST_F(StoreNodesTest, ALiveNodeKeepsItsClaimsPastTheirLease) {
  PgStoreOptions fast;
  fast.renew_every = 50 * kMicrosPerMilli;
  absl::StatusOr<std::unique_ptr<PgStore>> holder = PgStore::Open(url_, &clock_, fast);
  ASSERT_TRUE(holder.ok()) << holder.status();
  PgStore* other = Node();
  Enqueue(other, "i1");
  ASSERT_EQ((*holder)->ClaimWork(Stage::kEnrich, 1, kT0, kLease)->size(), 1u);
  // Time passes well beyond the lease, but the holder lives and renews.
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(kLease / 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(other->ClaimWork(Stage::kEnrich, 1, clock_.Now(), kLease)->empty());
  // Once the holder is gone, its claim lapses and the item is rescued.
  holder->reset();
  clock_.Advance(kLease + 1);
  EXPECT_EQ(other->ClaimWork(Stage::kEnrich, 1, clock_.Now(), kLease)->size(), 1u);
}

// The next-due look-up counts a handoff claimed on another node at its lease's end, and reads
// each destination's head only: the leased rows, then the first unleased one.
TEST_F(StoreNodesTest, NextAvailableWaitsForAnotherNodesLeaseButNotBehindIt) {
  PgStore* holder = Node(/*frozen=*/true);
  PgStore* other = Node();
  auto put = [&](const std::string& destination, Micros at) {
    Handoff h;
    h.id = NewUuidV7(at);
    h.workspace = "acme";
    h.inquiry_id = "i1";
    h.destination = destination;
    h.state = "pending";
    h.next_attempt_at = at;
    h.created_at = kT0;
    EXPECT_TRUE(other->Write([&](WriteTx& tx) { return tx.InsertHandoff(h); }).ok());
  };
  put("crm", kT0);
  std::vector<std::string> tokens;
  ASSERT_EQ(holder->ClaimHandoffs(1, kT0, kLease, &tokens, {}, "acme")->size(), 1u);
  // Only the claimed one: due again when its lease ends.
  EXPECT_EQ(*other->NextAvailable(Stage::kTransfer, "acme"), std::optional<Micros>(kT0 + kLease));
  // Another destination's handoff due before that lease ends comes first.
  put("slack", kT0 + kLease / 2);
  EXPECT_EQ(*other->NextAvailable(Stage::kTransfer, "acme"),
            std::optional<Micros>(kT0 + kLease / 2));
  // And so does one of the same destination, behind the claimed one.
  put("crm", kT0 + 1);
  EXPECT_EQ(*other->NextAvailable(Stage::kTransfer, "acme"), std::optional<Micros>(kT0 + 1));
  EXPECT_EQ(*other->NextAvailable(Stage::kTransfer, "elsewhere"), std::nullopt);
}

// A renewal that would not move a lease must not lock its row either: a claim skips locked
// rows, so a lapsed claim would now and then be missed while the renewer passes over it.
TEST_F(StoreNodesTest, ARenewalLeavesTheClaimsItDoesNotExtendClaimable) {
  PgStoreOptions fast;
  fast.renew_every = 20 * kMicrosPerMilli;
  absl::StatusOr<std::unique_ptr<PgStore>> node = PgStore::Open(url_, &clock_, fast);
  ASSERT_TRUE(node.ok()) << node.status();
  Handoff h;
  h.id = "h1";
  h.workspace = "acme";
  h.inquiry_id = "i1";
  h.destination = "crm";
  h.state = "pending";
  h.next_attempt_at = kT0;
  h.created_at = kT0;
  ASSERT_TRUE((*node)->Write([&](WriteTx& tx) { return tx.InsertHandoff(h); }).ok());
  // The clock stands still, so the renewer (every 20 ms) never has a lease to move, while each
  // claim looks past the previous claim's lease and must find the handoff free.
  int missed = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  Micros now = kT0;
  int claims = 0;
  for (; std::chrono::steady_clock::now() < until; ++claims, now += kLease + 1) {
    absl::StatusOr<std::vector<Handoff>> got = (*node)->ClaimHandoffs(1, now, kLease, nullptr);
    ASSERT_TRUE(got.ok()) << got.status();
    if (got->size() != 1) ++missed;
  }
  EXPECT_GT(claims, 100);
  EXPECT_EQ(missed, 0) << "of " << claims << " claims";
}

TEST_F(StoreNodesTest, ADutyIsHeldByOneNodeAndMovesWhenItsHolderStopsRenewing) {
  PgStore* a = Node();
  PgStore* b = Node();
  ASSERT_TRUE(a && b);
  constexpr Micros kTtl = 5 * kMicrosPerSecond;
  EXPECT_TRUE(a->HoldDuty("leader", clock_.Now(), kTtl).value());
  EXPECT_FALSE(b->HoldDuty("leader", clock_.Now(), kTtl).value());
  clock_.Advance(kTtl - 1);
  EXPECT_TRUE(a->HoldDuty("leader", clock_.Now(), kTtl).value()) << "the holder renews";
  EXPECT_FALSE(b->HoldDuty("leader", clock_.Now(), kTtl).value());
  EXPECT_TRUE(a->Write([](WriteTx& tx) { return tx.FenceDuty("leader"); }).ok());
  EXPECT_TRUE(absl::IsAborted(b->Write([](WriteTx& tx) { return tx.FenceDuty("leader"); })));

  // a stops renewing (died or froze): b takes over once the lease ran out, and a's late duty
  // write is refused.
  clock_.Advance(kTtl + 1);
  EXPECT_TRUE(b->HoldDuty("leader", clock_.Now(), kTtl).value());
  EXPECT_FALSE(a->HoldDuty("leader", clock_.Now(), kTtl).value());
  EXPECT_TRUE(absl::IsAborted(a->Write([](WriteTx& tx) { return tx.FenceDuty("leader"); })));
  EXPECT_TRUE(b->Write([](WriteTx& tx) { return tx.FenceDuty("leader"); }).ok());

  // A clean stop hands the duty on at once.
  b->ReleaseDuty("leader");
  EXPECT_TRUE(a->HoldDuty("leader", clock_.Now(), kTtl).value());
}

TEST_F(StoreNodesTest, WorkCommittedOnOneNodeWakesTheOthers) {
  PgStore* a = Node();
  PgStore* b = Node();
  ASSERT_TRUE(a && b);
  std::mutex mu;
  std::condition_variable cv;
  std::set<Stage> heard;
  b->SetWorkListener([&](Stage stage) {
    std::lock_guard<std::mutex> lock(mu);
    heard.insert(stage);
    cv.notify_all();
  });
  // The listener connection may still be starting: keep committing until b hears.
  std::unique_lock<std::mutex> lock(mu);
  for (int i = 0; i < 50 && heard.count(Stage::kEnrich) == 0; ++i) {
    lock.unlock();
    Enqueue(a, "i" + std::to_string(i));
    lock.lock();
    cv.wait_for(lock, std::chrono::milliseconds(100),
                [&] { return heard.count(Stage::kEnrich) > 0; });
  }
  EXPECT_EQ(heard.count(Stage::kEnrich), 1u);
  EXPECT_EQ(heard.count(Stage::kTransfer), 0u) << "only the stages that got work are announced";
}

TEST_F(StoreNodesTest, TwoNodesNeverHandOutTheSameRoundRobinSlot) {
  PgStore* a = Node();
  PgStore* b = Node();
  ASSERT_TRUE(a && b);
  std::mutex mu;
  std::vector<int64_t> slots;
  auto take = [&](PgStore* node) {
    for (int i = 0; i < 200; ++i) {
      node->SubmitWrite(
          [&](WriteTx& tx) -> absl::Status {
            absl::StatusOr<int64_t> slot = tx.NextCounter("acme", "route:plumbing");
            if (!slot.ok()) return slot.status();
            std::lock_guard<std::mutex> lock(mu);
            slots.push_back(*slot);
            return absl::OkStatus();
          },
          [](absl::Status s) { EXPECT_TRUE(s.ok()) << s; });
    }
    // A write submitted last commits after the ones before it.
    ASSERT_TRUE(node->Write([](WriteTx&) { return absl::OkStatus(); }).ok());
  };
  std::thread ta(take, a);
  std::thread tb(take, b);
  ta.join();
  tb.join();
  std::set<int64_t> distinct(slots.begin(), slots.end());
  EXPECT_EQ(slots.size(), 400u);
  EXPECT_EQ(distinct.size(), 400u) << "a slot was handed out twice";
  EXPECT_EQ(*distinct.begin(), 0);
  EXPECT_EQ(*distinct.rbegin(), 399);
}

TEST_F(StoreNodesTest, LeastOpenAssignmentStaysBalancedAcrossNodes) {
  PgStore* a = Node();
  PgStore* b = Node();
  ASSERT_TRUE(a && b);
  std::atomic<int> n{0};
  auto task_for = [&](const std::string& owner) {
    Task t;
    t.id = fmt::format("t{}", n.fetch_add(1));
    t.workspace = "acme";
    t.inquiry_id = t.id;
    t.owner = owner;
    t.created_at = kT0;
    return t;
  };
  // ana is busy already.
  ASSERT_TRUE(a->Write([&](WriteTx& tx) -> absl::Status {
                 for (int i = 0; i < 10; ++i) {
                   if (absl::Status s = tx.InsertTask(task_for("ana")); !s.ok()) return s;
                 }
                 return absl::OkStatus();
               }).ok());
  // Each node's writer is held until both have ten assignments queued behind it, so the two
  // batches run at the same moment. Each assignment gives a task to whoever has the fewest
  // open ones, as the Assigner does: counts read and task stored in one write.
  std::promise<void> go;
  std::shared_future<void> released = go.get_future().share();
  std::vector<std::future<absl::Status>> results;
  for (PgStore* node : {a, b}) {
    node->SubmitWrite(
        [released](WriteTx&) {
          released.wait();
          return absl::OkStatus();
        },
        [](absl::Status) {});
    for (int i = 0; i < 10; ++i) {
      auto done = std::make_shared<std::promise<absl::Status>>();
      results.push_back(done->get_future());
      node->SubmitWrite(
          [&](WriteTx& tx) -> absl::Status {
            absl::StatusOr<std::map<std::string, int64_t>> open =
                tx.CountOpenTasks("acme", {"ana", "ben"});
            if (!open.ok()) return open.status();
            return tx.InsertTask(task_for((*open)["ana"] <= (*open)["ben"] ? "ana" : "ben"));
          },
          [done](absl::Status s) { done->set_value(std::move(s)); });
    }
  }
  go.set_value();
  for (auto& r : results) ASSERT_TRUE(r.get().ok());
  std::map<std::string, int64_t> open;
  ASSERT_TRUE(a->Write([&](WriteTx& tx) -> absl::Status {
                 absl::StatusOr<std::map<std::string, int64_t>> counted =
                     tx.CountOpenTasks("acme", {"ana", "ben"});
                 if (!counted.ok()) return counted.status();
                 open = *counted;
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(open["ana"] + open["ben"], 30);
  // Had both nodes read the same counts, ben would have got all twenty (ana 10, ben 20).
  EXPECT_LE(std::abs(open["ana"] - open["ben"]), 1)
      << "two nodes picked the same least-busy owner from the same counts: ana " << open["ana"]
      << ", ben " << open["ben"];
}

TEST_F(StoreNodesTest, ANodeAnalyzesItsBusyTablesAsItsWritesGrow) {
  absl::StatusOr<std::unique_ptr<PgConnection>> admin = PgConnection::Open(url_);
  ASSERT_TRUE(admin.ok()) << admin.status();
  auto analyzed = [&] {
    // last_analyze is a manual ANALYZE's (autovacuum's is last_autoanalyze); no write here
    // touches `inquiries`, so only the store's own ANALYZE can set it.
    absl::StatusOr<PgResult> r = (*admin)->Exec(
        "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'inquiries'");
    return r.ok() && r->rows() == 1 && r->Bool(0, 0);
  };
  PgStore* node = Node();
  ASSERT_NE(node, nullptr);
  EXPECT_FALSE(analyzed());
  for (int i = 0; i < 260; ++i) {
    ASSERT_TRUE(node->Write([&](WriteTx& tx) {
                      return tx.CountEntry("acme", "web", "accepted", "", kT0, 1);
                    })
                    .ok());
  }
  // The renewer thread looks every second; statistics reach the view within a second or two.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!analyzed() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(analyzed()) << "no ANALYZE after 260 committed write functions";
}

}  // namespace
}  // namespace handoff
