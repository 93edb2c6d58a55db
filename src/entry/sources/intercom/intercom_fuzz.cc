// libFuzzer target for the Intercom adapter (notification JSON and the HTML-to-text of its
// message bodies).
#include <cstdint>
#include <string_view>

#include "entry/common/html_text.h"
#include "entry/sources/intercom/intercom_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::IntercomAdapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "intercom";
    s.auth.hmac_secrets = {"fuzz-secret-0123456789"};
    s.settings["contact_leads"] = true;
    return s;
  }();
  handoff::fuzzing::FuzzAdapterOnce(adapter, source, "application/json", data, size);
  // The stripper on its own too, on bytes no JSON parser has vetted.
  (void)handoff::HtmlToText(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
