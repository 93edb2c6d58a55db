#include "entry/common/body_parser.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "core/ascii.h"
#include "core/utf8.h"
#include "entry/common/json_dom_builder.h"
#include "entry/common/json_simdjson_reader.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr size_t kNoError = std::string_view::npos;

// Client-sent text quoted into an error message: bounded, and with control and non-ASCII bytes
// escaped so a detail never carries raw bytes back into logs or JSON.
std::string Quote(std::string_view s, size_t max = 64) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7F || c == '\'' || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > max) out += "…";
  out += "'";
  return out;
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void SkipSpace(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

// Parses `;`-separated `name=value` parameters (names lowercased). HTTP headers allow
// backslash quoted-pairs in quoted strings; multipart Content-Disposition does not (browsers
// send `C:\dir` verbatim and escape `"` as %22), hence the switch.
bool ParseParams(std::string_view s, size_t i, bool backslash_escapes, Params* out) {
  while (true) {
    SkipSpace(s, i);
    if (i == s.size()) return true;
    if (s[i] != ';') return false;
    ++i;
    SkipSpace(s, i);
    if (i == s.size()) return true;
    const size_t name_start = i;
    while (i < s.size() && IsTokenChar(s[i])) ++i;
    if (i == name_start) return false;
    std::string name = AsciiLowered(s.substr(name_start, i - name_start));
    SkipSpace(s, i);
    if (i == s.size() || s[i] != '=') return false;
    ++i;
    SkipSpace(s, i);
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && backslash_escapes && i < s.size()) c = s[i++];
        value.push_back(c);
      }
      if (!closed) return false;
    } else {
      const size_t value_start = i;
      while (i < s.size() && s[i] != ';' && s[i] != ' ' && s[i] != '\t') ++i;
      value = std::string(s.substr(value_start, i - value_start));
    }
    out->emplace_back(std::move(name), std::move(value));
  }
}

// The value of parameter `name`; nullopt when absent. `duplicate` is set when it repeats.
std::optional<std::string> Param(const Params& params, std::string_view name, bool* duplicate) {
  std::optional<std::string> found;
  *duplicate = false;
  for (const auto& [k, v] : params) {
    if (k != name) continue;
    if (found) *duplicate = true;
    if (!found) found = v;
  }
  return found;
}

struct MediaType {
  std::string type;  // "type/subtype", lowercased
  Params params;
};

std::optional<MediaType> ParseMediaType(std::string_view header) {
  size_t i = 0;
  SkipSpace(header, i);
  const size_t start = i;
  while (i < header.size() && IsTokenChar(header[i])) ++i;
  if (i == start || i == header.size() || header[i] != '/') return std::nullopt;
  ++i;
  const size_t sub_start = i;
  while (i < header.size() && IsTokenChar(header[i])) ++i;
  if (i == sub_start) return std::nullopt;
  MediaType m;
  m.type = AsciiLowered(header.substr(start, i - start));
  if (!ParseParams(header, i, /*backslash_escapes=*/true, &m.params)) return std::nullopt;
  return m;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one urlencoded component. On a bad escape returns nullopt and sets `bad_at` to the
// offset of the '%' within `s`.
std::optional<std::string> DecodeComponent(std::string_view s, size_t* bad_at) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      const int hi = i + 1 < s.size() ? HexValue(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        *bad_at = i;
        return std::nullopt;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// nlohmann's message without its exception prefix and without the "last read" excerpt of the
// input, so the detail never echoes the sender's data.
std::string DescribeJsonError(const std::string& what) {
  std::string text = what;
  if (const size_t p = text.find(": syntax error"); p != std::string::npos) {
    text = text.substr(p + 2);
  } else if (const size_t q = text.find("] "); q != std::string::npos) {
    text = text.substr(q + 2);
  }
  if (const size_t p = text.find("; last read: "); p != std::string::npos) {
    const size_t expected = text.find("; expected ", p);
    text.erase(p, expected == std::string::npos ? std::string::npos : expected - p);
  }
  return text;
}

const char* JsonTypeName(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return "a number";
    default:
      return "a value";
  }
}

absl::Status ParseJson(std::string_view body, const BodyParseOptions& options, ParsedBody* out) {
  if (TrimOws(body).empty()) return Reject(RejectReason::kMalformedBody, "the JSON body is empty");
  if (const size_t bad = Utf8ErrorOffset(body); bad != kNoError) {
    return Reject(RejectReason::kInvalidUtf8,
                  fmt::format("the JSON body is not valid UTF-8 (byte {})", bad));
  }
  try {
    JsonDomBuilder fast(options.max_json_depth);
    if (ReadJsonObjectWithSimdjson(body, fast)) {
      out->json = std::move(fast.root());
      out->json_number_text = std::move(fast.number_text());
      return absl::OkStatus();
    }
  } catch (...) {
    // Only an allocation can throw here; nlohmann's reading below answers all the same.
  }
  // nlohmann's parser gives the verdict and names the byte of a body the fast path left.
  JsonDomBuilder builder(options.max_json_depth);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(body.begin(), body.end(), &builder);
  } catch (...) {
    // The SAX path reports through parse_error; anything thrown here is resource exhaustion.
    return Reject(RejectReason::kMalformedBody, "the JSON body could not be parsed");
  }
  if (builder.too_deep()) {
    return Reject(RejectReason::kTooDeep,
                  fmt::format("JSON nested deeper than {} levels", options.max_json_depth));
  }
  if (!ok) {
    if (builder.error().find("ill-formed UTF-8") != std::string::npos) {
      return Reject(
          RejectReason::kInvalidUtf8,
          fmt::format("the JSON body is not valid UTF-8 (byte {})", builder.error_offset()));
    }
    return Reject(RejectReason::kMalformedBody,
                  fmt::format("invalid JSON at byte {}: {}", builder.error_offset(),
                              DescribeJsonError(builder.error())));
  }
  if (!builder.root().is_object()) {
    return Reject(
        RejectReason::kMalformedBody,
        fmt::format("the JSON body must be an object, got {}", JsonTypeName(builder.root())));
  }
  out->json = std::move(builder.root());
  out->json_number_text = std::move(builder.number_text());
  return absl::OkStatus();
}

// A multipart boundary per RFC 2046 §5.1.1: 1-70 characters from a restricted set, not ending
// in a space.
bool IsValidBoundary(std::string_view b) {
  if (b.empty() || b.size() > 70 || b.back() == ' ') return false;
  for (char c : b) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

struct PartHeaders {
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;
};

absl::StatusOr<PartHeaders> ParsePartHeaders(std::string_view block, size_t part_number) {
  PartHeaders out;
  bool have_disposition = false;
  size_t pos = 0;
  while (pos < block.size()) {
    size_t end = block.find("\r\n", pos);
    if (end == std::string_view::npos) end = block.size();
    const std::string_view line = block.substr(pos, end - pos);
    pos = end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Reject(RejectReason::kMalformedBody,
                    fmt::format("multipart part {} has a malformed header line", part_number));
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = TrimOws(line.substr(colon + 1));
    if (EqualsIgnoreAsciiCase(name, "content-type")) {
      out.content_type = std::string(value);
      continue;
    }
    if (!EqualsIgnoreAsciiCase(name, "content-disposition")) continue;
    if (have_disposition) {
      return Reject(
          RejectReason::kMalformedBody,
          fmt::format("multipart part {} has two Content-Disposition headers", part_number));
    }
    have_disposition = true;
    size_t i = 0;
    while (i < value.size() && IsTokenChar(value[i])) ++i;
    Params params;
    if (!EqualsIgnoreAsciiCase(value.substr(0, i), "form-data") ||
        !ParseParams(value, i, /*backslash_escapes=*/false, &params)) {
      return Reject(RejectReason::kMalformedBody,
                    fmt::format("multipart part {} has a Content-Disposition that is not "
                                "'form-data; name=\"…\"'",
                                part_number));
    }
    bool dup_name = false;
    bool dup_filename = false;
    auto part_name = Param(params, "name", &dup_name);
    out.filename = Param(params, "filename", &dup_filename);
    if (!part_name || dup_name || dup_filename) {
      return Reject(RejectReason::kMalformedBody,
                    fmt::format("multipart part {} needs exactly one name in its "
                                "Content-Disposition",
                                part_number));
    }
    out.name = std::move(*part_name);
  }
  if (!have_disposition) {
    return Reject(RejectReason::kMalformedBody,
                  fmt::format("multipart part {} has no Content-Disposition header", part_number));
  }
  if (const size_t bad = Utf8ErrorOffset(out.name); bad != kNoError) {
    return Reject(RejectReason::kInvalidUtf8,
                  fmt::format("multipart part {} has a name that is not valid UTF-8", part_number));
  }
  if (out.filename && Utf8ErrorOffset(*out.filename) != kNoError) {
    return Reject(
        RejectReason::kInvalidUtf8,
        fmt::format("multipart part {} has a filename that is not valid UTF-8", part_number));
  }
  return out;
}

// RFC 2046 §5.1 / RFC 7578 framing: [preamble CRLF] "--" boundary padding CRLF, then parts
// separated by CRLF "--" boundary, closed by "--" boundary "--" and an ignored epilogue.
absl::Status ParseMultipart(const MediaType& media, std::string_view body,
                            const BodyParseOptions& options, ParsedBody* out) {
  bool duplicate = false;
  const auto boundary = Param(media.params, "boundary", &duplicate);
  if (!boundary) {
    return Reject(RejectReason::kMalformedBody, "multipart/form-data without a boundary");
  }
  if (duplicate || !IsValidBoundary(*boundary)) {
    return Reject(RejectReason::kMalformedBody, "multipart/form-data with an invalid boundary");
  }
  const std::string dash_boundary = "--" + *boundary;
  const std::string delimiter = "\r\n" + dash_boundary;

  size_t pos;
  if (body.substr(0, dash_boundary.size()) == dash_boundary) {
    pos = dash_boundary.size();
  } else {
    const size_t first = body.find(delimiter);
    if (first == std::string_view::npos) {
      return Reject(RejectReason::kMalformedBody, "multipart body does not contain its boundary");
    }
    pos = first + delimiter.size();
  }

  for (size_t part_number = 1;; ++part_number) {
    if (body.substr(pos, 2) == "--") return absl::OkStatus();  // closing delimiter
    SkipSpace(body, pos);                                      // transport padding
    if (body.substr(pos, 2) != "\r\n") {
      return Reject(RejectReason::kMalformedBody,
                    pos >= body.size() ? "multipart body ends before its closing boundary"
                                       : "multipart boundary line is not followed by CRLF");
    }
    pos += 2;
    if (part_number > options.max_fields) {
      return Reject(RejectReason::kBodyTooLarge,
                    fmt::format("multipart body has more than {} parts", options.max_fields));
    }

    std::string_view header_block;
    size_t content_start;
    if (body.substr(pos, 2) == "\r\n") {
      content_start = pos + 2;  // a part without headers
    } else {
      const size_t headers_end = body.find("\r\n\r\n", pos);
      if (headers_end == std::string_view::npos) {
        return Reject(RejectReason::kMalformedBody,
                      fmt::format("multipart part {} ends inside its headers", part_number));
      }
      header_block = body.substr(pos, headers_end - pos);
      content_start = headers_end + 4;
    }
    const size_t content_end = body.find(delimiter, content_start);
    if (content_end == std::string_view::npos) {
      return Reject(RejectReason::kMalformedBody,
                    fmt::format("multipart part {} is not closed by the boundary (truncated body?)",
                                part_number));
    }
    auto headers = ParsePartHeaders(header_block, part_number);
    if (!headers.ok()) return headers.status();
    const std::string_view content = body.substr(content_start, content_end - content_start);
    if (headers->filename) {
      out->files.push_back(FormFile{std::move(headers->name), std::move(*headers->filename),
                                    std::move(headers->content_type), content.size()});
    } else {
      if (Utf8ErrorOffset(content) != kNoError) {
        return Reject(RejectReason::kInvalidUtf8,
                      fmt::format("multipart field {} is not valid UTF-8", Quote(headers->name)));
      }
      out->fields.push_back(FormField{std::move(headers->name), std::string(content)});
    }
    pos = content_end + delimiter.size();
  }
}

}  // namespace

const std::string* ParsedBody::FirstField(std::string_view name) const {
  for (const auto& f : fields) {
    if (f.name == name) return &f.value;
  }
  return nullptr;
}

bool IsValidUtf8(std::string_view bytes) { return Utf8ErrorOffset(bytes) == kNoError; }

absl::StatusOr<std::vector<FormField>> ParseFormUrlEncoded(std::string_view text,
                                                           size_t max_fields) {
  std::vector<FormField> fields;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view piece = text.substr(start, end - start);
    if (!piece.empty()) {
      if (fields.size() >= max_fields) {
        return Reject(RejectReason::kBodyTooLarge,
                      fmt::format("form has more than {} fields", max_fields));
      }
      const size_t eq = piece.find('=');
      const std::string_view raw_name = piece.substr(0, eq);
      const std::string_view raw_value =
          eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
      size_t bad_at = 0;
      auto name = DecodeComponent(raw_name, &bad_at);
      if (!name) {
        return Reject(RejectReason::kMalformedBody,
                      fmt::format("invalid percent-escape at byte {}", start + bad_at));
      }
      auto value = DecodeComponent(raw_value, &bad_at);
      if (!value) {
        return Reject(RejectReason::kMalformedBody,
                      fmt::format("invalid percent-escape at byte {}", start + eq + 1 + bad_at));
      }
      if (Utf8ErrorOffset(*name) != kNoError) {
        return Reject(RejectReason::kInvalidUtf8,
                      fmt::format("form field name at byte {} is not valid UTF-8", start));
      }
      if (Utf8ErrorOffset(*value) != kNoError) {
        return Reject(RejectReason::kInvalidUtf8,
                      fmt::format("form field {} is not valid UTF-8", Quote(*name)));
      }
      fields.push_back(FormField{std::move(*name), std::move(*value)});
    }
    if (end == text.size()) break;
    start = end + 1;
  }
  return fields;
}

absl::StatusOr<ParsedBody> ParseBody(std::string_view content_type, std::string_view body,
                                     const BodyParseOptions& options) {
  std::string accepted;
  for (const auto& [on, name] :
       {std::pair{options.accept_json, "application/json"},
        std::pair{options.accept_urlencoded, "application/x-www-form-urlencoded"},
        std::pair{options.accept_multipart, "multipart/form-data"}}) {
    if (!on) continue;
    if (!accepted.empty()) accepted += ", ";
    accepted += name;
  }
  if (TrimOws(content_type).empty()) {
    return Reject(RejectReason::kUnsupportedMediaType,
                  fmt::format("missing Content-Type; expected {}", accepted));
  }
  auto media = ParseMediaType(content_type);
  if (!media) {
    return Reject(RejectReason::kUnsupportedMediaType,
                  fmt::format("Content-Type {} is not a valid media type; expected {}",
                              Quote(content_type), accepted));
  }
  bool duplicate = false;
  if (auto charset = Param(media->params, "charset", &duplicate)) {
    const std::string cs = AsciiLowered(*charset);
    if (duplicate || (cs != "utf-8" && cs != "utf8" && cs != "us-ascii")) {
      return Reject(RejectReason::kUnsupportedMediaType,
                    fmt::format("charset {} is not supported (utf-8 only)", Quote(*charset)));
    }
  }

  ParsedBody out;
  out.media_type = media->type;
  bool accepted_kind = false;
  const std::string_view type = media->type;
  if (type == "application/json" || (type.substr(0, 12) == "application/" && type.size() > 5 &&
                                     type.substr(type.size() - 5) == "+json")) {
    out.kind = BodyKind::kJson;
    accepted_kind = options.accept_json;
  } else if (type == "application/x-www-form-urlencoded") {
    out.kind = BodyKind::kUrlEncoded;
    accepted_kind = options.accept_urlencoded;
  } else if (type == "multipart/form-data") {
    out.kind = BodyKind::kMultipart;
    accepted_kind = options.accept_multipart;
  }
  if (!accepted_kind) {
    return Reject(RejectReason::kUnsupportedMediaType,
                  fmt::format("Content-Type {} is not accepted here; expected {}",
                              Quote(media->type), accepted));
  }

  switch (out.kind) {
    case BodyKind::kJson: {
      absl::Status s = ParseJson(body, options, &out);
      if (!s.ok()) return s;
      break;
    }
    case BodyKind::kUrlEncoded: {
      auto fields = ParseFormUrlEncoded(body, options.max_fields);
      if (!fields.ok()) return fields.status();
      out.fields = std::move(*fields);
      break;
    }
    case BodyKind::kMultipart: {
      absl::Status s = ParseMultipart(*media, body, options, &out);
      if (!s.ok()) return s;
      break;
    }
  }
  return out;
}

absl::StatusOr<ParsedBody> ParseJsonRequest(const HttpRequest& request) {
  if (request.HeaderCount("content-type") > 1) {
    return Reject(RejectReason::kUnsupportedMediaType, "several Content-Type headers");
  }
  BodyParseOptions options;
  options.accept_urlencoded = false;
  options.accept_multipart = false;
  return ParseBody(request.Header("content-type").value_or(""), request.body, options);
}

}  // namespace handoff
