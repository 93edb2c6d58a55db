// The `html_form` source: a plain HTML <form> posting straight from the visitor's browser
// (urlencoded or multipart), mapped like the `form` source (the source's map or same-name
// defaults). A browser cannot sign, so the form's URL carries a secret: /in/{source}/{token}
// or ?token= (the source's `token` list, several during a rotation, compared in constant
// time); an `allowed_origins` setting also refuses posts whose Origin (or Referer) is another
// site. A filled honeypot field looks accepted to the bot but stores nothing (counted "spam").
// A browser is sent 303 to `thank_you_url`; a script asking for JSON gets the usual 202.
// Identical posts within a minute (a double click) are one inquiry. Stateless and thread-safe.
#pragma once

#include "entry/source_adapter.h"

namespace handoff {

class HtmlFormAdapter final : public SourceAdapter {
 public:
  // The origin check, then the key in the path (or, without one, the generic token and
  // signature checks). bad_credentials on any failure.
  absl::Status Verify(const SourceConfig& source, const HttpRequest& request,
                      Micros now) const override;
  // Urlencoded or multipart; 415 for JSON and anything else.
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& source,
                                       const HttpRequest& request) const override;
};

// Registers the adapter under the name "html_form".
void RegisterHtmlFormSource(SourceAdapterRegistry& registry);

}  // namespace handoff
