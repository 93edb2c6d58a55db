#include "entry/sources/form/form_adapter.h"

#include <memory>

#include "entry/common/mapped_delivery.h"

namespace handoff {

absl::StatusOr<ParsedDelivery> FormAdapter::Parse(const SourceConfig& source,
                                                  const HttpRequest& request) const {
  BodyParseOptions options;
  options.accept_json = false;
  return MapDelivery(source, request, Channel::kForm, options);
}

void RegisterFormSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "form",
      .trust_note = "checks a token or an HMAC-SHA256 signature over the raw body",
      .default_channel = Channel::kForm,
      .settings = {{"dedupe", "content: dedupe identical bodies"}},
      .make = [] { return std::make_unique<FormAdapter>(); },
  });
}

}  // namespace handoff
