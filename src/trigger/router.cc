#include "trigger/router.h"

#include <re2/re2.h>

#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/algorithm/container.h"
#include "model/field_path.h"
#include "model/template_values.h"

namespace handoff {
namespace {

// A list condition: empty admits everything, otherwise the value must be listed.
bool Admits(const std::vector<std::string>& list, std::string_view v) {
  return list.empty() || absl::c_linear_search(list, v);
}

}  // namespace

Router::Router(const Config& config) {
  for (const RouteConfig& r : config.routes) {
    if (r.fallback) {
      if (fallback_ == nullptr) fallback_ = &r;
      continue;
    }
    CompiledRoute compiled{&r, {}};
    for (const auto& [path, pattern] : r.when_match) {
      compiled.match.push_back(std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet));
    }
    routes_.push_back(std::move(compiled));
  }
}

Router::~Router() = default;

bool Router::Holds(const CompiledRoute& c, const Inquiry& inquiry, const Contact* contact) {
  const RouteConfig& r = *c.route;
  if (!Admits(r.when_sources, inquiry.source)) return false;
  if (!Admits(r.when_channels, ChannelName(inquiry.channel))) return false;
  if (!Admits(r.when_kinds, FieldText(inquiry, "fields.kind"))) return false;
  if (!Admits(r.when_intents, FieldText(inquiry, "intent"))) return false;
  if (!Admits(r.when_urgency, FieldText(inquiry, "urgency"))) return false;
  if (r.when_in_hours) {
    auto it = inquiry.fields.find("in_hours");
    if (it == inquiry.fields.end() || !it->is_boolean() || it->get<bool>() != *r.when_in_hours) {
      return false;
    }
  }
  if (!r.when_contact.empty() && FieldText(inquiry, "fields.contact_status") != r.when_contact) {
    return false;
  }
  for (size_t i = 0; i < c.match.size(); ++i) {
    // A pattern that does not compile (a config built in code) matches nothing.
    if (!c.match[i]->ok()) return false;
    const std::string text = FieldText(inquiry, r.when_match[i].first, contact);
    if (!re2::RE2::PartialMatch(text, *c.match[i])) return false;
  }
  return true;
}

const RouteConfig* Router::Match(const Inquiry& inquiry, const Contact* contact) const {
  for (const CompiledRoute& c : routes_) {
    if (Holds(c, inquiry, contact)) return c.route;
  }
  return fallback_;
}

Router::Coverage Router::CoverageOf(const std::string& source, Channel channel) const {
  if (fallback_ != nullptr) return Coverage::kAll;
  Coverage out = Coverage::kNone;
  for (const CompiledRoute& c : routes_) {
    const RouteConfig& r = *c.route;
    if (!Admits(r.when_sources, source) || !Admits(r.when_channels, ChannelName(channel))) {
      continue;
    }
    const bool content_free = r.when_kinds.empty() && r.when_intents.empty() &&
                              r.when_urgency.empty() && !r.when_in_hours &&
                              r.when_contact.empty() && r.when_match.empty();
    if (content_free) return Coverage::kAll;
    out = Coverage::kSome;
  }
  return out;
}

std::string RenderTitle(const std::string& tmpl, const Inquiry& inquiry, const Contact* contact) {
  // Parsing a template cost as much as rendering it, for every task: each thread keeps the
  // templates it rendered, parsed (a config holds a few; a reload may bring new ones, so the
  // cache starts over past a bound). A parsed template is not safe to share between threads.
  constexpr size_t kMaxCachedTemplates = 64;
  // Each keeps the sections it names too: only those values are built.
  struct Parsed {
    std::unique_ptr<kainjow::mustache::mustache> mustache;
    unsigned sections;
  };
  thread_local std::unordered_map<std::string, Parsed> parsed;
  auto it = parsed.find(tmpl);
  if (it == parsed.end()) {
    if (parsed.size() >= kMaxCachedTemplates) parsed.clear();
    auto m = std::make_unique<kainjow::mustache::mustache>(tmpl);
    m->set_custom_escape([](const std::string& s) { return s; });
    it = parsed.emplace(tmpl, Parsed{std::move(m), TemplateSectionsIn(tmpl)}).first;
  }
  kainjow::mustache::mustache& m = *it->second.mustache;
  if (!m.is_valid()) return tmpl;
  return m.render(InquiryTemplateValues(inquiry, contact, it->second.sections));
}

}  // namespace handoff
