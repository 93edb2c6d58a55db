#include "transfer/connectors/crm_common/crm_request.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <tuple>

#include "fmt/format.h"
#include "transfer/connectors/common/escaped_text.h"

namespace handoff {
namespace {

constexpr size_t kMaxIdBytes = 128;

const std::string& FirstNonEmpty(std::initializer_list<const std::string*> values) {
  static const std::string kEmpty;
  for (const std::string* v : values) {
    if (!v->empty()) return *v;
  }
  return kEmpty;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

CrmPerson PersonOf(const DeliveryContext& ctx) {
  const Inquiry& i = ctx.inquiry;
  static const std::string kNone;
  const Contact* c = ctx.contact ? &*ctx.contact : nullptr;
  CrmPerson p;
  p.name = FirstNonEmpty({&i.normalized.name, &i.received.name, c ? &c->name : &kNone});
  p.email = FirstNonEmpty({&i.normalized.email, &i.received.email, c ? &c->email : &kNone});
  p.phone = FirstNonEmpty({&i.normalized.phone, &i.received.phone, c ? &c->phone : &kNone});
  std::tie(p.first_name, p.last_name) = SplitName(p.name);
  return p;
}

std::pair<std::string, std::string> SplitName(std::string_view name) {
  name = TrimSpaces(name);
  size_t space = name.find_last_of(" \t");
  if (space == std::string_view::npos) return {std::string(name), ""};
  return {std::string(TrimSpaces(name.substr(0, space))), std::string(name.substr(space + 1))};
}

absl::StatusOr<std::string> AuthToken(const DeliveryContext& ctx, std::string_view key) {
  if (ctx.access_token && !ctx.access_token->token.empty()) return ctx.access_token->token;
  if (ctx.destination.oauth2.configured()) {
    // The dispatcher fetches a token before every attempt of an oauth2 destination; getting
    // here means that did not happen, and a static token would be the wrong identity.
    return absl::FailedPreconditionError("no OAuth2 access token for this attempt");
  }
  auto token = RequiredSetting(ctx.destination, key);
  if (!token.ok()) {
    return absl::FailedPreconditionError(
        fmt::format("{} (or an oauth2 block)", std::string(token.status().message())));
  }
  return token;
}

absl::StatusOr<std::string> BaseUrlSetting(const DestinationConfig& destination,
                                           std::string fallback) {
  return NormalizeBaseUrl(OptionalSetting(destination, "base_url", std::move(fallback)));
}

absl::StatusOr<std::string> NormalizeBaseUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (!url.starts_with("https://") && !url.starts_with("http://")) {
    return absl::FailedPreconditionError("'base_url' must start with https:// or http://");
  }
  return url;
}

absl::StatusOr<std::optional<bool>> BoolSetting(const DestinationConfig& destination,
                                                std::string_view key) {
  auto it = destination.settings.find(std::string(key));
  if (it == destination.settings.end() || it->is_null()) return std::optional<bool>();
  if (it->is_boolean()) return std::optional<bool>(it->get<bool>());
  if (it->is_string() && (*it == "true" || *it == "false")) {
    return std::optional<bool>(*it == "true");
  }
  return absl::FailedPreconditionError(fmt::format("'{}' must be true or false", key));
}

std::string OwnerMemberId(const DeliveryContext& ctx) {
  if (ctx.owner && !ctx.owner->id.empty()) return ctx.owner->id;
  return ctx.task ? ctx.task->owner : "";
}

std::string MappedSetting(const DestinationConfig& destination, std::string_view key,
                          const std::string& member_id) {
  if (member_id.empty()) return "";
  auto it = destination.settings.find(std::string(key));
  if (it == destination.settings.end() || !it->is_object()) return "";
  auto value = it->find(member_id);
  if (value == it->end()) return "";
  return IdText(*value);
}

std::vector<std::string> CheckMappingSetting(const DestinationConfig& destination,
                                             std::string_view key) {
  auto it = destination.settings.find(std::string(key));
  if (it == destination.settings.end() || it->is_null()) return {};
  if (!it->is_object()) {
    return {fmt::format("'{}' must be a mapping from team member id to the CRM's user id", key)};
  }
  std::vector<std::string> problems;
  for (const auto& [member, value] : it->items()) {
    if (IdText(value).empty()) {
      problems.push_back(
          fmt::format("'{}': the id for '{}' must be text or a number", key, member));
    }
  }
  return problems;
}

nlohmann::json ParseBody(const std::string& body) {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

std::string IdText(const nlohmann::json& value) {
  std::string id;
  if (value.is_string()) {
    id = value.get<std::string>();
  } else if (value.is_number_integer()) {
    id = value.dump();
  } else {
    return "";
  }
  if (id.empty() || id.size() > kMaxIdBytes) return "";
  bool printable =
      std::all_of(id.begin(), id.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
  return printable ? id : "";
}

std::string SafeCode(const nlohmann::json& value) {
  return value.is_string() ? PlainToken(value.get_ref<const std::string&>()) : "";
}

std::string DumpJson(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace handoff
