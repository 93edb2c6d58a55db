// libFuzzer target for the contact_form_7 adapter: the bytes are a request (see
// fuzz_adapter.h) whose body is the CF7 to Webhook JSON.
#include <cstdint>

#include "entry/sources/contact_form_7/contact_form_7_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::ContactForm7Adapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "contact_form_7";
    s.map = {{"service", "menu-service"}};
    return s;
  }();
  handoff::fuzzing::FuzzAdapterOnce(adapter, source, "application/json; charset=UTF-8", data, size);
  return 0;
}
