// The continuity map: the business's config drawn as a graph (sources → routes → owners and
// destinations, and the destinations that carry leak alerts), overlaid with what happened over a
// window on each edge and a health per node and edge. Pure: the caller reads the store and the
// clock (GET /api/v1/map, `handoff map`).
//
// The JSON (ContinuityMapJson, also what GET /api/v1/map answers):
//
//   {"window": {"from": RFC 3339 | null, "until": RFC 3339 | null},   (null when 0)
//    "nodes": [{"id", "kind", "label", "health", "volume", "open_leaks", ...}],
//    "edges": [{"from", "to", "kind", "volume", "confirmed", "failed", "dead", "pending",
//               "success_ratio", "p95_ms", "open_leaks", "health"}]}
//
// Nodes, in this order (ids are prefixed by kind; labels are the config's names):
//   "source:<name>"       kind "source", each configured source (+ "adapter", "channel")
//   "route:<name>"        kind "route", each configured route (+ "fallback")
//   "route:(none)"        kind "route", inquiries no route took; present when some did, or when
//                         the config lets a source go unrouted (no fallback)
//   "owner:<id>"          kind "owner", each team member a route can assign (+ "name")
//   "owner:(none)"        kind "owner", tasks nobody owns; present when some exist
//   "destination:<name>"  kind "destination", each configured destination (+ "connector")
//   "alerts"              kind "alerts", present when alerts.via names any destination
// A node's volume is the sum over the edges that end at it (a source's: that start at it; a
// destination's: both, so that its alert handoffs count); its open_leaks counts the distinct
// leaks on the edges that touch it, plus a source's silent_source leak.
//
// Edges, every one the config implies (with no traffic: volume 0, health "idle") plus any the
// figures show that the config does not (a route since renamed, an owner since removed):
//   source → route        kind "inquiries": the source's inquiries the route took. confirmed =
//                         given an owner, failed = still without one alerts.unassigned after
//                         arrival (or left unrouted by the router), pending = the rest
//                         (in flight, or canceled); p95_ms = arrival to task creation.
//   route → owner         kind "task": the route's tasks each owner holds. confirmed =
//                         acknowledged by its due time, failed = acknowledged late or still
//                         unacknowledged past due, pending = not acknowledged and not yet due;
//                         p95_ms = creation to acknowledgement.
//   route → destination   kind = the handoffs' purpose: "deliver" (each `deliver`), "notify"
//                         (each notify's `via`), "escalate" (each escalation step's `via`,
//                         else the route's first notify), "reply" (reply.via). confirmed,
//                         failed (retrying) and "dead" by handoff state, pending = not yet
//                         tried or in flight; p95_ms = creation to confirmation.
//   destination → alerts  kind "alert", each alerts.via destination: its alert handoffs
//                         (MapInputs::alert_handoffs), counted like route → destination.
// success_ratio = confirmed / (confirmed + failed + dead), null when nothing was decided;
// p95_ms is the nearest-rank 95th percentile in whole milliseconds, null with no samples.
//
// Open leaks count on the edges they concern: a handoff leak (unconfirmed_handoff, dead_handoff)
// on its route → destination edge of the handoff's purpose; a task leak (overdue_task,
// missed_call) on route → owner; an unassigned leak on source → route (or → route:(none));
// a silent_source leak on its source node.
//
// Health of an edge, first that holds:
//   broken    an open dead_handoff, silent_source or unassigned leak on it, or success_ratio
//             < 0.5
//   degraded  any other open leak on it, or success_ratio < 0.95
//   idle      no volume
//   ok        otherwise
// A node is as healthy as the worst edge that touches it (its own silent_source leak makes a
// source broken); idle when every such edge is idle. Synthetic inquiries count nowhere.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "model/records.h"
#include "nlohmann/json.hpp"

namespace handoff {

// What the live figures of one map are computed from; all empty draws the config alone.
struct MapInputs {
  // The window [from, until). `until` is also the "now" that decides whether a task's due time
  // or an inquiry's alerts.unassigned deadline had come yet.
  Micros from = 0, until = 0;
  std::vector<InquiryOutcome> outcomes;  // the inquiries received in the window
  std::vector<Leak> open_leaks;          // the leaks open now
  // Alert handoffs (purpose "alert", no inquiry: Store::ListAlertHandoffs) created in the
  // window: the destination → alerts edges' figures. Empty leaves those edges idle.
  std::vector<Handoff> alert_handoffs = {};
  // Adapter name → the channel it gives a source whose config names none
  // (SourceAdapterSpec::default_channel): which `when.channel` routes such a source can reach.
  // A source whose channel is known neither here, from its config, nor from its inquiries is
  // drawn to every route that filters on channel.
  std::map<std::string, Channel> adapter_channels = {};
};

namespace continuity_map_internal {
class MapBuilder;
}

// The map of one window from its inquiries added one at a time, as Store::ScanInquiryOutcomes
// reads them a page at a time: it keeps each edge's counts and timings, never the inquiries, so
// a busy window costs what a page of it does. ContinuityMapJson(config, in) equals a builder given
// in without its outcomes, then in.outcomes in order. `config` must outlive it.
class ContinuityMapBuilder {
 public:
  // `in.outcomes` is not read: the inquiries come through Add.
  ContinuityMapBuilder(const Config& config, MapInputs in);
  ~ContinuityMapBuilder();
  ContinuityMapBuilder(const ContinuityMapBuilder&) = delete;
  ContinuityMapBuilder& operator=(const ContinuityMapBuilder&) = delete;

  // One inquiry received in [in.from, in.until).
  void Add(const InquiryOutcome& outcome);
  // The map as documented above. Call once, after the last Add.
  nlohmann::json Finish();

 private:
  std::unique_ptr<continuity_map_internal::MapBuilder> builder_;
};

// The map as documented above.
nlohmann::json ContinuityMapJson(const Config& config, const MapInputs& in);

// The map for people: a line per edge, grouped by source (each source with its routes), then
// per route (its owners and destinations), then the alert channels. Names are printed on one
// line whatever they contain.
std::string MapText(const nlohmann::json& map);

// The map as a Graphviz digraph (rankdir=LR), nodes and edges coloured by health (ok green,
// degraded orange, broken red, idle grey). Node ids are generated; every name appears only
// inside an escaped, quoted label, so no config name can change the graph's structure.
std::string MapDot(const nlohmann::json& map);

}  // namespace handoff
