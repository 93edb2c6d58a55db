// The headers nearly every translation unit parses, precompiled once for the sanitizer build
// (CMake target_precompile_headers, shared by every target): at -O0 parsing them is a large
// part of each file's compile time. Only third-party and standard headers belong here.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
