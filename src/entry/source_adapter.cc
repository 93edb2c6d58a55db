#include "entry/source_adapter.h"

#include <utility>

#include "core/check.h"
#include "entry/common/source_auth.h"

namespace handoff {

absl::Status SourceAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                   Micros /*now*/) const {
  return VerifySourceAuth(source.auth, request);
}

absl::Status SourceAdapter::FetchContext(const SourceConfig& /*source*/,
                                         Inquiry& /*inquiry*/) const {
  return absl::OkStatus();
}

namespace {

// Sets `to` from `from` when `to` is empty and `from` is not; records the field's name.
void FillBlank(std::string& to, const std::string& from, const char* name,
               std::vector<std::string>& changed) {
  if (to.empty() && !from.empty()) {
    to = from;
    changed.emplace_back(name);
  }
}

}  // namespace

std::vector<std::string> MergeThreadDelivery(Inquiry& existing, const ParsedDelivery& update) {
  std::vector<std::string> changed;
  const Inquiry& in = update.inquiry;
  FillBlank(existing.received.name, in.received.name, "name", changed);
  FillBlank(existing.received.email, in.received.email, "email", changed);
  FillBlank(existing.received.phone, in.received.phone, "phone", changed);
  FillBlank(existing.service, in.service, "service", changed);
  FillBlank(existing.location, in.location, "location", changed);
  Attribution& a = existing.attribution;
  const Attribution& b = in.attribution;
  FillBlank(a.utm_source, b.utm_source, "utm_source", changed);
  FillBlank(a.utm_medium, b.utm_medium, "utm_medium", changed);
  FillBlank(a.utm_campaign, b.utm_campaign, "utm_campaign", changed);
  FillBlank(a.utm_term, b.utm_term, "utm_term", changed);
  FillBlank(a.utm_content, b.utm_content, "utm_content", changed);
  FillBlank(a.referrer, b.referrer, "referrer", changed);
  FillBlank(a.landing_page, b.landing_page, "landing_page", changed);
  if (!in.message.empty() && in.message != existing.message &&
      (existing.message.empty() || update.replace_message)) {
    existing.message = in.message;
    changed.emplace_back("message");
  }
  if (in.fields.is_object()) {
    if (!existing.fields.is_object()) existing.fields = nlohmann::json::object();
    for (const auto& [key, value] : in.fields.items()) {
      auto it = existing.fields.find(key);
      if (it != existing.fields.end() && *it == value) continue;
      existing.fields[key] = value;
      changed.push_back("fields." + key);
    }
  }
  return changed;
}

void SourceAdapterRegistry::Register(SourceAdapterSpec spec) {
  // Registration happens once at start-up from code we ship: a clash or a spec without a
  // factory is a programming error, not input.
  HANDOFF_CHECK(!spec.name.empty() && spec.make, "source adapter spec needs a name and make");
  HANDOFF_CHECK(entries_.count(spec.name) == 0, spec.name.c_str());
  std::unique_ptr<SourceAdapter> adapter = spec.make();
  HANDOFF_CHECK(adapter != nullptr, spec.name.c_str());
  std::string name = spec.name;
  entries_.emplace(std::move(name), Entry{std::move(spec), std::move(adapter)});
}

const SourceAdapterSpec* SourceAdapterRegistry::FindSpec(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second.spec;
}

const SourceAdapter* SourceAdapterRegistry::Find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.adapter.get();
}

std::vector<std::string> SourceAdapterRegistry::Names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

}  // namespace handoff
