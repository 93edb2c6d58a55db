// Test support: runs one stage's processor on one inquiry against a real store, the way its
// WorkLoop would — the inquiry is stored with a work item for that stage, claimed, processed,
// and the resulting write committed — and reads back what the stages journaled. Header-only,
// for unit tests beside the stages and the ingress.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "store/store.h"

namespace handoff::testing {

inline void RunStageOn(Store& store, const Inquiry& inquiry, Stage stage, Micros now,
                       const std::function<absl::StatusOr<WriteFn>(const WorkItem&)>& process) {
  absl::Status put = store.Write([&](WriteTx& tx) {
    WorkItem w;
    w.workspace = inquiry.workspace;
    w.inquiry_id = inquiry.id;
    w.stage = stage;
    w.available_at = now;
    absl::Status s = tx.InsertInquiry(inquiry);
    return s.ok() ? tx.EnqueueWork(w) : s;
  });
  ASSERT_TRUE(put.ok()) << put;
  auto items = store.ClaimWork(stage, 10, now, kMicrosPerMinute);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 1u);
  auto write = process((*items)[0]);
  ASSERT_TRUE(write.ok()) << write.status();
  absl::Status committed = store.Write(std::move(*write));
  ASSERT_TRUE(committed.ok()) << committed;
}

// The kinds of an inquiry's events, in journal order.
inline std::vector<std::string> EventKinds(Store& store, const std::string& workspace,
                                           const std::string& inquiry_id) {
  std::vector<std::string> kinds;
  auto events = store.ListEvents(workspace, inquiry_id);  // kept alive: the loop reads into it
  EXPECT_TRUE(events.ok()) << events.status();
  if (!events.ok()) return kinds;
  for (const Event& e : *events) kinds.push_back(e.kind);
  return kinds;
}

// The detail of the inquiry's first event of `kind` (null when there is none).
inline nlohmann::json EventDetail(Store& store, const std::string& workspace,
                                  const std::string& inquiry_id, const std::string& kind) {
  auto events = store.ListEvents(workspace, inquiry_id);
  EXPECT_TRUE(events.ok()) << events.status();
  if (!events.ok()) return nullptr;
  for (const Event& e : *events) {
    if (e.kind == kind) return e.detail;
  }
  return nullptr;
}

}  // namespace handoff::testing
