// The error answers every API endpoint shares.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "http/http_types.h"

namespace handoff {

// 500 naming the store's failure.
inline HttpResponse StoreError(const absl::Status& s) {
  return HttpResponse::JsonError(500, "internal",
                                 fmt::format("the store failed: {}", std::string(s.message())));
}

}  // namespace handoff
