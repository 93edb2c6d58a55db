// The latency figure the continuity map and the scorecard both quote.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/clock.h"

namespace handoff {

// Nearest-rank percentile `p` (1..100) of `samples` (not empty), in whole milliseconds.
inline int64_t PercentileMs(std::vector<Micros> samples, int p) {
  std::sort(samples.begin(), samples.end());
  const size_t rank = std::max<size_t>((samples.size() * static_cast<size_t>(p) + 99) / 100, 1);
  return samples[std::min(rank, samples.size()) - 1] / kMicrosPerMilli;
}

}  // namespace handoff
