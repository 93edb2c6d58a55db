// The dashboard's files (web/), embedded into the binary at build time by
// cmake/embed_assets.cmake: handoff serves its own dashboard with nothing to install beside it.
#pragma once

#include <string_view>
#include <vector>

namespace handoff {

struct DashboardAsset {
  std::string_view name;  // "index.html", "app.js"…
  std::string_view bytes;
};

const std::vector<DashboardAsset>& DashboardAssets();

}  // namespace handoff
