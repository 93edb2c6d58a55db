#include "entry/sources/contact_form_7/contact_form_7_adapter.h"
#include "entry/sources/form/form_adapter.h"
#include "entry/sources/gravity_forms/gravity_forms_adapter.h"
#include "entry/sources/html_form/html_form_adapter.h"
#include "entry/sources/json/json_adapter.h"
#include "entry/sources/webflow/webflow_adapter.h"

namespace handoff {

void RegisterBuiltinSources(SourceAdapterRegistry& registry) {
  RegisterJsonSource(registry);
  RegisterFormSource(registry);
  RegisterWebflowSource(registry);
  RegisterGravityFormsSource(registry);
  RegisterContactForm7Source(registry);
  RegisterHtmlFormSource(registry);
}

}  // namespace handoff
