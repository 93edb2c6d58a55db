// Typed, non-throwing reads from a parsed provider payload (nlohmann::json of untrusted
// origin): each returns empty / nullptr when the key is absent or has another type, so an
// adapter never calls a throwing `get` on the wrong type.
#pragma once

#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace handoff {

// The text of `object[key]`: a string as is, a number or boolean rendered ("42", "true");
// "" when `object` is not an object, or the key is absent, null, an array or an object.
std::string TextAt(const nlohmann::json& object, std::string_view key);

// `object[key]` when it is an object (resp. an array); nullptr otherwise.
const nlohmann::json* ObjectAt(const nlohmann::json& object, std::string_view key);
const nlohmann::json* ArrayAt(const nlohmann::json& object, std::string_view key);

// `object[key]` when it is a boolean, else `fallback`.
bool BoolAt(const nlohmann::json& object, std::string_view key, bool fallback = false);

// Text for one JSON value: as TextAt does for a single value.
std::string ScalarText(const nlohmann::json& value);

// fields[key] = value, unless value is empty: a field the provider left blank stays absent.
inline void SetIfPresent(nlohmann::json& fields, const char* key, const std::string& value) {
  if (!value.empty()) fields[key] = value;
}

}  // namespace handoff
