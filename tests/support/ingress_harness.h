// Test support: the real Ingress with every built-in adapter and a real SQLite store in a temp
// directory, for adapter tests that check thread behaviour (a reschedule updates its booking,
// a cancel for an unknown booking is ignored) the way production runs it. Header-only, like
// temp_dir.h, so unit tests beside the code can use it. Not thread-safe: one test thread.
#pragma once

#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "entry/ingress.h"
#include "entry/source_adapter.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"

namespace handoff::testing {

class IngressHarness {
 public:
  // One workspace "ws" with `source` as its only source; the clock starts at `start`.
  IngressHarness(SourceConfig source, Micros start) : clock_(start) {
    config_.workspace = "ws";
    config_.sources.push_back(std::move(source));
    RegisterBuiltinSources(adapters_);
    auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
    EXPECT_TRUE(store.ok()) << store.status();
    if (store.ok()) store_ = std::move(*store);
    ingress_ = std::make_unique<Ingress>(&config_, &adapters_, store_.get(), &clock_);
  }
  ~IngressHarness() {
    if (store_) store_->Shutdown();
  }
  IngressHarness(const IngressHarness&) = delete;
  IngressHarness& operator=(const IngressHarness&) = delete;

  // Handles `request` (its path is set to /in/<source>) and waits for the answer; then the
  // clock moves one second.
  HttpResponse Post(HttpRequest request) {
    request.path = request.target = "/in/" + config_.sources[0].name;
    std::promise<HttpResponse> answered;
    ingress_->Handle(std::move(request), [&](HttpResponse r) { answered.set_value(r); });
    HttpResponse r = answered.get_future().get();
    clock_.Advance(kMicrosPerSecond);
    return r;
  }

  std::vector<Inquiry> Inquiries() {
    auto list = store_->ListInquiries("ws", InquiryFilter{});
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? *list : std::vector<Inquiry>();
  }

  Inquiry Get(const std::string& id) {
    auto inquiry = store_->GetInquiry("ws", id);
    EXPECT_TRUE(inquiry.ok()) << inquiry.status();
    return inquiry.ok() ? *inquiry : Inquiry();
  }

  // The entry counter for `outcome` ("accepted", "updated", "ignored", "duplicate"…).
  int64_t Count(const std::string& outcome) {
    // Some counters are submitted without waiting; writes run in order, so one more waits.
    EXPECT_TRUE(store_->Write([](WriteTx&) { return absl::OkStatus(); }).ok());
    auto counts = store_->ListEntryCounts("ws", 0);
    int64_t n = 0;
    if (!counts.ok()) return -1;
    for (const EntryCount& c : *counts) {
      if (c.outcome == outcome) n += c.count;
    }
    return n;
  }

  FakeClock& clock() { return clock_; }

  static std::string Field(const HttpResponse& r, const std::string& key) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value(key, "") : "";
  }

 private:
  TempDir dir_;
  FakeClock clock_;
  Config config_;
  SourceAdapterRegistry adapters_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Ingress> ingress_;
};

}  // namespace handoff::testing
