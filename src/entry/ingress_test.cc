#include "entry/ingress.h"

#include <future>

#include "gtest/gtest.h"
#include "tests/support/stage_run.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_clock.h"

namespace handoff {
namespace {

// A provider whose JSON body says how it threads: {"event","thread","aliases","mode","message",
// "phone","booking","replace","supersedes","reply","store","spam","window","batch"}. It stands in
// for the real adapters (Twilio, Calendly…) so the ingress's thread handling is tested on its own.
class ThreadingTestAdapter : public SourceAdapter {
 public:
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& /*source*/,
                                       const HttpRequest& request) const override {
    auto j = nlohmann::json::parse(request.body);
    ParsedDelivery d = FromJson(j, request.body);
    if (j.contains("batch")) {
      for (const auto& item : j["batch"]) d.batch.push_back(FromJson(item, request.body));
    }
    return d;
  }

 private:
  static ParsedDelivery FromJson(const nlohmann::json& j, const std::string& body) {
    ParsedDelivery d;
    d.inquiry.channel = Channel::kCall;
    d.inquiry.message = j.value("message", "");
    d.inquiry.received.phone = j.value("phone", "");
    d.inquiry.raw_payload = body;
    d.inquiry.raw_content_type = "application/json";
    if (j.contains("booking")) d.inquiry.fields["booking_status"] = j["booking"];
    d.dedupe_key = "event:" + j.value("event", "");
    d.thread_key = j.value("thread", "");
    if (j.contains("aliases")) d.thread_aliases = j["aliases"].get<std::vector<std::string>>();
    if (j.value("mode", "") == "update") {
      d.thread_mode = ParsedDelivery::ThreadMode::kUpdateOnly;
    }
    if (j.contains("supersedes")) d.supersedes = j["supersedes"].get<std::vector<std::string>>();
    d.replace_message = j.value("replace", false);
    if (j.contains("reply")) {
      HttpResponse r;
      r.content_type = "text/xml";
      r.body = j["reply"];
      d.reply = r;
    }
    d.store = j.value("store", true);
    d.spam = j.value("spam", false);
    d.dedupe_window = j.value("window", Micros{0});
    return d;
  }
};

class IngressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.workspace = "ws";
    SourceConfig src;
    src.name = "line";
    src.adapter = "threading";
    config_.sources.push_back(src);
    src.name = "keyed";
    src.adapter = "keyed";
    config_.sources.push_back(src);
    SourceAdapterSpec keyed{"keyed", "a key in the path (test)", Channel::kForm, {"POST"}, {}, [] {
                              return std::make_unique<ThreadingTestAdapter>();
                            }};
    keyed.path_key = true;
    adapters_.Register(std::move(keyed));
    adapters_.Register(
        {"threading", "trusts anyone (test)", Channel::kCall, {"POST", "GET"}, {}, [] {
           return std::make_unique<ThreadingTestAdapter>();
         }});
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    ingress_ = std::make_unique<Ingress>(&config_, &adapters_, store_.get(), &clock_);
  }
  void TearDown() override { store_->Shutdown(); }

  HttpResponse Post(const nlohmann::json& body, const std::string& method = "POST",
                    const std::string& path = "/in/line") {
    HttpRequest r;
    r.method = method;
    r.path = r.target = path;
    r.headers = {{"content-type", "application/json"}};
    r.body = body.dump();
    std::promise<HttpResponse> answered;
    ingress_->Handle(std::move(r), [&](HttpResponse resp) { answered.set_value(resp); });
    clock_.Advance(kMicrosPerSecond);
    return answered.get_future().get();
  }

  static std::string Id(const HttpResponse& r) {
    return nlohmann::json::parse(r.body).value("id", "");
  }
  static std::string Status(const HttpResponse& r) {
    return nlohmann::json::parse(r.body).value("status", "");
  }

  int64_t Count(const std::string& outcome) {
    // Some counters are submitted without waiting; the writer runs writes in order, so one
    // more write waits for them.
    EXPECT_TRUE(store_->Write([](WriteTx&) { return absl::OkStatus(); }).ok());
    auto counts = store_->ListEntryCounts("ws", 0);
    int64_t n = 0;
    for (const EntryCount& c : *counts) {
      if (c.outcome == outcome) n += c.count;
    }
    return n;
  }

  testing::TempDir dir_;
  FakeClock clock_{kT0};
  Config config_;
  SourceAdapterRegistry adapters_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Ingress> ingress_;
};

// The first event of `inquiry`'s journal is "received", with its whole detail: the ingress
// renders that detail on the request's thread, before the write.
void ExpectReceivedDetail(Store& store, const Inquiry& inquiry) {
  auto events = store.ListEvents(inquiry.workspace, inquiry.id);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_FALSE(events->empty());
  const Event& received = events->front();
  EXPECT_EQ(received.kind, "received");
  EXPECT_EQ(received.detail.value("source", ""), inquiry.source);
  EXPECT_EQ(received.detail.value("channel", ""), ChannelName(inquiry.channel));
  EXPECT_FALSE(inquiry.raw_payload.empty());
  EXPECT_EQ(received.detail.value("bytes", size_t{0}), inquiry.raw_payload.size());
  EXPECT_EQ(received.detail.value("provider_event_id", ""), inquiry.provider_event_id);
}

TEST_F(IngressTest, ANewInquiryIsJournaledAsReceived) {
  HttpResponse r = Post({{"event", "1"}, {"phone", "+14155550101"}});
  ASSERT_EQ(r.status, 202) << r.body;
  auto stored = store_->GetInquiry("ws", Id(r));
  ASSERT_TRUE(stored.ok()) << stored.status();
  ExpectReceivedDetail(*store_, *stored);
}

TEST_F(IngressTest, LaterDeliveriesOfAThreadUpdateItsInquiry) {
  HttpResponse first = Post({{"event", "1"}, {"thread", "call:CA1"}, {"phone", "+14155550101"}});
  ASSERT_EQ(first.status, 202) << first.body;
  std::string id = Id(first);

  HttpResponse voicemail = Post({{"event", "2"},
                                 {"thread", "call:CA1"},
                                 {"message", "voicemail: https://example.test/rec.mp3"}});
  EXPECT_EQ(voicemail.status, 200) << voicemail.body;
  EXPECT_EQ(Id(voicemail), id);
  EXPECT_EQ(Status(voicemail), "updated");

  // A transcription replaces the placeholder; without replace a message is only filled.
  Post({{"event", "3"}, {"thread", "call:CA1"}, {"message", "not taken"}});
  Post({{"event", "4"},
        {"thread", "call:CA1"},
        {"message", "My water heater is leaking"},
        {"replace", true}});

  auto list = store_->ListInquiries("ws", InquiryFilter{});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u) << "updates must not create inquiries";
  auto inquiry = store_->GetInquiry("ws", id);
  ASSERT_TRUE(inquiry.ok());
  EXPECT_EQ(inquiry->message, "My water heater is leaking");
  EXPECT_EQ(inquiry->received.phone, "+14155550101");
  EXPECT_EQ(
      inquiry->raw_payload,
      nlohmann::json({{"event", "1"}, {"thread", "call:CA1"}, {"phone", "+14155550101"}}).dump())
      << "the row keeps the first delivery verbatim";

  auto events = store_->ListEvents("ws", id);
  ASSERT_TRUE(events.ok());
  int updates = 0;
  for (const Event& e : *events) {
    if (e.kind != "updated") continue;
    ++updates;
    EXPECT_TRUE(e.detail.contains("raw")) << "each update's body is journaled";
  }
  EXPECT_EQ(updates, 3);
  EXPECT_EQ(Count("accepted"), 1);
  EXPECT_EQ(Count("updated"), 3);

  // Only the first delivery queues Enrichment.
  auto work = store_->ClaimWork(Stage::kEnrich, 10, clock_.Now(), kMicrosPerMinute);
  ASSERT_TRUE(work.ok());
  EXPECT_EQ(work->size(), 1u);
}

TEST_F(IngressTest, ARedeliveredUpdateIsADuplicate) {
  std::string id = Id(Post({{"event", "1"}, {"thread", "t"}}));
  Post({{"event", "2"}, {"thread", "t"}, {"message", "hello"}});
  HttpResponse again = Post({{"event", "2"}, {"thread", "t"}, {"message", "hello"}});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(Status(again), "duplicate");
  EXPECT_EQ(Id(again), id);
  EXPECT_EQ(Count("updated"), 1);
}

TEST_F(IngressTest, AliasesFindTheThreadAndFieldsMerge) {
  // A booking, rescheduled: the new invitee names the old one; a later cancel carries only
  // the new key.
  std::string id = Id(Post({{"event", "c1"}, {"thread", "inv:old"}, {"booking", "active"}}));
  HttpResponse moved = Post({{"event", "c2"},
                             {"thread", "inv:old"},
                             {"aliases", {"inv:new"}},
                             {"booking", "rescheduled"}});
  EXPECT_EQ(Id(moved), id);
  HttpResponse canceled =
      Post({{"event", "c3"}, {"thread", "inv:new"}, {"mode", "update"}, {"booking", "canceled"}});
  EXPECT_EQ(Status(canceled), "updated");
  EXPECT_EQ(Id(canceled), id);
  auto inquiry = store_->GetInquiry("ws", id);
  ASSERT_TRUE(inquiry.ok());
  EXPECT_EQ(inquiry->fields.value("booking_status", ""), "canceled");
  EXPECT_EQ(inquiry->status, "received") << "the pipeline's status is not the booking's";
}

TEST_F(IngressTest, ASupersededDeliveryArrivingLateIsADuplicate) {
  // The second half of a reschedule arrives before the first: the first is stale when it comes.
  std::string id = Id(Post({{"event", "c1"}, {"thread", "inv:old"}, {"booking", "active"}}));
  Post({{"event", "c2"},
        {"thread", "inv:old"},
        {"booking", "rescheduled"},
        {"supersedes", {"event:cancel-old"}}});
  HttpResponse late = Post(
      {{"event", "cancel-old"}, {"thread", "inv:old"}, {"mode", "update"}, {"booking", "moving"}});
  EXPECT_EQ(Status(late), "duplicate");
  EXPECT_EQ(Id(late), id);
  auto inquiry = store_->GetInquiry("ws", id);
  ASSERT_TRUE(inquiry.ok());
  EXPECT_EQ(inquiry->fields.value("booking_status", ""), "rescheduled");
  EXPECT_EQ(Count("updated"), 1);
}

TEST_F(IngressTest, SupersedesIsNotRecordedForAnIgnoredDelivery) {
  Post({{"event", "x"}, {"thread", "never-seen"}, {"mode", "update"}, {"supersedes", {"event:y"}}});
  HttpResponse y = Post({{"event", "y"}, {"thread", "never-seen"}, {"phone", "+14155550101"}});
  EXPECT_EQ(y.status, 202) << y.body;
}

TEST_F(IngressTest, AnUpdateOnlyDeliveryForAnUnknownThreadIsIgnored) {
  HttpResponse r = Post({{"event", "x"}, {"thread", "never-seen"}, {"mode", "update"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Status(r), "ignored");
  auto list = store_->ListInquiries("ws", InquiryFilter{});
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(Count("ignored"), 1);
}

TEST_F(IngressTest, TheAdaptersReplyIsSentAfterCommitAndOnRedelivery) {
  nlohmann::json body = {{"event", "r1"}, {"phone", "+14155550101"}, {"reply", "<Response/>"}};
  HttpResponse r = Post(body);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/xml");
  EXPECT_EQ(r.body, "<Response/>");
  HttpResponse again = Post(body);
  EXPECT_EQ(again.body, "<Response/>");
  auto list = store_->ListInquiries("ws", InquiryFilter{});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(IngressTest, AHandshakeStoresNothing) {
  HttpResponse r = Post({{"store", false}, {"reply", "12345"}}, "GET");
  EXPECT_EQ(r.body, "12345");
  auto list = store_->ListInquiries("ws", InquiryFilter{});
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(Count("handshake"), 1);
}

TEST_F(IngressTest, SpamIsCountedAndStoredNowhereButLooksAccepted) {
  HttpResponse r = Post({{"event", "s1"}, {"phone", "+14155550101"}, {"spam", true}});
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(Status(r), "accepted");
  EXPECT_EQ(Id(r).size(), 36u);
  HttpResponse with_reply =
      Post({{"event", "s2"}, {"spam", true}, {"reply", "<p>thanks</p>"}, {"store", false}});
  EXPECT_EQ(with_reply.body, "<p>thanks</p>");
  auto list = store_->ListInquiries("ws", InquiryFilter{});
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(Count("spam"), 2);
  EXPECT_EQ(Count("accepted"), 0);
}

TEST_F(IngressTest, ADedupeWindowMakesContentKeysExpire) {
  const nlohmann::json body = {
      {"event", "same-body"}, {"phone", "+14155550101"}, {"window", kMicrosPerMinute}};
  clock_.Set(kT0 - kT0 % kMicrosPerMinute);  // the start of a minute; Post advances 1 s each
  HttpResponse first = Post(body);
  ASSERT_EQ(first.status, 202);
  HttpResponse again = Post(body);
  EXPECT_EQ(Status(again), "duplicate");
  EXPECT_EQ(Id(again), Id(first));
  clock_.Advance(kMicrosPerMinute);
  HttpResponse later = Post(body);
  EXPECT_EQ(later.status, 202) << "the same text a minute later is a new inquiry";
  EXPECT_NE(Id(later), Id(first));
}

TEST_F(IngressTest, OnlyPathKeyAdaptersTakeAKeyInThePath) {
  const nlohmann::json body = {{"event", "k1"}, {"phone", "+14155550101"}};
  EXPECT_EQ(Post(body, "POST", "/in/keyed/secret123").status, 202);
  EXPECT_EQ(Post({{"event", "k2"}}, "POST", "/in/ws/keyed/secret123").status, 202);
  EXPECT_EQ(Post({{"event", "k3"}}, "POST", "/in/ws/keyed").status, 202);
  EXPECT_EQ(Post({{"event", "k4"}}, "POST", "/in/line/secret123").status, 404);
  EXPECT_EQ(Post({{"event", "k5"}}, "POST", "/in/other/keyed/secret123").status, 404);
  EXPECT_EQ(Post({{"event", "k6"}}, "POST", "/in/ws/keyed/a/b").status, 404);
  EXPECT_EQ(Post({{"event", "k7"}}, "POST", "/in/keyed//").status, 404);
}

TEST_F(IngressTest, MethodsTheAdapterDoesNotTakeAre405) {
  HttpResponse r = Post({{"event", "m"}}, "PUT");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.body.find("POST or GET"), std::string::npos) << r.body;
}

TEST_F(IngressTest, ABatchedRequestCommitsEachDeliveryOnItsOwn) {
  // Two new events and one the source already sent: two inquiries, one duplicate.
  std::string earlier = Id(Post({{"event", "b0"}, {"phone", "+14155550100"}}));
  HttpResponse r = Post({{"event", "b1"},
                         {"phone", "+14155550101"},
                         {"batch",
                          {{{"event", "b2"}, {"phone", "+14155550102"}},
                           {{"event", "b0"}, {"phone", "+14155550100"}},
                           {{"event", "b2"}, {"phone", "+14155550102"}}}}});
  ASSERT_EQ(r.status, 202) << r.body;
  auto body = nlohmann::json::parse(r.body);
  ASSERT_EQ(body["deliveries"].size(), 4u) << r.body;
  EXPECT_EQ(body["id"], body["deliveries"][0]["id"]);
  EXPECT_EQ(body["deliveries"][0]["status"], "accepted");
  EXPECT_EQ(body["deliveries"][1]["status"], "accepted");
  EXPECT_EQ(body["deliveries"][2]["status"], "duplicate");
  EXPECT_EQ(body["deliveries"][2]["id"], earlier);
  EXPECT_EQ(body["deliveries"][3]["status"], "duplicate")
      << "a repeat inside one request is a duplicate too";
  EXPECT_EQ(body["deliveries"][3]["id"], body["deliveries"][1]["id"]);

  auto list = store_->ListInquiries("ws", InquiryFilter{});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 3u);
  EXPECT_EQ(Count("accepted"), 3);
  EXPECT_EQ(Count("duplicate"), 2);

  // The whole request again: nothing new, 200.
  HttpResponse again = Post({{"event", "b1"}, {"batch", {{{"event", "b2"}}}}});
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(nlohmann::json::parse(again.body)["deliveries"][1]["status"], "duplicate");
  EXPECT_EQ(store_->ListInquiries("ws", InquiryFilter{})->size(), 3u);
}

TEST_F(IngressTest, SpamAndTheDedupeWindowApplyToEachDeliveryOfABatch) {
  clock_.Set(kT0 - kT0 % kMicrosPerMinute);  // the start of a minute; Post advances 1 s each
  const nlohmann::json windowed = {
      {"event", "w1"}, {"phone", "+14155550102"}, {"window", kMicrosPerMinute}};
  HttpResponse r =
      Post({{"event", "sb1"},
            {"phone", "+14155550101"},
            {"batch", {{{"event", "sb2"}, {"phone", "+14155550109"}, {"spam", true}}, windowed}}});
  ASSERT_EQ(r.status, 202) << r.body;
  auto body = nlohmann::json::parse(r.body);
  ASSERT_EQ(body["deliveries"].size(), 2u) << "the spam delivery is dropped: " << r.body;
  EXPECT_EQ(Count("spam"), 1);
  EXPECT_EQ(store_->ListInquiries("ws", InquiryFilter{})->size(), 2u);

  // The windowed delivery again within the minute is a duplicate; a minute later it is new.
  HttpResponse again = Post({{"event", "sb3"}, {"batch", {windowed}}});
  EXPECT_EQ(nlohmann::json::parse(again.body)["deliveries"][1]["status"], "duplicate")
      << again.body;
  clock_.Advance(kMicrosPerMinute);
  HttpResponse later = Post({{"event", "sb4"}, {"batch", {windowed}}});
  EXPECT_EQ(nlohmann::json::parse(later.body)["deliveries"][1]["status"], "accepted") << later.body;

  // A batch of nothing but spam looks accepted and stores nothing.
  const size_t before = store_->ListInquiries("ws", InquiryFilter{})->size();
  HttpResponse all_spam =
      Post({{"event", "sb5"}, {"spam", true}, {"batch", {{{"event", "sb6"}, {"spam", true}}}}});
  EXPECT_EQ(all_spam.status, 202);
  EXPECT_EQ(Status(all_spam), "accepted");
  EXPECT_EQ(store_->ListInquiries("ws", InquiryFilter{})->size(), before);
  EXPECT_EQ(Count("spam"), 3);
}

// Stands in for Enrichment and Trigger run inside the ingest write: stores the inquiry with a
// status of its own and an event, or fails when told to.
class MarkingAdvance : public InlineAdvance {
 public:
  MarkingAdvance(Inquiry inquiry, bool fail, int* committed)
      : inquiry_(std::move(inquiry)), fail_(fail), committed_(committed) {}
  absl::Status Record(WriteTx& tx) override {
    if (fail_) return absl::InternalError("the later stages failed");
    Inquiry advanced = inquiry_;
    advanced.stage = Stage::kTrigger;
    advanced.status = "advanced";
    absl::Status s = tx.InsertInquiry(advanced);
    if (!s.ok()) return s;
    return tx.AppendEvent(Event{advanced.workspace, advanced.id, 0, advanced.received_at,
                                Stage::kTrigger, "advanced"});
  }
  void Committed() override { ++*committed_; }

 private:
  Inquiry inquiry_;
  bool fail_;
  int* committed_;
};

class IngressInlineTest : public IngressTest {
 protected:
  void UseInlineStages(bool fail) {
    ingress_->set_inline_stages([this, fail](const Inquiry& i) -> std::unique_ptr<InlineAdvance> {
      ++prepared_;
      return std::make_unique<MarkingAdvance>(i, fail, &committed_);
    });
  }
  std::vector<std::string> Kinds(const std::string& id) {
    return testing::EventKinds(*store_, "ws", id);
  }
  int prepared_ = 0;
  int committed_ = 0;
};

TEST_F(IngressInlineTest, TheLaterStagesRunInTheWriteThatAcknowledges) {
  UseInlineStages(/*fail=*/false);
  HttpResponse r = Post({{"event", "1"}, {"phone", "+14155550101"}});
  ASSERT_EQ(r.status, 202) << r.body;
  auto stored = store_->GetInquiry("ws", Id(r));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->status, "advanced");
  EXPECT_EQ(Kinds(Id(r)), (std::vector<std::string>{"received", "advanced"}));
  ExpectReceivedDetail(*store_, *stored);
  // No Enrichment work: the stages' threads have nothing to do for it.
  EXPECT_TRUE(store_->ClaimWork(Stage::kEnrich, 10, clock_.Now(), kMicrosPerMinute)->empty());
  EXPECT_EQ(committed_, 1);

  // A redelivery is answered from the dedupe table: nothing advances, nothing is committed.
  HttpResponse again = Post({{"event", "1"}, {"phone", "+14155550101"}});
  EXPECT_EQ(Status(again), "duplicate");
  EXPECT_EQ(committed_, 1);
  EXPECT_EQ(Count("accepted"), 1);
}

TEST_F(IngressInlineTest, WhenTheLaterStagesFailTheInquiryTakesTheStageThreads) {
  UseInlineStages(/*fail=*/true);
  HttpResponse r = Post({{"event", "1"}, {"phone", "+14155550101"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(prepared_, 1);
  auto stored = store_->GetInquiry("ws", Id(r));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->stage, Stage::kEntry);
  EXPECT_EQ(stored->status, "received");
  // The failed attempt left nothing behind: one "received" event, one count, one work item.
  EXPECT_EQ(Kinds(Id(r)), std::vector<std::string>{"received"});
  EXPECT_EQ(Count("accepted"), 1);
  auto work = store_->ClaimWork(Stage::kEnrich, 10, clock_.Now(), kMicrosPerMinute);
  ASSERT_EQ(work->size(), 1u);
  EXPECT_EQ((*work)[0].inquiry_id, Id(r));
  EXPECT_EQ(committed_, 0);
}

}  // namespace
}  // namespace handoff
