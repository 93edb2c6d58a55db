// libFuzzer target for the twilio_voice adapter: the bytes are the request (see
// tests/fuzz/fuzz_adapter.h), an urlencoded body by default, verified against a test Auth Token
// and parsed with the voicemail settings on.
#include <cstdint>

#include "entry/sources/twilio_voice/twilio_voice_adapter.h"
#include "tests/fuzz/fuzz_adapter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const handoff::TwilioVoiceAdapter adapter;
  static const handoff::SourceConfig source = [] {
    handoff::SourceConfig s;
    s.name = "fuzz";
    s.adapter = "twilio_voice";
    s.public_url = "https://hooks.example.com";
    s.auth.hmac_secrets = {"0123456789abcdef0123456789abcdef"};
    s.settings = {{"greeting", "Sorry & <sorry>"}, {"transcribe", true}};
    return s;
  }();
  handoff::fuzzing::FuzzAdapterOnce(adapter, source, "application/x-www-form-urlencoded", data,
                                    size);
  return 0;
}
