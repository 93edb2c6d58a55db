// libFuzzer target for the Calendly parser and signature header: the input is a request (see
// tests/fuzz/fuzz_adapter.h), seeded from testdata/. A signing key is configured so Verify parses
// whatever Calendly-Webhook-Signature the input carries; a map override is set so that path runs.
#include <cstdint>

#include "entry/sources/calendly/calendly_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::CalendlyAdapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "calendly";
    s.auth.hmac_secrets = {"calendly-signing-key-0001"};
    s.map = {{"service", "payload.scheduled_event.event_type"}};
    return s;
  }();
  handoff::fuzzing::FuzzAdapterOnce(adapter, source, "application/json", data, size);
  return 0;
}
