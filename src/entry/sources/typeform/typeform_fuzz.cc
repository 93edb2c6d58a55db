// libFuzzer target for the Typeform parser and signature header: the input is a request (see
// tests/fuzz/fuzz_adapter.h), seeded from testdata/. Refs are configured so both the ref and the
// answer-type lookups run.
#include <cstdint>

#include "entry/sources/typeform/typeform_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::TypeformAdapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "typeform";
    s.auth.hmac_secrets = {"typeform-webhook-secret-0001"};
    s.settings["refs"] = {{"name", "full_name"}, {"service", "service_ref"}};
    return s;
  }();
  handoff::fuzzing::FuzzAdapterOnce(adapter, source, "application/json", data, size);
  return 0;
}
