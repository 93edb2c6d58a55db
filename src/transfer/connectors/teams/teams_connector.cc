#include "transfer/connectors/teams/teams_connector.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "core/ascii.h"
#include "fmt/format.h"
#include "transfer/connectors/common/escaped_text.h"

namespace handoff {
namespace {

// Teams refuses cards over about 28 KB; these cuts keep a summary far below that.
constexpr size_t kTitleMax = 400;
constexpr size_t kFactMax = 1000;
constexpr size_t kMessageMax = 8000;
// The legacy connector throttles (4/s, 60/30 s, 100/h…) by answering 200 with the error in its
// body and no Retry-After; a minute clears the shorter windows.
constexpr Micros kThrottleRetryAfter = 60 * kMicrosPerSecond;

constexpr std::string_view kThemeColor = "0076D7";

std::string TeamsEscaped(std::string_view text, size_t max) {
  return EscapeWithin(text, max, TeamsEscape);
}

nlohmann::json TextBlock(std::string text) {
  return {{"type", "TextBlock"}, {"text", std::move(text)}, {"wrap", true}};
}

// The status a connector error text names ("…returned HTTP error 429 with ContextId…"), or 0.
int NamedHttpError(const std::string& lower_body) {
  constexpr std::string_view kMarker = "http error ";
  size_t at = lower_body.find(kMarker);
  if (at == std::string::npos) return 0;
  at += kMarker.size();
  int code = 0;
  size_t digits = 0;
  while (at + digits < lower_body.size() && digits < 3 &&
         std::isdigit(static_cast<unsigned char>(lower_body[at + digits]))) {
    code = code * 10 + (lower_body[at + digits] - '0');
    ++digits;
  }
  return digits == 3 ? code : 0;
}

std::optional<Micros> RetryAfterOr(const std::vector<std::pair<std::string, std::string>>& headers,
                                   Micros now, std::optional<Micros> fallback) {
  if (auto v = FindHeader(headers, "retry-after")) {
    if (auto parsed = ParseRetryAfter(*v, now)) return parsed;
  }
  return fallback;
}

}  // namespace

std::string TeamsEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '\\':
      case '*':
      case '_':
      case '~':
      case '`':
      case '#':
      case '[':
      case ']':
      case '<':
      case '>':
      case '&':
        out.push_back('\\');
        out.push_back(c);
        break;
      case '\r':
        break;
      case '\n':
        out += "\n\n";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

nlohmann::json TeamsAdaptiveCard(const DeliverySummary& s) {
  nlohmann::json body = nlohmann::json::array();
  nlohmann::json title = TextBlock(TeamsEscaped(s.title, kTitleMax));
  title["size"] = "Medium";
  title["weight"] = "Bolder";
  body.push_back(std::move(title));
  if (!s.facts.empty()) {
    nlohmann::json facts = nlohmann::json::array();
    for (const auto& [label, value] : s.facts) {
      facts.push_back(
          {{"title", TeamsEscaped(label, kFactMax)}, {"value", TeamsEscaped(value, kFactMax)}});
    }
    body.push_back({{"type", "FactSet"}, {"facts", std::move(facts)}});
  }
  if (!s.message.empty()) body.push_back(TextBlock(TeamsEscaped(s.message, kMessageMax)));
  if (!s.next_step.empty()) {
    body.push_back(TextBlock("**Next step:** " + TeamsEscaped(s.next_step, kFactMax)));
  }
  nlohmann::json card = {
      {"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
      {"type", "AdaptiveCard"},
      {"version", "1.4"},
      {"body", std::move(body)},
      {"actions", nlohmann::json::array()},
  };
  // The links are built from the configured public_url and our own ids, not lead text.
  if (!s.ack_url.empty()) {
    card["actions"].push_back(
        {{"type", "Action.OpenUrl"}, {"title", "Acknowledge"}, {"url", s.ack_url}});
  }
  if (!s.timeline_url.empty()) {
    card["actions"].push_back(
        {{"type", "Action.OpenUrl"}, {"title", "Open timeline"}, {"url", s.timeline_url}});
  }
  return card;
}

nlohmann::json TeamsMessageCard(const DeliverySummary& s) {
  nlohmann::json facts = nlohmann::json::array();
  for (const auto& [label, value] : s.facts) {
    facts.push_back(
        {{"name", TeamsEscaped(label, kFactMax)}, {"value", TeamsEscaped(value, kFactMax)}});
  }
  std::string text = s.message.empty() ? "" : TeamsEscaped(s.message, kMessageMax);
  if (!s.next_step.empty()) {
    if (!text.empty()) text += "\n\n";
    text += "**Next step:** " + TeamsEscaped(s.next_step, kFactMax);
  }
  // `text` is required by the connector; a summary without message or task still says who.
  if (text.empty()) text = TeamsEscaped(s.title, kTitleMax);
  nlohmann::json card = {
      {"@type", "MessageCard"},
      {"@context", "https://schema.org/extensions"},
      // `summary` is the plain notification preview, not rendered as markdown.
      {"summary", Truncate(s.title, kTitleMax)},
      {"themeColor", kThemeColor},
      {"title", TeamsEscaped(s.title, kTitleMax)},
      {"text", std::move(text)},
      {"sections", {{{"facts", std::move(facts)}}}},
  };
  card["potentialAction"] = nlohmann::json::array();
  if (!s.ack_url.empty()) {
    card["potentialAction"].push_back({{"@type", "OpenUri"},
                                       {"name", "Acknowledge"},
                                       {"targets", {{{"os", "default"}, {"uri", s.ack_url}}}}});
  }
  if (!s.timeline_url.empty()) {
    card["potentialAction"].push_back(
        {{"@type", "OpenUri"},
         {"name", "Open timeline"},
         {"targets", {{{"os", "default"}, {"uri", s.timeline_url}}}}});
  }
  if (card["potentialAction"].empty()) card.erase("potentialAction");
  return card;
}

absl::StatusOr<OutboundRequest> TeamsConnector::BuildRequest(const DeliveryContext& ctx) const {
  const DestinationConfig& d = ctx.destination;
  auto url = RequiredSetting(d, "webhook_url");
  if (!url.ok()) return url.status();
  const std::string format = OptionalSetting(d, "format", "adaptive_card");
  const DeliverySummary summary = Summarize(ctx);
  nlohmann::json body;
  if (format == "adaptive_card") {
    body = {{"type", "message"},
            {"attachments",
             {{{"contentType", "application/vnd.microsoft.card.adaptive"},
               {"contentUrl", nullptr},
               {"content", TeamsAdaptiveCard(summary)}}}}};
  } else if (format == "message_card") {
    body = TeamsMessageCard(summary);
  } else {
    return absl::FailedPreconditionError("'format' must be adaptive_card or message_card");
  }
  OutboundRequest req;
  req.method = "POST";
  req.url = *url;
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return req;
}

DeliveryOutcome TeamsConnector::Classify(
    const DeliveryContext& ctx, int http_status,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) const {
  if (http_status >= 200 && http_status < 300) {
    // Workflows answer 202 with no body, the legacy connector 200 with "1". The connector
    // reports throttling and downstream failures as 200 with an error text instead.
    const std::string lower = AsciiLowered(body.substr(0, 4096));
    if (lower.find("error") == std::string::npos) {
      return Confirmed("", fmt::format("HTTP {}", http_status));
    }
    const int named = NamedHttpError(lower);
    if (named == 429) {
      return Retryable(
          fmt::format("teams throttled the webhook (HTTP error 429 in an HTTP {} answer)",
                      http_status),
          RetryAfterOr(headers, ctx.now, kThrottleRetryAfter));
    }
    if (named >= 500 && named < 600) {
      return Retryable(fmt::format("teams failed to post (HTTP error {} in an HTTP {} answer)",
                                   named, http_status),
                       RetryAfterOr(headers, ctx.now, std::nullopt));
    }
    // Anything else (a refused card, a removed channel) would be refused again.
    return Permanent(
        named != 0 ? fmt::format("teams refused the card (HTTP error {} in an HTTP "
                                 "{} answer)",
                                 named, http_status)
                   : fmt::format("teams reported an error in an HTTP {} answer", http_status));
  }
  DeliveryOutcome o = ClassifyHttpStatus(http_status, headers, ctx.now);
  o.reason = "teams: " + o.reason;
  return o;
}

std::vector<std::string> TeamsConnector::CheckSettings(const DestinationConfig& d) const {
  std::vector<std::string> problems;
  if (OptionalSetting(d, "webhook_url").empty())
    problems.emplace_back("missing setting 'webhook_url'");
  std::string format = OptionalSetting(d, "format", "adaptive_card");
  if (format != "adaptive_card" && format != "message_card") {
    problems.emplace_back("'format' must be adaptive_card or message_card");
  }
  return problems;
}

void RegisterTeamsConnector(ConnectorRegistry& registry) {
  registry.Register(ConnectorSpec{
      .name = "teams",
      .note = "posts an Adaptive Card (or legacy MessageCard) summary to a Teams Workflows or "
              "connector webhook; reads throttling from 200 bodies",
      .settings =
          {
              {"webhook_url", "the Workflows or Office 365 connector webhook URL"},
              {"format", "adaptive_card (default) or message_card (legacy connectors only)"},
          },
      .default_token_url = "",
      .token_basic_auth = false,
      .make = [] { return std::make_unique<TeamsConnector>(); },
  });
}

}  // namespace handoff
