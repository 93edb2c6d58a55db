#include "entry/source_adapter.h"

#include <utility>

#include "core/check.h"
#include "entry/common/source_auth.h"

namespace handoff {

absl::Status SourceAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                   Micros /*now*/) const {
  return VerifySourceAuth(source.auth, request);
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
