// Fuzz support: feeds libFuzzer's bytes to one source adapter as a request body (and, from the
// first line, as headers), the way the ingress would after its checks. The adapter must answer
// with a delivery or a rejection; anything else (a crash, a sanitizer report, an exception, a
// status that is not a rejection) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"
#include "entry/source_adapter.h"

namespace handoff::fuzzing {

// Splits `data` into headers and body: when it contains "\n\n", each line before it is a
// "name: value" header (names lowercased); the rest is the body. Then runs Verify (a failure is
// fine) and Parse on `adapter` with `source`, and aborts if either throws or if Parse fails
// with a status that is not a rejection.
void FuzzAdapterOnce(const SourceAdapter& adapter, const SourceConfig& source,
                     const std::string& content_type, const uint8_t* data, size_t size);

}  // namespace handoff::fuzzing
