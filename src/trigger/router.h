// Picks the route for an inquiry (first match wins, then the fallback) and renders the task
// title from the route's mustache template.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/records.h"

namespace re2 {
class RE2;
}

namespace handoff {

// The config's routes with their `when.match` patterns compiled once. Immutable after
// construction; thread-safe. `config` must outlive it.
class Router {
 public:
  explicit Router(const Config& config);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // The first route whose every `when` condition holds for the inquiry (after enrichment: intent,
  // urgency, in_hours and contact_status are read from its fields), else the fallback route,
  // else nullptr (the inquiry is unrouted: `handoff check` warns about such configs). `contact`
  // (may be null) supplies contact fields the inquiry lacks for `when.match`.
  const RouteConfig* Match(const Inquiry& inquiry, const Contact* contact = nullptr) const;

  // How much of what `source` sends on `channel` gets a route: kAll when a fallback exists or a
  // route admits it on source/channel conditions alone; kSome when routes admit it only if its
  // content matches (intent, urgency, hours, patterns…); kNone when no route admits it at all.
  enum class Coverage { kAll, kSome, kNone };
  Coverage CoverageOf(const std::string& source, Channel channel) const;

 private:
  struct CompiledRoute {
    const RouteConfig* route;
    std::vector<std::unique_ptr<re2::RE2>> match;  // parallel to route->when_match
  };
  static bool Holds(const CompiledRoute& r, const Inquiry& inquiry, const Contact* contact);

  std::vector<CompiledRoute> routes_;  // non-fallback routes, in order
  const RouteConfig* fallback_ = nullptr;
};

// Renders a task title (or text-back) template, "Call back {{contact.name}}", as plain text (no
// HTML escaping: titles are escaped where they are displayed), over the values of
// model/template_values.h; contact fields the inquiry lacks come from its linked `contact` (may
// be null): a missed call from a known number still names the person. A template that does not
// parse renders as its own text.
std::string RenderTitle(const std::string& tmpl, const Inquiry& inquiry,
                        const Contact* contact = nullptr);

}  // namespace handoff
