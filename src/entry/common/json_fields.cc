#include "entry/common/json_fields.h"

namespace handoff {
namespace {

const nlohmann::json* Find(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

std::string ScalarText(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::string:
      return value.get_ref<const std::string&>();
    case nlohmann::json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return value.dump();
    default:
      return std::string();
  }
}

std::string TextAt(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* v = Find(object, key);
  return v ? ScalarText(*v) : std::string();
}

const nlohmann::json* ObjectAt(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* v = Find(object, key);
  return v && v->is_object() ? v : nullptr;
}

const nlohmann::json* ArrayAt(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* v = Find(object, key);
  return v && v->is_array() ? v : nullptr;
}

bool BoolAt(const nlohmann::json& object, std::string_view key, bool fallback) {
  const nlohmann::json* v = Find(object, key);
  return v && v->is_boolean() ? v->get<bool>() : fallback;
}

}  // namespace handoff
