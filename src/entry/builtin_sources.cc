#include "entry/sources/calcom/calcom_adapter.h"
#include "entry/sources/calendly/calendly_adapter.h"
#include "entry/sources/chatwoot/chatwoot_adapter.h"
#include "entry/sources/contact_form_7/contact_form_7_adapter.h"
#include "entry/sources/form/form_adapter.h"
#include "entry/sources/gravity_forms/gravity_forms_adapter.h"
#include "entry/sources/html_form/html_form_adapter.h"
#include "entry/sources/intercom/intercom_adapter.h"
#include "entry/sources/json/json_adapter.h"
#include "entry/sources/meta_leads/meta_leads_adapter.h"
#include "entry/sources/twilio_sms/twilio_sms_adapter.h"
#include "entry/sources/twilio_voice/twilio_voice_adapter.h"
#include "entry/sources/typeform/typeform_adapter.h"
#include "entry/sources/webflow/webflow_adapter.h"

namespace handoff {

void RegisterBuiltinSources(SourceAdapterRegistry& registry) {
  RegisterJsonSource(registry);
  RegisterFormSource(registry);
  RegisterTwilioVoiceSource(registry);
  RegisterTwilioSmsSource(registry);
  RegisterCalendlySource(registry);
  RegisterCalcomSource(registry);
  RegisterTypeformSource(registry);
  RegisterChatwootSource(registry);
  RegisterIntercomSource(registry);
  RegisterMetaLeadsSource(registry);
  RegisterWebflowSource(registry);
  RegisterGravityFormsSource(registry);
  RegisterContactForm7Source(registry);
  RegisterHtmlFormSource(registry);
}

}  // namespace handoff
