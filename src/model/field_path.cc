#include "model/field_path.h"

#include <array>

namespace handoff {
namespace {

constexpr std::string_view kFieldsPrefix = "fields.";

constexpr std::array<std::string_view, 10> kPlainPaths = {
    "message",      "service",       "location",      "source", "channel",
    "contact.name", "contact.email", "contact.phone", "intent", "urgency"};

std::string ContactText(const std::string& normalized, const std::string& received,
                        const std::string* linked) {
  if (!normalized.empty()) return normalized;
  if (!received.empty()) return received;
  return linked ? *linked : std::string();
}

std::string JsonText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

}  // namespace

bool IsFieldPath(std::string_view path) {
  if (path.substr(0, kFieldsPrefix.size()) == kFieldsPrefix) {
    std::string_view rest = path.substr(kFieldsPrefix.size());
    return !rest.empty() && rest.front() != '.' && rest.back() != '.' &&
           rest.find("..") == std::string_view::npos;
  }
  for (std::string_view p : kPlainPaths) {
    if (p == path) return true;
  }
  return false;
}

std::string FieldText(const Inquiry& inquiry, std::string_view path, const Contact* contact) {
  if (path == "message") return inquiry.message;
  if (path == "service") return inquiry.service;
  if (path == "location") return inquiry.location;
  if (path == "source") return inquiry.source;
  if (path == "channel") return std::string(ChannelName(inquiry.channel));
  if (path == "contact.name") {
    return ContactText(inquiry.normalized.name, inquiry.received.name,
                       contact ? &contact->name : nullptr);
  }
  if (path == "contact.email") {
    return ContactText(inquiry.normalized.email, inquiry.received.email,
                       contact ? &contact->email : nullptr);
  }
  if (path == "contact.phone") {
    return ContactText(inquiry.normalized.phone, inquiry.received.phone,
                       contact ? &contact->phone : nullptr);
  }
  if (path == "intent" || path == "urgency") {
    auto it = inquiry.fields.find(path);
    return it == inquiry.fields.end() ? "" : JsonText(*it);
  }
  if (path.substr(0, kFieldsPrefix.size()) != kFieldsPrefix) return "";
  const nlohmann::json* at = &inquiry.fields;
  std::string_view rest = path.substr(kFieldsPrefix.size());
  while (true) {
    if (!at->is_object()) return "";
    const size_t dot = rest.find('.');
    auto it = at->find(rest.substr(0, dot));
    if (it == at->end()) return "";
    at = &*it;
    if (dot == std::string_view::npos) return JsonText(*at);
    rest = rest.substr(dot + 1);
  }
}

}  // namespace handoff
