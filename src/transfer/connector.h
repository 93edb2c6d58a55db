// The interface every destination connector implements, and the registry that names them.
// A connector only builds requests and classifies responses; it never sleeps or retries. The
// dispatcher owns attempts, backoff, timeouts, rate limits and dead-lettering.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/clock.h"
#include "model/records.h"
#include "nlohmann/json.hpp"
#include "store/store.h"

namespace handoff {

// What the confirmed steps of a multi-step delivery captured (e.g. HubSpot's contact id before
// its note and task). Persisted with the handoff (Handoff::progress) after every confirmed step,
// so a retry resumes at the failed step and never re-creates what the destination confirmed.
struct DeliveryProgress {
  int step = 0;                               // the next step to run, from 0
  std::map<std::string, std::string> values;  // captured by confirmed steps, by name

  // "" when absent.
  std::string Get(const std::string& key) const;
  static DeliveryProgress FromJson(const nlohmann::json& j);  // tolerant: bad input = empty
  nlohmann::json ToJson() const;
};

// An OAuth2 access token the dispatcher obtained for the destination (transfer/oauth2.h).
struct AccessToken {
  std::string token;
  std::string instance_url;  // Salesforce's token response names the org's API host
  Micros expires_at = 0;
};

// Everything a connector may read to build one delivery.
struct DeliveryContext {
  const DestinationConfig& destination;
  const Handoff& handoff;
  const Inquiry& inquiry;
  const std::optional<Task>& task;
  const std::optional<Contact>& contact;
  Micros now;                      // the attempt's time (e.g. for webhook-timestamp)
  DeliveryProgress progress = {};  // steps confirmed so far; step 0 on a fresh delivery
  // Set when the destination has an `oauth2:` block: a token valid for this attempt. A
  // connector uses it instead of its static token setting.
  std::optional<AccessToken> access_token = std::nullopt;
  // The public base URL of handoff (business.public_url), for links back to the timeline.
  std::string public_url = {};
  // The task owner's team entry (name, email, phone), when the inquiry has an owned task.
  std::optional<TeamMember> owner = std::nullopt;
  // A notify/escalate handoff's recipient (Handoff::recipient): who "to: owner" reaches instead
  // of the owner. Unset for other purposes or when the handoff names nobody.
  std::optional<TeamMember> recipient = std::nullopt;
  // The task's one-click acknowledgement link (trigger/task_link.h), "" when there is none.
  std::string ack_url = {};
};

// Who a destination's "owner" recipient reaches for this delivery: the person a notify/escalate
// handoff names, else the task's owner; null when there is neither.
const TeamMember* PersonToNotify(const DeliveryContext& ctx);

struct OutboundRequest {
  std::string method = "POST";
  std::string url;  // http(s)://, or smtp(s):// with `mail` set
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string step_name;  // for the journal when the connector has several steps ("note")

  // A mail submission instead of an HTTP request: `url` is smtp://host:587 (STARTTLS) or
  // smtps://host:465 (implicit TLS), `body` the whole RFC 5322 message with CRLF line ends.
  struct Mail {
    std::string from;                     // the envelope sender (MAIL FROM), a bare address
    std::vector<std::string> recipients;  // RCPT TO, bare addresses
    std::string username;                 // AUTH, when set
    std::string password;
    bool require_tls = true;  // smtp:// must upgrade with STARTTLS or the attempt fails
  };
  std::optional<Mail> mail;
  // Extra CA certificates (PEM file) to trust, e.g. a private relay's or the tests' own CA.
  std::string ca_file;
};

// What a destination's answer means.
struct DeliveryOutcome {
  enum class Kind { kConfirmed, kRetryable, kPermanent };
  Kind kind = Kind::kRetryable;
  std::string remote_id;              // the destination's record id, when confirmed
  std::optional<Micros> retry_after;  // a delay the destination asked for
  std::string reason;                 // short, no secrets or personal data
  // Confirmed steps of a multi-step delivery: `more_steps` says another step follows (the
  // dispatcher runs it at once, in the same attempt); `captured` is merged into the progress
  // the next steps (and later attempts) read.
  bool more_steps = false;
  std::map<std::string, std::string> captured;
};

DeliveryOutcome Confirmed(std::string remote_id, std::string reason = "");
DeliveryOutcome Retryable(std::string reason, std::optional<Micros> retry_after = std::nullopt);
DeliveryOutcome Permanent(std::string reason);
// A confirmed step with more to run: `captured` values are saved before the next step.
DeliveryOutcome StepConfirmed(std::map<std::string, std::string> captured, std::string reason);

// The generic reading of an HTTP status, for connectors whose service has no body-level
// semantics on that status: 2xx confirmed (remote_id empty), 408/429/5xx retryable honouring
// Retry-After, 3xx permanent (redirects are never followed), 410 and other 4xx permanent.
DeliveryOutcome ClassifyHttpStatus(int http_status,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   Micros now);

// A response header by lowercase name (the dispatcher lowercases names); nullopt when absent.
std::optional<std::string> FindHeader(
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name);

// Thread-safe and stateless; one instance serves every destination using it.
class Connector {
 public:
  virtual ~Connector() = default;
  // Builds the request for one attempt (of step ctx.progress.step). An error here is a
  // permanent failure (bad config, or an inquiry the destination cannot take).
  virtual absl::StatusOr<OutboundRequest> BuildRequest(const DeliveryContext& ctx) const = 0;
  // Classifies an HTTP answer (or, for mail, the last SMTP reply code as `http_status`).
  // Transport failures (timeouts, resets) never reach a connector: the dispatcher treats them
  // as retryable.
  virtual DeliveryOutcome Classify(const DeliveryContext& ctx, int http_status,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   const std::string& body) const = 0;
  // Connectors that keep the record inside handoff itself (the inbox) deliver here instead of
  // over the network: the dispatcher calls this inside the transaction that records the
  // attempt, so the record and its confirmation commit together. Returns the record's id.
  virtual bool local() const { return false; }
  virtual absl::StatusOr<std::string> DeliverLocally(const DeliveryContext& ctx, WriteTx& tx) const;
  // Checks the destination's settings at load time (`handoff check`, serve start-up) and
  // returns every problem, each naming its key. The default checks nothing.
  virtual std::vector<std::string> CheckSettings(const DestinationConfig& destination) const {
    (void)destination;
    return {};
  }
};

// Reads a connector setting (a string in the destination's block): `RequiredSetting` fails
// with "missing setting 'key'" when absent or empty, or "'key' must be text" for a non-string.
absl::StatusOr<std::string> RequiredSetting(const DestinationConfig& destination,
                                            std::string_view key);
std::string OptionalSetting(const DestinationConfig& destination, std::string_view key,
                            std::string fallback = "");

struct ConnectorSettingSpec {
  std::string key;
  std::string doc;
};

struct ConnectorSpec {
  std::string name;
  std::string note;  // one line, e.g. "POSTs JSON signed per Standard Webhooks"
  std::vector<ConnectorSettingSpec> settings;
  // For services using OAuth2: where tokens come from when the destination's `oauth2:` block
  // names no token_url (e.g. Google's). Empty = the block must name one.
  std::string default_token_url;
  // The service wants the client id and secret as HTTP Basic on its token endpoint (RFC 6749
  // 2.3.1; Pipedrive) rather than in the form body (HubSpot, Salesforce).
  bool token_basic_auth = false;
  std::function<std::unique_ptr<Connector>()> make;
};

// Names every connector. Filled once at start-up, read-only after.
class ConnectorRegistry {
 public:
  void Register(ConnectorSpec spec);
  const ConnectorSpec* FindSpec(const std::string& name) const;
  const Connector* Find(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  struct Entry {
    ConnectorSpec spec;
    std::unique_ptr<Connector> connector;
  };
  std::map<std::string, Entry> entries_;
};

// Registers every connector that ships with handoff (transfer/builtin_connectors.cc).
void RegisterBuiltinConnectors(ConnectorRegistry& registry);

// Parses a Retry-After header value (delta-seconds or HTTP-date) relative to `now`.
std::optional<Micros> ParseRetryAfter(const std::string& value, Micros now);

}  // namespace handoff
