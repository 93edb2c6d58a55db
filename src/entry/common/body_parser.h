// Turns a raw request body into one uniform shape by its Content-Type: a JSON object, or the
// ordered fields of an urlencoded or multipart form. Shared by every adapter that accepts
// generic bodies; written for untrusted bytes (never throws, bounded depth and part counts) so
// it can be fuzzed directly.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "http/http_types.h"
#include "nlohmann/json.hpp"

namespace handoff {

enum class BodyKind { kJson, kUrlEncoded, kMultipart };

// One form field, name and value percent-decoded (urlencoded) or taken verbatim (multipart).
struct FormField {
  std::string name;
  std::string value;
};

// A file part of a multipart body. Its content is counted, never kept.
struct FormFile {
  std::string field;  // the part's name
  std::string filename;
  std::string content_type;  // as sent, "" when absent
  size_t size = 0;           // bytes of content
};

// A parsed body. Plain value; copy freely.
struct ParsedBody {
  BodyKind kind = BodyKind::kJson;
  std::string media_type;  // lowercased, without parameters, e.g. "application/json"
  // kJson: the top-level object.
  nlohmann::json json = nlohmann::json::object();
  // kJson: the source text of numbers that re-serialize differently ("10.50", 25-digit ids),
  // keyed by JSON pointer ("/order/total"), so mapped text keeps what the sender wrote.
  std::map<std::string, std::string> json_number_text;
  // kUrlEncoded / kMultipart: text fields in body order; repeated names are kept.
  std::vector<FormField> fields;
  // kMultipart: file parts (name, size, type only).
  std::vector<FormFile> files;

  // The first value of form field `name`, or nullptr.
  const std::string* FirstField(std::string_view name) const;
};

struct BodyParseOptions {
  bool accept_json = true;
  bool accept_urlencoded = true;
  bool accept_multipart = true;
  int max_json_depth = 32;   // nesting of objects and arrays, the top-level object counts 1
  size_t max_fields = 1000;  // urlencoded fields, or multipart parts
};

// Parses `body` as the media type `content_type` names (the raw header value, parameters
// allowed; only a utf-8 or us-ascii charset). Rejects (entry/rejection.h) with
// unsupported_media_type (missing, unknown or not accepted type), malformed_body, invalid_utf8,
// too_deep or body_too_large (too many fields/parts). Never throws.
absl::StatusOr<ParsedBody> ParseBody(std::string_view content_type, std::string_view body,
                                     const BodyParseOptions& options = {});

// The body of a provider webhook that is JSON only: one Content-Type header (several are
// unsupported_media_type), naming JSON, parsed as ParseBody does.
absl::StatusOr<ParsedBody> ParseJsonRequest(const HttpRequest& request);

// Parses application/x-www-form-urlencoded text ('+' is a space, %XX escapes) into fields in
// order. Rejects malformed_body on a bad escape, invalid_utf8 on decoded bytes that are not
// UTF-8, body_too_large past `max_fields`. Also used for query strings.
absl::StatusOr<std::vector<FormField>> ParseFormUrlEncoded(std::string_view text,
                                                           size_t max_fields = 1000);

// True when `bytes` is well-formed UTF-8 (no overlong forms, surrogates or values past
// U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

}  // namespace handoff
