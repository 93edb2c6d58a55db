// The interface every inbound source implements, and the registry that names them. An adapter
// turns one verified HTTP request from its provider into a canonical Inquiry draft.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "core/clock.h"
#include "http/http_types.h"
#include "model/records.h"

namespace handoff {

// What the adapter hands back for one request.
struct ParsedDelivery {
  // The inquiry draft: source-level fields (channel, contact as received, message, service,
  // attribution, occurred_at, provider_event_id, raw payload). The ingress fills id,
  // workspace, source and received_at.
  Inquiry inquiry;
  // The key a redelivery of the same event carries (provider event id, Idempotency-Key, or a
  // content hash); empty when the source cannot be deduplicated.
  std::string dedupe_key;
};

// Parses and verifies requests for one kind of source. Implementations are stateless and
// thread-safe: one instance serves every source configured with that adapter.
class SourceAdapter {
 public:
  virtual ~SourceAdapter() = default;

  // Checks that the request comes from the configured source (token, signature, timestamp).
  // Rejects with kBadCredentials / kStaleTimestamp. The default applies the generic token and
  // HMAC-SHA256 checks of `source.auth` (entry/common/source_auth.h).
  virtual absl::Status Verify(const SourceConfig& source, const HttpRequest& request,
                              Micros now) const;

  // Parses a verified request. Rejects with the reasons in rejection.h; never throws.
  virtual absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                               const HttpRequest& request) const = 0;
};

// One adapter-specific config key, for `handoff check` and the config reference.
struct SettingSpec {
  std::string key;
  std::string doc;
};

// A registration: the adapter's name, what it trusts, its settings, and how to make one.
struct SourceAdapterSpec {
  std::string name;
  std::string trust_note;  // one line, e.g. "verifies X-Twilio-Signature"
  Channel default_channel = Channel::kOther;
  std::vector<SettingSpec> settings;
  std::function<std::unique_ptr<SourceAdapter>()> make;
};

// Names every source adapter. Filled once at start-up (RegisterBuiltinSources), read-only after.
class SourceAdapterRegistry {
 public:
  void Register(SourceAdapterSpec spec);
  // nullptr when no adapter has that name.
  const SourceAdapterSpec* FindSpec(const std::string& name) const;
  // The shared instance for that adapter name; nullptr when unknown.
  const SourceAdapter* Find(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  struct Entry {
    SourceAdapterSpec spec;
    std::unique_ptr<SourceAdapter> adapter;
  };
  std::map<std::string, Entry> entries_;
};

// Registers every adapter that ships with handoff (entry/builtin_sources.cc), one line each.
void RegisterBuiltinSources(SourceAdapterRegistry& registry);

}  // namespace handoff
