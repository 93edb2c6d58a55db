// JSON text written straight into one string, for what is built once per delivery: building a
// nlohmann tree and dumping it cost more than the rest of the request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"

namespace handoff {

// Writes JSON text in the exact form nlohmann's dump() gives (no indent, no spaces, invalid
// UTF-8 replaced by U+FFFD), so a text written here and a tree dumped there are the same bytes.
// nlohmann orders an object's keys bytewise; the writer keeps them in the order given, so
// callers write them in that order (JsonWriterTest checks each record's text against a re-dump).
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Null();
  // A tree (a record's free-form fields), as nlohmann dumps it.
  JsonWriter& Json(const nlohmann::json& value);

  // The text so far; the writer is empty afterwards.
  std::string Take();

 private:
  // The comma owed before a value or key that is not the first of its container.
  void Separate();

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace handoff
