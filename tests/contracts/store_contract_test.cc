// The Store conformance suite: every backend must pass every test here. Add a backend by adding
// it to StoreBackends() (tests/support/store_backends.h).
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/id.h"
#include "core/status.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "model/records.h"
#include "store/store.h"
#include "tests/support/store_backends.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_clock.h"

namespace handoff {
namespace {

// 2025-11-24T16:00:00Z: on a minute boundary, so entry-count buckets are easy to reason about.
constexpr Micros kLease = 30 * kMicrosPerSecond;

using testing::TempDir;

// Lead data as it arrives: embedded NULs, UTF-8, and bytes that are not UTF-8 at all.
constexpr char kMessage[] = "Need a quote\0for Tuesday, \u00fcn\u00efc\u00f6d\u00e9 \u2713";
constexpr char kRawPayload[] = "{\"name\":\"Ana\",\"b\":\"\0\xff\xfe\",\"u\":\"\u2713\"}\0tail";

Inquiry MakeInquiry(const std::string& workspace, Micros at, const std::string& source = "web",
                    Channel channel = Channel::kForm) {
  Inquiry i;
  i.id = NewUuidV7(at);
  i.workspace = workspace;
  i.source = source;
  i.channel = channel;
  i.received_at = at;
  i.occurred_at = at - 5 * kMicrosPerSecond;
  i.received = {" Ana  Lima ", "Ana@Example.COM", "(555) 123-4567"};
  i.normalized = {"Ana Lima", "ana@example.com", "+15551234567"};
  i.contact_id = "contact-1";
  i.message = std::string(kMessage, sizeof(kMessage) - 1);
  i.service = "roof-repair";
  i.location = "Porto'); DROP TABLE inquiries; --";
  i.attribution = {"google",
                   "cpc",
                   "spring",
                   "roofers",
                   "ad-2",
                   "https://ref.example/",
                   "https://example.com/landing?x=1"};
  i.provider_event_id = "evt_123";
  i.raw_payload = std::string(kRawPayload, sizeof(kRawPayload) - 1);
  i.raw_content_type = "application/json; charset=utf-8";
  i.stage = Stage::kEntry;
  i.status = "received";
  return i;
}

void ExpectSameInquiry(const Inquiry& want, const Inquiry& got) {
  EXPECT_EQ(want.id, got.id);
  EXPECT_EQ(want.workspace, got.workspace);
  EXPECT_EQ(want.source, got.source);
  EXPECT_EQ(want.channel, got.channel);
  EXPECT_EQ(want.received_at, got.received_at);
  EXPECT_EQ(want.occurred_at, got.occurred_at);
  EXPECT_EQ(want.received.name, got.received.name);
  EXPECT_EQ(want.received.email, got.received.email);
  EXPECT_EQ(want.received.phone, got.received.phone);
  EXPECT_EQ(want.normalized.name, got.normalized.name);
  EXPECT_EQ(want.normalized.email, got.normalized.email);
  EXPECT_EQ(want.normalized.phone, got.normalized.phone);
  EXPECT_EQ(want.contact_id, got.contact_id);
  EXPECT_EQ(want.message, got.message);
  EXPECT_EQ(want.service, got.service);
  EXPECT_EQ(want.location, got.location);
  EXPECT_EQ(want.attribution.utm_source, got.attribution.utm_source);
  EXPECT_EQ(want.attribution.utm_medium, got.attribution.utm_medium);
  EXPECT_EQ(want.attribution.utm_campaign, got.attribution.utm_campaign);
  EXPECT_EQ(want.attribution.utm_term, got.attribution.utm_term);
  EXPECT_EQ(want.attribution.utm_content, got.attribution.utm_content);
  EXPECT_EQ(want.attribution.referrer, got.attribution.referrer);
  EXPECT_EQ(want.attribution.landing_page, got.attribution.landing_page);
  EXPECT_EQ(want.provider_event_id, got.provider_event_id);
  EXPECT_EQ(want.raw_payload, got.raw_payload);
  EXPECT_EQ(want.raw_content_type, got.raw_content_type);
  EXPECT_EQ(want.stage, got.stage);
  EXPECT_EQ(want.status, got.status);
  EXPECT_EQ(want.route, got.route);
}

void ExpectSameHandoff(const Handoff& want, const Handoff& got) {
  EXPECT_EQ(want.id, got.id);
  EXPECT_EQ(want.workspace, got.workspace);
  EXPECT_EQ(want.inquiry_id, got.inquiry_id);
  EXPECT_EQ(want.destination, got.destination);
  EXPECT_EQ(want.state, got.state);
  EXPECT_EQ(want.attempts, got.attempts);
  EXPECT_EQ(want.next_attempt_at, got.next_attempt_at);
  EXPECT_EQ(want.created_at, got.created_at);
  EXPECT_EQ(want.confirmed_at, got.confirmed_at);
  EXPECT_EQ(want.remote_id, got.remote_id);
  EXPECT_EQ(want.last_status, got.last_status);
  EXPECT_EQ(want.last_error, got.last_error);
  EXPECT_EQ(want.last_response_excerpt, got.last_response_excerpt);
}

Handoff MakeHandoff(const std::string& workspace, const std::string& inquiry_id,
                    const std::string& destination, const std::string& state,
                    Micros next_attempt_at) {
  Handoff h;
  h.id = NewUuidV7(next_attempt_at);
  h.workspace = workspace;
  h.inquiry_id = inquiry_id;
  h.destination = destination;
  h.state = state;
  h.next_attempt_at = next_attempt_at;
  h.created_at = kT0;
  return h;
}

WorkItem MakeWork(const std::string& workspace, const std::string& inquiry_id, Stage stage,
                  Micros available_at) {
  WorkItem w;
  w.workspace = workspace;
  w.inquiry_id = inquiry_id;
  w.stage = stage;
  w.available_at = available_at;
  return w;
}

// Holds the writer inside one write until Release(), so the writes submitted meanwhile are
// committed together afterwards.
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

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    absl::StatusOr<std::string> url = testing::StoreBackends().at(GetParam()).create(dir_.path());
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(url_, &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    if (!url_.empty()) testing::StoreBackends().at(GetParam()).drop(url_);
  }

  absl::Status Put(const Inquiry& i) {
    return store_->Write([&](WriteTx& tx) { return tx.InsertInquiry(i); });
  }
  absl::Status PutHandoff(const Handoff& h) {
    return store_->Write([&](WriteTx& tx) { return tx.InsertHandoff(h); });
  }
  WorkItem Enqueue(WorkItem w) {
    EXPECT_TRUE(store_->Write([&](WriteTx& tx) { return tx.EnqueueWork(w); }).ok());
    return w;
  }
  absl::Status Complete(const WorkItem& w) {
    return store_->Write([&](WriteTx& tx) { return tx.CompleteWork(w); });
  }
  absl::Status Update(const Handoff& h, const std::string& token) {
    return store_->Write([&](WriteTx& tx) { return tx.UpdateHandoff(h, token); });
  }
  // All writes submitted before this one are committed (or failed) when it returns.
  void Barrier() {
    ASSERT_TRUE(store_->Write([](WriteTx&) { return absl::OkStatus(); }).ok());
  }
  std::map<std::string, int64_t> Depths() {
    absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> d = store_->QueueDepths();
    EXPECT_TRUE(d.ok()) << d.status();
    if (!d.ok()) return {};
    return std::map<std::string, int64_t>(d->begin(), d->end());
  }

  TempDir dir_;
  FakeClock clock_{kT0};
  std::string url_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest,
                         ::testing::ValuesIn(testing::StoreBackendNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST_P(StoreContractTest, InquiryRoundTripsEveryFieldIncludingRawBytes) {
  Inquiry in = MakeInquiry("acme", kT0);
  ASSERT_TRUE(Put(in).ok());
  absl::StatusOr<Inquiry> got = store_->GetInquiry("acme", in.id);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameInquiry(in, *got);
  EXPECT_EQ(got->raw_payload.size(), sizeof(kRawPayload) - 1);
  EXPECT_EQ(got->message.size(), sizeof(kMessage) - 1);
}

// A deferred write (committed without waiting for its sync) is committed like any other:
// visible to reads at once, and a failing one rolls back only itself.
TEST_P(StoreContractTest, DeferredWritesAreCommittedAndVisible) {
  auto submit = [this](WriteFn fn, Durability durability) {
    std::promise<absl::Status> done;
    store_->SubmitWrite(
        std::move(fn), [&done](absl::Status s) { done.set_value(std::move(s)); }, durability);
    return done.get_future().get();
  };
  const Inquiry deferred = MakeInquiry("acme", kT0);
  ASSERT_TRUE(
      submit([&](WriteTx& tx) { return tx.InsertInquiry(deferred); }, Durability::kDeferred).ok());
  ExpectSameInquiry(deferred, *store_->GetInquiry("acme", deferred.id));
  EXPECT_EQ(
      submit([&](WriteTx& tx) { return tx.InsertInquiry(deferred); }, Durability::kDeferred).code(),
      absl::StatusCode::kAlreadyExists);
  const Inquiry synced = MakeInquiry("acme", kT0 + 1);
  ASSERT_TRUE(
      submit([&](WriteTx& tx) { return tx.InsertInquiry(synced); }, Durability::kSynced).ok());
  EXPECT_TRUE(store_->GetInquiry("acme", synced.id).ok());
}

TEST_P(StoreContractTest, InsertingAnExistingInquiryFailsWithAlreadyExists) {
  Inquiry in = MakeInquiry("acme", kT0);
  ASSERT_TRUE(Put(in).ok());
  in.message = "second";
  EXPECT_EQ(Put(in).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(store_->GetInquiry("acme", in.id)->message, "second");
}

TEST_P(StoreContractTest, UpdateInquiryReplacesEveryMutableField) {
  Inquiry in = MakeInquiry("acme", kT0);
  ASSERT_TRUE(Put(in).ok());
  Inquiry up = in;
  up.occurred_at += 2;
  up.received = {"B", "b@x.io", "1"};
  up.normalized = {"Bee", "b@x.io", "+3519"};
  up.contact_id = "contact-2";
  up.message = "changed";
  up.service = "gutter";
  up.location = "Lisbon";
  up.attribution = {"a", "b", "c", "d", "e", "f", "g"};
  up.provider_event_id = "evt_9";
  up.stage = Stage::kTrigger;
  up.status = "assigned";
  // Entry's and Trigger's alone: an update leaves them.
  Inquiry sent = up;
  sent.raw_payload = std::string("\0\0", 2);
  sent.raw_content_type = "text/plain";
  sent.route = "not-this";
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.UpdateInquiry(sent); }).ok());
  absl::StatusOr<Inquiry> got = store_->GetInquiry("acme", in.id);
  ASSERT_TRUE(got.ok());
  ExpectSameInquiry(up, *got);

  Inquiry missing = MakeInquiry("acme", kT0 + 1);
  EXPECT_EQ(store_->Write([&](WriteTx& tx) { return tx.UpdateInquiry(missing); }).code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreContractTest, SetInquiryProgressChangesOnlyStageAndStatus) {
  Inquiry in = MakeInquiry("acme", kT0);
  ASSERT_TRUE(Put(in).ok());
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) {
                    return tx.SetInquiryProgress("acme", in.id, Stage::kTransfer, "delivered");
                  })
                  .ok());
  Inquiry want = in;
  want.stage = Stage::kTransfer;
  want.status = "delivered";
  ExpectSameInquiry(want, *store_->GetInquiry("acme", in.id));
  EXPECT_EQ(store_
                ->Write([&](WriteTx& tx) {
                  return tx.SetInquiryProgress("other", in.id, Stage::kTrigger, "routed");
                })
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetInquiry("acme", in.id)->status, "delivered");
}

TEST_P(StoreContractTest, UpdateInquiryRefusesToChangeWhatEntryFixed) {
  Inquiry in = MakeInquiry("acme", kT0);
  ASSERT_TRUE(Put(in).ok());
  for (int field = 0; field < 3; ++field) {
    Inquiry up = in;
    up.status = "changed";
    if (field == 0) up.source = "phone";
    if (field == 1) up.channel = Channel::kCall;
    if (field == 2) up.received_at += 1;
    EXPECT_EQ(store_->Write([&](WriteTx& tx) { return tx.UpdateInquiry(up); }).code(),
              absl::StatusCode::kFailedPrecondition)
        << "field " << field;
  }
  ExpectSameInquiry(in, *store_->GetInquiry("acme", in.id));
}

TEST_P(StoreContractTest, ReadsAndWritesAreScopedToTheirWorkspace) {
  Inquiry in = MakeInquiry("acme", kT0);
  Contact c{"c1", "acme", "Ana", "ana@example.com", "+15551234567", kT0, kT0};
  Task t{"t1", "acme", in.id, "default", "bob", "Call back", kT0 + kMicrosPerHour, "open", kT0};
  Handoff h = MakeHandoff("acme", in.id, "crm", "pending", kT0);
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    if (auto s = tx.InsertInquiry(in); !s.ok()) return s;
                    if (auto s = tx.UpsertContact(c); !s.ok()) return s;
                    if (auto s = tx.InsertTask(t); !s.ok()) return s;
                    if (auto s = tx.InsertHandoff(h); !s.ok()) return s;
                    Event e{"acme", in.id, 0, kT0, Stage::kEntry, "received"};
                    if (auto s = tx.AppendEvent(e); !s.ok()) return s;
                    if (auto s = tx.InsertDedupe("acme", "web", "k1", in.id, kT0); !s.ok())
                      return s;
                    return tx.CountEntry("acme", "web", "accepted", "", kT0, 1);
                  })
                  .ok());

  EXPECT_EQ(store_->GetInquiry("other", in.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListInquiries("other", {})->empty());
  EXPECT_EQ(store_->GetContact("other", c.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListEvents("other", in.id)->empty());
  EXPECT_TRUE(store_->ListTasks("other", in.id)->empty());
  EXPECT_TRUE(store_->ListHandoffs("other", in.id)->empty());
  EXPECT_EQ(store_->GetHandoff("other", h.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListEntryCounts("other", 0)->empty());

  // The same reads in the right workspace do find them.
  EXPECT_TRUE(store_->GetInquiry("acme", in.id).ok());
  EXPECT_EQ(store_->ListInquiries("acme", {})->size(), 1u);
  EXPECT_TRUE(store_->GetContact("acme", c.id).ok());
  EXPECT_EQ(store_->ListEvents("acme", in.id)->size(), 1u);
  EXPECT_EQ(store_->ListTasks("acme", in.id)->size(), 1u);
  EXPECT_EQ(store_->ListHandoffs("acme", in.id)->size(), 1u);
  EXPECT_TRUE(store_->GetHandoff("acme", h.id).ok());
  EXPECT_EQ(store_->ListEntryCounts("acme", 0)->size(), 1u);

  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    EXPECT_EQ(tx.GetInquiry("other", in.id).status().code(),
                              absl::StatusCode::kNotFound);
                    EXPECT_TRUE(tx.ListHandoffs("other", in.id)->empty());
                    EXPECT_FALSE(tx.FindDedupe("other", "web", "k1")->has_value());
                    EXPECT_FALSE(tx.FindContactByEmail("other", c.email)->has_value());
                    EXPECT_FALSE(tx.FindContactByPhone("other", c.phone)->has_value());
                    return absl::OkStatus();
                  })
                  .ok());

  // A write naming another workspace cannot touch the row.
  Inquiry foreign = in;
  foreign.workspace = "other";
  foreign.message = "hijacked";
  EXPECT_EQ(store_->Write([&](WriteTx& tx) { return tx.UpdateInquiry(foreign); }).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetInquiry("acme", in.id)->message, in.message);
}

TEST_P(StoreContractTest, EventsGetSequenceNumbersPerInquiry) {
  Inquiry a = MakeInquiry("acme", kT0);
  Inquiry b = MakeInquiry("acme", kT0 + 1);
  ASSERT_TRUE(Put(a).ok());
  ASSERT_TRUE(Put(b).ok());
  auto append = [&](const Inquiry& i, const std::string& kind, nlohmann::json detail) {
    Event e{i.workspace, i.id, 0, clock_.Now(), Stage::kEnrich, kind, std::move(detail)};
    ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.AppendEvent(e); }).ok());
  };
  append(a, "received", {{"n", 1}, {"name", "Zoë ✓"}});
  append(a, "contact.linked", {{"nested", {{"k", {1, 2, 3}}}}});
  append(b, "received", nlohmann::json::object());
  // Two in one write; the seq a caller passes in is not what is stored.
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    Event e1{"acme", a.id, 77, kT0, Stage::kTrigger, "task.created"};
                    Event e2{"acme", a.id, 77, kT0, Stage::kTrigger, "owner.assigned"};
                    if (auto s = tx.AppendEvent(e1); !s.ok()) return s;
                    return tx.AppendEvent(e2);
                  })
                  .ok());
  auto seqs_of = [&](const Inquiry& i) {
    std::vector<int64_t> seqs;
    absl::StatusOr<std::vector<Event>> events = store_->ListEvents("acme", i.id);
    EXPECT_TRUE(events.ok()) << events.status();
    if (events.ok()) {
      for (const Event& e : *events) seqs.push_back(e.seq);
    }
    return seqs;
  };
  EXPECT_EQ(seqs_of(a), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(seqs_of(b), (std::vector<int64_t>{1}));

  absl::StatusOr<std::vector<Event>> events = store_->ListEvents("acme", a.id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[0].seq, 1);
  EXPECT_EQ((*events)[0].kind, "received");
  EXPECT_EQ((*events)[0].stage, Stage::kEnrich);
  EXPECT_EQ((*events)[0].at, kT0);
  EXPECT_EQ((*events)[0].workspace, "acme");
  EXPECT_EQ((*events)[0].inquiry_id, a.id);
  EXPECT_EQ((*events)[0].detail, (nlohmann::json{{"n", 1}, {"name", "Zoë ✓"}}));
  EXPECT_EQ((*events)[1].detail["nested"]["k"], (nlohmann::json{1, 2, 3}));
  EXPECT_EQ((*events)[3].kind, "owner.assigned");
  EXPECT_EQ((*events)[3].stage, Stage::kTrigger);
}

// A detail rendered before the write (RenderDetail, off the writer thread) is stored as the
// store would have rendered it; an event without one still has its detail rendered by the store.
TEST_P(StoreContractTest, AnEventRenderedBeforeTheWriteIsStoredLikeAnyOther) {
  Inquiry a = MakeInquiry("acme", kT0);
  ASSERT_TRUE(Put(a).ok());
  const nlohmann::json detail = {{"status", 201}, {"excerpt", "{\"id\":\"rec_77\"}"}, {"n", 1.5}};
  Event plain{"acme", a.id, 0, kT0, Stage::kTransfer, "handoff.confirmed", detail};
  Event rendered = plain;
  RenderDetail(rendered);
  EXPECT_TRUE(rendered.detail.is_null()) << "the writer would still free the JSON";
  EXPECT_EQ(rendered.detail_text, EventDetailText(detail));
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    RETURN_IF_ERROR(tx.AppendEvent(rendered));
                    return tx.AppendEvent(plain);
                  })
                  .ok());
  absl::StatusOr<std::vector<Event>> events = store_->ListEvents("acme", a.id);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].detail, detail);
  EXPECT_EQ((*events)[1].detail, detail);
}

TEST_P(StoreContractTest, EventSequenceStaysDenseWhenAWriteRollsBack) {
  Inquiry a = MakeInquiry("acme", kT0);
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.InsertInquiry(a); }).ok());
  auto append = [&](WriteTx& tx, const char* kind) {
    Event e{"acme", a.id, 0, kT0, Stage::kEntry, kind};
    return tx.AppendEvent(e);
  };
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return append(tx, "first"); }).ok());
  // A write function that appends, then fails: its event is rolled back with it.
  absl::Status failed = store_->Write([&](WriteTx& tx) -> absl::Status {
    if (auto s = append(tx, "rolled back"); !s.ok()) return s;
    return absl::InternalError("the stage changed its mind");
  });
  EXPECT_FALSE(failed.ok());
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return append(tx, "second"); }).ok());
  auto events = store_->ListEvents("acme", a.id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].kind, "second");
  EXPECT_EQ((*events)[1].seq, 2);
}

TEST_P(StoreContractTest, EventDetailWithInvalidUtf8IsStoredNotRejected) {
  Inquiry a = MakeInquiry("acme", kT0);
  ASSERT_TRUE(Put(a).ok());
  Event e{"acme", a.id, 0, kT0, Stage::kEntry, "received", {{"raw", "bad \xff\xfe bytes"}}};
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.AppendEvent(e); }).ok());
  absl::StatusOr<std::vector<Event>> events = store_->ListEvents("acme", a.id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_TRUE((*events)[0].detail["raw"].is_string());
}

TEST_P(StoreContractTest, DedupeRemembersTheFirstInquiryPerSourceAndKey) {
  std::optional<std::string> before, after, other_source;
  absl::Status second;
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    before = *tx.FindDedupe("acme", "stripe", "evt_1");
                    if (auto s = tx.InsertDedupe("acme", "stripe", "evt_1", "inq-1", kT0);
                        !s.ok()) {
                      return s;
                    }
                    after = *tx.FindDedupe("acme", "stripe", "evt_1");
                    other_source = *tx.FindDedupe("acme", "calendly", "evt_1");
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_FALSE(before.has_value());
  EXPECT_EQ(after, "inq-1");
  EXPECT_FALSE(other_source.has_value());
  EXPECT_EQ(store_
                ->Write([&](WriteTx& tx) {
                  return tx.InsertDedupe("acme", "stripe", "evt_1", "inq-2", kT0);
                })
                .code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    after = *tx.FindDedupe("acme", "stripe", "evt_1");
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(after, "inq-1");
}

TEST_P(StoreContractTest, ContactsAreFoundByEmailAndPhoneAndUniquePerWorkspace) {
  Contact c{"c1", "acme", "Ana", "ana@example.com", "+15551234567", kT0, kT0};
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.UpsertContact(c); }).ok());
  std::optional<Contact> by_email, by_phone, by_empty;
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    by_email = *tx.FindContactByEmail("acme", "ana@example.com");
                    by_phone = *tx.FindContactByPhone("acme", "+15551234567");
                    by_empty = *tx.FindContactByEmail("acme", "");
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(by_email.has_value());
  ASSERT_TRUE(by_phone.has_value());
  EXPECT_EQ(by_email->id, "c1");
  EXPECT_EQ(by_phone->id, "c1");
  EXPECT_FALSE(by_empty.has_value());

  // Upsert replaces by id.
  Contact changed = c;
  changed.name = "Ana Lima";
  changed.phone = "+15557654321";
  changed.updated_at = kT0 + 5;
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.UpsertContact(changed); }).ok());
  absl::StatusOr<Contact> got = store_->GetContact("acme", "c1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "Ana Lima");
  EXPECT_EQ(got->email, "ana@example.com");
  EXPECT_EQ(got->phone, "+15557654321");
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_EQ(got->updated_at, kT0 + 5);
  EXPECT_EQ(got->workspace, "acme");

  // Another contact may not take the same email or phone in this workspace…
  Contact dup_email{"c2", "acme", "X", "ana@example.com", "", kT0, kT0};
  Contact dup_phone{"c3", "acme", "Y", "", "+15557654321", kT0, kT0};
  EXPECT_EQ(store_->Write([&](WriteTx& tx) { return tx.UpsertContact(dup_email); }).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->Write([&](WriteTx& tx) { return tx.UpsertContact(dup_phone); }).code(),
            absl::StatusCode::kAlreadyExists);
  // …but may in another workspace, and any number of contacts may lack email or phone.
  Contact elsewhere{"c1", "other", "Z", "ana@example.com", "+15557654321", kT0, kT0};
  Contact blank1{"c4", "acme", "No email 1", "", "", kT0, kT0};
  Contact blank2{"c5", "acme", "No email 2", "", "", kT0, kT0};
  EXPECT_TRUE(store_->Write([&](WriteTx& tx) { return tx.UpsertContact(elsewhere); }).ok());
  EXPECT_TRUE(store_->Write([&](WriteTx& tx) { return tx.UpsertContact(blank1); }).ok());
  EXPECT_TRUE(store_->Write([&](WriteTx& tx) { return tx.UpsertContact(blank2); }).ok());
  EXPECT_EQ(store_->GetContact("other", "c1")->name, "Z");
  EXPECT_EQ(store_->GetContact("acme", "c1")->name, "Ana Lima");
}

TEST_P(StoreContractTest, TasksRoundTripInCreationOrder) {
  Inquiry in = MakeInquiry("acme", kT0);
  Task t2{"t2",   "acme",  in.id, "vip", "carol", "Send quote", kT0 + 2 * kMicrosPerHour,
          "open", kT0 + 10};
  Task t1{"t1",           "acme", in.id, "default", "bob", "Call back", kT0 + kMicrosPerHour,
          "acknowledged", kT0};
  Task unrelated{"t3", "acme", "other-inquiry", "default", "bob", "x", kT0, "open", kT0};
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    if (auto s = tx.InsertTask(t2); !s.ok()) return s;
                    if (auto s = tx.InsertTask(unrelated); !s.ok()) return s;
                    return tx.InsertTask(t1);
                  })
                  .ok());
  absl::StatusOr<std::vector<Task>> tasks = store_->ListTasks("acme", in.id);
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 2u);
  const Task& got = (*tasks)[0];
  EXPECT_EQ(got.id, "t1");
  EXPECT_EQ(got.workspace, "acme");
  EXPECT_EQ(got.inquiry_id, in.id);
  EXPECT_EQ(got.route, "default");
  EXPECT_EQ(got.owner, "bob");
  EXPECT_EQ(got.title, "Call back");
  EXPECT_EQ(got.due_at, kT0 + kMicrosPerHour);
  EXPECT_EQ(got.state, "acknowledged");
  EXPECT_EQ(got.created_at, kT0);
  EXPECT_EQ((*tasks)[1].id, "t2");
}

// The task lists (API, dashboard, `handoff tasks`): newest first across every state or within
// one, one owner's or everyone's, cut at the limit, ties on the creation time broken by id.
TEST_P(StoreContractTest, ListTasksByGivesTheNewestInEachStateAndOwnerWithinTheLimit) {
  // 30 tasks: states and owners in turn, created a second apart; t07 and t08 share a time.
  std::vector<Task> all;
  for (int i = 0; i < 30; ++i) {
    Task t{fmt::format("t{:02}", i),
           "acme",
           fmt::format("inquiry-{}", i),
           "default",
           i % 2 == 0 ? "ana" : "bob",
           "Call back",
           kT0,
           std::string(kTaskStates[i % 3]),
           kT0 + (i == 8 ? 7 : i) * kMicrosPerSecond};
    all.push_back(t);
  }
  Task elsewhere{"x1", "other", "inquiry-x", "default",          "ana",
                 "x",  kT0,     "open",      kT0 + kMicrosPerDay};
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    for (const Task& t : all) RETURN_IF_ERROR(tx.InsertTask(t));
                    return tx.InsertTask(elsewhere);
                  })
                  .ok());
  // What each list must hold, from the tasks themselves: newest first, then the greater id.
  auto want = [&](const std::string& state, const std::string& owner, size_t limit) {
    std::vector<Task> match;
    for (const Task& t : all) {
      if ((state.empty() || t.state == state) && (owner.empty() || t.owner == owner)) {
        match.push_back(t);
      }
    }
    std::sort(match.begin(), match.end(), [](const Task& a, const Task& b) {
      return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
    });
    std::vector<std::string> ids;
    for (size_t i = 0; i < match.size() && i < limit; ++i) ids.push_back(match[i].id);
    return ids;
  };
  auto got = [&](const std::string& state, const std::string& owner, int limit) {
    absl::StatusOr<std::vector<Task>> tasks = store_->ListTasksBy("acme", state, owner, limit);
    EXPECT_TRUE(tasks.ok()) << tasks.status();
    std::vector<std::string> ids;
    if (tasks.ok()) {
      for (const Task& t : *tasks) ids.push_back(t.id);
    }
    return ids;
  };
  for (const std::string state : {"", "open", "acknowledged", "done"}) {
    for (const std::string owner : {"", "ana", "bob"}) {
      for (int limit : {1, 4, 7, 100}) {
        SCOPED_TRACE(fmt::format("state '{}' owner '{}' limit {}", state, owner, limit));
        EXPECT_EQ(got(state, owner, limit), want(state, owner, limit));
      }
    }
  }
  // Spot checks that the expectation above is not vacuous: the tie, and a whole list.
  EXPECT_EQ(got("", "", 4), (std::vector<std::string>{"t29", "t28", "t27", "t26"}));
  EXPECT_EQ(got("", "", 30).back(), "t00");
  EXPECT_EQ(got("", "", 30)[21], "t08");  // created with t07, and the greater id
  EXPECT_EQ(got("", "", 30)[22], "t07");
  EXPECT_EQ(got("open", "ana", 100), (std::vector<std::string>{"t24", "t18", "t12", "t06", "t00"}));
  EXPECT_TRUE(got("open", "carol", 100).empty());
  absl::StatusOr<std::vector<Task>> full = store_->ListTasksBy("acme", "done", "bob", 1);
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->size(), 1u);
  EXPECT_EQ((*full)[0].id, "t29");
  EXPECT_EQ((*full)[0].inquiry_id, "inquiry-29");
  EXPECT_EQ((*full)[0].owner, "bob");
  EXPECT_EQ((*full)[0].state, "done");
  EXPECT_EQ((*full)[0].created_at, kT0 + 29 * kMicrosPerSecond);
}

// The leak rules, the scorecard and the map read a window of outcomes: each with its first task
// and every handoff, every field they read taken from its own column.
TEST_P(StoreContractTest, InquiryOutcomesCarryTheTaskAndHandoffFieldsTheRulesRead) {
  Inquiry in = MakeInquiry("acme", kT0);
  Task first{"t1",           "acme", in.id, "default", "bob", "Call back", kT0 + kMicrosPerHour,
             "acknowledged", kT0 + 1};
  first.acknowledged_at = kT0 + 2;
  first.done_at = kT0 + 3;
  first.missing = {"contact.phone|contact.email", "fields.address"};
  Task later{"t2", "acme", in.id, "default", "carol", "Later", kT0, "open", kT0 + 9};
  Handoff sent = MakeHandoff("acme", in.id, "crm", "confirmed", kT0);
  sent.attempts = 2;
  sent.created_at = kT0 + 4;
  sent.confirmed_at = kT0 + 5;
  sent.last_error = "HTTP 503 at the first attempt";
  Handoff told = MakeHandoff("acme", in.id, "slack", "dead", kT0);
  told.purpose = "notify";
  told.attempts = 7;
  told.created_at = kT0 + 6;
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    RETURN_IF_ERROR(tx.InsertInquiry(in));
                    RETURN_IF_ERROR(tx.InsertTask(later));
                    RETURN_IF_ERROR(tx.InsertTask(first));
                    RETURN_IF_ERROR(tx.InsertHandoff(told));
                    return tx.InsertHandoff(sent);
                  })
                  .ok());
  absl::StatusOr<std::vector<InquiryOutcome>> outcomes =
      store_->ListInquiryOutcomes("acme", kT0 - 1, kT0 + 1);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_EQ(outcomes->size(), 1u);
  const InquiryOutcome& o = (*outcomes)[0];
  EXPECT_EQ(o.id, in.id);
  ASSERT_TRUE(o.task.has_value());
  EXPECT_EQ(o.task->id, "t1");
  EXPECT_EQ(o.task->owner, "bob");
  EXPECT_EQ(o.task->state, "acknowledged");
  EXPECT_EQ(o.task->due_at, kT0 + kMicrosPerHour);
  EXPECT_EQ(o.task->created_at, kT0 + 1);
  EXPECT_EQ(o.task->acknowledged_at, kT0 + 2);
  EXPECT_EQ(o.task->done_at, kT0 + 3);
  EXPECT_EQ(o.task->missing, first.missing);
  ASSERT_EQ(o.handoffs.size(), 2u);  // in creation order
  const OutcomeHandoff& h = o.handoffs[0];
  EXPECT_EQ(h.id, sent.id);
  EXPECT_EQ(h.destination, "crm");
  EXPECT_EQ(h.state, "confirmed");
  EXPECT_EQ(h.purpose, "deliver");
  EXPECT_EQ(h.last_error, "HTTP 503 at the first attempt");
  EXPECT_EQ(h.attempts, 2);
  EXPECT_EQ(h.created_at, kT0 + 4);
  EXPECT_EQ(h.confirmed_at, kT0 + 5);
  EXPECT_EQ(o.handoffs[1].id, told.id);
  EXPECT_EQ(o.handoffs[1].destination, "slack");
  EXPECT_EQ(o.handoffs[1].state, "dead");
  EXPECT_EQ(o.handoffs[1].purpose, "notify");
  EXPECT_EQ(o.handoffs[1].attempts, 7);
  EXPECT_EQ(o.handoffs[1].confirmed_at, 0);
}

// An inquiry's route is written by Trigger alone: by the insert of an inquiry routed inside its
// ingest write, or by SetInquiryTriggered. Later changes of the inquiry keep it, and every read
// of the inquiry (one, a list, the outcomes the leak rules and the scorecard read) returns it.
TEST_P(StoreContractTest, AnInquirysRouteIsWrittenByTriggerAloneAndReadEverywhere) {
  Inquiry inline_routed = MakeInquiry("acme", kT0), staged = MakeInquiry("acme", kT0 + 1);
  Inquiry unrouted = MakeInquiry("acme", kT0 + 2), fresh = MakeInquiry("acme", kT0 + 3);
  inline_routed.stage = Stage::kTrigger;
  inline_routed.status = "routed";
  inline_routed.route = "vip";
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    for (const Inquiry* i : {&inline_routed, &staged, &unrouted, &fresh}) {
                      RETURN_IF_ERROR(tx.InsertInquiry(*i));
                    }
                    RETURN_IF_ERROR(tx.SetInquiryTriggered("acme", staged.id, "assigned", "crm"));
                    return tx.SetInquiryTriggered("acme", unrouted.id, "unrouted", "");
                  })
                  .ok());
  ExpectSameInquiry(inline_routed, *store_->GetInquiry("acme", inline_routed.id));
  Inquiry want = staged;
  want.stage = Stage::kTrigger;
  want.status = "assigned";
  want.route = "crm";
  ExpectSameInquiry(want, *store_->GetInquiry("acme", staged.id));
  EXPECT_EQ(store_->GetInquiry("acme", unrouted.id)->status, "unrouted");
  EXPECT_EQ(store_->GetInquiry("acme", unrouted.id)->route, "");

  // A thread's update and the later stages' progress leave the route alone.
  Inquiry changed = want;
  changed.message = "a later message";
  changed.route = "not-this";
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    RETURN_IF_ERROR(tx.UpdateInquiry(changed));
                    return tx.SetInquiryProgress("acme", staged.id, Stage::kTransfer, "delivered");
                  })
                  .ok());
  want.message = changed.message;
  want.stage = Stage::kTransfer;
  want.status = "delivered";
  ExpectSameInquiry(want, *store_->GetInquiry("acme", staged.id));

  for (const std::string workspace : {"other", "acme"}) {
    const std::string id = workspace == "acme" ? NewUuidV7(kT0) : staged.id;
    EXPECT_EQ(store_
                  ->Write([&](WriteTx& tx) {
                    return tx.SetInquiryTriggered(workspace, id, "routed", "elsewhere");
                  })
                  .code(),
              absl::StatusCode::kNotFound)
        << workspace;
  }
  EXPECT_EQ(store_->GetInquiry("acme", staged.id)->route, "crm");

  absl::StatusOr<std::vector<Inquiry>> listed = store_->ListInquiries("acme", InquiryFilter{});
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::map<std::string, std::string> listed_routes;
  for (const Inquiry& i : *listed) listed_routes[i.id] = i.route;
  EXPECT_EQ(listed_routes,
            (std::map<std::string, std::string>{
                {inline_routed.id, "vip"}, {staged.id, "crm"}, {unrouted.id, ""}, {fresh.id, ""}}));
  InquiryFilter by_route;
  by_route.route = "crm";
  listed = store_->ListInquiries("acme", by_route);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, staged.id);
  // With the source too, as the dashboard's scorecard links a path.
  by_route.source = "web";
  EXPECT_EQ(store_->ListInquiries("acme", by_route)->size(), 1u);
  by_route.source = "elsewhere";
  EXPECT_TRUE(store_->ListInquiries("acme", by_route)->empty());
  absl::StatusOr<std::vector<InquiryOutcome>> outcomes =
      store_->ListInquiryOutcomes("acme", kT0, kT0 + 4);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_EQ(outcomes->size(), 4u);
  EXPECT_EQ((*outcomes)[0].route, "vip");
  EXPECT_EQ((*outcomes)[1].route, "crm");
  EXPECT_EQ((*outcomes)[2].route, "");
  EXPECT_EQ((*outcomes)[3].route, "");
}

// A database from before inquiries kept their route gains the column, and each inquiry Trigger
// had seen takes the route its first "routed" event names: a detail that is not JSON, or whose
// route is not text, gives "", and lead data in the detail (a NUL) does not stop the read.
TEST_P(StoreContractTest, AnOlderDatabaseTakesEachInquirysRouteFromItsFirstRoutedEvent) {
  std::vector<Inquiry> in;
  for (int k = 0; k < 7; ++k) {
    in.push_back(MakeInquiry(k == 6 ? "b" : "acme", kT0 + k));
    in.back().stage = Stage::kTrigger;
    in.back().status = "routed";
  }
  in[5].stage = Stage::kEntry;  // Trigger never saw it
  in[5].status = "received";
  auto routed = [](const Inquiry& i, nlohmann::json detail) {
    return Event{i.workspace, i.id, 0, i.received_at, Stage::kTrigger, "routed", std::move(detail)};
  };
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    for (const Inquiry& i : in) {
                      RETURN_IF_ERROR(tx.InsertInquiry(i));
                      RETURN_IF_ERROR(tx.AppendEvent(Event{i.workspace,
                                                           i.id,
                                                           0,
                                                           i.received_at,
                                                           Stage::kEntry,
                                                           "received",
                                                           {{"source", "web"}}}));
                    }
                    RETURN_IF_ERROR(tx.AppendEvent(routed(
                        in[0], {{"route", "vip"}, {"task", {{"title", std::string("a\0b", 3)}}}})));
                    RETURN_IF_ERROR(tx.AppendEvent(routed(in[1], {{"route", "first"}})));
                    RETURN_IF_ERROR(tx.AppendEvent(routed(in[1], {{"route", "second"}})));
                    RETURN_IF_ERROR(tx.AppendEvent(routed(in[2], {{"route", "hand-edited"}})));
                    RETURN_IF_ERROR(tx.AppendEvent(routed(in[3], {{"route", 7}})));
                    RETURN_IF_ERROR(tx.AppendEvent(Event{"acme",
                                                         in[4].id,
                                                         0,
                                                         in[4].received_at,
                                                         Stage::kTrigger,
                                                         "unrouted",
                                                         {{"reason", "none"}}}));
                    return tx.AppendEvent(routed(in[6], {{"route", "b-route"}}));
                  })
                  .ok());
  store_.reset();
  // The database as the build before the route's migration (SQLite 16, PostgreSQL 7) left it;
  // on SQLite that is also before the bodies' own table (17), on PostgreSQL before handoffs_dead
  // (8).
  const std::string before_route = GetParam() == "sqlite"
                                       ? std::string("ALTER TABLE inquiries DROP COLUMN route; ") +
                                             testing::kSqliteBodiesBackInTheRow +
                                             " DELETE FROM schema_migrations WHERE version >= 16;"
                                       : std::string("ALTER TABLE inquiries DROP COLUMN route; ") +
                                             testing::kPgHandoffsDueBack +
                                             " DELETE FROM schema_migrations WHERE version >= 7;";
  absl::Status older =
      testing::StoreBackends()
          .at(GetParam())
          .exec(url_,
                fmt::format("UPDATE events SET detail = 'not json {{' WHERE inquiry_id = '{}' AND "
                            "kind = 'routed'; {}",
                            in[2].id, before_route));
  ASSERT_TRUE(older.ok()) << older;
  absl::StatusOr<std::unique_ptr<Store>> reopened = OpenStore(url_, &clock_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  store_ = std::move(*reopened);
  const std::vector<std::string> want = {"vip", "first", "", "", "", "", "b-route"};
  for (size_t k = 0; k < in.size(); ++k) {
    absl::StatusOr<Inquiry> got = store_->GetInquiry(in[k].workspace, in[k].id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->route, want[k]) << k;
    in[k].route = want[k];
    ExpectSameInquiry(in[k], *got);
  }
}

// The leak monitor reads a window a page at a time. Inquiries received at the same instant on
// either side of a page boundary are each read once, with their own task and handoffs; no page
// is larger than asked; the window's bounds hold; an error from the caller ends the scan.
TEST_P(StoreContractTest, ScanInquiryOutcomesReadsEachInquiryOnceAPageAtATime) {
  constexpr int kInquiries = 23;
  std::vector<Inquiry> inquiries;
  for (int k = 0; k < kInquiries; ++k) {
    inquiries.push_back(MakeInquiry("acme", kT0 + k / 3));  // three at each instant
  }
  Inquiry before = MakeInquiry("acme", kT0 - 1), elsewhere = MakeInquiry("b", kT0 + 1);
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    // Inserted out of time order, so that neither rowid nor id follows it.
                    for (int k = kInquiries - 1; k >= 0; --k) {
                      const Inquiry& i = inquiries[(k * 7) % kInquiries];
                      RETURN_IF_ERROR(tx.InsertInquiry(i));
                      RETURN_IF_ERROR(tx.InsertTask(
                          {"task-" + i.id, "acme", i.id, "r", "ana", "t", kT0, "open", kT0}));
                      Handoff h = MakeHandoff("acme", i.id, "crm", "pending", i.received_at);
                      h.created_at = i.received_at;
                      RETURN_IF_ERROR(tx.InsertHandoff(h));
                    }
                    RETURN_IF_ERROR(tx.InsertInquiry(before));
                    return tx.InsertInquiry(elsewhere);
                  })
                  .ok());
  for (int page_size : {1, 2, 3, 4, 23, 100}) {
    SCOPED_TRACE(fmt::format("page size {}", page_size));
    std::vector<InquiryOutcome> read;
    int pages = 0;
    absl::Status scanned = store_->ScanInquiryOutcomes(
        "acme", kT0, kT0 + kInquiries / 3 + 1, page_size, [&](std::vector<InquiryOutcome>& page) {
          ++pages;
          EXPECT_FALSE(page.empty());
          EXPECT_LE(page.size(), static_cast<size_t>(page_size));
          std::move(page.begin(), page.end(), std::back_inserter(read));
          return absl::OkStatus();
        });
    ASSERT_TRUE(scanned.ok()) << scanned;
    EXPECT_EQ(pages, (kInquiries + page_size - 1) / page_size);
    ASSERT_EQ(read.size(), static_cast<size_t>(kInquiries));
    std::set<std::string> ids;
    for (size_t k = 0; k < read.size(); ++k) {
      const InquiryOutcome& o = read[k];
      EXPECT_TRUE(ids.insert(o.id).second) << o.id << " read twice";
      if (k > 0) {
        EXPECT_LE(read[k - 1].received_at, o.received_at) << k;
      }
      ASSERT_TRUE(o.task.has_value()) << o.id;
      EXPECT_EQ(o.task->id, "task-" + o.id);
      ASSERT_EQ(o.handoffs.size(), 1u) << o.id;
      EXPECT_EQ(o.handoffs[0].created_at, o.received_at);
    }
    for (const Inquiry& i : inquiries) EXPECT_EQ(ids.count(i.id), 1u) << i.id;
  }
  // A window that starts and ends inside the instants of three: [kT0 + 2, kT0 + 5).
  std::vector<std::string> inside;
  ASSERT_TRUE(store_
                  ->ScanInquiryOutcomes("acme", kT0 + 2, kT0 + 5, 2,
                                        [&](std::vector<InquiryOutcome>& page) {
                                          for (const auto& o : page) inside.push_back(o.id);
                                          return absl::OkStatus();
                                        })
                  .ok());
  EXPECT_EQ(inside.size(), 9u);
  // The caller's error stops the scan at the first page and comes back unchanged.
  int calls = 0;
  absl::Status stopped = store_->ScanInquiryOutcomes("acme", kT0, kT0 + kInquiries, 2,
                                                     [&calls](std::vector<InquiryOutcome>&) {
                                                       ++calls;
                                                       return absl::CancelledError("enough");
                                                     });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(stopped, absl::CancelledError("enough"));
  EXPECT_FALSE(
      store_->ScanInquiryOutcomes("acme", kT0, kT0 + 1, 0, [](auto&) { return absl::OkStatus(); })
          .ok());
}

// The dispatcher builds a claimed batch's deliveries from one ReadInquiryContexts call: each
// inquiry whole, with its first task and its contact, every read scoped to its workspace.
TEST_P(StoreContractTest, ReadInquiryContextsGivesEachInquiryItsFirstTaskAndContact) {
  Inquiry with_all = MakeInquiry("acme", kT0);
  with_all.contact_id = "c1";
  Inquiry bare = MakeInquiry("acme", kT0 + 1);
  bare.contact_id = "";
  Inquiry contact_gone = MakeInquiry("acme", kT0 + 2);
  contact_gone.contact_id = "c-deleted";
  Inquiry elsewhere = MakeInquiry("b", kT0 + 3);
  elsewhere.contact_id = "c1";  // c1 is acme's: not this workspace's contact
  Contact c1{"c1", "acme", "Ana", "ana@example.com", "+15551234567", kT0, kT0 + 7};
  Task later{"t-later",    "acme",  with_all.id, "vip",   "carol",
             "Send quote", kT0 + 9, "open",      kT0 + 10};
  Task first{"t-first",   "acme",  with_all.id,    "default", "bob",
             "Call back", kT0 + 5, "acknowledged", kT0};
  Task other_inquiry{"t-other", "acme", bare.id + "x", "default", "bob", "x", kT0, "open", 0};
  Task other_workspace{"t-b", "b", bare.id, "default", "bob", "y", kT0, "open", 0};
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    for (const Inquiry* i : {&with_all, &bare, &contact_gone, &elsewhere}) {
                      if (auto s = tx.InsertInquiry(*i); !s.ok()) return s;
                    }
                    if (auto s = tx.UpsertContact(c1); !s.ok()) return s;
                    for (const Task* t : {&later, &other_inquiry, &other_workspace, &first}) {
                      if (auto s = tx.InsertTask(*t); !s.ok()) return s;
                    }
                    return absl::OkStatus();
                  })
                  .ok());

  absl::StatusOr<std::map<InquiryRef, InquiryContext>> got = store_->ReadInquiryContexts({
      {"acme", with_all.id},
      {"acme", bare.id},
      {"acme", with_all.id},  // two handoffs of one inquiry in the batch
      {"acme", contact_gone.id},
      {"b", elsewhere.id},
      {"b", with_all.id},  // the id exists, in another workspace
      {"acme", "no-such-inquiry"},
  });
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 4u);
  EXPECT_FALSE(got->contains(InquiryRef{"b", with_all.id}));
  EXPECT_FALSE(got->contains(InquiryRef{"acme", "no-such-inquiry"}));

  // A delivery never sends the body as received, so the context does not read it.
  for (Inquiry* i : {&with_all, &bare}) {
    i->raw_payload.clear();
    i->raw_content_type.clear();
  }
  const InquiryContext& all = got->at(InquiryRef{"acme", with_all.id});
  ExpectSameInquiry(with_all, all.inquiry);
  ASSERT_TRUE(all.task.has_value());
  EXPECT_EQ(all.task->id, "t-first");
  EXPECT_EQ(all.task->owner, "bob");
  EXPECT_EQ(all.task->state, "acknowledged");
  ASSERT_TRUE(all.contact.has_value());
  EXPECT_EQ(all.contact->id, "c1");
  EXPECT_EQ(all.contact->name, "Ana");
  EXPECT_EQ(all.contact->updated_at, kT0 + 7);

  const InquiryContext& none = got->at(InquiryRef{"acme", bare.id});
  ExpectSameInquiry(bare, none.inquiry);
  EXPECT_FALSE(none.task.has_value());  // t-b has its id, in workspace b
  EXPECT_FALSE(none.contact.has_value());
  EXPECT_FALSE(got->at(InquiryRef{"acme", contact_gone.id}).contact.has_value());
  const InquiryContext& b = got->at(InquiryRef{"b", elsewhere.id});
  EXPECT_EQ(b.inquiry.workspace, "b");
  EXPECT_FALSE(b.contact.has_value());

  absl::StatusOr<std::map<InquiryRef, InquiryContext>> empty = store_->ReadInquiryContexts({});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
}

TEST_P(StoreContractTest, HandoffsRoundTripAndTransactionsSeeTheirOwnWrites) {
  Inquiry in = MakeInquiry("acme", kT0);
  Handoff h = MakeHandoff("acme", in.id, "crm", "pending", kT0);
  h.attempts = 2;
  h.confirmed_at = kT0 + 9;
  h.remote_id = "crm-77";
  h.last_status = 503;
  h.last_error = "upstream unavailable";
  h.last_response_excerpt = "{\"error\":\"busy\"}";
  bool saw_inquiry = false;
  size_t saw_handoffs = 0;
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    if (auto s = tx.InsertInquiry(in); !s.ok()) return s;
                    if (auto s = tx.InsertHandoff(h); !s.ok()) return s;
                    saw_inquiry = tx.GetInquiry("acme", in.id).ok();
                    saw_handoffs = tx.ListHandoffs("acme", in.id)->size();
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(saw_inquiry);
  EXPECT_EQ(saw_handoffs, 1u);
  absl::StatusOr<Handoff> got = store_->GetHandoff("acme", h.id);
  ASSERT_TRUE(got.ok());
  ExpectSameHandoff(h, *got);
  absl::StatusOr<std::vector<Handoff>> list = store_->ListHandoffs("acme", in.id);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  ExpectSameHandoff(h, (*list)[0]);
}

// Settling an inquiry counts its handoffs by state inside the write (Dispatcher::Record).
TEST_P(StoreContractTest, TallyHandoffsCountsOneInquirysHandoffsByWhereTheyStand) {
  std::vector<Handoff> handoffs = {
      MakeHandoff("acme", "i1", "crm", "confirmed", kT0),
      MakeHandoff("acme", "i1", "sheet", "confirmed", kT0 + 1),
      MakeHandoff("acme", "i1", "sms", "dead", kT0 + 2),
      MakeHandoff("acme", "i1", "chat", "pending", kT0 + 3),
      MakeHandoff("acme", "i1", "mail", "failed", kT0 + 4),
      MakeHandoff("acme", "i1", "slack", "delivering", kT0 + 5),
      MakeHandoff("acme", "i2", "crm", "dead", kT0 + 6),  // another inquiry
      MakeHandoff("b", "i1", "crm", "pending", kT0 + 7),  // same id, another workspace
  };
  for (const Handoff& h : handoffs) ASSERT_TRUE(PutHandoff(h).ok());
  std::map<std::string, HandoffTally> got;
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    for (const char* id : {"i1", "i2", "none"}) {
                      absl::StatusOr<HandoffTally> t = tx.TallyHandoffs("acme", id);
                      if (!t.ok()) return t.status();
                      got[id] = *t;
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(got["i1"].confirmed, 2);
  EXPECT_EQ(got["i1"].dead, 1);
  EXPECT_EQ(got["i1"].unsettled, 3);
  EXPECT_EQ(got["i2"].confirmed, 0);
  EXPECT_EQ(got["i2"].dead, 1);
  EXPECT_EQ(got["i2"].unsettled, 0);
  EXPECT_EQ(got["none"].confirmed + got["none"].dead + got["none"].unsettled, 0);
}

TEST_P(StoreContractTest, ClaimedWorkIsNotClaimedAgainUntilItsLeaseExpires) {
  WorkItem a = Enqueue(MakeWork("acme", "i1", Stage::kEnrich, kT0));
  WorkItem b = Enqueue(MakeWork("acme", "i2", Stage::kEnrich, kT0 + 1));
  WorkItem c = Enqueue(MakeWork("acme", "i3", Stage::kEnrich, kT0 + 2));
  WorkItem later = Enqueue(MakeWork("acme", "i4", Stage::kEnrich, kT0 + kMicrosPerHour));
  Enqueue(MakeWork("acme", "i5", Stage::kTrigger, kT0));

  Micros now = clock_.Now() + 10;
  absl::StatusOr<std::vector<WorkItem>> first = store_->ClaimWork(Stage::kEnrich, 2, now, kLease);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].inquiry_id, a.inquiry_id);
  EXPECT_EQ((*first)[1].inquiry_id, b.inquiry_id);
  EXPECT_GT((*first)[1].id, (*first)[0].id) << "the store numbers work in the order it is queued";
  EXPECT_EQ((*first)[0].inquiry_id, "i1");
  EXPECT_EQ((*first)[0].workspace, "acme");
  EXPECT_EQ((*first)[0].stage, Stage::kEnrich);
  EXPECT_EQ((*first)[0].available_at, kT0);
  EXPECT_FALSE((*first)[0].lease_token.empty());
  EXPECT_NE((*first)[0].lease_token, (*first)[1].lease_token);

  absl::StatusOr<std::vector<WorkItem>> second = store_->ClaimWork(Stage::kEnrich, 10, now, kLease);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].inquiry_id, c.inquiry_id);
  EXPECT_TRUE(store_->ClaimWork(Stage::kEnrich, 10, now, kLease)->empty());

  // After the lease runs out, the items are claimable again, with new tokens.
  clock_.Advance(kLease + 20);
  absl::StatusOr<std::vector<WorkItem>> again =
      store_->ClaimWork(Stage::kEnrich, 10, clock_.Now(), kLease);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 3u);
  EXPECT_NE((*again)[0].lease_token, (*first)[0].lease_token);
  for (const WorkItem& w : *again) EXPECT_NE(w.inquiry_id, later.inquiry_id);

  // Work of another stage is separate.
  EXPECT_EQ(store_->ClaimWork(Stage::kTrigger, 10, clock_.Now(), kLease)->size(), 1u);
  EXPECT_TRUE(store_->ClaimWork(Stage::kEnrich, 0, clock_.Now(), kLease)->empty());
}

TEST_P(StoreContractTest, CompletingWorkIsFencedOnTheLeaseToken) {
  Enqueue(MakeWork("acme", "i1", Stage::kEnrich, kT0));
  WorkItem stale = store_->ClaimWork(Stage::kEnrich, 1, kT0, kLease)->at(0);
  WorkItem fresh = store_->ClaimWork(Stage::kEnrich, 1, kT0 + kLease + 1, kLease)->at(0);
  ASSERT_EQ(stale.id, fresh.id);

  // The zombie's completion is refused and changes nothing, its other writes included.
  Inquiry side = MakeInquiry("acme", kT0);
  absl::Status zombie = store_->Write([&](WriteTx& tx) -> absl::Status {
    if (auto s = tx.InsertInquiry(side); !s.ok()) return s;
    return tx.CompleteWork(stale);
  });
  EXPECT_EQ(zombie.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store_->GetInquiry("acme", side.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Depths()["work.enrich"], 1);

  // Nor can it be completed without a lease token.
  WorkItem unclaimed = fresh;
  unclaimed.lease_token = "";
  EXPECT_EQ(Complete(unclaimed).code(), absl::StatusCode::kAborted);

  EXPECT_TRUE(Complete(fresh).ok());
  EXPECT_EQ(Depths()["work.enrich"], 0);
  EXPECT_TRUE(store_->ClaimWork(Stage::kEnrich, 10, kT0 + 10 * kLease, kLease)->empty());
  // Completing twice is refused: the claim ended with the first completion.
  EXPECT_EQ(Complete(fresh).code(), absl::StatusCode::kAborted);
}

TEST_P(StoreContractTest, ReleasedWorkBecomesAvailableAtTheGivenTime) {
  Enqueue(MakeWork("acme", "i1", Stage::kEnrich, kT0));
  WorkItem claimed = store_->ClaimWork(Stage::kEnrich, 1, kT0, kLease)->at(0);
  EXPECT_EQ(claimed.attempts, 0);
  const Micros retry_at = kT0 + 10 * kMicrosPerSecond;
  ASSERT_TRUE(store_->ReleaseWork(claimed, retry_at).ok());

  EXPECT_TRUE(store_->ClaimWork(Stage::kEnrich, 1, kT0 + 1, kLease)->empty());
  EXPECT_TRUE(store_->ClaimWork(Stage::kEnrich, 1, retry_at - 1, kLease)->empty());
  Barrier();
  EXPECT_EQ(*store_->NextAvailable(Stage::kEnrich), retry_at);

  absl::StatusOr<std::vector<WorkItem>> again =
      store_->ClaimWork(Stage::kEnrich, 1, retry_at, kLease);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].id, claimed.id);
  EXPECT_EQ((*again)[0].available_at, retry_at);
  EXPECT_EQ((*again)[0].attempts, 1);  // a release counts as an attempt
  EXPECT_NE((*again)[0].lease_token, claimed.lease_token);

  // The released token is dead: it can neither complete nor release again.
  EXPECT_EQ(Complete(claimed).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store_->ReleaseWork(claimed, kT0).code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(Complete((*again)[0]).ok());
}

TEST_P(StoreContractTest, ConcurrentClaimersClaimEachItemExactlyOnce) {
  constexpr int kItems = 600;
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    for (int i = 0; i < kItems; ++i) {
                      WorkItem w = MakeWork("acme", "i" + std::to_string(i), Stage::kEnrich, kT0);
                      if (auto s = tx.EnqueueWork(w); !s.ok()) return s;
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  std::mutex mu;
  std::map<int64_t, int> claims;
  std::atomic<int> completed{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      while (true) {
        absl::StatusOr<std::vector<WorkItem>> got =
            store_->ClaimWork(Stage::kEnrich, 16, kT0, kMicrosPerHour);
        ASSERT_TRUE(got.ok());
        if (got->empty()) return;
        for (const WorkItem& w : *got) {
          {
            std::lock_guard<std::mutex> lock(mu);
            ++claims[w.id];
          }
          store_->SubmitWrite([w](WriteTx& tx) { return tx.CompleteWork(w); },
                              [&](absl::Status s) {
                                EXPECT_TRUE(s.ok()) << s;
                                completed.fetch_add(1);
                              });
        }
      }
    });
  }
  for (std::thread& t : workers) t.join();
  Barrier();
  EXPECT_EQ(claims.size(), static_cast<size_t>(kItems));
  for (const auto& [id, n] : claims) EXPECT_EQ(n, 1) << "item " << id;
  EXPECT_EQ(completed.load(), kItems);
  EXPECT_EQ(Depths()["work.enrich"], 0);
}

TEST_P(StoreContractTest, ReviveDeadHandoffsPicksByFilterAndResetsTheSchedule) {
  Handoff crm_old = MakeHandoff("acme", "i1", "crm", "dead", kT0);
  crm_old.attempts = 8;
  crm_old.last_error = "HTTP 500";
  crm_old.created_at = kT0 - kMicrosPerHour;
  Handoff crm_new = MakeHandoff("acme", "i2", "crm", "dead", kT0 + 1);
  Handoff slack = MakeHandoff("acme", "i3", "slack", "dead", kT0 + 2);
  Handoff alive = MakeHandoff("acme", "i4", "crm", "failed", kT0 + 3);
  Handoff other = MakeHandoff("b", "i5", "crm", "dead", kT0 + 4);
  for (const Handoff& h : {crm_old, crm_new, slack, alive, other}) ASSERT_TRUE(PutHandoff(h).ok());
  auto revive = [&](HandoffReplayFilter f) {
    std::vector<Handoff> got;
    EXPECT_TRUE(store_
                    ->Write([&](WriteTx& tx) -> absl::Status {
                      auto r = tx.ReviveDeadHandoffs("acme", f, kT0 + kMicrosPerMinute);
                      if (!r.ok()) return r.status();
                      got = *r;
                      return absl::OkStatus();
                    })
                    .ok());
    return got;
  };
  // By time range: only the old one.
  HandoffReplayFilter old_only;
  old_only.created_until = kT0 - 1;
  auto got = revive(old_only);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, crm_old.id);
  EXPECT_EQ(got[0].attempts, 8) << "returned as it was when dead";
  EXPECT_EQ(got[0].last_error, "HTTP 500");
  auto h = store_->GetHandoff("acme", crm_old.id);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->state, "pending");
  EXPECT_EQ(h->attempts, 0);
  EXPECT_EQ(h->next_attempt_at, kT0 + kMicrosPerMinute);
  EXPECT_EQ(h->last_error, "");
  // By destination, in id order, with a cursor and a limit; never the live or other
  // workspace's handoffs.
  HandoffReplayFilter crm;
  crm.destination = "crm";
  crm.limit = 1;
  got = revive(crm);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, crm_new.id);
  EXPECT_TRUE(revive(crm).empty());
  HandoffReplayFilter one;
  one.handoff_id = slack.id;
  one.after_id = slack.id;
  EXPECT_TRUE(revive(one).empty()) << "the cursor excludes it";
  one.after_id.clear();
  EXPECT_EQ(revive(one).size(), 1u);
  EXPECT_EQ(store_->GetHandoff("b", other.id)->state, "dead");
  EXPECT_EQ(store_->GetHandoff("acme", alive.id)->state, "failed");
  // Revived handoffs are claimable again.
  std::vector<std::string> tokens;
  auto claimed = store_->ClaimHandoffs(10, kT0 + kMicrosPerMinute, kLease, &tokens, {});
  ASSERT_TRUE(claimed.ok());
  EXPECT_EQ(claimed->size(), 4u);
}

TEST_P(StoreContractTest, ClaimHandoffsSkipsTheDestinationsItIsToldTo) {
  Handoff crm = MakeHandoff("acme", "i1", "crm", "pending", kT0 - 2);
  Handoff slack = MakeHandoff("acme", "i1", "slack", "pending", kT0 - 1);
  Handoff sms = MakeHandoff("acme", "i2", "sms", "failed", kT0);
  for (const Handoff& h : {crm, slack, sms}) ASSERT_TRUE(PutHandoff(h).ok());
  std::vector<std::string> tokens;
  auto got = store_->ClaimHandoffs(10, kT0, kLease, &tokens, {"crm", "sms"});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, slack.id);
  // Skipped ones stay claimable.
  got = store_->ClaimHandoffs(10, kT0, kLease, &tokens, {});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 2u);
}

// Claims read one destination at a time (so a closed gate's backlog is never walked), yet hand
// out the earliest due handoffs of all open destinations together, in time order, and only of
// the workspace asked for.
TEST_P(StoreContractTest, ClaimHandoffsTakesTheEarliestAcrossDestinationsOfOneWorkspace) {
  std::vector<Handoff> crm;
  for (int i = 0; i < 3; ++i) {
    crm.push_back(MakeHandoff("acme", "i1", "crm", "pending", kT0 - 10 + 2 * i));  // -10 -8 -6
  }
  Handoff slack_first = MakeHandoff("acme", "i2", "slack", "failed", kT0 - 9);
  Handoff slack_second = MakeHandoff("acme", "i2", "slack", "pending", kT0 - 7);
  Handoff down = MakeHandoff("acme", "i3", "down", "pending", kT0 - 20);
  Handoff elsewhere = MakeHandoff("b", "i4", "crm", "pending", kT0 - 30);
  Handoff later = MakeHandoff("acme", "i5", "crm", "pending", kT0 + kMicrosPerMinute);
  for (const Handoff& h : crm) ASSERT_TRUE(PutHandoff(h).ok());
  for (const Handoff& h : {slack_first, slack_second, down, elsewhere, later}) {
    ASSERT_TRUE(PutHandoff(h).ok());
  }
  // The earliest of the workspace's destinations (closed gates are the caller's business);
  // another workspace's handoffs do not count.
  EXPECT_EQ(*store_->NextAvailable(Stage::kTransfer, "acme"), std::optional<Micros>(kT0 - 20));
  EXPECT_EQ(*store_->NextAvailable(Stage::kTransfer, "b"), std::optional<Micros>(kT0 - 30));
  EXPECT_EQ(*store_->NextAvailable(Stage::kTransfer, "none"), std::nullopt);

  std::vector<std::string> tokens;
  auto got = store_->ClaimHandoffs(4, kT0, kLease, &tokens, {"down"}, "acme");
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::string> ids;
  for (const Handoff& h : *got) ids.push_back(h.id);
  EXPECT_EQ(ids, (std::vector<std::string>{crm[0].id, slack_first.id, crm[1].id, slack_second.id}));
  EXPECT_EQ(tokens.size(), 4u);
  // What is left of the workspace: the last due crm one; then nothing until the gate opens.
  got = store_->ClaimHandoffs(4, kT0, kLease, &tokens, {"down"}, "acme");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, crm[2].id);
  EXPECT_TRUE(store_->ClaimHandoffs(4, kT0, kLease, &tokens, {"down"}, "acme")->empty());
  got = store_->ClaimHandoffs(4, kT0, kLease, &tokens, {}, "acme");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, down.id);
  // Every workspace ("") reaches the other one too.
  got = store_->ClaimHandoffs(4, kT0, kLease, &tokens, {});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, elsewhere.id);
}

TEST_P(StoreContractTest, ClaimHandoffsReturnsDueRetryableHandoffsOnce) {
  Handoff due_pending = MakeHandoff("acme", "i1", "crm", "pending", kT0);
  Handoff due_failed = MakeHandoff("acme", "i1", "slack", "failed", kT0 - kMicrosPerSecond);
  Handoff not_yet = MakeHandoff("b", "i2", "crm", "pending", kT0 + kMicrosPerMinute);
  Handoff confirmed = MakeHandoff("acme", "i3", "crm", "confirmed", kT0 - 2);
  Handoff dead = MakeHandoff("acme", "i4", "crm", "dead", kT0 - 3);
  for (const Handoff& h : {due_pending, due_failed, not_yet, confirmed, dead}) {
    ASSERT_TRUE(PutHandoff(h).ok());
  }
  std::vector<std::string> tokens;
  absl::StatusOr<std::vector<Handoff>> got = store_->ClaimHandoffs(10, kT0, kLease, &tokens);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ((*got)[0].id, due_failed.id);  // the longest overdue first
  EXPECT_EQ((*got)[1].id, due_pending.id);
  ExpectSameHandoff(due_failed, (*got)[0]);
  EXPECT_NE(tokens[0], tokens[1]);
  const std::vector<std::string> first_tokens = tokens;

  EXPECT_TRUE(store_->ClaimHandoffs(10, kT0, kLease, &tokens)->empty());
  EXPECT_TRUE(tokens.empty());

  // Past the lease, both come back, with new tokens, and `not_yet` once it is due.
  std::vector<std::string> tokens2;
  got = store_->ClaimHandoffs(10, kT0 + kMicrosPerMinute, kLease, &tokens2);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[2].id, not_yet.id);
  EXPECT_NE(tokens2[0], first_tokens[0]);
  EXPECT_NE(tokens2[1], first_tokens[1]);

  // `max` caps the claim.
  EXPECT_EQ(store_->ClaimHandoffs(1, kT0 + 10 * kMicrosPerMinute, kLease, &tokens)->size(), 1u);
}

TEST_P(StoreContractTest, HandoffUpdatesAreFencedOnTheLeaseToken) {
  Handoff h = MakeHandoff("acme", "i1", "crm", "pending", kT0);
  ASSERT_TRUE(PutHandoff(h).ok());
  std::vector<std::string> stale, fresh;
  ASSERT_EQ(store_->ClaimHandoffs(1, kT0, kLease, &stale)->size(), 1u);
  ASSERT_EQ(store_->ClaimHandoffs(1, kT0 + kLease + 1, kLease, &fresh)->size(), 1u);

  Handoff zombie = h;
  zombie.state = "confirmed";
  zombie.remote_id = "late";
  EXPECT_EQ(Update(zombie, stale[0]).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store_->GetHandoff("acme", h.id)->state, "pending");
  // Nor may an unclaimed-style (empty token) write override a live claim.
  EXPECT_EQ(Update(zombie, "").code(), absl::StatusCode::kAborted);

  // "delivering" keeps the claim, so the same token can write the outcome.
  Handoff delivering = h;
  delivering.state = "delivering";
  delivering.attempts = 1;
  ASSERT_TRUE(Update(delivering, fresh[0]).ok());
  EXPECT_TRUE(store_->ClaimHandoffs(10, kT0 + kLease + 2, kLease, &stale)->empty());
  Handoff done = delivering;
  done.state = "confirmed";
  done.confirmed_at = kT0 + kLease + 3;
  done.remote_id = "crm-1";
  done.last_status = 201;
  ASSERT_TRUE(Update(done, fresh[0]).ok());
  ExpectSameHandoff(done, *store_->GetHandoff("acme", h.id));
  // The outcome ended the claim.
  EXPECT_EQ(Update(done, fresh[0]).code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(store_->ClaimHandoffs(10, kT0 + kMicrosPerHour, kLease, &stale)->empty());

  // With no claim on it, an operator's write (empty token) goes through: e.g. a replay.
  Handoff replay = done;
  replay.state = "pending";
  replay.next_attempt_at = kT0 + kMicrosPerHour;
  ASSERT_TRUE(Update(replay, "").ok());
  EXPECT_EQ(store_->ClaimHandoffs(10, kT0 + kMicrosPerHour, kLease, &stale)->size(), 1u);
}

TEST_P(StoreContractTest, RetryableOutcomeEndsTheClaimAndReleaseHandoffFreesIt) {
  Handoff h = MakeHandoff("acme", "i1", "crm", "pending", kT0);
  ASSERT_TRUE(PutHandoff(h).ok());
  std::vector<std::string> tokens;
  ASSERT_EQ(store_->ClaimHandoffs(1, kT0, kLease, &tokens)->size(), 1u);
  Handoff failed = h;
  failed.state = "failed";
  failed.attempts = 1;
  failed.next_attempt_at = kT0 + 5 * kMicrosPerSecond;
  failed.last_status = 503;
  ASSERT_TRUE(Update(failed, tokens[0]).ok());
  // Claimable again as soon as it is due, well before the old lease would have expired.
  EXPECT_TRUE(store_->ClaimHandoffs(1, kT0 + 1, kLease, &tokens)->empty());
  ASSERT_EQ(store_->ClaimHandoffs(1, failed.next_attempt_at, kLease, &tokens)->size(), 1u);

  store_->ReleaseHandoff(h.id, "not-the-token");
  EXPECT_TRUE(store_->ClaimHandoffs(1, failed.next_attempt_at, kLease, &tokens)->empty());
  std::vector<std::string> current;
  ASSERT_EQ(store_->ClaimHandoffs(1, failed.next_attempt_at + kLease, kLease, &current)->size(),
            1u);
  store_->ReleaseHandoff(h.id, current[0]);
  EXPECT_EQ(store_->ClaimHandoffs(1, failed.next_attempt_at + kLease, kLease, &tokens)->size(), 1u);
}

TEST_P(StoreContractTest, AnInterruptedDeliveryIsRescuedOnceItsClaimLapses) {
  Handoff h = MakeHandoff("acme", "i1", "crm", "pending", kT0);
  ASSERT_TRUE(PutHandoff(h).ok());
  std::vector<std::string> tokens;
  ASSERT_EQ(store_->ClaimHandoffs(1, kT0, kLease, &tokens)->size(), 1u);
  Handoff delivering = h;
  delivering.state = "delivering";
  ASSERT_TRUE(Update(delivering, tokens[0]).ok());
  EXPECT_TRUE(store_->ClaimHandoffs(1, kT0 + kLease - 1, kLease, &tokens)->empty());
  absl::StatusOr<std::vector<Handoff>> rescued =
      store_->ClaimHandoffs(1, kT0 + kLease + 1, kLease, &tokens);
  ASSERT_TRUE(rescued.ok());
  ASSERT_EQ(rescued->size(), 1u);
  EXPECT_EQ((*rescued)[0].state, "delivering");
}

TEST_P(StoreContractTest, AFailingWriteRollsBackOnlyItsOwnWritesInAGroup) {
  Inquiry x = MakeInquiry("acme", kT0);
  Inquiry y = MakeInquiry("acme", kT0 + 1);
  Inquiry z = MakeInquiry("acme", kT0 + 2);
  std::promise<absl::Status> pa, pb, pc;
  {
    WriterGate gate(store_.get());
    store_->SubmitWrite([&](WriteTx& tx) { return tx.InsertInquiry(x); },
                        [&](absl::Status s) { pa.set_value(s); });
    store_->SubmitWrite(
        [&](WriteTx& tx) -> absl::Status {
          if (auto s = tx.InsertInquiry(y); !s.ok()) return s;
          WorkItem w = MakeWork("acme", y.id, Stage::kEnrich, kT0);
          if (auto s = tx.EnqueueWork(w); !s.ok()) return s;
          Event e{"acme", x.id, 0, kT0, Stage::kEntry, "bogus"};
          if (auto s = tx.AppendEvent(e); !s.ok()) return s;
          return tx.InsertInquiry(x);  // a duplicate: fails
        },
        [&](absl::Status s) { pb.set_value(s); });
    store_->SubmitWrite([&](WriteTx& tx) { return tx.InsertInquiry(z); },
                        [&](absl::Status s) { pc.set_value(s); });
  }
  EXPECT_TRUE(pa.get_future().get().ok());
  EXPECT_EQ(pb.get_future().get().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(pc.get_future().get().ok());
  EXPECT_TRUE(store_->GetInquiry("acme", x.id).ok());
  EXPECT_TRUE(store_->GetInquiry("acme", z.id).ok());
  EXPECT_EQ(store_->GetInquiry("acme", y.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListEvents("acme", x.id)->empty());
  EXPECT_EQ(Depths()["work.enrich"], 0);
}

TEST_P(StoreContractTest, AFailedWriteReachesTheFunctionAtItsNextReadOrAsItsResult) {
  Inquiry x = MakeInquiry("acme", kT0);
  Inquiry y = MakeInquiry("acme", kT0 + 1);
  ASSERT_TRUE(Put(x).ok());
  std::promise<absl::Status> pa, pb;
  bool read_succeeded = false;
  Event e{"acme", x.id, 0, kT0, Stage::kEntry, "after"};
  {
    WriterGate gate(store_.get());
    store_->SubmitWrite(
        [&](WriteTx& tx) -> absl::Status {
          if (auto s = tx.InsertInquiry(y); !s.ok()) return s;
          if (auto s = tx.InsertInquiry(x); !s.ok()) return s;  // a duplicate: fails
          // A store that did not wait for the insert reports its failure here.
          absl::StatusOr<Inquiry> read = tx.GetInquiry("acme", y.id);
          if (!read.ok()) return read.status();
          read_succeeded = true;
          return absl::OkStatus();
        },
        [&](absl::Status s) { pa.set_value(s); });
    store_->SubmitWrite([&](WriteTx& tx) { return tx.AppendEvent(e); },
                        [&](absl::Status s) { pb.set_value(s); });
  }
  EXPECT_EQ(pa.get_future().get().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(read_succeeded);
  EXPECT_TRUE(pb.get_future().get().ok()) << "the next function in the group commits";
  EXPECT_EQ(store_->GetInquiry("acme", y.id).status().code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(store_->ListEvents("acme", x.id)->size(), 1u);
  EXPECT_EQ(store_->ListEvents("acme", x.id)->at(0).kind, "after");
}

// Retention: an inquiry goes with everything recorded about it; its contact, the workspace's
// other inquiries and other workspaces stay as they were.
TEST_P(StoreContractTest, DeletingAnInquiryRemovesEverythingRecordedAboutIt) {
  Contact c{"c1", "acme", "Ana", "ana@example.com", "+15551234567", kT0, kT0};
  auto record = [&](const Inquiry& in, const std::string& n) {
    Task t{"t" + n, in.workspace, in.id, "default", "bob", "Call back", kT0, "open", kT0};
    Handoff h = MakeHandoff(in.workspace, in.id, "crm", "pending", kT0);
    InboxItem item{"inbox" + n, in.workspace, in.id, "inbox", "bob", "open", kT0, 0};
    Leak leak;
    leak.key = "unassigned:" + in.id;
    leak.workspace = in.workspace;
    leak.kind = "unassigned";
    leak.inquiry_id = in.id;
    leak.group = "unassigned";
    leak.opened_at = kT0;
    return store_->Write([&, n](WriteTx& tx) -> absl::Status {
      if (auto s = tx.InsertInquiry(in); !s.ok()) return s;
      if (auto s = tx.InsertTask(t); !s.ok()) return s;
      if (auto s = tx.InsertHandoff(h); !s.ok()) return s;
      if (auto s = tx.AppendEvent({in.workspace, in.id, 0, kT0, Stage::kEntry, "received"});
          !s.ok())
        return s;
      if (auto s = tx.EnqueueWork(MakeWork(in.workspace, in.id, Stage::kEnrich, kT0)); !s.ok())
        return s;
      if (auto s = tx.InsertDedupe(in.workspace, "web", "k" + n, in.id, kT0); !s.ok()) return s;
      if (auto s = tx.InsertInboxItem(item); !s.ok()) return s;
      return tx.InsertLeak(leak);
    });
  };
  Inquiry old = MakeInquiry("acme", kT0);
  Inquiry kept = MakeInquiry("acme", kT0 + 1);
  Inquiry other = MakeInquiry("other", kT0 + 2);
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.UpsertContact(c); }).ok());
  ASSERT_TRUE(record(old, "1").ok());
  ASSERT_TRUE(record(kept, "2").ok());
  ASSERT_TRUE(record(other, "3").ok());

  // Another workspace's credentials cannot delete it.
  EXPECT_EQ(store_->Write([&](WriteTx& tx) { return tx.DeleteInquiry("other", old.id); }).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->GetInquiry("acme", old.id).ok());
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.DeleteInquiry("acme", old.id); }).ok());

  EXPECT_EQ(store_->GetInquiry("acme", old.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListEvents("acme", old.id)->empty());
  EXPECT_TRUE(store_->ListTasks("acme", old.id)->empty());
  EXPECT_TRUE(store_->ListHandoffs("acme", old.id)->empty());
  std::optional<std::string> dedupe = std::string("?");
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    absl::StatusOr<std::optional<std::string>> found =
                        tx.FindDedupe("acme", "web", "k1");
                    if (!found.ok()) return found.status();
                    dedupe = *found;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_FALSE(dedupe.has_value());
  std::vector<WorkItem> work = *store_->ClaimWork(Stage::kEnrich, 10, kT0, kLease);
  ASSERT_EQ(work.size(), 2u);
  for (const WorkItem& w : work) EXPECT_NE(w.inquiry_id, old.id);
  ASSERT_EQ(store_->ListInbox("acme", "open", 10)->size(), 1u);
  EXPECT_EQ(store_->ListInbox("acme", "open", 10)->at(0).inquiry_id, kept.id);
  ASSERT_EQ(store_->ListLeaks("acme", LeakFilter{})->size(), 1u);
  EXPECT_EQ(store_->ListLeaks("acme", LeakFilter{})->at(0).inquiry_id, kept.id);

  // What was not the old inquiry's is untouched: the contact, the kept one, the other workspace.
  EXPECT_TRUE(store_->GetContact("acme", "c1").ok());
  for (const Inquiry* in : {&kept, &other}) {
    EXPECT_TRUE(store_->GetInquiry(in->workspace, in->id).ok());
    EXPECT_EQ(store_->ListEvents(in->workspace, in->id)->size(), 1u);
    EXPECT_EQ(store_->ListTasks(in->workspace, in->id)->size(), 1u);
    EXPECT_EQ(store_->ListHandoffs(in->workspace, in->id)->size(), 1u);
  }
  // Gone means gone: a second delete finds nothing, and the id's timeline starts afresh.
  EXPECT_EQ(store_->Write([&](WriteTx& tx) { return tx.DeleteInquiry("acme", old.id); }).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(Put(old).ok());
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) {
                    return tx.AppendEvent({"acme", old.id, 0, kT0, Stage::kEntry, "received"});
                  })
                  .ok());
  ASSERT_EQ(store_->ListEvents("acme", old.id)->size(), 1u);
  EXPECT_EQ(store_->ListEvents("acme", old.id)->at(0).seq, 1);
}

TEST_P(StoreContractTest, EntryCountsBeforeAMinuteAreDeletedForOneWorkspace) {
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    for (const char* ws : {"acme", "other"}) {
                      for (Micros at : {kT0, kT0 + kMicrosPerMinute, kT0 + 2 * kMicrosPerMinute}) {
                        if (auto s = tx.CountEntry(ws, "web", "accepted", "", at, 1); !s.ok()) {
                          return s;
                        }
                      }
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) {
                    return tx.DeleteEntryCountsBefore("acme", kT0 + kMicrosPerMinute);
                  })
                  .ok());
  EXPECT_EQ(store_->ListEntryCounts("acme", 0)->at(0).count, 2);
  EXPECT_EQ(store_->ListEntryCounts("other", 0)->at(0).count, 3);
}

TEST_P(StoreContractTest, EntryCountsAggregatePerMinuteSince) {
  auto count = [&](const std::string& ws, const std::string& outcome, const std::string& reason,
                   Micros at, int64_t n) {
    ASSERT_TRUE(
        store_->Write([&](WriteTx& tx) { return tx.CountEntry(ws, "web", outcome, reason, at, n); })
            .ok());
  };
  count("acme", "accepted", "", kT0 + 5 * kMicrosPerSecond, 1);
  count("acme", "accepted", "", kT0 + 59 * kMicrosPerSecond, 2);
  count("acme", "accepted", "", kT0 + 65 * kMicrosPerSecond, 3);
  count("acme", "rejected", "bad_signature", kT0 + 70 * kMicrosPerSecond, 1);
  count("acme", "accepted", "", kT0 - 10 * kMicrosPerMinute, 100);  // before the window
  count("other", "accepted", "", kT0, 7);

  absl::StatusOr<std::vector<EntryCount>> counts = store_->ListEntryCounts("acme", kT0);
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0].source, "web");
  EXPECT_EQ((*counts)[0].outcome, "accepted");
  EXPECT_EQ((*counts)[0].reason, "");
  EXPECT_EQ((*counts)[0].count, 6);
  EXPECT_EQ((*counts)[0].last_at, kT0 + kMicrosPerMinute);
  EXPECT_EQ((*counts)[1].outcome, "rejected");
  EXPECT_EQ((*counts)[1].reason, "bad_signature");
  EXPECT_EQ((*counts)[1].count, 1);

  // The minute containing `since` counts whole; everything counts from far enough back.
  EXPECT_EQ(store_->ListEntryCounts("acme", kT0 + 30 * kMicrosPerSecond)->at(0).count, 6);
  EXPECT_EQ(store_->ListEntryCounts("acme", kT0 + kMicrosPerMinute)->at(0).count, 3);
  EXPECT_EQ(store_->ListEntryCounts("acme", 0)->at(0).count, 106);
}

// A status or stage off the healthy path is listed through the index of those inquiries alone
// (inquiries_off_the_path): every status and stage still lists exactly its inquiries, newest
// first and page by page, after inquiries have moved into and out of that index.
TEST_P(StoreContractTest, ListInquiriesFindsEveryStatusAndStageOnAndOffThePath) {
  const std::vector<std::string> statuses = {"received",  "awaiting_context", "enriched",
                                             "unrouted",  "assigned",         "routed",
                                             "delivered", "attention",        "canceled"};
  const std::vector<Stage> stages = {Stage::kEntry, Stage::kEnrich, Stage::kTrigger,
                                     Stage::kTransfer, Stage::kTrack};
  std::vector<Inquiry> all;
  for (int k = 0; k < 60; ++k) {
    Inquiry in = MakeInquiry("acme", kT0 + k * kMicrosPerSecond, k % 3 == 0 ? "web" : "phone");
    in.stage = stages[(k * 7) % stages.size()];
    in.status = statuses[(k * 5) % statuses.size()];
    all.push_back(in);
  }
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    for (const Inquiry& in : all) RETURN_IF_ERROR(tx.InsertInquiry(in));
                    // The same statuses in another workspace: never listed for acme.
                    for (int k = 0; k < 9; ++k) {
                      Inquiry other = MakeInquiry("b", kT0 + k);
                      other.status = statuses[k];
                      other.stage = Stage::kEntry;
                      RETURN_IF_ERROR(tx.InsertInquiry(other));
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  // Moves into, out of and within the off-path set, as the stages and the dispatcher make them.
  for (int k = 0; k < 60; k += 4) {
    Inquiry& in = all[k];
    in.stage = stages[(k / 4) % stages.size()];
    in.status = statuses[(k / 4 + 3) % statuses.size()];
    ASSERT_TRUE(store_
                    ->Write([&](WriteTx& tx) {
                      return tx.SetInquiryProgress("acme", in.id, in.stage, in.status);
                    })
                    .ok());
  }
  auto listed = [&](InquiryFilter f) {
    std::vector<std::string> out;
    f.limit = 7;
    for (;;) {  // page by page
      absl::StatusOr<std::vector<Inquiry>> page = store_->ListInquiries("acme", f);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || page->empty()) break;
      for (const Inquiry& i : *page) out.push_back(i.id);
      f.before_id = page->back().id;
    }
    return out;
  };
  auto expected = [&](const std::string& status, const std::string& stage,
                      const std::string& source) {
    std::vector<std::string> out;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (!status.empty() && it->status != status) continue;
      if (!stage.empty() && StageName(it->stage) != stage) continue;
      if (!source.empty() && it->source != source) continue;
      out.push_back(it->id);
    }
    return out;
  };
  size_t off_path_rows = 0;
  for (const std::string& status : statuses) {
    for (const std::string source : {"", "web"}) {
      SCOPED_TRACE(fmt::format("status {} source '{}'", status, source));
      InquiryFilter f;
      f.status = status;
      f.source = source;
      const std::vector<std::string> want = expected(status, "", source);
      EXPECT_EQ(listed(f), want);
      if (source.empty() && status != "routed" && status != "delivered" && status != "assigned") {
        off_path_rows += want.size();
      }
    }
  }
  for (Stage stage : stages) {
    SCOPED_TRACE(fmt::format("stage {}", StageName(stage)));
    InquiryFilter f;
    const std::string name(StageName(stage));
    f.stage = name;
    EXPECT_EQ(listed(f), expected("", name, ""));
    f.status = "attention";
    EXPECT_EQ(listed(f), expected("attention", name, ""));
  }
  EXPECT_GT(off_path_rows, 20u);  // not vacuous: many rows off the path, and many on it
  EXPECT_LT(off_path_rows, 50u);
}

TEST_P(StoreContractTest, ListInquiriesFiltersAndPagesNewestFirst) {
  std::vector<Inquiry> all;
  for (int i = 0; i < 7; ++i) {
    Inquiry in = MakeInquiry("acme", kT0 + i * kMicrosPerSecond, i % 2 == 0 ? "web" : "phone",
                             i % 2 == 0 ? Channel::kForm : Channel::kCall);
    in.stage = i < 3 ? Stage::kEnrich : Stage::kEntry;
    in.status = i == 6 ? "assigned" : "received";
    ASSERT_TRUE(Put(in).ok());
    all.push_back(in);
  }
  ASSERT_TRUE(Put(MakeInquiry("other", kT0)).ok());
  auto ids = [](const absl::StatusOr<std::vector<Inquiry>>& list) {
    std::vector<std::string> out;
    EXPECT_TRUE(list.ok()) << list.status();
    if (list.ok()) {
      for (const Inquiry& i : *list) out.push_back(i.id);
    }
    return out;
  };
  auto want = [&](std::vector<int> idx) {
    std::vector<std::string> out;
    for (int i : idx) out.push_back(all[i].id);
    return out;
  };

  EXPECT_EQ(ids(store_->ListInquiries("acme", {})), want({6, 5, 4, 3, 2, 1, 0}));
  InquiryFilter f;
  f.source = "web";
  EXPECT_EQ(ids(store_->ListInquiries("acme", f)), want({6, 4, 2, 0}));
  f.source = "web' OR '1'='1";
  EXPECT_TRUE(ids(store_->ListInquiries("acme", f)).empty());
  f = {};
  f.channel = "call";
  EXPECT_EQ(ids(store_->ListInquiries("acme", f)), want({5, 3, 1}));
  f = {};
  f.stage = "enrich";
  EXPECT_EQ(ids(store_->ListInquiries("acme", f)), want({2, 1, 0}));
  f = {};
  f.status = "assigned";
  EXPECT_EQ(ids(store_->ListInquiries("acme", f)), want({6}));
  f = {};
  f.received_from = kT0 + 2 * kMicrosPerSecond;
  f.received_until = kT0 + 5 * kMicrosPerSecond;
  EXPECT_EQ(ids(store_->ListInquiries("acme", f)), want({4, 3, 2}));
  f.source = "web";
  EXPECT_EQ(ids(store_->ListInquiries("acme", f)), want({4, 2}));

  // Paging with before_id.
  f = {};
  f.limit = 3;
  EXPECT_EQ(ids(store_->ListInquiries("acme", f)), want({6, 5, 4}));
  f.before_id = all[4].id;
  EXPECT_EQ(ids(store_->ListInquiries("acme", f)), want({3, 2, 1}));
  f.before_id = all[1].id;
  EXPECT_EQ(ids(store_->ListInquiries("acme", f)), want({0}));
  f.before_id = all[0].id;
  EXPECT_TRUE(ids(store_->ListInquiries("acme", f)).empty());

  // The limit is clamped to [1, 500].
  f = {};
  f.limit = 0;
  EXPECT_EQ(ids(store_->ListInquiries("acme", f)), want({6}));
  f.limit = 100000;
  EXPECT_EQ(ids(store_->ListInquiries("acme", f)).size(), 7u);

  // Rows come back whole but for the body as received, which GetInquiry has.
  absl::StatusOr<std::vector<Inquiry>> one = store_->ListInquiries("acme", {});
  ASSERT_TRUE(one.ok());
  Inquiry listed = all[6];
  listed.raw_payload.clear();
  listed.raw_content_type.clear();
  ExpectSameInquiry(listed, (*one)[0]);
}

TEST_P(StoreContractTest, NextAvailableIsTheEarliestWorkOrDueHandoff) {
  EXPECT_FALSE(store_->NextAvailable(Stage::kEnrich)->has_value());
  EXPECT_FALSE(store_->NextAvailable(Stage::kTransfer)->has_value());
  Enqueue(MakeWork("acme", "i1", Stage::kEnrich, kT0 + 5));
  Enqueue(MakeWork("acme", "i2", Stage::kEnrich, kT0 + 2));
  Enqueue(MakeWork("acme", "i3", Stage::kTrigger, kT0 + 9));
  EXPECT_EQ(*store_->NextAvailable(Stage::kEnrich), kT0 + 2);
  EXPECT_EQ(*store_->NextAvailable(Stage::kTrigger), kT0 + 9);
  EXPECT_FALSE(store_->NextAvailable(Stage::kTrack)->has_value());

  ASSERT_TRUE(PutHandoff(MakeHandoff("acme", "i1", "a", "pending", kT0 + 7)).ok());
  ASSERT_TRUE(PutHandoff(MakeHandoff("acme", "i1", "b", "failed", kT0 + 3)).ok());
  ASSERT_TRUE(PutHandoff(MakeHandoff("acme", "i1", "c", "confirmed", kT0 + 1)).ok());
  ASSERT_TRUE(PutHandoff(MakeHandoff("acme", "i1", "d", "dead", kT0)).ok());
  EXPECT_EQ(*store_->NextAvailable(Stage::kTransfer), kT0 + 3);
}

TEST_P(StoreContractTest, QueueDepthsCountWorkPerStageAndHandoffsPerState) {
  Enqueue(MakeWork("acme", "i1", Stage::kEnrich, kT0));
  Enqueue(MakeWork("b", "i2", Stage::kEnrich, kT0));
  Enqueue(MakeWork("acme", "i3", Stage::kTrigger, kT0));
  for (const char* state : {"pending", "pending", "failed", "dead", "confirmed"}) {
    ASSERT_TRUE(PutHandoff(MakeHandoff("acme", "i1", "crm", state, kT0)).ok());
  }
  std::map<std::string, int64_t> d = Depths();
  EXPECT_EQ(d["work.enrich"], 2);
  EXPECT_EQ(d["work.trigger"], 1);
  EXPECT_EQ(d["handoffs.pending"], 2);
  EXPECT_EQ(d["handoffs.failed"], 1);
  EXPECT_EQ(d["handoffs.dead"], 1);
  EXPECT_TRUE(d.count("work.enrich") && d.count("handoffs.pending"));
}

// The dead-letter list, the dashboard's per-state lists and the counts per destination read
// the handoffs not yet confirmed, per workspace; alerts stay out of the lists.
TEST_P(StoreContractTest, HandoffsAreListedAndCountedByStateWithoutTheConfirmedOnes) {
  std::vector<Handoff> all;
  auto add = [&](const std::string& workspace, const std::string& destination,
                 const std::string& state, Micros created, const std::string& purpose) {
    Handoff h = MakeHandoff(workspace, "i1", destination, state, kT0);
    h.created_at = created;
    h.purpose = purpose;
    all.push_back(h);
    return h.id;
  };
  const std::string dead_old = add("acme", "crm", "dead", kT0 + 1, "deliver");
  const std::string dead_new = add("acme", "sms", "dead", kT0 + 2, "notify");
  add("acme", "crm", "dead", kT0 + 3, "alert");
  const std::string failed = add("acme", "crm", "failed", kT0 + 4, "deliver");
  const std::string pending_a = add("acme", "crm", "pending", kT0 + 5, "deliver");
  const std::string pending_b = add("acme", "crm", "pending", kT0 + 6, "deliver");
  const std::string delivering = add("acme", "sms", "delivering", kT0 + 7, "notify");
  const std::string confirmed = add("acme", "crm", "confirmed", kT0 + 8, "deliver");
  add("b", "crm", "dead", kT0 + 9, "deliver");
  add("b", "crm", "pending", kT0 + 10, "deliver");
  for (const Handoff& h : all) ASSERT_TRUE(PutHandoff(h).ok());

  auto ids = [&](const std::string& state) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<Handoff>> got = store_->ListHandoffsInState("acme", state, 10);
    EXPECT_TRUE(got.ok()) << got.status();
    if (got.ok()) {
      for (const Handoff& h : *got) out.push_back(h.id);
    }
    return out;
  };
  EXPECT_EQ(ids("dead"), (std::vector<std::string>{dead_new, dead_old}));  // newest first
  EXPECT_EQ(ids("failed"), (std::vector<std::string>{failed}));
  EXPECT_EQ(ids("pending"), (std::vector<std::string>{pending_b, pending_a}));
  EXPECT_EQ(ids("delivering"), (std::vector<std::string>{delivering}));
  // No index holds the confirmed ones and no caller lists them, but the list still answers.
  EXPECT_EQ(ids("confirmed"), (std::vector<std::string>{confirmed}));
  absl::StatusOr<std::vector<Handoff>> limited = store_->ListHandoffsInState("acme", "pending", 1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].id, pending_b);

  absl::StatusOr<std::vector<HandoffCount>> counts = store_->CountUnsettledHandoffs("acme");
  ASSERT_TRUE(counts.ok()) << counts.status();
  std::map<std::string, int64_t> by_key;
  for (const HandoffCount& c : *counts) {
    by_key[c.destination + "/" + c.purpose + "/" + c.state] = c.count;
  }
  EXPECT_EQ(by_key, (std::map<std::string, int64_t>{{"crm/alert/dead", 1},
                                                    {"crm/deliver/dead", 1},
                                                    {"crm/deliver/failed", 1},
                                                    {"crm/deliver/pending", 2},
                                                    {"sms/notify/dead", 1},
                                                    {"sms/notify/delivering", 1}}));
}

TEST_P(StoreContractTest, WorkListenerHearsOfCommittedWorkPerStage) {
  std::mutex mu;
  std::vector<Stage> heard;
  std::vector<bool> visible;
  store_->SetWorkListener([&](Stage stage) {
    // Called after the commit: the work is already readable.
    bool seen = store_->NextAvailable(stage).value_or(std::nullopt).has_value();
    std::lock_guard<std::mutex> lock(mu);
    heard.push_back(stage);
    visible.push_back(seen);
  });
  auto take = [&] {
    std::lock_guard<std::mutex> lock(mu);
    std::set<Stage> out(heard.begin(), heard.end());
    EXPECT_EQ(out.size(), heard.size()) << "a stage was announced twice for one commit";
    heard.clear();
    return out;
  };

  Handoff h = MakeHandoff("acme", "i1", "crm", "pending", kT0);
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    WorkItem a = MakeWork("acme", "i1", Stage::kEnrich, kT0);
                    WorkItem b = MakeWork("acme", "i2", Stage::kEnrich, kT0);
                    if (auto s = tx.EnqueueWork(a); !s.ok()) return s;
                    if (auto s = tx.EnqueueWork(b); !s.ok()) return s;
                    return tx.InsertHandoff(h);
                  })
                  .ok());
  EXPECT_EQ(take(), (std::set<Stage>{Stage::kEnrich, Stage::kTransfer}));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(visible, (std::vector<bool>{true, true}));
  }

  // Rolled-back work is not announced; writes without new work announce nothing.
  EXPECT_FALSE(store_
                   ->Write([&](WriteTx& tx) -> absl::Status {
                     WorkItem w = MakeWork("acme", "i3", Stage::kTrigger, kT0);
                     if (auto s = tx.EnqueueWork(w); !s.ok()) return s;
                     return absl::InternalError("fails after enqueueing");
                   })
                   .ok());
  EXPECT_TRUE(take().empty());
  ASSERT_TRUE(Put(MakeInquiry("acme", kT0)).ok());
  EXPECT_TRUE(take().empty());

  // A handoff left to retry is transfer work again; a confirmed one is not.
  std::vector<std::string> tokens;
  ASSERT_EQ(store_->ClaimHandoffs(1, kT0, kLease, &tokens)->size(), 1u);
  Handoff failed = h;
  failed.state = "failed";
  ASSERT_TRUE(Update(failed, tokens[0]).ok());
  EXPECT_EQ(take(), (std::set<Stage>{Stage::kTransfer}));
  ASSERT_EQ(store_->ClaimHandoffs(1, kT0, kLease, &tokens)->size(), 1u);
  Handoff confirmed = h;
  confirmed.state = "confirmed";
  ASSERT_TRUE(Update(confirmed, tokens[0]).ok());
  EXPECT_TRUE(take().empty());
}

TEST_P(StoreContractTest, SessionsAreKeptPerWorkspaceReplacedAndForgotten) {
  DashboardSession s{"hash-1", "acme", "maria", "Maria Lopez", "csrf-1", kT0 + kMicrosPerHour};
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.PutSession(s); }).ok());
  absl::StatusOr<std::optional<DashboardSession>> found = store_->FindSession("acme", "hash-1");
  ASSERT_TRUE(found.ok() && found->has_value()) << found.status();
  EXPECT_EQ((*found)->user, "maria");
  EXPECT_EQ((*found)->name, "Maria Lopez");
  EXPECT_EQ((*found)->csrf_token, "csrf-1");
  EXPECT_EQ((*found)->expires_at, kT0 + kMicrosPerHour);
  EXPECT_FALSE(store_->FindSession("bolt", "hash-1")->has_value()) << "another workspace's";

  s.csrf_token = "csrf-2";
  DashboardSession old{"hash-0", "acme", "ben", "Ben", "x", kT0 - 1};
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    if (auto st = tx.PutSession(s); !st.ok()) return st;
                    return tx.PutSession(old);
                  })
                  .ok());
  EXPECT_EQ((*store_->FindSession("acme", "hash-1"))->csrf_token, "csrf-2");
  ASSERT_TRUE(
      store_->Write([&](WriteTx& tx) { return tx.DeleteExpiredSessions("acme", kT0); }).ok());
  EXPECT_FALSE(store_->FindSession("acme", "hash-0")->has_value()) << "expired, removed";
  EXPECT_TRUE(store_->FindSession("acme", "hash-1")->has_value());
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.DeleteSession("acme", "hash-1"); }).ok());
  EXPECT_FALSE(store_->FindSession("acme", "hash-1")->has_value());
}

TEST_P(StoreContractTest, ShutdownCommitsWhatWasSubmittedThenRefusesWrites) {
  constexpr int kWrites = 50;
  std::vector<Inquiry> inquiries;
  std::atomic<int> ok{0};
  for (int i = 0; i < kWrites; ++i) inquiries.push_back(MakeInquiry("acme", kT0 + i));
  for (const Inquiry& in : inquiries) {
    store_->SubmitWrite([&in](WriteTx& tx) { return tx.InsertInquiry(in); },
                        [&](absl::Status s) {
                          if (s.ok()) ok.fetch_add(1);
                        });
  }
  store_->Shutdown();
  EXPECT_EQ(ok.load(), kWrites);
  for (const Inquiry& in : inquiries) EXPECT_TRUE(store_->GetInquiry("acme", in.id).ok());

  bool called = false;
  store_->SubmitWrite([](WriteTx&) { return absl::OkStatus(); },
                      [&](absl::Status s) {
                        called = true;
                        EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
                      });
  EXPECT_TRUE(called) << "a refused write's done runs at once";
  store_->Shutdown();  // idempotent
}

}  // namespace
}  // namespace handoff
