// libFuzzer target for the twilio_sms adapter: the bytes are the request (see
// tests/fuzz/fuzz_adapter.h), an urlencoded body by default, verified against a test Auth Token.
#include <cstdint>

#include "entry/sources/twilio_sms/twilio_sms_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::TwilioSmsAdapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "twilio_sms";
    s.public_url = "https://hooks.example.com";
    s.auth.hmac_secrets = {"0123456789abcdef0123456789abcdef"};
    s.settings = {{"auto_reply", "Thanks & <bye>"}};
    return s;
  }();
  handoff::fuzzing::FuzzAdapterOnce(adapter, source, "application/x-www-form-urlencoded", data,
                                    size);
  return 0;
}
