// libFuzzer target for the Meta Lead Ads adapter's POST parser (leadgen batches). The GET
// handshake is covered by the unit tests; FetchContext does network I/O and is not fuzzed.
#include <cstdint>

#include "entry/sources/meta_leads/meta_leads_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::MetaLeadsAdapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "meta_leads";
    s.auth.hmac_secrets = {"fuzz-secret-0123456789"};
    s.settings["verify_token"] = "fuzz-verify-0123456789";
    return s;
  }();
  handoff::fuzzing::FuzzAdapterOnce(adapter, source, "application/json", data, size);
  return 0;
}
