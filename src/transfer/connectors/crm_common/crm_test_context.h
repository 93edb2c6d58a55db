// Test support for the CRM connectors' unit tests: one sample inquiry (Dana Roe, email, phone,
// a message and a task owned by "ana") and the DeliveryContext the dispatcher would build for
// it at a given step. Not thread-safe; one per test.
#pragma once

#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transfer/connector.h"

namespace handoff::crm_testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

// 2026-11-29T10:00:00Z
inline constexpr Micros kNow = 1795946400 * kMicrosPerSecond;

struct CrmTestContext {
  explicit CrmTestContext(std::string connector) {
    dest.name = "crm";
    dest.connector = std::move(connector);
    handoff.id = "0190c4c0-7a3e-7b11-8c55-3f1b2a4d5e6f";
    handoff.inquiry_id = "0190c4c0-0000-7000-8000-000000000001";
    handoff.destination = "crm";
    inquiry.id = handoff.inquiry_id;
    inquiry.source = "website";
    inquiry.channel = Channel::kForm;
    inquiry.received_at = kNow - kMicrosPerMinute;
    inquiry.occurred_at = kNow - kMicrosPerMinute;
    inquiry.normalized = {"Dana Roe", "dana@example.com", "+14155550142"};
    inquiry.received = inquiry.normalized;
    inquiry.message = "No hot water <since> this morning";
    Task t;
    t.id = "task-1";
    t.owner = "ana";
    t.title = "Call back Dana Roe";
    t.due_at = kNow + 5 * kMicrosPerMinute;
    task = t;
  }

  // The context of one attempt at `step`, with what the earlier steps captured.
  DeliveryContext Ctx(int step = 0, std::map<std::string, std::string> values = {}) const {
    DeliveryContext ctx{dest, handoff, inquiry, task, contact, kNow};
    ctx.progress.step = step;
    ctx.progress.values = std::move(values);
    ctx.access_token = access_token;
    ctx.public_url = public_url;
    ctx.owner = owner;
    return ctx;
  }

  DestinationConfig dest;
  Handoff handoff;
  Inquiry inquiry;
  std::optional<Task> task;
  std::optional<Contact> contact;
  std::optional<AccessToken> access_token;
  std::string public_url;
  std::optional<TeamMember> owner;
};

// A request header by case-insensitive name; "" when absent.
inline std::string HeaderOf(const OutboundRequest& r, std::string name) {
  for (const auto& [k, v] : r.headers) {
    std::string lower = k;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == name) return v;
  }
  return "";
}

}  // namespace handoff::crm_testing
