#include "entry/common/field_map.h"

#include <algorithm>
#include <optional>

#include "core/time_format.h"
#include "entry/common/json_pointer.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

using nlohmann::json;

// The keys tried, in order, when a source has no map: the canonical name itself and the
// aliases common form builders use.
const std::vector<std::pair<std::string, std::vector<std::string>>>& DefaultMap() {
  static const auto* map = new std::vector<std::pair<std::string, std::vector<std::string>>>{
      {"name", {"name", "full_name", "fullName"}},
      {"first_name", {"first_name", "firstName"}},
      {"last_name", {"last_name", "lastName"}},
      {"email", {"email"}},
      {"phone", {"phone", "phone_number", "phoneNumber", "tel"}},
      {"message", {"message", "comments", "details", "body"}},
      {"service", {"service"}},
      {"location", {"location"}},
      {"utm_source", {"utm_source"}},
      {"utm_medium", {"utm_medium"}},
      {"utm_campaign", {"utm_campaign"}},
      {"utm_term", {"utm_term"}},
      {"utm_content", {"utm_content"}},
      {"referrer", {"referrer"}},
      {"landing_page", {"landing_page"}},
      {"occurred_at", {"occurred_at"}},
      {"event_id", {"event_id"}},
  };
  return *map;
}

bool IsCanonical(const std::string& name) {
  const auto& names = CanonicalFieldNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    out.push_back(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

std::optional<size_t> ArrayIndex(std::string_view segment) {
  if (segment.empty() || segment.size() > 9) return std::nullopt;
  size_t value = 0;
  for (char c : segment) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  return value;
}

struct Located {
  const json* value = nullptr;
  std::string pointer;
};

// Finds `path` in `root`: a top-level key spelled exactly like the path wins (keys may contain
// dots), otherwise each dotted segment is an object key or, on arrays, an index.
Located LocateJson(const json& root, std::string_view path) {
  Located out;
  if (auto it = root.find(std::string(path)); it != root.end()) {
    AppendJsonPointerToken(out.pointer, path);
    out.value = &*it;
    return out;
  }
  const json* cur = &root;
  for (std::string_view segment : SplitPath(path)) {
    if (cur->is_object()) {
      auto it = cur->find(std::string(segment));
      if (it == cur->end()) return {};
      AppendJsonPointerToken(out.pointer, segment);
      cur = &*it;
    } else if (cur->is_array()) {
      const auto index = ArrayIndex(segment);
      if (!index || *index >= cur->size()) return {};
      out.pointer += fmt::format("/{}", *index);
      cur = &(*cur)[*index];
    } else {
      return {};
    }
  }
  out.value = cur;
  return out;
}

std::string Origin(const std::string& path, bool explicit_map) {
  return explicit_map ? fmt::format(" (mapped from '{}')", path) : std::string();
}

// The text of the value at `path`; nullopt when absent, null or blank.
absl::StatusOr<std::optional<std::string>> Lookup(const ParsedBody& body,
                                                  const std::string& canonical,
                                                  const std::string& path, bool explicit_map) {
  if (body.kind != BodyKind::kJson) {
    for (const auto& f : body.fields) {
      if (f.name == path && !IsBlank(f.value)) return std::optional<std::string>(f.value);
    }
    return std::optional<std::string>();
  }
  const Located found = LocateJson(body.json, path);
  if (found.value == nullptr || found.value->is_null()) return std::optional<std::string>();
  const json& v = *found.value;
  std::string text;
  switch (v.type()) {
    case json::value_t::string:
      text = v.get_ref<const std::string&>();
      break;
    case json::value_t::boolean:
      text = v.get<bool>() ? "true" : "false";
      break;
    case json::value_t::number_float:
      if (auto it = body.json_number_text.find(found.pointer); it != body.json_number_text.end()) {
        text = it->second;
        break;
      }
      text = v.dump();
      break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      text = v.dump();
      break;
    default:
      return Reject(
          RejectReason::kInvalidField,
          fmt::format("field '{}'{} is {}; expected text", canonical, Origin(path, explicit_map),
                      v.is_array() ? "an array" : "an object"));
  }
  if (IsBlank(text)) return std::optional<std::string>();
  return std::optional<std::string>(std::move(text));
}

// Parses up to 15 digits; the range check below keeps every product in int64.
std::optional<int64_t> Digits(std::string_view s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

const std::vector<std::string>& CanonicalFieldNames() {
  static const auto* names = [] {
    auto* out = new std::vector<std::string>();
    for (const auto& [canonical, keys] : DefaultMap()) out->push_back(canonical);
    return out;
  }();
  return *names;
}

absl::Status ValidateFieldMap(const FieldMap& map, const std::vector<std::string>& required) {
  std::vector<std::string> problems;
  const auto known = [] {
    std::string all;
    for (const auto& n : CanonicalFieldNames()) all += (all.empty() ? "" : ", ") + n;
    return all;
  };
  for (const auto& [canonical, path] : map) {
    if (!IsCanonical(canonical)) {
      problems.push_back(
          fmt::format("map: unknown canonical field '{}' (known: {})", canonical, known()));
    }
    if (path.empty()) {
      problems.push_back(fmt::format("map.{}: the path is empty", canonical));
      continue;
    }
    for (std::string_view segment : SplitPath(path)) {
      if (segment.empty()) {
        problems.push_back(fmt::format("map.{}: path '{}' has an empty segment", canonical, path));
        break;
      }
    }
  }
  for (const auto& r : required) {
    if (!IsCanonical(r)) {
      problems.push_back(
          fmt::format("required: unknown canonical field '{}' (known: {})", r, known()));
    }
  }
  if (problems.empty()) return absl::OkStatus();
  std::string message;
  for (const auto& p : problems) message += (message.empty() ? "" : "\n") + p;
  return absl::InvalidArgumentError(message);
}

const std::string& MappedFields::Get(const std::string& canonical) const {
  static const std::string* empty = new std::string();
  auto it = text.find(canonical);
  return it == text.end() ? *empty : it->second;
}

absl::StatusOr<Micros> ParseOccurredAt(std::string_view text) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (const auto w = Digits(whole)) {
    if (dot != std::string_view::npos &&
        (fraction.empty() || !std::all_of(fraction.begin(), fraction.end(),
                                          [](char c) { return c >= '0' && c <= '9'; }))) {
      return absl::InvalidArgumentError("not a number");
    }
    // Seconds until 1e11 (year 5138); milliseconds until 1e14 (also year 5138).
    Micros unit;
    if (*w < 100'000'000'000) {
      unit = kMicrosPerSecond;
    } else if (*w < 100'000'000'000'000) {
      unit = kMicrosPerMilli;
    } else {
      return absl::InvalidArgumentError("out of range");
    }
    Micros frac = 0;
    Micros scale = unit / 10;
    for (size_t i = 0; i < fraction.size() && scale > 0; ++i, scale /= 10) {
      frac += (fraction[i] - '0') * scale;
    }
    return *w * unit + frac;
  }
  return ParseRfc3339(text);
}

absl::StatusOr<MappedFields> MapFields(const SourceConfig& source, const ParsedBody& body) {
  const bool explicit_map = !source.map.empty();
  if (absl::Status s = ValidateFieldMap(source.map, source.required); !s.ok()) return s;

  // canonical → the paths to try, in order (a map may list a field twice as a fallback).
  std::vector<std::pair<std::string, std::vector<std::string>>> plan;
  if (explicit_map) {
    for (const auto& [canonical, path] : source.map) {
      // clang 14 cannot capture a structured binding; the fuzz build uses it.
      const std::string& name = canonical;
      auto it =
          std::find_if(plan.begin(), plan.end(), [&](const auto& p) { return p.first == name; });
      if (it == plan.end()) {
        plan.push_back({canonical, {path}});
      } else {
        it->second.push_back(path);
      }
    }
  } else {
    plan = DefaultMap();
  }

  MappedFields out;
  for (const auto& [canonical, paths] : plan) {
    for (const auto& path : paths) {
      auto value = Lookup(body, canonical, path, explicit_map);
      if (!value.ok()) return value.status();
      if (!value->has_value()) continue;
      out.text[canonical] = std::move(**value);
      break;
    }
  }

  if (out.Get("name").empty()) {
    const std::string& first = out.Get("first_name");
    const std::string& last = out.Get("last_name");
    std::string joined = first;
    if (!first.empty() && !last.empty()) joined += " ";
    joined += last;
    if (!joined.empty()) out.text["name"] = std::move(joined);
  }

  if (const std::string& at = out.Get("occurred_at"); !at.empty()) {
    auto parsed = ParseOccurredAt(at);
    if (!parsed.ok()) {
      return Reject(RejectReason::kInvalidField,
                    "occurred_at is neither an RFC 3339 timestamp nor unix seconds or "
                    "milliseconds");
    }
    out.occurred_at = *parsed;
  }

  std::string missing;
  for (const auto& r : source.required) {
    if (!out.Get(r).empty()) continue;
    std::string paths;
    for (const auto& [canonical, path] : source.map) {
      if (canonical == r) paths += fmt::format("{}'{}'", paths.empty() ? "" : " or ", path);
    }
    if (!missing.empty()) missing += "; ";
    missing += paths.empty()
                   ? fmt::format("required field '{}' is absent", r)
                   : fmt::format("required field '{}' (mapped from {}) is absent", r, paths);
  }
  if (!missing.empty()) return Reject(RejectReason::kMissingField, missing);
  return out;
}

void ApplyMappedFields(const MappedFields& f, Inquiry* inquiry) {
  inquiry->received.name = f.Get("name");
  inquiry->received.email = f.Get("email");
  inquiry->received.phone = f.Get("phone");
  inquiry->message = f.Get("message");
  inquiry->service = f.Get("service");
  inquiry->location = f.Get("location");
  inquiry->attribution.utm_source = f.Get("utm_source");
  inquiry->attribution.utm_medium = f.Get("utm_medium");
  inquiry->attribution.utm_campaign = f.Get("utm_campaign");
  inquiry->attribution.utm_term = f.Get("utm_term");
  inquiry->attribution.utm_content = f.Get("utm_content");
  inquiry->attribution.referrer = f.Get("referrer");
  inquiry->attribution.landing_page = f.Get("landing_page");
  inquiry->occurred_at = f.occurred_at;
  inquiry->provider_event_id = f.Get("event_id");
}

}  // namespace handoff
