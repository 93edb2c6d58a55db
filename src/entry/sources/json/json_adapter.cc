#include "entry/sources/json/json_adapter.h"

#include <memory>

#include "entry/common/mapped_delivery.h"

namespace handoff {

absl::StatusOr<ParsedDelivery> JsonAdapter::Parse(const SourceConfig& source,
                                                  const HttpRequest& request) const {
  BodyParseOptions options;
  options.accept_urlencoded = false;
  options.accept_multipart = false;
  return MapDelivery(source, request, Channel::kOther, options);
}

void RegisterJsonSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "json",
      .trust_note = "checks a token or an HMAC-SHA256 signature over the raw body",
      .default_channel = Channel::kOther,
      .settings = {{"dedupe", "content: dedupe identical bodies"}},
      .make = [] { return std::make_unique<JsonAdapter>(); },
  });
}

}  // namespace handoff
