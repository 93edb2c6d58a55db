#include "track/continuity_map.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "core/time_format.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "track/percentile.h"

namespace handoff {
// Named, not anonymous: ContinuityMapBuilder holds a MapBuilder.
namespace continuity_map_internal {

constexpr char kNone[] = "(none)";
constexpr char kAlertsId[] = "alerts";

// Ordered so that "worse" compares greater: a node takes the max over its edges.
enum class Health { kIdle, kOk, kDegraded, kBroken };

const char* HealthName(Health h) {
  switch (h) {
    case Health::kIdle:
      return "idle";
    case Health::kOk:
      return "ok";
    case Health::kDegraded:
      return "degraded";
    case Health::kBroken:
      return "broken";
  }
  return "idle";
}

// Leaks that mean inquiries are being lost outright, not merely late.
bool SevereLeak(const Leak& l) {
  return l.kind == "dead_handoff" || l.kind == "silent_source" || l.kind == "unassigned";
}

// A node while the map is built; its health and totals come from its edges at the end.
struct MapNode {
  std::string id;
  std::string kind;
  std::string label;
  nlohmann::json extra = nlohmann::json::object();
  std::vector<size_t> leaks;  // leaks on the node itself (silent_source)
};

// An edge while the map is built: the counts and samples behind its figures.
struct MapEdge {
  std::string from, to, kind;
  int64_t volume = 0, confirmed = 0, failed = 0, dead = 0, pending = 0;
  std::vector<Micros> samples;  // for p95_ms
  std::vector<size_t> leaks;    // indexes into MapInputs::open_leaks
  Health health = Health::kIdle;
};

using EdgeKey = std::tuple<std::string, std::string, std::string>;  // (from, to, kind)

// Builds the graph: nodes and edges found or added by key, figures accumulated on them.
class MapBuilder {
 public:
  // `in` without its outcomes: they come one at a time through Add.
  MapBuilder(const Config& config, MapInputs in) : config_(config), in_(std::move(in)) {
    in_.outcomes.clear();
    for (const Leak& l : in_.open_leaks) {
      // Handoff leaks are keyed "<kind>:<handoff id>".
      const size_t colon = l.key.find(':');
      if (!l.destination.empty() && colon != std::string::npos) {
        leaked_handoffs_.insert(l.key.substr(colon + 1));
      }
    }
  }

  // One inquiry received in the window: counted on the edges it went along.
  void Add(const InquiryOutcome& o) {
    if (o.synthetic) {
      synthetic_.insert(o.id);
      return;
    }
    first_channel_.try_emplace(o.source, ChannelName(o.channel));
    const std::string route = RouteId(o.route);
    CountInquiry(Shown({SourceId(o.source), route, "inquiries"}), o);
    if (o.task) CountTask(Shown({route, OwnerId(o.task->owner), "task"}), *o.task);
    for (const OutcomeHandoff& h : o.handoffs) {
      EdgeKey key = h.purpose == "alert" ? EdgeKey{DestinationId(h.destination), kAlertsId, "alert"}
                                         : EdgeKey{route, DestinationId(h.destination), h.purpose};
      CountHandoff(Shown(key), h);
      if (leaked_handoffs_.count(h.id) > 0) leaked_handoff_edge_[h.id] = std::move(key);
    }
  }

  // The map of the inquiries added. Call once, after the last Add.
  nlohmann::json Build() {
    AddConfigGraph();
    for (const EdgeKey& key : shown_order_) {
      const MapEdge& from = shown_.at(key);
      MapEdge& e = Edge(std::get<0>(key), std::get<1>(key), std::get<2>(key));
      e.volume += from.volume;
      e.confirmed += from.confirmed;
      e.failed += from.failed;
      e.dead += from.dead;
      e.pending += from.pending;
      e.samples.insert(e.samples.end(), from.samples.begin(), from.samples.end());
    }
    for (const auto& [id, key] : leaked_handoff_edge_) {
      handoff_edge_[id] = EdgeIndex(std::get<0>(key), std::get<1>(key), std::get<2>(key));
    }
    for (const Handoff& h : in_.alert_handoffs) {
      CountHandoff(Edge(DestinationId(h.destination), kAlertsId, "alert"), h);
    }
    AddLeaks();
    return ToJson();
  }

 private:
  static std::string SourceId(const std::string& name) { return "source:" + name; }
  static std::string RouteId(const std::string& name) {
    return "route:" + (name.empty() ? std::string(kNone) : name);
  }
  static std::string OwnerId(const std::string& id) {
    return "owner:" + (id.empty() ? std::string(kNone) : id);
  }
  static std::string DestinationId(const std::string& name) { return "destination:" + name; }

  // The node with `id`, added when new; kind and label come from the id's prefix.
  size_t Node(const std::string& id) {
    if (auto it = node_index_.find(id); it != node_index_.end()) return it->second;
    MapNode n;
    n.id = id;
    const size_t colon = id.find(':');
    n.kind = colon == std::string::npos ? id : id.substr(0, colon);
    n.label = colon == std::string::npos ? id : id.substr(colon + 1);
    nodes_.push_back(std::move(n));
    node_index_[id] = nodes_.size() - 1;
    return nodes_.size() - 1;
  }

  // The index of the edge, added when new (references into edges_ do not survive adding).
  size_t EdgeIndex(const std::string& from, const std::string& to, const std::string& kind) {
    const auto key = std::make_tuple(from, to, kind);
    if (auto it = edge_index_.find(key); it != edge_index_.end()) return it->second;
    Node(from);
    Node(to);
    MapEdge e;
    e.from = from;
    e.to = to;
    e.kind = kind;
    edges_.push_back(std::move(e));
    edge_index_[key] = edges_.size() - 1;
    return edges_.size() - 1;
  }
  MapEdge& Edge(const std::string& from, const std::string& to, const std::string& kind) {
    return edges_[EdgeIndex(from, to, kind)];
  }
  // The figures an edge has from the inquiries added so far (drawn in Build).
  MapEdge& Shown(const EdgeKey& key) {
    auto [it, added] = shown_.try_emplace(key);
    if (added) shown_order_.push_back(key);
    return it->second;
  }

  // The channel a source's inquiries carry: its config's, else its adapter's, else the one its
  // inquiries showed; nullopt when none of them tells.
  std::optional<std::string> SourceChannel(const SourceConfig& s) const {
    if (!s.channel.empty()) return s.channel;
    if (auto it = in_.adapter_channels.find(s.adapter); it != in_.adapter_channels.end()) {
      return std::string(ChannelName(it->second));
    }
    if (auto it = first_channel_.find(s.name); it != first_channel_.end()) return it->second;
    return std::nullopt;
  }

  static bool Admits(const std::vector<std::string>& allowed, const std::string& value) {
    return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
  }

  // Every node and edge the config implies, in the order they are listed.
  void AddConfigGraph() {
    const RouteConfig* fallback = nullptr;
    for (const RouteConfig& r : config_.routes) {
      if (r.fallback && fallback == nullptr) fallback = &r;
    }
    for (const SourceConfig& s : config_.sources) {
      MapNode& n = nodes_[Node(SourceId(s.name))];
      const std::optional<std::string> channel = SourceChannel(s);
      n.extra = {{"adapter", s.adapter}, {"channel", channel.value_or("")}};
    }
    for (const RouteConfig& r : config_.routes) {
      nodes_[Node(RouteId(r.name))].extra = {{"fallback", r.fallback}};
    }
    for (const TeamMember& m : config_.team) {
      nodes_[Node(OwnerId(m.id))].extra = {{"name", m.name}};
    }
    for (const DestinationConfig& d : config_.destinations) {
      nodes_[Node(DestinationId(d.name))].extra = {{"connector", d.connector}};
    }
    // Mirrors the router: the first route whose source/channel conditions admit the source
    // takes it; one with no content conditions takes all of it, so later routes never see it.
    for (const SourceConfig& s : config_.sources) {
      const std::optional<std::string> channel = SourceChannel(s);
      bool covered = false;
      for (const RouteConfig& r : config_.routes) {
        if (r.fallback || !Admits(r.when_sources, s.name)) continue;
        if (channel && !Admits(r.when_channels, *channel)) continue;
        Edge(SourceId(s.name), RouteId(r.name), "inquiries");
        const bool content_free = r.when_kinds.empty() && r.when_intents.empty() &&
                                  r.when_urgency.empty() && !r.when_in_hours &&
                                  r.when_contact.empty() && r.when_match.empty();
        if (content_free && (channel || r.when_channels.empty())) {
          covered = true;
          break;
        }
      }
      if (!covered) {
        Edge(SourceId(s.name), RouteId(fallback != nullptr ? fallback->name : ""), "inquiries");
      }
    }
    for (const RouteConfig& r : config_.routes) AddRouteEdges(r);
    for (const NotifyTarget& t : config_.alerts.via) {
      Edge(DestinationId(t.via), kAlertsId, "alert");
    }
  }

  void AddRouteEdges(const RouteConfig& r) {
    const std::string route = RouteId(r.name);
    if (r.task_due > 0) {
      std::vector<std::string> owners;
      if (r.assign_strategy == "fixed") owners.push_back(r.assign_owner);
      for (const PoolMember& p : r.assign_pool) owners.push_back(p.id);
      if (!r.assign_fallback.empty()) owners.push_back(r.assign_fallback);
      // on_call without a pool, and available_only without a fallback, end with the team's
      // on-call people (trigger/assignment.h).
      if ((r.assign_strategy == "on_call" && r.assign_pool.empty()) ||
          (r.assign_available_only && r.assign_fallback.empty())) {
        for (const TeamMember& m : config_.team) {
          if (m.on_call) owners.push_back(m.id);
        }
      }
      for (const EscalationStep& step : r.escalate) {
        if (!step.reassign.empty() && step.reassign != "next") owners.push_back(step.reassign);
      }
      for (const std::string& owner : owners) {
        if (!owner.empty()) Edge(route, OwnerId(owner), "task");
      }
    }
    for (const std::string& d : r.deliver) Edge(route, DestinationId(d), "deliver");
    for (const NotifyTarget& t : r.notify) Edge(route, DestinationId(t.via), "notify");
    for (const EscalationStep& step : r.escalate) {
      if (step.notify.empty()) continue;
      const std::string via = !step.via.empty()   ? step.via
                              : !r.notify.empty() ? r.notify.front().via
                                                  : std::string();
      if (!via.empty()) Edge(route, DestinationId(via), "escalate");
    }
    if (r.reply) Edge(route, DestinationId(r.reply->via), "reply");
  }

  static void CountHandoff(MapEdge& e, const OutcomeHandoff& h) {
    ++e.volume;
    if (h.state == "confirmed") {
      ++e.confirmed;
      if (h.confirmed_at >= h.created_at) e.samples.push_back(h.confirmed_at - h.created_at);
    } else if (h.state == "failed") {
      ++e.failed;
    } else if (h.state == "dead") {
      ++e.dead;
    } else {
      ++e.pending;
    }
  }

  void CountInquiry(MapEdge& e, const InquiryOutcome& o) const {
    ++e.volume;
    if (o.task && !o.task->owner.empty()) {
      ++e.confirmed;
      if (o.task->created_at >= o.received_at) {
        e.samples.push_back(o.task->created_at - o.received_at);
      }
    } else if (o.status != "canceled" &&
               (o.status == "unrouted" || in_.until >= o.received_at + config_.alerts.unassigned)) {
      ++e.failed;  // the condition of the `unassigned` leak
    } else {
      ++e.pending;
    }
  }

  void CountTask(MapEdge& e, const OutcomeTask& t) const {
    ++e.volume;
    // Marking a task done acknowledges it; older rows may carry only done_at.
    const Micros acked = t.acknowledged_at != 0 ? t.acknowledged_at : t.done_at;
    if (acked != 0) {
      if (t.due_at == 0 || acked <= t.due_at) {
        ++e.confirmed;
      } else {
        ++e.failed;
      }
      if (acked >= t.created_at) e.samples.push_back(acked - t.created_at);
    } else if (t.due_at != 0 && in_.until > t.due_at) {
      ++e.failed;
    } else {
      ++e.pending;
    }
  }

  // The edge a leak concerns; nullopt when it concerns a node (or nothing drawn).
  std::optional<size_t> LeakEdge(const Leak& l) {
    if (!l.destination.empty()) {
      // Handoff leaks are keyed "<kind>:<handoff id>": the handoff tells the purpose.
      const size_t colon = l.key.find(':');
      if (colon != std::string::npos) {
        auto it = handoff_edge_.find(l.key.substr(colon + 1));
        if (it != handoff_edge_.end()) return it->second;
      }
      // The inquiry is outside the window: its route's edge to that destination, deliver first.
      const std::string from = RouteId(l.route), to = DestinationId(l.destination);
      if (auto it = edge_index_.find({from, to, "deliver"}); it != edge_index_.end()) {
        return it->second;
      }
      for (size_t i = 0; i < edges_.size(); ++i) {
        if (edges_[i].from == from && edges_[i].to == to) return i;
      }
      return EdgeIndex(from, to, "deliver");
    }
    if (l.kind == "overdue_task" || l.kind == "missed_call") {
      return EdgeIndex(RouteId(l.route), OwnerId(l.owner), "task");
    }
    if (l.source.empty()) return std::nullopt;
    return EdgeIndex(SourceId(l.source), RouteId(l.route), "inquiries");
  }

  void AddLeaks() {
    for (size_t i = 0; i < in_.open_leaks.size(); ++i) {
      const Leak& l = in_.open_leaks[i];
      if (!l.inquiry_id.empty() && synthetic_.count(l.inquiry_id) > 0) continue;
      if (l.kind == "silent_source") {
        nodes_[Node(SourceId(l.source))].leaks.push_back(i);
        continue;
      }
      if (std::optional<size_t> e = LeakEdge(l)) edges_[*e].leaks.push_back(i);
    }
  }

  Health EdgeHealth(const MapEdge& e) const {
    bool severe = false;
    for (size_t i : e.leaks) severe = severe || SevereLeak(in_.open_leaks[i]);
    const int64_t decided = e.confirmed + e.failed + e.dead;
    const double ratio = decided == 0 ? 1.0 : static_cast<double>(e.confirmed) / decided;
    if (severe || ratio < 0.5) return Health::kBroken;
    if (!e.leaks.empty() || ratio < 0.95) return Health::kDegraded;
    return e.volume == 0 ? Health::kIdle : Health::kOk;
  }

  static int KindRank(const std::string& kind) {
    static constexpr std::string_view kOrder[] = {"source", "route", "owner", "destination",
                                                  "alerts"};
    for (size_t i = 0; i < std::size(kOrder); ++i) {
      if (kind == kOrder[i]) return static_cast<int>(i);
    }
    return static_cast<int>(std::size(kOrder));
  }

  nlohmann::json ToJson() {
    // Config order within each kind, what only the figures showed after it, "(none)" last.
    std::vector<size_t> order(nodes_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const MapNode &x = nodes_[a], &y = nodes_[b];
      return std::make_pair(KindRank(x.kind), x.label == kNone) <
             std::make_pair(KindRank(y.kind), y.label == kNone);
    });
    std::map<std::string, size_t> position;
    for (size_t i = 0; i < order.size(); ++i) position[nodes_[order[i]].id] = i;
    std::vector<size_t> edge_order(edges_.size());
    for (size_t i = 0; i < edge_order.size(); ++i) edge_order[i] = i;
    std::stable_sort(edge_order.begin(), edge_order.end(), [&](size_t a, size_t b) {
      return std::make_pair(position[edges_[a].from], position[edges_[a].to]) <
             std::make_pair(position[edges_[b].from], position[edges_[b].to]);
    });

    struct NodeFigures {
      Health health = Health::kIdle;
      int64_t in = 0, out = 0;
      std::set<size_t> leaks;
    };
    std::map<std::string, NodeFigures> figures;
    nlohmann::json edges = nlohmann::json::array();
    for (size_t i : edge_order) {
      MapEdge& e = edges_[i];
      e.health = EdgeHealth(e);
      for (const std::string* end : {&e.from, &e.to}) {
        NodeFigures& f = figures[*end];
        f.health = std::max(f.health, e.health);
        f.leaks.insert(e.leaks.begin(), e.leaks.end());
      }
      figures[e.from].out += e.volume;
      figures[e.to].in += e.volume;
      const int64_t decided = e.confirmed + e.failed + e.dead;
      edges.push_back(
          {{"from", e.from},
           {"to", e.to},
           {"kind", e.kind},
           {"volume", e.volume},
           {"confirmed", e.confirmed},
           {"failed", e.failed},
           {"dead", e.dead},
           {"pending", e.pending},
           {"success_ratio", decided == 0 ? nlohmann::json(nullptr)
                                          : nlohmann::json(static_cast<double>(e.confirmed) /
                                                           static_cast<double>(decided))},
           {"p95_ms", e.samples.empty() ? nlohmann::json(nullptr)
                                        : nlohmann::json(PercentileMs(e.samples, 95))},
           {"open_leaks", e.leaks.size()},
           {"health", HealthName(e.health)}});
    }
    nlohmann::json nodes = nlohmann::json::array();
    for (size_t i : order) {
      const MapNode& n = nodes_[i];
      NodeFigures& f = figures[n.id];
      for (size_t l : n.leaks) {
        f.leaks.insert(l);
        f.health =
            std::max(f.health, SevereLeak(in_.open_leaks[l]) ? Health::kBroken : Health::kDegraded);
      }
      const int64_t volume = n.kind == "source"        ? f.out
                             : n.kind == "destination" ? f.in + f.out
                                                       : f.in;
      nlohmann::json j = {{"id", n.id},       {"kind", n.kind},
                          {"label", n.label}, {"health", HealthName(f.health)},
                          {"volume", volume}, {"open_leaks", f.leaks.size()}};
      j.update(n.extra);
      nodes.push_back(std::move(j));
    }
    auto time = [](Micros t) {
      return t == 0 ? nlohmann::json(nullptr) : nlohmann::json(FormatRfc3339(t));
    };
    return {{"window", {{"from", time(in_.from)}, {"until", time(in_.until)}}},
            {"nodes", std::move(nodes)},
            {"edges", std::move(edges)}};
  }

  const Config& config_;
  MapInputs in_;
  std::vector<MapNode> nodes_;
  std::map<std::string, size_t> node_index_;
  std::vector<MapEdge> edges_;
  std::map<EdgeKey, size_t> edge_index_;
  std::map<std::string, size_t> handoff_edge_;  // handoff id → its edge
  std::set<std::string> synthetic_;             // synthetic inquiries' ids
  // What the inquiries added so far showed, per edge, before the config's graph is drawn (which
  // needs a source's channel from them): drawn in Build, the edges the config does not imply
  // in the order the inquiries first showed them.
  std::map<EdgeKey, MapEdge> shown_;
  std::vector<EdgeKey> shown_order_;
  std::map<std::string, std::string> first_channel_;    // per source, its first inquiry's channel
  std::set<std::string> leaked_handoffs_;               // the handoffs the open leaks name
  std::map<std::string, EdgeKey> leaked_handoff_edge_;  // of those, the edge each was counted on
};

}  // namespace continuity_map_internal

namespace {

// Readers that never throw: the map may come from a server of another version.
const nlohmann::json& Get(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Text(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = Get(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

int64_t Count(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = Get(j, key);
  return v.is_number() ? v.get<int64_t>() : 0;
}

const nlohmann::json& List(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  const nlohmann::json& v = Get(j, key);
  return v.is_array() ? v : kEmpty;
}

// `s` with invalid UTF-8 replaced by '?' and control characters by spaces: safe on one line of a
// terminal or inside a DOT string.
std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool valid = len != 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
    }
    if (!valid) {
      out += '?';
      ++i;
      continue;
    }
    if (len == 1 && (c < 0x20 || c == 0x7F)) {
      out += ' ';
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

// How the text names an edge kind's items and outcomes ("3 tasks: 2 acknowledged on time").
struct EdgeWords {
  const char* one;
  const char* many;
  const char* confirmed;
  const char* failed;
};

EdgeWords WordsFor(const std::string& kind) {
  if (kind == "inquiries") return {"inquiry", "inquiries", "owned", "unowned"};
  if (kind == "task") return {"task", "tasks", "acknowledged on time", "late"};
  return {"handoff", "handoffs", "confirmed", "failed"};
}

// "12 handoffs: 11 confirmed, 1 dead (91%), p95 2.5s" or "no traffic", then leaks.
std::string EdgeFigures(const nlohmann::json& e) {
  const EdgeWords words = WordsFor(Text(e, "kind"));
  const int64_t volume = Count(e, "volume");
  std::string out;
  if (volume == 0) {
    out = "no traffic";
  } else {
    const int64_t confirmed = Count(e, "confirmed"), failed = Count(e, "failed"),
                  dead = Count(e, "dead"), pending = Count(e, "pending");
    out = fmt::format("{} {}: {} {}", volume, volume == 1 ? words.one : words.many, confirmed,
                      words.confirmed);
    if (failed > 0) out += fmt::format(", {} {}", failed, words.failed);
    if (dead > 0) out += fmt::format(", {} dead", dead);
    if (pending > 0) out += fmt::format(", {} pending", pending);
    const int64_t decided = confirmed + failed + dead;
    // Rounded down so that it never looks better than it is.
    if (decided > 0) out += fmt::format(" ({}%)", confirmed * 100 / decided);
    if (const nlohmann::json& p95 = Get(e, "p95_ms"); p95.is_number()) {
      out += ", p95 " + FormatDuration(p95.get<int64_t>() * kMicrosPerMilli);
    }
  }
  if (const int64_t leaks = Count(e, "open_leaks"); leaks > 0) {
    out += fmt::format(", {} open leak{}", leaks, leaks == 1 ? "" : "s");
  }
  return out;
}

std::string NodeLine(const nlohmann::json& n) {
  std::string line = fmt::format("  {} [{}]", Printable(Text(n, "label")), Text(n, "health"));
  if (const int64_t leaks = Count(n, "open_leaks"); leaks > 0) {
    line += fmt::format(", {} open leak{}", leaks, leaks == 1 ? "" : "s");
  }
  return line + "\n";
}

// Node id → "kind label", as edge lines name their ends.
using NodeNames = std::map<std::string, std::string>;

std::string EdgeLine(const nlohmann::json& e, const NodeNames& names, bool show_from) {
  auto label = [&](const std::string& id) {
    auto it = names.find(id);
    return Printable(it == names.end() ? id : it->second);
  };
  const std::string kind = Text(e, "kind");
  std::string to = label(Text(e, "to"));
  if (kind != "inquiries" && kind != "task") to += " (" + kind + ")";
  return fmt::format("    {}-> {}: {} [{}]\n", show_from ? label(Text(e, "from")) + " " : "", to,
                     EdgeFigures(e), Text(e, "health"));
}

// The colours of a health: line and text, and a node's fill.
struct DotStyle {
  const char* color;
  const char* fill;
};

DotStyle StyleFor(const std::string& health) {
  if (health == "ok") return {"#2e7d32", "#e8f5e9"};
  if (health == "degraded") return {"#ef6c00", "#fff3e0"};
  if (health == "broken") return {"#c62828", "#ffebee"};
  return {"#9e9e9e", "#f5f5f5"};
}

const char* ShapeFor(const std::string& kind) {
  if (kind == "source") return "box";
  if (kind == "route") return "box";
  if (kind == "owner") return "ellipse";
  if (kind == "destination") return "cylinder";
  return "octagon";
}

// The contents of a DOT quoted string: '"' and '\' escaped (so "\N", "\l"… stay literal and no
// name can end the string), anything unprintable replaced.
std::string DotEscape(std::string_view s) {
  std::string out;
  for (char c : Printable(s)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// A DOT label of several lines, each escaped.
std::string DotLabel(const std::vector<std::string>& lines) {
  std::string out = "\"";
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "\\n";
    out += DotEscape(lines[i]);
  }
  return out + "\"";
}

}  // namespace

ContinuityMapBuilder::ContinuityMapBuilder(const Config& config, MapInputs in)
    : builder_(std::make_unique<continuity_map_internal::MapBuilder>(config, std::move(in))) {}

ContinuityMapBuilder::~ContinuityMapBuilder() = default;

void ContinuityMapBuilder::Add(const InquiryOutcome& outcome) { builder_->Add(outcome); }

nlohmann::json ContinuityMapBuilder::Finish() { return builder_->Build(); }

nlohmann::json ContinuityMapJson(const Config& config, const MapInputs& in) {
  MapInputs without_outcomes;
  without_outcomes.from = in.from;
  without_outcomes.until = in.until;
  without_outcomes.open_leaks = in.open_leaks;
  without_outcomes.alert_handoffs = in.alert_handoffs;
  without_outcomes.adapter_channels = in.adapter_channels;
  ContinuityMapBuilder builder(config, std::move(without_outcomes));
  for (const InquiryOutcome& o : in.outcomes) builder.Add(o);
  return builder.Finish();
}

std::string MapText(const nlohmann::json& map) {
  const nlohmann::json& window = Get(map, "window");
  std::string out =
      Get(window, "from").is_string()
          ? fmt::format("Continuity map, {} to {}\n", Text(window, "from"), Text(window, "until"))
          : "Continuity map (from the config alone: no live figures)\n";
  NodeNames names;
  for (const nlohmann::json& n : List(map, "nodes")) {
    const std::string kind = Text(n, "kind");
    names[Text(n, "id")] = kind == "alerts" ? kind : kind + " " + Text(n, "label");
  }
  const nlohmann::json& edges = List(map, "edges");
  auto section = [&](const char* title, const char* kind) {
    bool any = false;
    for (const nlohmann::json& n : List(map, "nodes")) {
      if (Text(n, "kind") != kind) continue;
      if (!any) out += fmt::format("\n{}\n", title);
      any = true;
      out += NodeLine(n);
      for (const nlohmann::json& e : edges) {
        if (Text(e, "from") == Text(n, "id")) out += EdgeLine(e, names, false);
      }
    }
  };
  section("Sources", "source");
  section("Routes", "route");
  bool alerts = false;
  for (const nlohmann::json& n : List(map, "nodes")) {
    if (Text(n, "kind") != "alerts") continue;
    out += "\nAlerts\n" + NodeLine(n);
    alerts = true;
    for (const nlohmann::json& e : edges) {
      if (Text(e, "to") == Text(n, "id")) out += EdgeLine(e, names, true);
    }
  }
  if (!alerts) out += "\nAlerts\n  (none: alerts.via names no destination)\n";
  return out;
}

std::string MapDot(const nlohmann::json& map) {
  std::string out =
      "digraph continuity_map {\n"
      "  rankdir=LR;\n"
      "  graph [fontname=\"Helvetica\", fontsize=12, labelloc=t];\n"
      "  node [fontname=\"Helvetica\", fontsize=11, style=filled];\n"
      "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  const nlohmann::json& window = Get(map, "window");
  out += fmt::format("  label={};\n",
                     DotLabel({Get(window, "from").is_string()
                                   ? fmt::format("Continuity map, {} to {}", Text(window, "from"),
                                                 Text(window, "until"))
                                   : "Continuity map (config only)"}));
  // Generated ids, so that names only ever appear inside labels.
  std::map<std::string, std::string> dot_id;
  for (const nlohmann::json& n : List(map, "nodes")) {
    const std::string id = fmt::format("n{}", dot_id.size());
    dot_id[Text(n, "id")] = id;
    const std::string kind = Text(n, "kind");
    const DotStyle style = StyleFor(Text(n, "health"));
    std::vector<std::string> lines = {Text(n, "label")};
    if (const std::string name = Text(n, "name"); !name.empty()) lines.push_back(name);
    // "route, 12, 1 leak": what it is (unless its label says so), what passed, what leaks.
    std::vector<std::string> detail;
    if (kind != Text(n, "label")) detail.push_back(kind);
    if (const int64_t volume = Count(n, "volume"); volume > 0) {
      detail.push_back(fmt::format("{}", volume));
    }
    if (const int64_t leaks = Count(n, "open_leaks"); leaks > 0) {
      detail.push_back(fmt::format("{} leak{}", leaks, leaks == 1 ? "" : "s"));
    }
    if (!detail.empty()) lines.push_back(fmt::format("{}", fmt::join(detail, ", ")));
    out += fmt::format(
        "  {} [label={}, tooltip={}, shape={}, style=\"{}\", color=\"{}\", fillcolor=\"{}\"];\n",
        id, DotLabel(lines), DotLabel({Text(n, "id") + ": " + Text(n, "health")}), ShapeFor(kind),
        kind == "route" ? "filled,rounded" : "filled", style.color, style.fill);
  }
  for (const nlohmann::json& e : List(map, "edges")) {
    auto from = dot_id.find(Text(e, "from"));
    auto to = dot_id.find(Text(e, "to"));
    if (from == dot_id.end() || to == dot_id.end()) continue;
    const std::string health = Text(e, "health");
    const DotStyle style = StyleFor(health);
    std::vector<std::string> lines = {Text(e, "kind")};
    if (const int64_t volume = Count(e, "volume"); volume > 0) {
      std::string figures = fmt::format("{}", volume);
      const int64_t confirmed = Count(e, "confirmed");
      const int64_t decided = confirmed + Count(e, "failed") + Count(e, "dead");
      if (decided > 0) figures += fmt::format(", {}%", confirmed * 100 / decided);
      if (const nlohmann::json& p95 = Get(e, "p95_ms"); p95.is_number()) {
        figures += ", p95 " + FormatDuration(p95.get<int64_t>() * kMicrosPerMilli);
      }
      lines.push_back(figures);
    }
    if (const int64_t leaks = Count(e, "open_leaks"); leaks > 0) {
      lines.push_back(fmt::format("{} leak{}", leaks, leaks == 1 ? "" : "s"));
    }
    out += fmt::format("  {} -> {} [label={}, color=\"{}\", fontcolor=\"{}\", style={}{}];\n",
                       from->second, to->second, DotLabel(lines), style.color, style.color,
                       health == "idle" ? "dashed" : "solid",
                       health == "broken" || health == "degraded" ? ", penwidth=2" : "");
  }
  return out + "}\n";
}

}  // namespace handoff
