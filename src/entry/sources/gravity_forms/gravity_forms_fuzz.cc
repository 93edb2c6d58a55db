// libFuzzer target for the gravity_forms adapter: the first byte picks a JSON or FORM body, the
// rest is the request (see fuzz_adapter.h).
#include <cstdint>

#include "entry/sources/gravity_forms/gravity_forms_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::GravityFormsAdapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "gravity_forms";
    s.map = {{"phone", "5"}, {"service", "6.1"}};
    return s;
  }();
  if (size == 0) return 0;
  handoff::fuzzing::FuzzAdapterOnce(
      adapter, source, data[0] % 2 ? "application/x-www-form-urlencoded" : "application/json",
      data + 1, size - 1);
  return 0;
}
