#include "entry/sources/form/form_adapter.h"
#include "entry/sources/json/json_adapter.h"

namespace handoff {

void RegisterBuiltinSources(SourceAdapterRegistry& registry) {
  RegisterJsonSource(registry);
  RegisterFormSource(registry);
}

}  // namespace handoff
