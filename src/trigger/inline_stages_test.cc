#include "trigger/inline_stages.h"

#include <set>

#include "core/id.h"
#include "entry/source_adapter.h"
#include "gtest/gtest.h"
#include "tests/support/stage_run.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_clock.h"

namespace handoff {
namespace {

class InlineStagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "ws";
    config_.business.region = "US";
    config_.team = {TeamMember{"ana", "Ana Ortiz", "", "", "", 1}};
    DestinationConfig crm;
    crm.name = "crm";
    config_.destinations = {crm};
    RouteConfig web;
    web.name = "web";
    web.when_channels = {"form"};
    web.assign_strategy = "fixed";
    web.assign_owner = "ana";
    web.task_title = "Call back {{contact.name}}";
    web.task_due = 10 * kMicrosPerMinute;
    web.deliver = {"crm"};
    config_.routes = {web};
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    enrich_ = std::make_unique<EnrichStage>(&config_, store_.get(), &clock_);
    trigger_ = std::make_unique<TriggerStage>(&config_, store_.get(), &clock_);
    inline_ = std::make_unique<InlineEnrichTrigger>(
        enrich_.get(), trigger_.get(), &clock_,
        [this](Stage stage, Micros) { observed_.insert(stage); });
  }
  void TearDown() override { store_->Shutdown(); }

  Inquiry NewInquiry(const std::string& email, const std::string& phone) {
    Inquiry i;
    i.id = NewUuidV7(clock_.Now());
    i.workspace = "ws";
    i.source = "web";
    i.channel = Channel::kForm;
    i.received_at = i.occurred_at = clock_.Now();
    i.received = {"  tom   baker ", email, phone};
    i.message = "the boiler leaks";
    i.stage = Stage::kEntry;
    i.status = "received";
    return i;
  }

  // The staged path: stored with its Enrichment work, enriched, then routed, a commit each.
  std::string Staged(Inquiry i) {
    testing::RunStageOn(*store_, i, Stage::kEnrich, clock_.Now(),
                        [&](const WorkItem& item) { return enrich_->Process(item); });
    auto items = store_->ClaimWork(Stage::kTrigger, 10, clock_.Now(), kMicrosPerMinute);
    EXPECT_EQ(items->size(), 1u);
    auto write = trigger_->Process((*items)[0]);
    EXPECT_TRUE(write.ok()) << write.status();
    EXPECT_TRUE(store_->Write(std::move(*write)).ok());
    return i.id;
  }

  // The inline path, as the ingress runs it: the "received" event and the advance in one write.
  std::string Inline(const Inquiry& i) {
    std::unique_ptr<InlineAdvance> advance = inline_->Prepare(i);
    EXPECT_NE(advance, nullptr);
    absl::Status s = store_->Write([&](WriteTx& tx) -> absl::Status {
      absl::Status received = tx.AppendEvent(ReceivedEvent(i));
      return received.ok() ? advance->Record(tx) : received;
    });
    EXPECT_TRUE(s.ok()) << s;
    advance->Committed();
    return i.id;
  }

  std::vector<std::string> Kinds(const std::string& id) {
    return testing::EventKinds(*store_, "ws", id);
  }
  nlohmann::json Detail(const std::string& id, const std::string& kind) {
    return testing::EventDetail(*store_, "ws", id, kind);
  }
  static std::set<std::string> Keys(const nlohmann::json& j) {
    std::set<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.insert(k);
    return keys;
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  Config config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EnrichStage> enrich_;
  std::unique_ptr<TriggerStage> trigger_;
  std::unique_ptr<InlineEnrichTrigger> inline_;
  std::set<Stage> observed_;
};

TEST_F(InlineStagesTest, OneWriteStoresWhatTheStageThreadsStoreInThree) {
  const std::string staged = Staged(NewInquiry("Tom@Example.com", "(415) 555-0101"));
  const std::string inlined = Inline(NewInquiry("Tim@Example.com", "(415) 555-0102"));

  Inquiry a = *store_->GetInquiry("ws", staged);
  Inquiry b = *store_->GetInquiry("ws", inlined);
  EXPECT_EQ(b.stage, Stage::kTrigger);
  EXPECT_EQ(b.status, a.status);
  EXPECT_EQ(b.status, "routed");
  EXPECT_EQ(b.route, a.route);
  EXPECT_EQ(b.route, "web");
  EXPECT_EQ(b.normalized.name, a.normalized.name);
  EXPECT_EQ(b.normalized.name, "tom baker");
  EXPECT_EQ(b.normalized.email, "tim@example.com");
  EXPECT_EQ(b.normalized.phone, "+14155550102");
  EXPECT_EQ(b.raw_payload, a.raw_payload);
  EXPECT_EQ(Keys(b.fields), Keys(a.fields));
  EXPECT_EQ(b.fields["contact_status"], "new");
  ASSERT_FALSE(b.contact_id.empty());
  auto contact = store_->GetContact("ws", b.contact_id);
  ASSERT_TRUE(contact.ok()) << contact.status();
  EXPECT_EQ(contact->email, "tim@example.com");

  // (RunStageOn stores the staged one without the ingress's "received" event.)
  EXPECT_EQ(Kinds(staged), (std::vector<std::string>{"enriched", "routed"}));
  EXPECT_EQ(Kinds(inlined), (std::vector<std::string>{"received", "enriched", "routed"}));
  EXPECT_EQ(Keys(Detail(inlined, "enriched")), Keys(Detail(staged, "enriched")));
  EXPECT_EQ(Keys(Detail(inlined, "routed")), Keys(Detail(staged, "routed")));

  auto tasks = *store_->ListTasks("ws", inlined);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].owner, "ana");
  EXPECT_EQ(tasks[0].title, "Call back tom baker");
  EXPECT_EQ(tasks[0].due_at, b.received_at + 10 * kMicrosPerMinute);
  auto handoffs = *store_->ListHandoffs("ws", inlined);
  ASSERT_EQ(handoffs.size(), 1u);
  EXPECT_EQ(handoffs[0].destination, "crm");
  EXPECT_EQ(Detail(inlined, "routed")["handoffs"][0]["id"], handoffs[0].id);

  // Nothing is left for the stage threads, and the stages' latencies were observed.
  EXPECT_TRUE(store_->ClaimWork(Stage::kEnrich, 10, clock_.Now(), kMicrosPerMinute)->empty());
  EXPECT_TRUE(store_->ClaimWork(Stage::kTrigger, 10, clock_.Now(), kMicrosPerMinute)->empty());
  EXPECT_EQ(observed_, (std::set<Stage>{Stage::kEnrich, Stage::kTrigger}));
}

TEST_F(InlineStagesTest, ASecondInquiryFromTheSamePersonFindsItsContactAndHistory) {
  const std::string first = Inline(NewInquiry("tom@example.com", "(415) 555-0101"));
  clock_.Advance(kMicrosPerMinute);
  const std::string second = Inline(NewInquiry("TOM@example.com", ""));
  Inquiry a = *store_->GetInquiry("ws", first);
  Inquiry b = *store_->GetInquiry("ws", second);
  EXPECT_EQ(b.contact_id, a.contact_id);
  EXPECT_EQ(b.fields["contact_status"], "returning");
  EXPECT_EQ(Detail(second, "enriched")["contact"], "returning");
}

TEST_F(InlineStagesTest, AnInquiryAwaitingItsContextIsLeftToTheStageThreads) {
  Inquiry i = NewInquiry("", "");
  i.status = kAwaitingContext;
  EXPECT_EQ(inline_->Prepare(i), nullptr);
}

// A write that fails after Record (here: the inquiry was already stored) rolls Record back
// with it, and running Record again in a fresh write stores everything once.
TEST_F(InlineStagesTest, RecordCanRunAgainAfterAFailedAttempt) {
  Inquiry i = NewInquiry("tom@example.com", "(415) 555-0101");
  std::unique_ptr<InlineAdvance> advance = inline_->Prepare(i);
  ASSERT_NE(advance, nullptr);
  absl::Status failed = store_->Write([&](WriteTx& tx) -> absl::Status {
    absl::Status s = advance->Record(tx);
    return s.ok() ? absl::AbortedError("fails after Record") : s;
  });
  EXPECT_TRUE(absl::IsAborted(failed)) << failed;
  EXPECT_TRUE(absl::IsNotFound(store_->GetInquiry("ws", i.id).status()));
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return advance->Record(tx); }).ok());
  EXPECT_EQ(store_->ListTasks("ws", i.id)->size(), 1u);
  EXPECT_EQ(store_->ListHandoffs("ws", i.id)->size(), 1u);
  EXPECT_EQ(Kinds(i.id), (std::vector<std::string>{"enriched", "routed"}));
}

}  // namespace
}  // namespace handoff
