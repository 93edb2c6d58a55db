#include "app/config_check.h"

#include <algorithm>
#include <optional>
#include <set>

#include "fmt/format.h"
#include "transfer/oauth2.h"
#include "trigger/router.h"

namespace handoff {
namespace {

template <typename Spec>
void CheckSettings(const Config& config, const std::string& where,
                   const std::map<std::string, int>& lines, const Spec* spec,
                   std::vector<std::string>& errors) {
  std::set<std::string> known;
  for (const auto& s : spec->settings) known.insert(s.key);
  for (const auto& [key, line] : lines) {
    if (known.count(key)) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    errors.push_back(fmt::format("{}:{}: unknown key '{}' in {} (expected the common keys{}{})",
                                 config.path, line, key, where, list.empty() ? "" : " or ", list));
  }
}

}  // namespace

ConfigFindings CheckConfig(const Config& config, const SourceAdapterRegistry& sources,
                           const ConnectorRegistry& connectors) {
  ConfigFindings f;
  auto at = [&](int line, const std::string& msg) {
    return fmt::format("{}:{}: {}", config.path, line, msg);
  };
  const Router router(config);
  for (const SourceConfig& s : config.sources) {
    std::string where = fmt::format("source '{}'", s.name);
    const SourceAdapterSpec* spec = sources.FindSpec(s.adapter);
    if (spec == nullptr) {
      std::string names;
      for (const auto& n : sources.Names()) names += (names.empty() ? "" : ", ") + n;
      f.errors.push_back(at(s.line, fmt::format("{}: unknown adapter '{}' (available: {})", where,
                                                s.adapter, names)));
      continue;
    }
    CheckSettings(config, where, s.setting_lines, spec, f.errors);
    if (!s.auth.configured()) {
      f.warnings.push_back(at(s.line, where + " has no token or signature: anyone who finds its "
                                              "URL can post inquiries"));
    }
    const Channel channel = s.channel.empty() ? spec->default_channel : *ParseChannel(s.channel);
    const Router::Coverage coverage = router.CoverageOf(s.name, channel);
    if (coverage == Router::Coverage::kNone) {
      f.warnings.push_back(at(s.line, where + " is handled by no route and there is no fallback "
                                              "route: its inquiries get no owner (a leak)"));
    } else if (coverage == Router::Coverage::kSome) {
      f.warnings.push_back(at(s.line, where + " is routed only when its content matches a "
                                              "route's conditions and there is no fallback "
                                              "route: the rest get no owner (a leak)"));
    }
  }
  for (const DestinationConfig& d : config.destinations) {
    std::string where = fmt::format("destination '{}'", d.name);
    const ConnectorSpec* spec = connectors.FindSpec(d.connector);
    if (spec == nullptr) {
      std::string names;
      for (const auto& n : connectors.Names()) names += (names.empty() ? "" : ", ") + n;
      f.errors.push_back(at(d.line, fmt::format("{}: unknown connector '{}' (available: {})", where,
                                                d.connector, names)));
      continue;
    }
    CheckSettings(config, where, d.setting_lines, spec, f.errors);
    // Build one request for a sample inquiry: whatever would make every real delivery fail
    // (a bad signing secret, a reserved header) is reported now, with its line.
    {
      Inquiry sample;
      sample.id = "00000000-0000-7000-8000-000000000000";
      sample.workspace = config.workspace;
      // A lead who left every detail: a destination addressing the lead (an SMS `to: lead`)
      // builds too. Whether the route's sources carry the detail is audited per route below.
      sample.normalized = {"Sample Lead", "lead@example.com", "+14155550142"};
      Handoff handoff;
      handoff.id = sample.id;
      handoff.destination = d.name;
      // A sample with an owned task, as Trigger creates: connectors that address the owner
      // (email, SMS) can build their request.
      std::optional<Task> task = Task{};
      task->id = sample.id;
      task->owner = "sample-owner";
      task->title = "Call back";
      std::optional<Contact> contact;
      DeliveryContext ctx{d, handoff, sample, task, contact, 0};
      TeamMember owner;
      owner.id = "sample-owner";
      owner.name = "Sample Owner";
      owner.email = "owner@example.com";
      owner.phone = "+14155550100";
      ctx.owner = owner;
      ctx.public_url = config.business.public_url;
      if (d.oauth2.configured()) {
        // The real token arrives at delivery time; a stand-in lets the request be built.
        ctx.access_token = AccessToken{"token-checked-at-delivery", "https://instance.invalid", 0};
        const std::string token_url =
            d.oauth2.token_url.empty() ? spec->default_token_url : d.oauth2.token_url;
        if (token_url.empty()) {
          f.errors.push_back(
              at(d.oauth2.line,
                 where + ": oauth2 needs 'token_url' for connector '" + d.connector + "'"));
        } else if (d.oauth2.grant == "jwt_bearer") {
          auto assertion = ServiceAccountAssertion(d.oauth2, token_url, 0);
          if (!assertion.ok()) {
            f.errors.push_back(
                at(d.oauth2.line,
                   fmt::format("{}: {}", where, std::string(assertion.status().message()))));
          }
        }
      }
      for (const std::string& problem : connectors.Find(d.connector)->CheckSettings(d)) {
        f.errors.push_back(at(d.line, fmt::format("{}: {}", where, problem)));
      }
      auto built = connectors.Find(d.connector)->BuildRequest(ctx);
      if (!built.ok()) {
        f.errors.push_back(
            at(d.line, fmt::format("{}: {}", where, std::string(built.status().message()))));
        continue;
      }
    }
    if (d.connector == "webhook") {
      if (d.url.empty()) {
        f.errors.push_back(at(d.line, where + " needs 'url'"));
      } else if (d.url.rfind("http://", 0) != 0 && d.url.rfind("https://", 0) != 0) {
        f.errors.push_back(at(d.line, where + ": url must start with http:// or https://"));
      }
    }
    bool used = false;
    for (const auto& r : config.routes) {
      for (const auto& name : r.deliver) used = used || name == d.name;
      for (const NotifyTarget& n : r.notify) used = used || n.via == d.name;
      for (const EscalationStep& s : r.escalate) used = used || s.via == d.name;
      used = used || (r.reply && r.reply->via == d.name);
    }
    for (const NotifyTarget& t : config.alerts.via) used = used || t.via == d.name;
    used = used || config.probes.target == d.name;
    if (!used) f.warnings.push_back(at(d.line, where + " is not used by any route"));
  }
  for (const RouteConfig& r : config.routes) {
    if (r.assign_strategy.empty() && r.task_due == 0) {
      f.warnings.push_back(at(r.line, fmt::format("route '{}' assigns no owner and creates no "
                                                  "task: nobody owns the next step (a leak)",
                                                  r.name)));
    } else if (r.assign_strategy.empty()) {
      f.warnings.push_back(at(r.line, fmt::format("route '{}' creates a task but assigns no "
                                                  "owner: nobody is told it is theirs",
                                                  r.name)));
    }
    // A path whose only destinations are messages (email, chat, SMS) leaves no record anyone
    // can track: the classic "the form sends an email" leak.
    if (!r.deliver.empty()) {
      static const std::set<std::string> kMessagesOnly = {"smtp", "slack", "teams", "twilio_sms"};
      bool record = false;
      for (const std::string& name : r.deliver) {
        const DestinationConfig* d = config.FindDestination(name);
        record = record || d == nullptr || !kMessagesOnly.count(d->connector);
      }
      if (!record) {
        f.warnings.push_back(at(r.line, fmt::format("route '{}' delivers only messages (email, "
                                                    "chat, SMS): no system keeps a record of its "
                                                    "inquiries; add a CRM, a sheet or the inbox",
                                                    r.name)));
      }
    }
    // A chain whose last step only tells the owner again ends where it began.
    if (!r.escalate.empty()) {
      const EscalationStep& last = r.escalate.back();
      if (last.reassign.empty() && (last.notify == "owner" || last.notify.empty())) {
        f.warnings.push_back(at(last.line, fmt::format("route '{}': the escalation chain ends by "
                                                       "telling the owner again: nobody else "
                                                       "ever learns the task is stuck",
                                                       r.name)));
      }
    }
    // Notices are for people: a CRM or a sheet would store them as records.
    auto check_notice_destination = [&](const std::string& via, int line) {
      const DestinationConfig* d = config.FindDestination(via);
      if (d == nullptr) return;
      static const std::set<std::string> kForPeople = {"slack", "teams", "twilio_sms", "smtp",
                                                       "webhook"};
      if (!kForPeople.count(d->connector)) {
        f.warnings.push_back(at(line, fmt::format("route '{}' sends notifications through '{}', a "
                                                  "{} destination: use slack, teams, "
                                                  "twilio_sms, smtp or webhook",
                                                  r.name, via, d->connector)));
      }
    };
    for (const NotifyTarget& n : r.notify) check_notice_destination(n.via, n.line);
    for (const EscalationStep& s : r.escalate) {
      if (!s.via.empty()) check_notice_destination(s.via, s.line);
    }
    if (r.assign_strategy == "by_skill" || r.assign_strategy == "by_territory") {
      const bool skill = r.assign_strategy == "by_skill";
      bool any = false;
      for (const PoolMember& p : r.assign_pool) {
        const TeamMember* m = config.FindMember(p.id);
        any = any || (m && !(skill ? m->skills : m->territory).empty());
      }
      if (!any) {
        f.warnings.push_back(
            at(r.line, fmt::format("route '{}' assigns {} but nobody in its pool "
                                   "has {}: it works as least_open",
                                   r.name, r.assign_strategy, skill ? "skills" : "a territory")));
      }
    }
    // A destination that needs a field of the lead that none of the route's sources carries
    // fails on every inquiry: a text-back, or an SMS destination set to text the lead, needs the
    // phone. Sources whose field map (json, form) names no phone never carry one; provider
    // adapters (Twilio, booking tools…) read their own payloads and are assumed to.
    auto sources_carry_phone = [&]() -> std::optional<bool> {
      bool any_source = false, carries_phone = false;
      for (const SourceConfig& s : config.sources) {
        const SourceAdapterSpec* spec = sources.FindSpec(s.adapter);
        if (spec == nullptr) continue;
        const Channel channel =
            s.channel.empty() ? spec->default_channel : *ParseChannel(s.channel);
        const bool admitted =
            r.fallback ||
            ((r.when_sources.empty() || std::find(r.when_sources.begin(), r.when_sources.end(),
                                                  s.name) != r.when_sources.end()) &&
             (r.when_channels.empty() || std::find(r.when_channels.begin(), r.when_channels.end(),
                                                   ChannelName(channel)) != r.when_channels.end()));
        if (!admitted) continue;
        any_source = true;
        const bool mapped = s.adapter == "json" || s.adapter == "form";
        bool phone = !mapped;
        for (const auto& [field, path] : s.map) phone = phone || field == "phone";
        carries_phone = carries_phone || phone;
      }
      if (!any_source) return std::nullopt;
      return carries_phone;
    };
    if (r.reply && sources_carry_phone() == false) {
      f.warnings.push_back(at(r.reply->line, fmt::format("route '{}' texts the lead back, but "
                                                         "none of its sources maps a phone: "
                                                         "the reply can never be sent",
                                                         r.name)));
    }
    for (const std::string& name : r.deliver) {
      const DestinationConfig* d = config.FindDestination(name);
      if (d == nullptr || d->connector != "twilio_sms") continue;
      auto to = d->settings.find("to");
      if (to == d->settings.end() || !to->is_string() || *to != "lead") continue;
      if (sources_carry_phone() == false) {
        f.warnings.push_back(at(r.line, fmt::format("route '{}' delivers to '{}', which texts "
                                                    "the lead, but none of its sources maps a "
                                                    "phone: every delivery will fail",
                                                    r.name, name)));
      }
    }
    if (r.assign_available_only && r.assign_fallback.empty()) {
      bool on_call = false;
      for (const TeamMember& m : config.team) on_call = on_call || m.on_call;
      if (!on_call) {
        f.warnings.push_back(at(r.line, fmt::format("route '{}' assigns only to available "
                                                    "people but names no fallback and nobody is "
                                                    "on call: out of hours its tasks go to "
                                                    "someone who is not working",
                                                    r.name)));
      }
    }
  }
  // Failure alerts: without a channel, a broken destination or a late owner is found only by
  // someone who happens to look.
  if (config.alerts.via.empty()) {
    f.warnings.push_back(at(config.alerts.line > 0 ? config.alerts.line : 1,
                            "no alert channel (alerts.via): leaks are recorded but nobody is "
                            "told when a handoff breaks or a task is overdue"));
  }
  for (const NotifyTarget& t : config.alerts.via) {
    const DestinationConfig* d = config.FindDestination(t.via);
    if (d == nullptr) continue;
    static const std::set<std::string> kAlertChannels = {"slack", "teams", "twilio_sms", "smtp",
                                                         "webhook"};
    if (!kAlertChannels.count(d->connector)) {
      f.errors.push_back(at(t.line, fmt::format("alerts go through '{}', a {} destination: use "
                                                "slack, teams, twilio_sms, smtp or webhook",
                                                t.via, d->connector)));
    }
    // An alert that travels the same road as the deliveries is lost with them: a broken chat
    // webhook cannot report itself.
    bool only_road = config.alerts.via.size() == 1;
    for (const RouteConfig& r : config.routes) {
      for (const std::string& name : r.deliver) {
        if (only_road && name == t.via) {
          f.warnings.push_back(at(t.line, fmt::format("'{}' is the only alert channel and also "
                                                      "a delivery destination: when it breaks, "
                                                      "nobody is told; add a second channel",
                                                      t.via)));
          only_road = false;
        }
      }
    }
  }
  if (config.server.admin_token.empty()) {
    f.warnings.push_back(at(1,
                            "server.admin_token is not set: the API and `handoff inquiries` "
                            "are disabled"));
  }
  return f;
}

}  // namespace handoff
