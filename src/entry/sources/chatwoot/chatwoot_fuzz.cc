// libFuzzer target for the Chatwoot adapter: the bytes are the request (see fuzz_adapter.h),
// so headers such as X-Chatwoot-Signature and X-Chatwoot-Delivery are fuzzed with the body.
#include <cstdint>

#include "entry/sources/chatwoot/chatwoot_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::ChatwootAdapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "chatwoot";
    s.auth.hmac_secrets = {"fuzz-secret-0123456789"};
    s.map = {{"service", "inbox.name"}};
    return s;
  }();
  handoff::fuzzing::FuzzAdapterOnce(adapter, source, "application/json", data, size);
  return 0;
}
