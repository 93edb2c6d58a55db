#include "trigger/assignment.h"

#include <algorithm>
#include <cctype>

#include "absl/algorithm/container.h"
#include "core/ascii.h"
#include "core/status.h"
#include "fmt/format.h"

namespace handoff {
namespace {

// The key of a route's round-robin counter in the store.
std::string CounterKey(const RouteConfig& route) { return "assign:" + route.name; }

}  // namespace

Assigner::Assigner(const Config& config, const BusinessTime& time) : config_(config), time_(time) {
  for (const RouteConfig& r : config.routes) {
    if (r.assign_strategy == "weighted") weighted_[r.name] = WeightedSequence(r.assign_pool);
  }
}

std::vector<std::string> Assigner::WeightedSequence(const std::vector<PoolMember>& pool) {
  std::vector<std::string> out;
  int total = 0;
  for (const PoolMember& m : pool) total += std::max(1, m.weight);
  std::vector<int> current(pool.size(), 0);
  for (int step = 0; step < total; ++step) {
    size_t best = 0;
    for (size_t i = 0; i < pool.size(); ++i) {
      current[i] += std::max(1, pool[i].weight);
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    out.push_back(pool[best].id);
  }
  return out;
}

bool Assigner::TerritoryMatches(std::string_view pattern, std::string_view postcode) {
  // Iterative glob with one backtrack point for the last '*'.
  size_t p = 0, s = 0, star = std::string_view::npos, star_s = 0;
  auto same = [](char a, char b) { return AsciiLower(a) == AsciiLower(b); };
  while (s < postcode.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || same(pattern[p], postcode[s]))) {
      ++p, ++s;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_s = s;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool Assigner::Available(const std::string& id, Micros at) const {
  return time_.IsAvailable(id, at);
}

absl::StatusOr<std::string> Assigner::LeastOpen(const std::vector<std::string>& ids,
                                                const std::string& workspace, WriteTx& tx) const {
  ASSIGN_OR_RETURN(auto open, tx.CountOpenTasks(workspace, ids));
  std::string best;
  int64_t best_count = 0;
  for (const std::string& id : ids) {
    auto it = open.find(id);
    const int64_t n = it == open.end() ? 0 : it->second;
    if (best.empty() || n < best_count) best = id, best_count = n;
  }
  return best;
}

absl::StatusOr<Assignment> Assigner::Pick(const RouteConfig& route,
                                          const AssignmentRequest& request,
                                          const std::vector<std::string>& eligible,
                                          WriteTx& tx) const {
  Assignment out;
  const std::string& strategy = route.assign_strategy;
  if (strategy == "round_robin" || strategy == "weighted") {
    const std::vector<std::string>* sequence = nullptr;
    std::vector<std::string> plain;
    if (strategy == "weighted") {
      auto it = weighted_.find(route.name);
      if (it != weighted_.end()) sequence = &it->second;
    }
    if (sequence == nullptr) {
      for (const PoolMember& m : route.assign_pool) plain.push_back(m.id);
      sequence = &plain;
    }
    ASSIGN_OR_RETURN(int64_t slot, tx.NextCounter(request.workspace, CounterKey(route)));
    // From this assignment's slot, the first member still eligible: skipping someone out of
    // hours does not give the next inquiry to the same person twice in a row.
    const size_t n = sequence->size();
    for (size_t i = 0; i < n; ++i) {
      const std::string& id = (*sequence)[(static_cast<size_t>(slot) + i) % n];
      if (absl::c_linear_search(eligible, id)) {
        out.owner = id;
        out.reason = fmt::format(
            "{} slot {}", strategy == "weighted" ? "weighted round robin" : "round robin", slot);
        return out;
      }
    }
    out.owner = eligible.front();  // eligible ⊆ pool, so this is not reached with a real pool
    out.reason = "first eligible";
    return out;
  }
  if (strategy == "by_skill" || strategy == "by_territory") {
    std::vector<std::string> matching;
    const bool skill = strategy == "by_skill";
    const std::string& wanted = skill ? request.service : request.postcode;
    for (const std::string& id : eligible) {
      const TeamMember* m = config_.FindMember(id);
      if (m == nullptr || wanted.empty()) continue;
      bool ok = false;
      if (skill) {
        ok = absl::c_linear_search(m->skills, wanted);
      } else {
        for (const std::string& pattern : m->territory)
          ok = ok || TerritoryMatches(pattern, wanted);
      }
      if (ok) matching.push_back(id);
    }
    if (matching.empty()) {
      ASSIGN_OR_RETURN(out.owner, LeastOpen(eligible, request.workspace, tx));
      out.reason = wanted.empty() ? fmt::format("least open tasks (no {} to match)",
                                                skill ? "service" : "postcode")
                                  : fmt::format("least open tasks (nobody {} '{}')",
                                                skill ? "has the skill" : "covers", wanted);
      return out;
    }
    ASSIGN_OR_RETURN(out.owner, LeastOpen(matching, request.workspace, tx));
    out.reason = fmt::format("{} '{}', least open tasks", skill ? "skill" : "territory", wanted);
    return out;
  }
  if (strategy == "least_open") {
    ASSIGN_OR_RETURN(out.owner, LeastOpen(eligible, request.workspace, tx));
    out.reason = "least open tasks";
    return out;
  }
  if (strategy == "on_call") {
    for (const std::string& id : eligible) {
      if (!time_.IsAway(id, request.at)) {
        out.owner = id;
        out.reason = "on call";
        return out;
      }
    }
    out.owner = eligible.front();
    out.reason = "on call (everyone on call is away; the first is asked anyway)";
    return out;
  }
  // fixed
  out.owner = eligible.front();
  out.reason = "fixed owner";
  return out;
}

absl::StatusOr<Assignment> Assigner::Assign(const RouteConfig& route,
                                            const AssignmentRequest& request, WriteTx& tx) const {
  std::vector<std::string> candidates;
  if (route.assign_strategy.empty()) return Assignment{};
  if (route.assign_strategy == "fixed") {
    candidates.push_back(route.assign_owner);
  } else if (route.assign_strategy == "on_call" && route.assign_pool.empty()) {
    for (const TeamMember& m : config_.team) {
      if (m.on_call) candidates.push_back(m.id);
    }
  } else {
    for (const PoolMember& m : route.assign_pool) candidates.push_back(m.id);
  }
  if (candidates.empty()) return Assignment{"", "nobody to assign", {}};

  // on_call judges presence (not working hours) itself; the others honour available_only.
  const bool check_hours = route.assign_available_only && route.assign_strategy != "on_call";
  std::vector<std::string> eligible, unavailable;
  for (const std::string& id : candidates) {
    if (!check_hours || Available(id, request.at)) {
      eligible.push_back(id);
    } else {
      unavailable.push_back(id);
    }
  }

  if (route.assign_sticky && !request.previous_owner.empty() &&
      absl::c_linear_search(candidates, request.previous_owner) &&
      Available(request.previous_owner, request.at)) {
    return Assignment{request.previous_owner, "sticky: owned the contact's last inquiry",
                      unavailable};
  }

  if (eligible.empty()) {
    Assignment out;
    out.unavailable = unavailable;
    if (!route.assign_fallback.empty()) {
      out.owner = route.assign_fallback;
      out.reason = "fallback: nobody in the pool is available";
      return out;
    }
    for (const TeamMember& m : config_.team) {
      if (m.on_call && !time_.IsAway(m.id, request.at)) {
        out.owner = m.id;
        out.reason = "on call: nobody in the pool is available";
        return out;
      }
    }
    // Nobody is working: the task still needs an owner, who sees it when they are back.
    ASSIGN_OR_RETURN(Assignment any, Pick(route, request, candidates, tx));
    any.reason += " (nobody is available)";
    any.unavailable = unavailable;
    return any;
  }
  ASSIGN_OR_RETURN(Assignment out, Pick(route, request, eligible, tx));
  out.unavailable = unavailable;
  return out;
}

}  // namespace handoff
