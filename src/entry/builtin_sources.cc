#include "entry/sources/chatwoot/chatwoot_adapter.h"
#include "entry/sources/form/form_adapter.h"
#include "entry/sources/intercom/intercom_adapter.h"
#include "entry/sources/json/json_adapter.h"
#include "entry/sources/meta_leads/meta_leads_adapter.h"

namespace handoff {

void RegisterBuiltinSources(SourceAdapterRegistry& registry) {
  RegisterJsonSource(registry);
  RegisterFormSource(registry);
  RegisterChatwootSource(registry);
  RegisterIntercomSource(registry);
  RegisterMetaLeadsSource(registry);
}

}  // namespace handoff
