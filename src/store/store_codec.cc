#include "store/store_codec.h"

#include "fmt/format.h"
#include "model/records.h"

namespace handoff {

nlohmann::json ParseEventDetail(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return nlohmann::json::object();
  return j;
}

nlohmann::json ParseJsonObject(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return nlohmann::json::object();
  return j;
}

std::vector<std::string> ParseStringArray(std::string_view text) {
  std::vector<std::string> out;
  if (text == "[]") return out;  // nearly every task's: no parse
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

Micros MinuteBucket(Micros at) {
  Micros r = at % kMicrosPerMinute;
  if (r < 0) r += kMicrosPerMinute;
  return at - r;
}

absl::Status RequireKey(const std::string& workspace, const std::string& id, const char* what) {
  if (workspace.empty())
    return absl::InvalidArgumentError(fmt::format("{}: empty workspace", what));
  if (id.empty()) return absl::InvalidArgumentError(fmt::format("{}: empty id", what));
  return absl::OkStatus();
}

OutcomeFields ReadOutcomeFields(std::string_view fields_text) {
  OutcomeFields out;
  const nlohmann::json f = ParseJsonObject(fields_text);
  if (auto it = f.find("kind"); it != f.end() && it->is_string()) out.kind = it->get<std::string>();
  if (auto it = f.find("intent"); it != f.end() && it->is_string()) {
    out.intent = it->get<std::string>();
  }
  if (auto it = f.find("value"); it != f.end() && it->is_number()) out.value = it->get<double>();
  if (auto it = f.find("synthetic"); it != f.end()) {
    out.synthetic =
        (it->is_boolean() && it->get<bool>()) || (it->is_number() && it->get<double>() != 0);
  }
  return out;
}

std::string NewestTasksSql(std::string_view columns, std::string_view from, char sign,
                           bool by_owner, bool one_state) {
  const std::string owner = by_owner ? fmt::format(" AND owner = {}3", sign) : "";
  auto read = [&](const std::string& state) {
    return fmt::format(
        "SELECT {} FROM {} WHERE workspace = {}1 AND state = {}{} ORDER BY created_at DESC, id "
        "DESC LIMIT {}2",
        columns, from, sign, state, owner, sign);
  };
  if (one_state) return read(fmt::format("{}{}", sign, by_owner ? 4 : 3));
  std::string sql;
  for (size_t i = 0; i < kTaskStates.size(); ++i) {
    // The states are constants (never input), so they are written into the statement.
    if (i > 0) sql += " UNION ALL ";
    sql += fmt::format("SELECT * FROM ({}) AS s{}", read(fmt::format("'{}'", kTaskStates[i])), i);
  }
  return sql + fmt::format(" ORDER BY created_at DESC, id DESC LIMIT {}2", sign);
}

bool OnlyOffThePath(std::string_view status, std::string_view stage) {
  for (std::string_view off :
       {"received", "awaiting_context", "enriched", "unrouted", "attention", "canceled"}) {
    if (status == off) return true;
  }
  return stage == "entry" || stage == "enrich";
}

}  // namespace handoff
