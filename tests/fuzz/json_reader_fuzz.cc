// Differential libFuzzer target for the two JSON readers of request bodies: wherever simdjson's
// fast path reads a body, nlohmann's parser must read it to the same DOM, value types and
// number text (json_simdjson_reader.h). A disagreement aborts, so the input is kept.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "entry/common/json_reader_testing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const handoff::testing::JsonReading fast = handoff::testing::ReadJsonWithSimdjson(body);
  if (!fast.ok) return 0;  // left to nlohmann: ParseBody's answer is nlohmann's alone
  const handoff::testing::JsonReading want = handoff::testing::ReadJsonWithNlohmann(body);
  if (!want.ok || fast.dom != want.dom || fast.number_text != want.number_text) {
    std::fprintf(stderr, "json_reader_fuzz: the readers disagree (nlohmann %s)\n",
                 want.ok ? "reads it differently" : "refuses it");
    std::abort();
  }
  return 0;
}
