#include "enrich/enrich_stage.h"

#include "core/id.h"
#include "core/status.h"
#include "core/time_format.h"
#include "gtest/gtest.h"
#include "tests/support/stage_run.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_clock.h"

namespace handoff {
namespace {

// Runs EnrichStage::Process directly against a real SQLite store, one inquiry at a time.
class EnrichStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "ws";
    config_.business.region = "US";
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    stage_ = std::make_unique<EnrichStage>(&config_, store_.get(), &clock_);
  }
  void TearDown() override { store_->Shutdown(); }

  // Stores an inquiry with its enrich work, as the ingress does, then enriches it.
  Inquiry Enrich(const std::string& name, const std::string& email, const std::string& phone,
                 const std::string& message = "") {
    Inquiry i;
    i.id = NewUuidV7(clock_.Now());
    i.workspace = "ws";
    i.source = "web";
    i.channel = Channel::kForm;
    i.received_at = i.occurred_at = clock_.Now();
    i.received = {name, email, phone};
    i.message = message;
    testing::RunStageOn(*store_, i, Stage::kEnrich, clock_.Now(),
                        [&](const WorkItem& item) { return stage_->Process(item); });
    clock_.Advance(kMicrosPerSecond);
    return *store_->GetInquiry("ws", i.id);
  }

  nlohmann::json EnrichedDetail(const Inquiry& i) {
    return testing::EventDetail(*store_, "ws", i.id, "enriched");
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  Config config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EnrichStage> stage_;
};

TEST_F(EnrichStageTest, AThreadUpdateBetweenReadAndWriteIsNotOverwritten) {
  Inquiry i;
  i.id = NewUuidV7(clock_.Now());
  i.workspace = "ws";
  i.source = "bookings";
  i.channel = Channel::kBooking;
  i.received_at = i.occurred_at = clock_.Now();
  i.received = {"Jane Roe", "jane@example.com", ""};
  i.fields = {{"booking_status", "booked"}};
  WorkItem item;
  item.workspace = "ws";
  item.inquiry_id = i.id;
  item.stage = Stage::kEnrich;
  item.available_at = clock_.Now();
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) {
                    RETURN_IF_ERROR(tx.InsertInquiry(i));
                    return tx.EnqueueWork(item);
                  })
                  .ok());
  auto claimed = store_->ClaimWork(Stage::kEnrich, 1, clock_.Now(), kMicrosPerMinute);
  ASSERT_TRUE(claimed.ok() && claimed->size() == 1u);
  auto write = stage_->Process((*claimed)[0]);
  ASSERT_TRUE(write.ok()) << write.status();

  // The reschedule commits while enrichment is between its read and its write.
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) {
                    ASSIGN_OR_RETURN(Inquiry current, tx.GetInquiry("ws", i.id));
                    current.fields["booking_status"] = "rescheduled";
                    current.received.phone = "+14155550142";
                    return tx.UpdateInquiry(current);
                  })
                  .ok());
  EXPECT_EQ(store_->Write(std::move(*write)).code(), absl::StatusCode::kAborted);
  Inquiry after = *store_->GetInquiry("ws", i.id);
  EXPECT_EQ(after.fields["booking_status"], "rescheduled");
  EXPECT_EQ(after.received.phone, "+14155550142");

  // The retry enriches the current row.
  auto again = stage_->Process((*claimed)[0]);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(store_->Write(std::move(*again)).ok());
  after = *store_->GetInquiry("ws", i.id);
  EXPECT_EQ(after.status, "enriched");
  EXPECT_EQ(after.normalized.phone, "+14155550142");
  EXPECT_EQ(after.fields["booking_status"], "rescheduled");
}

TEST_F(EnrichStageTest, NormalizesAndCreatesAContact) {
  Inquiry i = Enrich("  Ana   Ortiz ", "Ana@Example.COM", "(415) 555-0101");
  EXPECT_EQ(i.normalized.name, "Ana Ortiz");
  EXPECT_EQ(i.normalized.email, "ana@example.com");
  EXPECT_EQ(i.normalized.phone, "+14155550101");
  EXPECT_EQ(i.received.phone, "(415) 555-0101");  // as received stays verbatim
  EXPECT_EQ(i.stage, Stage::kEnrich);
  EXPECT_EQ(i.status, "enriched");
  ASSERT_FALSE(i.contact_id.empty());
  Contact c = *store_->GetContact("ws", i.contact_id);
  EXPECT_EQ(c.email, "ana@example.com");
  EXPECT_EQ(c.phone, "+14155550101");
  EXPECT_EQ(EnrichedDetail(i)["contact"], "new");
  EXPECT_EQ(i.fields["in_hours"], true) << "a business without hours is always open";
  // The trigger stage's work was committed with it.
  EXPECT_EQ(store_->ClaimWork(Stage::kTrigger, 10, clock_.Now(), kMicrosPerMinute)->size(), 1u);
}

TEST_F(EnrichStageTest, RecordsWhetherItArrivedInBusinessHours) {
  config_.business.timezone = "America/Los_Angeles";
  for (int d = 0; d < 5; ++d) config_.business.hours.days[d] = {{7 * 60 + 30, 18 * 60}};
  config_.business.hours.days[5].clear();
  config_.business.hours.days[6].clear();
  stage_ = std::make_unique<EnrichStage>(&config_, store_.get(), &clock_);
  auto at = [](const char* rfc3339) { return *ParseRfc3339(rfc3339); };
  struct Case {
    const char* occurred;  // at the source
    const char* received;  // by handoff
    bool in_hours;
    const char* local_time;
    const char* next_open;  // "" when in hours
  } cases[] = {
      {"2026-03-03T10:00:00-08:00", "2026-03-03T10:00:01-08:00", true, "2026-03-03 10:00 PST", ""},
      {"2026-03-03T19:00:00-08:00", "2026-03-04T07:31:00-08:00", false, "2026-03-03 19:00 PST",
       "2026-03-04T15:30:00.000Z"},
      {"2026-03-07T09:00:00-08:00", "2026-03-07T09:00:00-08:00", false, "2026-03-07 09:00 PST",
       "2026-03-09T14:30:00.000Z"},
  };
  for (const Case& k : cases) {
    Inquiry i;
    i.id = NewUuidV7(clock_.Now());
    i.workspace = "ws";
    i.source = "voice";
    i.channel = Channel::kCall;
    i.occurred_at = at(k.occurred);
    i.received_at = at(k.received);
    i.received = {"", "", "+1 415 555 0199"};
    clock_.Set(i.received_at);
    testing::RunStageOn(*store_, i, Stage::kEnrich, clock_.Now(),
                        [&](const WorkItem& item) { return stage_->Process(item); });
    Inquiry got = *store_->GetInquiry("ws", i.id);
    EXPECT_EQ(got.fields["in_hours"], k.in_hours) << k.occurred << ": judged by occurred_at";
    nlohmann::json detail = EnrichedDetail(got);
    EXPECT_EQ(detail["in_hours"], k.in_hours) << k.occurred;
    EXPECT_EQ(detail["local_time"], k.local_time) << k.occurred;
    EXPECT_EQ(detail.value("next_open", ""), k.next_open) << k.occurred;
  }
}

TEST_F(EnrichStageTest, MatchesByEmailOrPhoneAcrossChannels) {
  Inquiry form = Enrich("Ana", "ana@example.com", "");
  Inquiry call = Enrich("", "", "+1 415 555 0101");
  EXPECT_NE(form.contact_id, call.contact_id);  // nothing linked them yet
  Inquiry chat = Enrich("Ana Ortiz", "ANA@example.com", "415-555-0101");
  EXPECT_EQ(chat.contact_id, form.contact_id);  // email wins
  EXPECT_EQ(EnrichedDetail(chat)["contact"], "returning");
  // Two contacts share these details: linked to one and shown, never merged silently.
  EXPECT_EQ(EnrichedDetail(chat)["possible_duplicate_of"], call.contact_id);
  EXPECT_EQ(chat.fields["possible_duplicate_of"], call.contact_id);  // shown on the inquiry too
  EXPECT_FALSE(form.fields.contains("possible_duplicate_of"));
  Contact c = *store_->GetContact("ws", form.contact_id);
  EXPECT_EQ(c.phone, "");  // the phone belongs to the other contact, so it is not copied
  Inquiry again = Enrich("", "", "4155550101");
  EXPECT_EQ(again.contact_id, call.contact_id);
}

TEST_F(EnrichStageTest, ClassifiesIntentAndUrgencyAndCarriesTheContactsHistory) {
  config_.team = {TeamMember{"ana", "Ana Ortiz", "", "", "", 1}};
  config_.enrich.intents = {{"water-heater", "(?i)water heater", {"message", "service"}, 900, 1}};
  config_.enrich.urgency = {{"emergency", "(?i)flood", {"message"}, 0, 2}};
  stage_ = std::make_unique<EnrichStage>(&config_, store_.get(), &clock_);

  Inquiry first = Enrich("Dana", "dana@example.com", "", "Our water heater is leaking");
  EXPECT_EQ(first.fields["intent"], "water-heater");
  EXPECT_EQ(first.fields["value"], 900);
  EXPECT_FALSE(first.fields.contains("urgency"));
  EXPECT_EQ(first.fields["contact_status"], "new");
  EXPECT_EQ(first.fields["history"], nlohmann::json({{"returning", false}}));
  EXPECT_EQ(EnrichedDetail(first)["intent"], "water-heater");

  // Ana took the first one and finished it.
  Task done;
  done.id = NewUuidV7(clock_.Now());
  done.workspace = "ws";
  done.inquiry_id = first.id;
  done.route = "web";
  done.owner = "ana";
  done.state = "done";
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.InsertTask(done); }).ok());

  // The same person calls a day later (by phone this time, the email comes from the form).
  clock_.Advance(24 * 3600 * kMicrosPerSecond);
  Inquiry second = Enrich("", "DANA@example.com", "+1 415 555 0142", "The basement is flooding");
  EXPECT_EQ(second.contact_id, first.contact_id);
  EXPECT_EQ(second.fields["urgency"], "emergency");
  EXPECT_FALSE(second.fields.contains("intent"));
  EXPECT_EQ(second.fields["contact_status"], "returning");
  const nlohmann::json& h = second.fields["history"];
  EXPECT_EQ(h["returning"], true);
  EXPECT_EQ(h["earlier"], 1);
  EXPECT_EQ(h["last_inquiry_id"], first.id);
  EXPECT_EQ(h["last_owner"], "ana");
  EXPECT_EQ(h["last_outcome"], "handled");
  EXPECT_EQ(h["text"].get<std::string>().rfind("returning: 1 earlier inquiry, last on ", 0), 0u)
      << h["text"];
  EXPECT_NE(h["text"].get<std::string>().find("handled with Ana Ortiz"), std::string::npos);
  EXPECT_EQ(EnrichedDetail(second)["history"], h);
}

TEST_F(EnrichStageTest, FillsMissingContactFieldsFromLaterInquiries) {
  Inquiry first = Enrich("", "", "+14155550111");
  Inquiry second = Enrich("Ben Cho", "ben@example.com", "415 555 0111");
  EXPECT_EQ(first.contact_id, second.contact_id);
  Contact c = *store_->GetContact("ws", first.contact_id);
  EXPECT_EQ(c.name, "Ben Cho");
  EXPECT_EQ(c.email, "ben@example.com");
}

TEST_F(EnrichStageTest, RecordsWhatCouldNotBeUsed) {
  Inquiry i = Enrich("Cy", "not-an-email", "call me");
  EXPECT_EQ(i.normalized.email, "");
  EXPECT_EQ(i.normalized.phone, "");
  EXPECT_TRUE(i.contact_id.empty());
  nlohmann::json d = EnrichedDetail(i);
  EXPECT_EQ(d["contact"], "none");
  ASSERT_EQ(d["problems"].size(), 3u);
  EXPECT_EQ(d["problems"][0], "email is not a valid address");
}

// A source whose webhook has no personal data: its context arrives after `failures` retryable
// errors (then the phone is known), or never (a permanent error).
class LateContextAdapter : public SourceAdapter {
 public:
  LateContextAdapter(int* failures, bool permanent) : failures_(failures), permanent_(permanent) {}
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig&, const HttpRequest&) const override {
    return absl::UnimplementedError("not used");
  }
  absl::Status FetchContext(const SourceConfig&, Inquiry& inquiry) const override {
    if (permanent_) return absl::PermissionDeniedError("the page token was revoked");
    if ((*failures_)-- > 0) return absl::UnavailableError("graph API timed out");
    inquiry.received.phone = "(415) 555-0199";
    inquiry.received.name = "Lee Lead";
    return absl::OkStatus();
  }

 private:
  int* failures_;
  bool permanent_;
};

class EnrichContextTest : public EnrichStageTest {
 protected:
  void UseLateContext(bool permanent) {
    SourceConfig src;
    src.name = "ads";
    src.adapter = "late";
    config_.sources.push_back(src);
    adapters_.Register({"late", "test", Channel::kForm, {"POST"}, {}, [this, permanent] {
                          return std::make_unique<LateContextAdapter>(&failures_, permanent);
                        }});
    stage_ = std::make_unique<EnrichStage>(&config_, store_.get(), &clock_, WorkLoopOptions{},
                                           &adapters_);
  }

  // Stores an inquiry waiting for context and runs the stage until it commits, counting tries.
  Inquiry EnrichAwaiting(int* tries) {
    Inquiry i;
    i.id = NewUuidV7(clock_.Now());
    i.workspace = "ws";
    i.source = "ads";
    i.channel = Channel::kForm;
    i.received_at = i.occurred_at = clock_.Now();
    i.status = kAwaitingContext;
    EXPECT_TRUE(store_
                    ->Write([&](WriteTx& tx) {
                      WorkItem w{};
                      w.workspace = "ws";
                      w.inquiry_id = i.id;
                      w.stage = Stage::kEnrich;
                      w.available_at = clock_.Now();
                      absl::Status s = tx.InsertInquiry(i);
                      return s.ok() ? tx.EnqueueWork(w) : s;
                    })
                    .ok());
    EXPECT_EQ(store_->GetInquiry("ws", i.id)->status, kAwaitingContext);
    for (*tries = 0; *tries < 50; ++*tries) {
      auto items = store_->ClaimWork(Stage::kEnrich, 1, clock_.Now(), kMicrosPerMinute);
      EXPECT_TRUE(items.ok() && items->size() == 1u);
      auto write = stage_->Process((*items)[0]);
      if (write.ok()) {
        EXPECT_TRUE(store_->Write(std::move(*write)).ok());
        ++*tries;
        break;
      }
      EXPECT_TRUE(absl::IsUnavailable(write.status())) << write.status();
      EXPECT_TRUE(store_->ReleaseWork((*items)[0], clock_.Now()).ok());
      // The release (and its attempt count) is persisted by the writer; wait for it.
      EXPECT_TRUE(store_->Write([](WriteTx&) { return absl::OkStatus(); }).ok());
    }
    return *store_->GetInquiry("ws", i.id);
  }

  std::vector<std::string> Kinds(const Inquiry& i) {
    return testing::EventKinds(*store_, "ws", i.id);
  }

  SourceAdapterRegistry adapters_;
  int failures_ = 0;
};

TEST_F(EnrichContextTest, FetchesTheContextBeforeEnriching) {
  failures_ = 2;
  UseLateContext(/*permanent=*/false);
  int tries = 0;
  Inquiry i = EnrichAwaiting(&tries);
  EXPECT_EQ(tries, 3) << "two retryable failures, then the fetch";
  EXPECT_EQ(i.status, "enriched");
  EXPECT_EQ(i.normalized.phone, "+14155550199");
  EXPECT_EQ(i.normalized.name, "Lee Lead");
  EXPECT_FALSE(i.contact_id.empty());
  EXPECT_EQ(Kinds(i), (std::vector<std::string>{"context_fetched", "enriched"}));
}

TEST_F(EnrichContextTest, GivesUpAfterTheLastAttemptAndSaysSo) {
  failures_ = 1000;
  UseLateContext(/*permanent=*/false);
  int tries = 0;
  Inquiry i = EnrichAwaiting(&tries);
  EXPECT_EQ(tries, EnrichStage::kMaxContextAttempts);
  EXPECT_EQ(i.status, "enriched");
  EXPECT_EQ(Kinds(i), (std::vector<std::string>{"context_missing", "enriched"}));
}

TEST_F(EnrichContextTest, APermanentErrorGoesOnWithoutRetrying) {
  UseLateContext(/*permanent=*/true);
  int tries = 0;
  Inquiry i = EnrichAwaiting(&tries);
  EXPECT_EQ(tries, 1);
  auto events = store_->ListEvents("ws", i.id);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ((*events)[0].kind, "context_missing");
  EXPECT_NE((*events)[0].detail.value("error", "").find("revoked"), std::string::npos);
}

}  // namespace
}  // namespace handoff
