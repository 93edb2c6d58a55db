// The interface every inbound source implements, and the registry that names them. An adapter
// turns one verified HTTP request from its provider into a canonical Inquiry draft.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
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

  // Deliveries that belong to one conversation with the provider (a missed call and its
  // voicemail and transcription, a booking and its reschedule or cancellation) share a thread
  // key, e.g. "call:CA123". The first delivery of a thread creates the inquiry; a later one
  // updates that inquiry (MergeThreadDelivery) instead of creating another. Empty = no thread.
  std::string thread_key;
  // Further keys under which later deliveries may find this thread (a Calendly reschedule
  // creates a new invitee URI that the next cancellation will carry).
  std::vector<std::string> thread_aliases;
  enum class ThreadMode {
    kCreateOrUpdate,  // update the thread's inquiry, or create one when the thread is new
    kUpdateOnly,      // update the thread's inquiry; ignored (200, counted) when it is new
  };
  ThreadMode thread_mode = ThreadMode::kCreateOrUpdate;
  // Dedupe keys of earlier steps of the thread that this delivery makes obsolete and that may
  // still arrive late (retries, no ordering guarantee): e.g. a Calendly reschedule's new
  // booking makes the old invitee's cancellation and creation stale. They are remembered like
  // `dedupe_key` (unless already known), so such a delivery is answered as a duplicate of this
  // thread's inquiry and changes nothing. Not recorded when this delivery is ignored.
  std::vector<std::string> supersedes;
  // On an update: replace a message the inquiry already has (otherwise only an empty one is
  // filled). A voicemail transcription replaces the "voicemail: <link>" placeholder.
  bool replace_message = false;

  // What to answer on success instead of {"id","status"} (TwiML for Twilio, a 303 to the
  // thank-you page for a browser form). Sent only after the commit, like the default.
  std::optional<HttpResponse> reply;
  // False for a request that only needs an answer (Meta's GET subscription handshake):
  // nothing is stored, `reply` is sent as is, and it is counted as "handshake".
  bool store = true;
  // A delivery judged to be spam (a filled honeypot): nothing is stored, it is counted as
  // "spam", and the sender gets the answer an accepted delivery gets (`reply`, else 202 with a
  // fresh id that names nothing), so a bot learns nothing from it. In a batch, each delivery's
  // own flag counts: a spam delivery is dropped and the others are stored.
  bool spam = false;
  // When > 0 (and `dedupe_key` is set), the ingress appends the number of this window that
  // received_at falls in to `dedupe_key`: a content hash then catches a double submit or a
  // retry within the window, while the same text sent again later is a new inquiry. Applied to
  // each delivery of a batch on its own.
  Micros dedupe_window = 0;

  // Further deliveries carried by the same request (Meta batches several leads in one POST).
  // The ingress commits them in the same transaction as this one, each deduplicated and
  // threaded on its own, and answers with every id (see Ingress). Only this delivery's
  // `reply` and `store` count; the batched deliveries' own `batch` is ignored (their `spam` and
  // `dedupe_window` apply).
  std::vector<ParsedDelivery> batch;
};

// Folds a later delivery of a thread into the thread's inquiry: fills contact fields, service,
// location and attribution the inquiry lacks, sets the message when it is empty (or always
// with `replace_message`), and merges `fields` (the update wins: a cancellation sets e.g.
// fields.booking_status). The pipeline's own stage and status are left alone. Returns the names of
// the canonical fields that changed (empty = nothing changed).
std::vector<std::string> MergeThreadDelivery(Inquiry& existing, const ParsedDelivery& update);

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

  // For sources whose webhook carries no personal data (Meta Lead Ads): fetches the rest of
  // the inquiry from the provider and merges it into `inquiry`. Enrichment calls it, on its
  // own thread, for inquiries whose status is kAwaitingContext, before anything else.
  // Unavailable / DeadlineExceeded / ResourceExhausted = try again later (Enrichment retries
  // with backoff); any other error gives up and the inquiry continues with what it has. The
  // default has nothing to fetch.
  virtual absl::Status FetchContext(const SourceConfig& source, Inquiry& inquiry) const;
};

// The status an inquiry carries while its source's context is still to be fetched.
inline constexpr char kAwaitingContext[] = "awaiting_context";

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
  // HTTP methods the ingress passes to the adapter; others get 405.
  std::vector<std::string> methods = {"POST"};
  std::vector<SettingSpec> settings;
  std::function<std::unique_ptr<SourceAdapter>()> make;
  // Also serve /in/{source}/{key} (and /in/{workspace}/{source}/{key}): the adapter finds a
  // secret in the last path segment, for senders that can only put one in the URL (HTML forms).
  bool path_key = false;
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
