// Reading provider JSON without trusting its shape: the text at a path of object keys, where
// a missing key, a wrong type or null gives "" rather than an exception.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace handoff {

// The value at `path` (object keys from `root`), or nullptr when any step is missing or not an
// object. Never throws.
inline const nlohmann::json* JsonAt(const nlohmann::json& root,
                                    std::initializer_list<std::string_view> path) {
  const nlohmann::json* at = &root;
  for (std::string_view key : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

// The text at `path`: a string as is, an integer or a boolean written out; "" for anything
// else (absent, null, object, array, fractional number). Never throws.
inline std::string JsonText(const nlohmann::json& root,
                            std::initializer_list<std::string_view> path) {
  const nlohmann::json* at = JsonAt(root, path);
  if (at == nullptr) return "";
  if (at->is_string()) return at->get<std::string>();
  if (at->is_number_integer() || at->is_boolean()) return at->dump();
  return "";
}

}  // namespace handoff
