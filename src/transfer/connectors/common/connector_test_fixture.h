// Test-only: a delivery context for connector unit tests (an inquiry from a hostile lead, a
// task, an owner, a public URL), so each connector's tests start from the same facts.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transfer/connector.h"

namespace handoff::testing {

inline constexpr Micros kFixtureNow = 1767225600 * kMicrosPerSecond;  // 2026-01-01T00:00:00Z
// A name a lead could type to ping a whole channel or hide a link.
inline constexpr const char* kHostileName = "<!channel> *x* <http://evil|click>";

class ConnectorTestBase : public ::testing::Test {
 protected:
  ConnectorTestBase() {
    dest_.name = "dest";
    dest_.allow_private = true;
    handoff_.id = "0190c4c0-7a3e-7b11-8c55-3f1b2a4d5e6f";
    handoff_.workspace = "harbor";
    handoff_.inquiry_id = "0190c4c0-0000-7000-8000-000000000001";
    handoff_.destination = "dest";
    inquiry_.id = handoff_.inquiry_id;
    inquiry_.workspace = "harbor";
    inquiry_.source = "website";
    inquiry_.channel = Channel::kForm;
    inquiry_.received_at = kFixtureNow;
    inquiry_.occurred_at = kFixtureNow;
    inquiry_.normalized.name = "Dana Roe";
    inquiry_.normalized.phone = "+14155550142";
    inquiry_.normalized.email = "dana@example.com";
    inquiry_.service = "water heater";
    inquiry_.message = "No hot water since this morning";
    Task task;
    task.id = "task-1";
    task.owner = "ana";
    task.title = "Call back Dana Roe";
    task.due_at = kFixtureNow + 5 * kMicrosPerMinute;
    task_ = task;
    TeamMember ana;
    ana.id = "ana";
    ana.name = "Ana Lima";
    ana.phone = "+14155550100";
    owner_ = ana;
    public_url_ = "https://handoff.example.com/";
  }

  DeliveryContext Ctx() const {
    DeliveryContext ctx{dest_, handoff_, inquiry_, task_, contact_, kFixtureNow};
    ctx.owner = owner_;
    ctx.public_url = public_url_;
    return ctx;
  }

  // A request header by case-insensitive name, "" when absent; fails when sent twice.
  static std::string HeaderOf(const OutboundRequest& r, std::string_view name) {
    std::string found;
    int count = 0;
    for (const auto& [k, v] : r.headers) {
      if (FindHeader({{k, v}}, name)) {
        found = v;
        ++count;
      }
    }
    EXPECT_LE(count, 1) << name << " sent more than once";
    return found;
  }

  DestinationConfig dest_;
  Handoff handoff_;
  Inquiry inquiry_;
  std::optional<Task> task_;
  std::optional<Contact> contact_;
  std::optional<TeamMember> owner_;
  std::string public_url_;
};

}  // namespace handoff::testing
