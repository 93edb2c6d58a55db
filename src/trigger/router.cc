#include "trigger/router.h"

#include <algorithm>
#include <kainjow/mustache.hpp>

namespace handoff {
namespace {

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

const RouteConfig* MatchRoute(const Config& config, const Inquiry& inquiry) {
  for (const RouteConfig& r : config.routes) {
    if (r.fallback) continue;
    if (!r.when_sources.empty() && !Contains(r.when_sources, inquiry.source)) continue;
    if (!r.when_channels.empty() && !Contains(r.when_channels, ChannelName(inquiry.channel))) {
      continue;
    }
    return &r;
  }
  for (const RouteConfig& r : config.routes) {
    if (r.fallback) return &r;
  }
  return nullptr;
}

std::string RenderTitle(const std::string& tmpl, const Inquiry& inquiry, const Contact* contact) {
  using kainjow::mustache::data;
  kainjow::mustache::mustache m(tmpl);
  if (!m.is_valid()) return tmpl;
  m.set_custom_escape([](const std::string& s) { return s; });
  ContactFields c = inquiry.normalized;
  if (contact != nullptr) {
    if (c.name.empty()) c.name = contact->name;
    if (c.email.empty()) c.email = contact->email;
    if (c.phone.empty()) c.phone = contact->phone;
  }
  data who;
  who.set("name", c.name.empty() ? (c.phone.empty() ? c.email : c.phone) : c.name);
  who.set("email", c.email);
  who.set("phone", c.phone);
  data inq;
  inq.set("source", inquiry.source);
  inq.set("channel", std::string(ChannelName(inquiry.channel)));
  inq.set("message", inquiry.message);
  inq.set("service", inquiry.service);
  data root;
  root.set("contact", who);
  root.set("inquiry", inq);
  return m.render(root);
}

}  // namespace handoff
