// libFuzzer target for the html_form adapter: the first byte picks urlencoded or multipart, the
// rest is the request (see fuzz_adapter.h); headers may carry Origin, Referer and Accept.
#include <cstdint>

#include "entry/sources/html_form/html_form_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::HtmlFormAdapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "html_form";
    s.auth.tokens = {"form_key_0123456789abcdef"};
    s.settings = {{"honeypot", "website"},
                  {"thank_you_url", "https://example.com/thanks"},
                  {"allowed_origins", {"https://example.com"}}};
    return s;
  }();
  if (size == 0) return 0;
  handoff::fuzzing::FuzzAdapterOnce(
      adapter, source,
      data[0] % 2 ? "application/x-www-form-urlencoded" : "multipart/form-data; boundary=XyZ",
      data + 1, size - 1);
  return 0;
}
