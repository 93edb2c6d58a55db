// Builds a request body's JSON DOM from parse events, the one place that decides what the DOM
// holds: nesting refused at the limit while reading (before any deep structure exists), a
// repeated key's last value kept, and the source text of numbers that re-serialize differently.
// Two readers drive it: nlohmann's SAX parser, which names the byte of any error, and
// simdjson's On-Demand parser (json_simdjson_reader.h), the fast path for bodies that parse.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace handoff {

// A SAX target in nlohmann's shape (nlohmann::json::sax_parse calls it). One document per
// instance.
class JsonDomBuilder {
 public:
  using json = nlohmann::json;

  // `max_depth` counts objects and arrays, the top-level one included.
  explicit JsonDomBuilder(int max_depth) : max_depth_(max_depth) {}

  bool null() { return Put(nullptr); }
  bool boolean(bool v) { return Put(v); }
  bool number_integer(json::number_integer_t v) { return Put(v); }
  bool number_unsigned(json::number_unsigned_t v) { return Put(v); }
  // `text` is the number as written; kept when the value re-serializes differently.
  bool number_float(json::number_float_t v, const std::string& text);
  bool string(std::string& v) { return Put(std::move(v)); }
  bool binary(json::binary_t& /*unused*/) { return false; }  // JSON text never produces it
  bool start_object(std::size_t /*unused*/) { return Open(json::object()); }
  bool key(std::string& k) {
    stack_.back().key = std::move(k);
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*unused*/) { return Open(json::array()); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) {
    error_position_ = position;
    error_ = ex.what();
    return false;
  }

  bool too_deep() const { return too_deep_; }
  // The 0-based offset of the byte that broke the parse (the body size at end of input):
  // nlohmann counts bytes read, including the offending one.
  size_t error_offset() const { return error_position_ > 0 ? error_position_ - 1 : 0; }
  const std::string& error() const { return error_; }
  json& root() { return root_; }
  // The source text of numbers that re-serialize differently ("10.50", "1E5"), keyed by the
  // JSON pointer of where they sit ("/order/total").
  std::map<std::string, std::string>& number_text() { return number_text_; }

 private:
  struct Frame {
    json* node;
    std::string key;  // objects: the key of the value being read
  };

  // The JSON pointer of the slot the next value fills.
  std::string SlotPointer() const;
  json* Slot();
  bool Put(json value) {
    *Slot() = std::move(value);
    return true;
  }
  bool Open(json container);

  int max_depth_;
  json root_;
  std::vector<Frame> stack_;
  std::map<std::string, std::string> number_text_;
  bool too_deep_ = false;
  size_t error_position_ = 0;
  std::string error_;
};

}  // namespace handoff
