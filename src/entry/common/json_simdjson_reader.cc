#include "entry/common/json_simdjson_reader.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

#include "core/utf8.h"
#include "simdjson.h"

namespace handoff {
namespace {

namespace od = simdjson::ondemand;

// A parser keeps buffers sized to the largest document it has read. Each thread reuses one for
// bodies up to this size; a larger body gets a parser of its own, so it does not stay resident.
constexpr size_t kReusedParserCapacity = 64 * 1024;

// The recursion below is bounded by the builder's depth limit; this bounds it whatever the
// limit (a deeper body goes to nlohmann's parser, which is iterative).
constexpr int kMaxRecursion = 128;

std::string_view TrimJsonSpace(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// simdjson unescapes \u escapes itself; a lone surrogate must not pass where nlohmann refuses
// it, so unescaped text is checked once more (eight bytes at a time for ASCII).
bool WellFormed(std::string_view text) { return Utf8ErrorOffset(text) == std::string_view::npos; }

// nlohmann's rule, by the text: a fraction or an exponent makes a float; otherwise a signed
// (with '-') or unsigned integer, and past 64 bits a float, which is left to nlohmann here.
bool ReadNumber(od::value& value, JsonDomBuilder& builder) {
  const std::string_view text = TrimJsonSpace(value.raw_json_token());
  if (text.empty()) return false;
  if (text.find_first_of(".eE") != std::string_view::npos) {
    // simdjson checks the number's grammar, but its value is not used: simdjson 3.0.1 misreads
    // some mantissas of 20 digits and more (-0.109223372036854775808 came back as
    // -0.01698...). from_chars rounds correctly, as the strtod under nlohmann does.
    double unused = 0;
    if (value.get_double().get(unused) != simdjson::SUCCESS) return false;
    double d = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(d)) {
      return false;
    }
    return builder.number_float(d, std::string(text));
  }
  if (text.front() == '-') {
    int64_t i = 0;
    if (value.get_int64().get(i) != simdjson::SUCCESS) return false;
    return builder.number_integer(i);
  }
  uint64_t u = 0;
  if (value.get_uint64().get(u) != simdjson::SUCCESS) return false;
  return builder.number_unsigned(u);
}

bool ReadValue(od::value value, JsonDomBuilder& builder, int depth) {
  if (depth > kMaxRecursion) return false;
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (value.get_object().get(object) != simdjson::SUCCESS) return false;
      if (!builder.start_object(0)) return false;
      for (auto field_result : object) {
        od::field field;
        if (std::move(field_result).get(field) != simdjson::SUCCESS) return false;
        std::string_view key;
        if (field.unescaped_key().get(key) != simdjson::SUCCESS || !WellFormed(key)) return false;
        std::string owned_key(key);
        builder.key(owned_key);
        if (!ReadValue(field.value(), builder, depth + 1)) return false;
      }
      return builder.end_object();
    }
    case od::json_type::array: {
      od::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) return false;
      if (!builder.start_array(0)) return false;
      for (auto element : array) {
        od::value item;
        if (std::move(element).get(item) != simdjson::SUCCESS) return false;
        if (!ReadValue(item, builder, depth + 1)) return false;
      }
      return builder.end_array();
    }
    case od::json_type::string: {
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS || !WellFormed(text)) return false;
      std::string owned(text);
      return builder.string(owned);
    }
    case od::json_type::number:
      return ReadNumber(value, builder);
    case od::json_type::boolean: {
      bool b = false;
      if (value.get_bool().get(b) != simdjson::SUCCESS) return false;
      return builder.boolean(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (value.is_null().get(is_null) != simdjson::SUCCESS || !is_null) return false;
      return builder.null();
    }
  }
  return false;
}

bool ReadWith(od::parser& parser, const simdjson::padded_string& padded, JsonDomBuilder& builder) {
  od::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return false;
  od::json_type type;
  if (doc.type().get(type) != simdjson::SUCCESS || type != od::json_type::object) return false;
  od::value root;
  if (doc.get_value().get(root) != simdjson::SUCCESS) return false;
  if (!ReadValue(root, builder, 1)) return false;
  // Nothing but whitespace may follow the object: only then is there no token left.
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

}  // namespace

bool ReadJsonObjectWithSimdjson(std::string_view body, JsonDomBuilder& builder) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the end; the copy gives it that room.
  const simdjson::padded_string padded(body.data(), body.size());
  if (body.size() > kReusedParserCapacity) {
    od::parser parser;
    return ReadWith(parser, padded, builder);
  }
  thread_local od::parser parser;
  return ReadWith(parser, padded, builder);
}

}  // namespace handoff
