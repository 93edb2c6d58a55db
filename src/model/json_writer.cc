#include "model/json_writer.h"

#include <charconv>

#include "core/utf8.h"

namespace handoff {
namespace {

// True when nlohmann writes `s` as it is: valid UTF-8 with nothing to escape.
bool NeedsNoEscape(std::string_view s) {
  bool ascii = true;
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || c == '"' || c == '\\') return false;
    ascii = ascii && b < 0x80;
  }
  // Most fields are ASCII; only the others need their UTF-8 checked.
  return ascii || Utf8ErrorOffset(s) == std::string_view::npos;
}

}  // namespace

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (first_.empty()) return;
  if (!first_.back()) out_ += ',';
  first_.back() = false;
}

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_ += '}';
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Separate();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_ += ']';
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  String(key);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  Separate();
  if (NeedsNoEscape(value)) {
    out_ += '"';
    out_ += value;
    out_ += '"';
  } else {
    // Escapes and broken UTF-8 are rare in lead data: nlohmann writes those strings itself,
    // which keeps the bytes its own dump would give.
    out_ += nlohmann::json(std::string(value))
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  Separate();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out_.append(buf, end);
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::Json(const nlohmann::json& value) {
  // Walked here rather than dumped whole: nlohmann checks every byte of every string through
  // its UTF-8 decoder, while String's fast path copies the plain ones (event details are
  // serialised on the store's writer thread, about 5 % of it).
  using Type = nlohmann::json::value_t;
  switch (value.type()) {
    case Type::object:
      BeginObject();
      for (const auto& [key, member] : value.get_ref<const nlohmann::json::object_t&>()) {
        Key(key);
        Json(member);
      }
      return EndObject();
    case Type::array:
      BeginArray();
      for (const nlohmann::json& element : value.get_ref<const nlohmann::json::array_t&>()) {
        Json(element);
      }
      return EndArray();
    case Type::string:
      return String(value.get_ref<const std::string&>());
    case Type::number_integer:
      return Int(value.get<int64_t>());
    case Type::boolean:
      Separate();
      out_ += value.get<bool>() ? "true" : "false";
      return *this;
    case Type::null:
      return Null();
    default:
      // Unsigned and floating-point numbers (nlohmann's shortest round-trip form), binary.
      Separate();
      out_ += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return *this;
  }
}

std::string JsonWriter::Take() {
  std::string out = std::move(out_);
  out_.clear();
  first_.clear();
  after_key_ = false;
  return out;
}

}  // namespace handoff
