// libFuzzer target for the webflow adapter: the bytes are a request (see fuzz_adapter.h) whose
// body is a Webflow webhook, parsed with a map override so both label paths run.
#include <cstdint>

#include "entry/sources/webflow/webflow_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::WebflowAdapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "webflow";
    s.map = {{"phone", "Mobile Number"}, {"message", "project.details"}};
    s.auth.hmac_secrets = {"wf_client_secret_0123456789"};
    return s;
  }();
  handoff::fuzzing::FuzzAdapterOnce(adapter, source, "application/json", data, size);
  return 0;
}
