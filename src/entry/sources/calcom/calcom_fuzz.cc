// libFuzzer target for the Cal.com parser and signature header: the input is a request (see
// tests/fuzz/fuzz_adapter.h), seeded from testdata/.
#include <cstdint>

#include "entry/sources/calcom/calcom_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::CalcomAdapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "calcom";
    s.auth.hmac_secrets = {"calcom-webhook-secret-0001"};
    s.map = {{"location", "payload.location"}};
    return s;
  }();
  handoff::fuzzing::FuzzAdapterOnce(adapter, source, "application/json", data, size);
  return 0;
}
