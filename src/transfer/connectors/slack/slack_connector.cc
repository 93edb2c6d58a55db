#include "transfer/connectors/slack/slack_connector.h"

#include <algorithm>
#include <string_view>

#include "fmt/format.h"
#include "transfer/connectors/common/escaped_text.h"

namespace handoff {
namespace {

constexpr std::string_view kSlackBaseUrl = "https://slack.com/api";

// Block Kit limits (docs.slack.dev reference/block-kit). They count characters; counting bytes
// is stricter, so a cut is never too late.
constexpr size_t kHeaderMax = 150;
constexpr size_t kSectionTextMax = 3000;
constexpr size_t kFieldTextMax = 2000;
constexpr size_t kFieldsPerSection = 10;
constexpr size_t kMaxBlocks = 50;
constexpr size_t kButtonUrlMax = 3000;
// The notification fallback (`text`); Slack truncates at 40 000, a notification needs far less.
constexpr size_t kFallbackMax = 3000;

// chat.postMessage errors worth retrying: Slack's own trouble, not the request's.
constexpr std::string_view kRetryableApiErrors[] = {
    "ratelimited", "rate_limited",        "internal_error",
    "fatal_error", "service_unavailable", "request_timeout",
};

enum class Mode { kWebhook, kApi };

absl::StatusOr<Mode> ModeOf(const DestinationConfig& d) {
  const bool webhook = !OptionalSetting(d, "webhook_url").empty();
  const bool api = !OptionalSetting(d, "token").empty() || !OptionalSetting(d, "channel").empty() ||
                   d.oauth2.configured();
  if (webhook && api) {
    return absl::FailedPreconditionError(
        "set either 'webhook_url' or 'token' + 'channel' (chat.postMessage), not both");
  }
  if (webhook) return Mode::kWebhook;
  if (!api) {
    return absl::FailedPreconditionError(
        "missing setting 'webhook_url' (or 'token' + 'channel' for chat.postMessage)");
  }
  return Mode::kApi;
}

std::string SlackEscaped(std::string_view text, size_t max) {
  return EscapeWithin(text, max, SlackEscape);
}

nlohmann::json MrkdwnSection(const std::string& text) {
  return {{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}};
}

// "*Label*\nvalue" with both parts escaped, within the field limit.
std::string FieldText(const std::string& label, const std::string& value) {
  std::string head = "*" + SlackEscaped(label, 100) + "*\n";
  return head + SlackEscaped(value, kFieldTextMax - head.size());
}

}  // namespace

std::string SlackEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

nlohmann::json SlackBlocks(const DeliverySummary& s) {
  nlohmann::json blocks = nlohmann::json::array();
  // Slack's escaping rule covers every text object, plain_text included (docs.slack.dev,
  // "Formatting text": &, <, > are control characters in text objects).
  blocks.push_back(
      {{"type", "header"},
       {"text",
        {{"type", "plain_text"}, {"text", SlackEscaped(s.title, kHeaderMax)}, {"emoji", false}}}});
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& [label, value] : s.facts) {
    fields.push_back({{"type", "mrkdwn"}, {"text", FieldText(label, value)}});
    if (fields.size() == kFieldsPerSection) {
      blocks.push_back({{"type", "section"}, {"fields", std::move(fields)}});
      fields = nlohmann::json::array();
    }
  }
  if (!fields.empty()) blocks.push_back({{"type", "section"}, {"fields", std::move(fields)}});
  if (!s.message.empty()) {
    const std::string head = "*Message*\n";
    blocks.push_back(MrkdwnSection(head + SlackEscaped(s.message, kSectionTextMax - head.size())));
  }
  if (!s.next_step.empty()) {
    const std::string head = "*Next step:* ";
    blocks.push_back(
        MrkdwnSection(head + SlackEscaped(s.next_step, kSectionTextMax - head.size())));
  }
  // The URL is built from the configured public_url and our own inquiry id; a URL longer than
  // Slack allows would make it refuse the whole message, so it is left out instead.
  nlohmann::json buttons = nlohmann::json::array();
  if (!s.ack_url.empty() && s.ack_url.size() <= kButtonUrlMax) {
    buttons.push_back({{"type", "button"},
                       {"text", {{"type", "plain_text"}, {"text", "Acknowledge"}}},
                       {"style", "primary"},
                       {"url", s.ack_url}});
  }
  if (!s.timeline_url.empty() && s.timeline_url.size() <= kButtonUrlMax) {
    buttons.push_back({{"type", "button"},
                       {"text", {{"type", "plain_text"}, {"text", "Open timeline"}}},
                       {"url", s.timeline_url}});
  }
  if (!buttons.empty()) blocks.push_back({{"type", "actions"}, {"elements", std::move(buttons)}});
  // Never reached with today's summary (at most a dozen facts), kept as the documented limit.
  if (blocks.size() > kMaxBlocks) blocks.erase(blocks.begin() + kMaxBlocks, blocks.end());
  return blocks;
}

absl::StatusOr<OutboundRequest> SlackConnector::BuildRequest(const DeliveryContext& ctx) const {
  const DestinationConfig& d = ctx.destination;
  auto mode = ModeOf(d);
  if (!mode.ok()) return mode.status();
  const DeliverySummary summary = Summarize(ctx);
  nlohmann::json body = {{"text", SlackEscaped(summary.title, kFallbackMax)},
                         {"blocks", SlackBlocks(summary)}};
  OutboundRequest req;
  req.method = "POST";
  if (*mode == Mode::kWebhook) {
    req.url = OptionalSetting(d, "webhook_url");
    req.headers.emplace_back("Content-Type", "application/json");
  } else {
    auto channel = RequiredSetting(d, "channel");
    if (!channel.ok()) return channel.status();
    std::string token = ctx.access_token ? ctx.access_token->token : OptionalSetting(d, "token");
    // With an oauth2 block the dispatcher always passes a token; only `handoff check`'s sample
    // build comes here without one.
    if (token.empty() && !d.oauth2.configured()) {
      return absl::FailedPreconditionError("missing setting 'token'");
    }
    std::string base = OptionalSetting(d, "base_url", std::string(kSlackBaseUrl));
    while (!base.empty() && base.back() == '/') base.pop_back();
    req.url = base + "/chat.postMessage";
    if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
    req.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
    body["channel"] = *channel;
    body["unfurl_links"] = false;
  }
  // Lead text may hold invalid UTF-8; replacing it keeps the JSON valid for Slack.
  req.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return req;
}

DeliveryOutcome SlackConnector::Classify(
    const DeliveryContext& ctx, int http_status,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) const {
  auto mode = ModeOf(ctx.destination);
  if (mode.ok() && *mode == Mode::kApi && http_status == 200) {
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean()) {
      // The post may or may not have happened; a duplicate message beats a lost lead.
      return Retryable("slack answered HTTP 200 without a readable 'ok'");
    }
    if (j["ok"].get<bool>()) {
      std::string channel = j.contains("channel") && j["channel"].is_string()
                                ? j["channel"].get<std::string>()
                                : OptionalSetting(ctx.destination, "channel");
      std::string ts = j.contains("ts") && j["ts"].is_string() ? j["ts"].get<std::string>() : "";
      std::string id = PlainToken(channel).empty() || PlainToken(ts).empty()
                           ? ""
                           : fmt::format("{}:{}", channel, ts);
      return Confirmed(std::move(id), "HTTP 200 ok");
    }
    std::string code = j.contains("error") && j["error"].is_string()
                           ? PlainToken(j["error"].get<std::string>())
                           : "";
    if (code.empty()) code = "unknown_error";
    const std::string reason = fmt::format("slack chat.postMessage failed: {}", code);
    if (std::find(std::begin(kRetryableApiErrors), std::end(kRetryableApiErrors), code) !=
        std::end(kRetryableApiErrors)) {
      std::optional<Micros> retry_after;
      if (auto v = FindHeader(headers, "retry-after")) retry_after = ParseRetryAfter(*v, ctx.now);
      return Retryable(reason, retry_after);
    }
    // invalid_auth, not_in_channel, channel_not_found, invalid_blocks, msg_too_long…: the same
    // message would be refused again until someone fixes the app or the channel.
    return Permanent(reason);
  }
  DeliveryOutcome o = ClassifyHttpStatus(http_status, headers, ctx.now);
  if (o.kind == DeliveryOutcome::Kind::kConfirmed) {
    // An incoming webhook answers "ok" and gives no message id.
    o.remote_id.clear();
    return o;
  }
  // Webhook errors come as a plain-text code (invalid_payload, channel_is_archived…), Web API
  // errors outside a 200 as {"ok":false,"error":code}.
  std::string code = PlainToken(body);
  if (code.empty()) {
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) {
      code = PlainToken(j["error"].get<std::string>());
    }
  }
  if (!code.empty()) {
    o.reason = fmt::format("slack: {} (HTTP {})", code, http_status);
  }
  return o;
}

std::vector<std::string> SlackConnector::CheckSettings(const DestinationConfig& d) const {
  std::vector<std::string> problems;
  auto mode = ModeOf(d);
  if (!mode.ok()) {
    problems.emplace_back(mode.status().message());
    return problems;
  }
  if (*mode == Mode::kApi) {
    if (OptionalSetting(d, "channel").empty()) problems.emplace_back("missing setting 'channel'");
    if (OptionalSetting(d, "token").empty() && !d.oauth2.configured()) {
      problems.emplace_back("missing setting 'token'");
    }
  }
  return problems;
}

void RegisterSlackConnector(ConnectorRegistry& registry) {
  registry.Register(ConnectorSpec{
      .name = "slack",
      .note = "posts a Block Kit summary to Slack: an incoming webhook (`webhook_url`) or "
              "chat.postMessage (`token` + `channel`); lead text is mrkdwn-escaped",
      .settings =
          {
              {"webhook_url", "incoming webhook URL (https://hooks.slack.com/services/…)"},
              {"token", "bot token (xoxb-…) for chat.postMessage"},
              {"channel", "channel id (C…) for chat.postMessage"},
              {"base_url", "Web API base, default https://slack.com/api"},
          },
      .default_token_url = "",
      .token_basic_auth = false,
      .make = [] { return std::make_unique<SlackConnector>(); },
  });
}

}  // namespace handoff
