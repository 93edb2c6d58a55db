#include "track/probes.h"

#include <algorithm>

#include "core/id.h"
#include "entry/ingress.h"
#include "spdlog/spdlog.h"

namespace handoff {

ProbeRunner::ProbeRunner(const Config* config, Store* store, const Clock* clock,
                         const SourceAdapterRegistry* sources)
    : config_(config), store_(store), clock_(clock), sources_(sources), thread_("probes", [this] {
        if (duty_ != nullptr && !duty_->held()) return kMicrosPerSecond;
        auto sent = SendDue();
        if (!sent.ok()) {
          spdlog::warn("probes: {}", std::string(sent.status().message()));
        } else if (!sent->empty()) {
          spdlog::info("probes: {} sent", sent->size());
        }
        // Wake often enough to keep each source's schedule within a second or so.
        return std::clamp<Micros>(config_->probes.every / 4, kMicrosPerSecond,
                                  30 * kMicrosPerSecond);
      }) {}

ProbeRunner::~ProbeRunner() { Stop(); }

void ProbeRunner::Start() {
  if (config_->probes.every > 0) thread_.Start();
}

void ProbeRunner::Stop() { thread_.Stop(); }

Inquiry ProbeRunner::MakeProbe(const SourceConfig& source, Micros now) const {
  Inquiry i;
  i.id = NewUuidV7(now);
  i.workspace = config_->workspace;
  i.source = source.name;
  i.channel = Channel::kOther;
  if (auto parsed = ParseChannel(source.channel); parsed) {
    i.channel = *parsed;
  } else if (const SourceAdapterSpec* spec =
                 sources_ != nullptr ? sources_->FindSpec(source.adapter) : nullptr) {
    i.channel = spec->default_channel;
  }
  i.received_at = i.occurred_at = now;
  // Enough for routes that require context, and recognisable wherever it lands.
  i.received = {"handoff probe", "probe@handoff.invalid", "+15005550006"};
  i.message = "Synthetic probe: proves this path end to end (handoff)";
  i.fields = {{"synthetic", true}};
  // The kind a real inquiry of this channel carries, so routes on `kind` take it too.
  if (i.channel == Channel::kCall) i.fields["kind"] = "missed_call";
  i.raw_payload = "{}";
  i.raw_content_type = "application/json";
  return i;
}

absl::StatusOr<std::vector<std::string>> ProbeRunner::SendDue() {
  const ProbesConfig& p = config_->probes;
  std::vector<std::string> sent;
  if (p.every <= 0) return sent;
  const Micros now = clock_->Now();
  std::vector<Inquiry> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const SourceConfig& s : config_->sources) {
      if (!p.sources.empty() &&
          std::find(p.sources.begin(), p.sources.end(), s.name) == p.sources.end()) {
        continue;
      }
      auto last = last_sent_.find(s.name);
      if (last != last_sent_.end() && now - last->second < p.every) continue;
      last_sent_[s.name] = now;
      due.push_back(MakeProbe(s, now));
    }
  }
  if (due.empty()) return sent;
  absl::Status written = store_->Write(FencedByDuty(duty_, [&due](WriteTx& tx) -> absl::Status {
    for (const Inquiry& i : due) {
      absl::Status s = RecordNewInquiry(tx, i);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }));
  if (!written.ok()) return written;
  for (const Inquiry& i : due) sent.push_back(i.id);
  return sent;
}

}  // namespace handoff
