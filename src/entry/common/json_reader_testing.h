// Test support for the two JSON readers of request bodies: each reads a body into a
// JsonDomBuilder, and the outcome is put in a form two readings can be compared by. The unit
// tests and the differential fuzz target (tests/fuzz/json_reader_fuzz.cc) share it.
// Header-only; used by tests only.
#pragma once

#include <map>
#include <string>

#include "entry/common/json_dom_builder.h"
#include "entry/common/json_simdjson_reader.h"
#include "nlohmann/json.hpp"

namespace handoff::testing {

constexpr int kJsonBodyDepth = 32;  // BodyParseOptions' default

struct JsonReading {
  bool ok = false;  // an object was read completely
  std::string dom;  // the DOM with every value's type, so 5 and 5.0, or -5 and 5u, differ
  std::map<std::string, std::string> number_text;
};

inline std::string TypedJson(const nlohmann::json& j) {
  using T = nlohmann::json::value_t;
  switch (j.type()) {
    case T::object: {
      std::string out = "{";
      for (const auto& [k, v] : j.items()) {
        out += nlohmann::json(k).dump() + ":" + TypedJson(v) + ",";
      }
      return out + "}";
    }
    case T::array: {
      std::string out = "[";
      for (const auto& v : j) out += TypedJson(v) + ",";
      return out + "]";
    }
    case T::number_integer:
      return "i" + j.dump();
    case T::number_unsigned:
      return "u" + j.dump();
    case T::number_float:
      // dump() prints the shortest text that reads back as the same double, so equal text is
      // the same value; the sign of zero shows too.
      return "f" + j.dump();
    default:
      return j.dump();
  }
}

inline JsonReading FinishJsonReading(bool ok, JsonDomBuilder& builder) {
  JsonReading r;
  r.ok = ok && builder.root().is_object();
  if (r.ok) {
    r.dom = TypedJson(builder.root());
    r.number_text = builder.number_text();
  }
  return r;
}

// The reference: nlohmann's parser, which body_parser.cc falls back to.
inline JsonReading ReadJsonWithNlohmann(const std::string& body, int depth = kJsonBodyDepth) {
  JsonDomBuilder builder(depth);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(body.begin(), body.end(), &builder);
  } catch (...) {
    ok = false;
  }
  return FinishJsonReading(ok, builder);
}

inline JsonReading ReadJsonWithSimdjson(const std::string& body, int depth = kJsonBodyDepth) {
  JsonDomBuilder builder(depth);
  return FinishJsonReading(ReadJsonObjectWithSimdjson(body, builder), builder);
}

}  // namespace handoff::testing
