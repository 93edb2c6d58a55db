// libFuzzer target for the generic adapters: the first byte picks json or form (urlencoded or
// multipart), the rest is the request (see fuzz_adapter.h).
#include <cstdint>

#include "entry/sources/form/form_adapter.h"
#include "entry/sources/json/json_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

namespace {

handoff::SourceConfig MappedSource(const std::string& adapter) {
  handoff::SourceConfig s;
  s.name = "fuzz";
  s.adapter = adapter;
  s.map = {{"name", "contact.name"}, {"email", "email"},     {"phone", "phone"},
           {"message", "message"},   {"service", "service"}, {"event_id", "id"}};
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::JsonAdapter json;
  static const handoff::FormAdapter form;
  static const handoff::SourceConfig json_source = MappedSource("json");
  static const handoff::SourceConfig form_source = MappedSource("form");
  if (size == 0) return 0;
  switch (data[0] % 3) {
    case 0:
      handoff::fuzzing::FuzzAdapterOnce(json, json_source, "application/json", data + 1, size - 1);
      break;
    case 1:
      handoff::fuzzing::FuzzAdapterOnce(form, form_source, "application/x-www-form-urlencoded",
                                        data + 1, size - 1);
      break;
    default:
      handoff::fuzzing::FuzzAdapterOnce(form, form_source, "multipart/form-data; boundary=XyZ",
                                        data + 1, size - 1);
  }
  return 0;
}
