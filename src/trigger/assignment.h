// Who owns an inquiry's next step: the route's assignment strategy, applied inside the write that
// creates the task so that its shared state (round-robin slots, open-task counts) is read and
// advanced atomically with it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "enrich/business_time.h"
#include "nlohmann/json.hpp"
#include "store/store.h"

namespace handoff {

// What the strategy needs to know about the inquiry.
struct AssignmentRequest {
  std::string workspace;
  std::string service;         // by_skill: the intent (or the service the source sent)
  std::string postcode;        // by_territory
  std::string previous_owner;  // sticky: the owner of the contact's last inquiry
  Micros at = 0;               // when availability is judged
};

struct Assignment {
  std::string owner;  // a team member id; "" when the route names nobody
  // How the owner was chosen, for the timeline: "round robin slot 7", "sticky: owned the
  // contact's last inquiry", "fallback: nobody in the pool is available"…
  std::string reason;
  std::vector<std::string> unavailable;  // pool members skipped as out of hours or away
};

// Strategies (RouteConfig::assign_strategy):
//   fixed         the route's owner
//   round_robin   the pool in turn; each assignment takes the next slot of a per-route counter
//   weighted      the same over a smooth weighted sequence (weight 3 gets 3 of every 4 slots
//                 against weight 1, spread out rather than in a run)
//   least_open    the pool member with the fewest open tasks (ties: pool order)
//   by_skill      least_open among pool members whose skills include the service; the whole pool
//                 when nobody has it
//   by_territory  least_open among pool members whose territory pattern ("941*") matches the
//                 postcode; the whole pool when nobody covers it
//   on_call       the first on-call person (the pool, else the team's on_call members) who is
//                 not out of office: on call means answering out of hours
// Modifiers: sticky (a returning contact's previous owner, when in the pool and available);
// available_only (skip people out of hours or out of office; when nobody is left, the route's
// fallback, else the team's on-call person, else the strategy's pick regardless).
// Immutable after construction; thread-safe. `config` and `time` must outlive it.
class Assigner {
 public:
  Assigner(const Config& config, const BusinessTime& time);

  absl::StatusOr<Assignment> Assign(const RouteConfig& route, const AssignmentRequest& request,
                                    WriteTx& tx) const;

  // The weighted strategy's sequence for `pool`: each member appears `weight` times per cycle,
  // interleaved (nginx's smooth weighted round robin).
  static std::vector<std::string> WeightedSequence(const std::vector<PoolMember>& pool);

  // Whether `postcode` matches a territory pattern: '*' matches any run of characters, '?' one
  // character, anything else itself (case-insensitive).
  static bool TerritoryMatches(std::string_view pattern, std::string_view postcode);

 private:
  bool Available(const std::string& id, Micros at) const;
  // The pool member with the fewest open tasks among `ids` (pool order breaks ties).
  absl::StatusOr<std::string> LeastOpen(const std::vector<std::string>& ids,
                                        const std::string& workspace, WriteTx& tx) const;
  // The strategy's pick among `eligible` (in pool order; never empty).
  absl::StatusOr<Assignment> Pick(const RouteConfig& route, const AssignmentRequest& request,
                                  const std::vector<std::string>& eligible, WriteTx& tx) const;

  const Config& config_;
  const BusinessTime& time_;
  std::map<std::string, std::vector<std::string>> weighted_;  // route name → sequence
};

}  // namespace handoff
