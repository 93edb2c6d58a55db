// docs/openapi.yaml held to the real server. The document is loaded with yaml-cpp; the real
// binary runs against a Sink with a few routed, delivered (and some dead) inquiries; then every
// documented operation is called with real ids and must answer a status the document lists for
// it, with the documented headers and content type and a JSON body that validates against the
// documented schema (a small validator below: type, nullable, required, properties,
// additionalProperties, items, enum, allOf/anyOf/oneOf, format, pattern, maxLength,
// minimum/maximum). The query parameters' enums, bounds and patterns are probed against the
// server, secured operations must refuse anonymous requests with the documented 401, cookie
// sessions must need the CSRF header to change anything, and every route the server is known to
// answer must be documented.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "http/http_client.h"
#include "http/url_encoding.h"
#include "nlohmann/json.hpp"
#include "tests/support/server_process.h"
#include "tests/support/test_config.h"

#ifndef HANDOFF_OPENAPI_PATH
#error "define HANDOFF_OPENAPI_PATH as the path of docs/openapi.yaml"
#endif

namespace handoff::testing {
namespace {

using nlohmann::json;

// Every (method, path) the server answers. A route added to the server must be added here and
// documented in docs/openapi.yaml; this list and the document must agree both ways.
constexpr const char* kServerRoutes[][2] = {
    {"POST", "/in/{source}"},
    {"GET", "/in/{source}"},
    {"PUT", "/in/{source}"},
    {"POST", "/in/{workspace}/{source}"},
    {"GET", "/in/{workspace}/{source}"},
    {"PUT", "/in/{workspace}/{source}"},
    {"POST", "/in/{workspace}/{source}/{key}"},
    {"GET", "/in/{workspace}/{source}/{key}"},
    {"PUT", "/in/{workspace}/{source}/{key}"},
    {"GET", "/api/v1/inquiries"},
    {"GET", "/api/v1/inquiries.csv"},
    {"GET", "/api/v1/inquiries/{id}"},
    {"GET", "/api/v1/sources"},
    {"GET", "/api/v1/tasks"},
    {"GET", "/api/v1/tasks/{id}"},
    {"POST", "/api/v1/tasks/{id}/ack"},
    {"POST", "/api/v1/tasks/{id}/done"},
    {"GET", "/api/v1/inbox"},
    {"POST", "/api/v1/inbox/{id}/done"},
    {"GET", "/api/v1/handoffs"},
    {"POST", "/api/v1/handoffs/replay"},
    {"GET", "/api/v1/leaks"},
    {"GET", "/api/v1/scorecard"},
    {"GET", "/api/v1/scorecard/trend"},
    {"GET", "/api/v1/map"},
    {"POST", "/api/v1/session"},
    {"GET", "/api/v1/session"},
    {"DELETE", "/api/v1/session"},
    {"GET", "/healthz"},
    {"GET", "/readyz"},
    {"GET", "/metrics"},
    {"GET", "/t/{token}"},
    {"POST", "/t/{token}"},
    {"GET", "/"},
    {"HEAD", "/"},
    {"GET", "/app"},
    {"HEAD", "/app"},
    {"GET", "/app/"},
    {"HEAD", "/app/"},
    {"GET", "/app/{file}"},
    {"HEAD", "/app/{file}"},
};

// Paths that answer whatever the method (documented as GET only).
const std::set<std::string> kAnyMethodPaths = {"/healthz", "/readyz", "/metrics"};

constexpr char kWebformToken[] = "webform-token-0123456789";
constexpr char kLeadsToken[] = "leads-token-0123456789";

// ---- The document -------------------------------------------------------------------------

// YAML to JSON. A quoted scalar is a string; a plain one is null, a boolean, an integer or a
// number when it reads as one (YAML 1.2 core schema), else a string.
json FromYaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const YAML::Node& item : node) out.push_back(FromYaml(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = FromYaml(kv.second);
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() != "?") return s;  // quoted, or explicitly tagged
      static const std::regex kInt("[-+]?[0-9]+");
      static const std::regex kFloat("[-+]?([0-9]+\\.[0-9]*|\\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?");
      if (s == "null" || s == "~" || s.empty()) return nullptr;
      if (s == "true") return true;
      if (s == "false") return false;
      if (std::regex_match(s, kInt)) return std::stoll(s);
      if (std::regex_match(s, kFloat)) return std::stod(s);
      return s;
    }
    default:
      return nullptr;
  }
}

// One documented operation, with its path-level and operation-level parameters merged.
struct Operation {
  std::string method;  // upper case
  std::string path;
  json op;
  std::vector<json> params;  // resolved
  std::string label() const { return method + " " + path; }
};

bool Has(const json& j, const char* key) { return j.is_object() && j.contains(key); }

class Spec {
 public:
  explicit Spec(json doc) : doc_(std::move(doc)) {}

  static Spec Load() { return Spec(FromYaml(YAML::LoadFile(HANDOFF_OPENAPI_PATH))); }

  const json& doc() const { return doc_; }

  // Follows `$ref`s (local ones only). Throws on a dangling one.
  const json& Resolve(const json& node) const {
    const json* at = &node;
    for (int hops = 0; Has(*at, "$ref"); ++hops) {
      const std::string ref = (*at)["$ref"].get<std::string>();
      if (ref.rfind("#/", 0) != 0 || hops > 20) throw std::runtime_error("bad $ref " + ref);
      const json::json_pointer pointer(ref.substr(1));
      if (!doc_.contains(pointer)) throw std::runtime_error("dangling $ref " + ref);
      at = &doc_.at(pointer);
    }
    return *at;
  }

  std::vector<Operation> Operations() const {
    std::vector<Operation> out;
    for (const auto& [path, item] : doc_.at("paths").items()) {
      for (const char* method : {"get", "put", "post", "delete", "head", "patch", "options"}) {
        if (!item.contains(method)) continue;
        Operation o;
        o.path = path;
        o.method = method;
        std::transform(o.method.begin(), o.method.end(), o.method.begin(), ::toupper);
        o.op = item.at(method);
        std::map<std::pair<std::string, std::string>, json> params;
        for (const json* list : {&item, static_cast<const json*>(&o.op)}) {
          if (!list->contains("parameters")) continue;
          for (const json& p : list->at("parameters")) {
            const json& r = Resolve(p);
            params[{r.value("in", ""), r.value("name", "")}] = r;
          }
        }
        for (auto& [key, p] : params) o.params.push_back(p);
        out.push_back(std::move(o));
      }
    }
    return out;
  }

  // The operation's security requirements (its own, else the document's).
  json Security(const Operation& o) const {
    if (o.op.contains("security")) return o.op["security"];
    return doc_.value("security", json::array());
  }

 private:
  json doc_;
};

// ---- The schema validator -----------------------------------------------------------------

const std::set<std::string> kSchemaKeywords = {
    "type",    "nullable",    "required", "properties", "additionalProperties",
    "items",   "enum",        "allOf",    "anyOf",      "oneOf",
    "$ref",    "format",      "pattern",  "maxLength",  "minimum",
    "maximum", "description", "example",  "default",    "title"};
const std::set<std::string> kTypes = {"object", "array", "string", "integer", "number", "boolean"};
const std::set<std::string> kFormats = {"date-time", "uuid"};

std::string TypeName(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  return v.type_name();
}

size_t Utf8Length(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool MatchesFormat(const std::string& format, const std::string& s) {
  static const std::regex kDateTime(
      "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})");
  static const std::regex kUuid(
      "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  if (format == "date-time") return std::regex_match(s, kDateTime);
  if (format == "uuid") return std::regex_match(s, kUuid);
  return true;
}

class Validator {
 public:
  explicit Validator(const Spec& spec) : spec_(spec) {}

  // Appends every way `value` breaks `schema` to `errors`, each starting with its JSON path.
  void Validate(const json& schema_node, const json& value, const std::string& at,
                std::vector<std::string>& errors) const {
    const json& s = spec_.Resolve(schema_node);
    if (!s.is_object()) {
      errors.push_back(at + ": the schema is not an object");
      return;
    }
    if (value.is_null() && s.value("nullable", false)) return;
    if (s.contains("allOf")) {
      for (const json& sub : s["allOf"]) Validate(sub, value, at, errors);
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      int matched = 0;
      for (const json& sub : s[key]) {
        std::vector<std::string> sub_errors;
        Validate(sub, value, at, sub_errors);
        matched += sub_errors.empty();
      }
      if (matched == 0 || (std::string(key) == "oneOf" && matched > 1)) {
        errors.push_back(at + ": matches " + std::to_string(matched) + " of the " + key +
                         " schemas");
      }
    }
    if (s.contains("type")) {
      const std::string type = s["type"];
      const bool ok =
          (type == "object" && value.is_object()) || (type == "array" && value.is_array()) ||
          (type == "string" && value.is_string()) ||
          (type == "integer" && value.is_number_integer()) ||
          (type == "number" && value.is_number()) || (type == "boolean" && value.is_boolean());
      if (!ok) {
        errors.push_back(at + ": expected " + type +
                         (s.value("nullable", false) ? " or null" : "") + ", got " +
                         TypeName(value) + " " + value.dump().substr(0, 80));
        return;
      }
    }
    if (s.contains("enum") &&
        std::find(s["enum"].begin(), s["enum"].end(), value) == s["enum"].end()) {
      errors.push_back(at + ": " + value.dump() + " is not one of " + s["enum"].dump());
    }
    if (value.is_string()) {
      const std::string& v = value.get_ref<const std::string&>();
      if (s.contains("format") && !MatchesFormat(s["format"], v)) {
        errors.push_back(at + ": '" + v.substr(0, 80) + "' is not a " +
                         s["format"].get<std::string>());
      }
      if (s.contains("pattern") &&
          !std::regex_search(v, std::regex(s["pattern"].get<std::string>()))) {
        errors.push_back(at + ": '" + v.substr(0, 80) + "' does not match " +
                         s["pattern"].get<std::string>());
      }
      if (s.contains("maxLength") && Utf8Length(v) > s["maxLength"].get<size_t>()) {
        errors.push_back(at + ": longer than " + s["maxLength"].dump());
      }
    }
    if (value.is_number()) {
      if (s.contains("minimum") && value.get<double>() < s["minimum"].get<double>()) {
        errors.push_back(at + ": " + value.dump() + " < minimum " + s["minimum"].dump());
      }
      if (s.contains("maximum") && value.get<double>() > s["maximum"].get<double>()) {
        errors.push_back(at + ": " + value.dump() + " > maximum " + s["maximum"].dump());
      }
    }
    if (value.is_object()) {
      if (s.contains("required")) {
        for (const json& name : s["required"]) {
          if (!value.contains(name.get<std::string>())) {
            errors.push_back(at + ": lacks required property '" + name.get<std::string>() + "'");
          }
        }
      }
      const json properties = s.value("properties", json::object());
      for (const auto& [name, v] : value.items()) {
        if (properties.contains(name)) {
          Validate(properties[name], v, at + "." + name, errors);
        } else if (s.contains("additionalProperties")) {
          const json& extra = s["additionalProperties"];
          if (extra.is_boolean()) {
            if (!extra.get<bool>()) errors.push_back(at + ": unexpected property '" + name + "'");
          } else {
            Validate(extra, v, at + "." + name, errors);
          }
        }
      }
    }
    if (value.is_array() && s.contains("items")) {
      for (size_t i = 0; i < value.size(); ++i) {
        Validate(s["items"], value[i], at + "[" + std::to_string(i) + "]", errors);
      }
    }
  }

  // Reports keywords the validator does not implement (so the document cannot lean on a rule
  // nobody checks), unknown types and formats, closed objects, and required properties that
  // are not declared beside them.
  void Lint(const json& schema_node, const std::string& at, std::vector<std::string>& errors,
            std::set<std::string>& seen_refs) const {
    if (Has(schema_node, "$ref")) {
      const std::string ref = schema_node["$ref"];
      if (schema_node.size() != 1) errors.push_back(at + ": $ref with siblings (they are ignored)");
      if (!seen_refs.insert(ref).second) return;
      try {
        Lint(spec_.Resolve(schema_node), ref, errors, seen_refs);
      } catch (const std::exception& e) {
        errors.push_back(at + ": " + e.what());
      }
      return;
    }
    if (!schema_node.is_object()) {
      errors.push_back(at + ": a schema must be an object");
      return;
    }
    for (const auto& [key, v] : schema_node.items()) {
      if (!kSchemaKeywords.count(key)) {
        errors.push_back(at + ": keyword '" + key + "' is not checked by this test's validator");
      }
    }
    if (schema_node.contains("type") && !kTypes.count(schema_node["type"].get<std::string>())) {
      errors.push_back(at + ": unknown type " + schema_node["type"].dump());
    }
    if (schema_node.contains("format") &&
        !kFormats.count(schema_node["format"].get<std::string>())) {
      errors.push_back(at + ": unchecked format " + schema_node["format"].dump());
    }
    if (schema_node.contains("additionalProperties") &&
        schema_node["additionalProperties"] == json(false)) {
      errors.push_back(at + ": additionalProperties must stay open");
    }
    if (schema_node.contains("required") && schema_node.contains("properties")) {
      for (const json& name : schema_node["required"]) {
        if (!schema_node["properties"].contains(name.get<std::string>())) {
          errors.push_back(at + ": required '" + name.get<std::string>() + "' is not a property");
        }
      }
    }
    if (schema_node.contains("properties")) {
      for (const auto& [name, sub] : schema_node["properties"].items()) {
        Lint(sub, at + ".properties." + name, errors, seen_refs);
      }
    }
    if (schema_node.contains("additionalProperties") &&
        schema_node["additionalProperties"].is_object()) {
      Lint(schema_node["additionalProperties"], at + ".additionalProperties", errors, seen_refs);
    }
    if (schema_node.contains("items")) Lint(schema_node["items"], at + ".items", errors, seen_refs);
    for (const char* key : {"allOf", "anyOf", "oneOf"}) {
      if (!schema_node.contains(key)) continue;
      for (size_t i = 0; i < schema_node[key].size(); ++i) {
        Lint(schema_node[key][i], at + "." + key + "[" + std::to_string(i) + "]", errors,
             seen_refs);
      }
    }
  }

 private:
  const Spec& spec_;
};

// ---- Requests -----------------------------------------------------------------------------

struct Request {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;

  std::string Target() const {
    std::string out = path;
    for (size_t i = 0; i < query.size(); ++i) {
      out += (i == 0 ? "?" : "&") + PercentEncode(query[i].first) + "=" +
             PercentEncode(query[i].second);
    }
    return out;
  }
  void SetHeader(const std::string& name, const std::string& value) {
    for (auto& [n, v] : headers) {
      if (n == name) {
        v += "; " + value;  // only Cookie repeats
        return;
      }
    }
    headers.emplace_back(name, value);
  }
  void RemoveHeader(const std::string& name) {
    headers.erase(std::remove_if(headers.begin(), headers.end(),
                                 [&](const auto& h) { return h.first == name; }),
                  headers.end());
  }
};

std::string ScalarText(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string FormEncode(const json& object) {
  std::string out;
  for (const auto& [k, v] : object.items()) {
    out += (out.empty() ? "" : "&") + PercentEncode(k) + "=" + PercentEncode(ScalarText(v));
  }
  return out;
}

// The path with {name} placeholders replaced.
std::string FillPath(std::string path, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    const std::string placeholder = "{" + name + "}";
    for (size_t at; (at = path.find(placeholder)) != std::string::npos;) {
      path.replace(at, placeholder.size(), PercentEncode(value));
    }
  }
  return path;
}

// "/api/v1/tasks/{task_id}/ack" → "/api/v1/tasks/{}/ack": templates compare whatever the names.
std::string Shape(const std::string& path) {
  return std::regex_replace(path, std::regex("\\{[^}]*\\}"), "{}");
}

bool Succeeded(int status) { return status >= 200 && status < 400; }

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

std::string MediaType(const std::string& content_type) {
  std::string t = Lower(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  return t;
}

// ---- The server, its data, and the checks -------------------------------------------------

class OpenApiServerTest : public ::testing::Test {
 protected:
  struct World {
    TempDir dir;
    std::unique_ptr<Sink> sink;
    std::unique_ptr<ServerProcess> server;
    std::string inquiry_id, task_id, inbox_item_id, link_token;
    std::string cookie, csrf;
  };

  static void SetUpTestSuite() {
    try {
      spec_ = std::make_unique<Spec>(Spec::Load());
      world_ = std::make_unique<World>();
      setup_error_ = StartAndFill(*world_);
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    world_.reset();
    spec_.reset();
  }

  void SetUp() override { ASSERT_EQ(setup_error_, "") << (world_ ? Logs() : ""); }

  static std::string Logs() { return world_->server ? world_->server->Logs() : ""; }

  // The config: the suites' TestConfig plus a json source with the adapter's default mapping
  // (what the document's example body is written for), an html_form source (its key in the
  // path), an inbox
  // and a destination that refuses everything (dead handoffs, hence leaks) on the web leads
  // route, a team chat told of missed calls (whose notices carry the one-click link), and an
  // alert channel.
  static std::string Config(const Sink& sink) {
    std::string config = TestConfig(sink.url("/crm"), "[200ms, 200ms]");
    auto insert_before = [&](size_t from, const std::string& anchor, const std::string& text) {
      const size_t at = config.find(anchor, from);
      if (at == std::string::npos) throw std::runtime_error("TestConfig lacks '" + anchor + "'");
      config.insert(at, text);
    };
    auto replace_after = [&](const std::string& after, const std::string& what,
                             const std::string& with) {
      const size_t from = config.find(after);
      const size_t at = from == std::string::npos ? from : config.find(what, from);
      if (at == std::string::npos) throw std::runtime_error("TestConfig lacks '" + what + "'");
      config.replace(at, what.size(), with);
    };
    insert_before(0, "destinations:\n",
                  std::string("  leads:\n    adapter: json\n    token: ") + kLeadsToken +
                      "\n  webform:\n    adapter: html_form\n    token: " + kWebformToken +
                      "\n    thank_you_url: https://www.test.example/thanks\n");
    auto hook = [&](const std::string& name, const std::string& path, const std::string& extra) {
      return "  " + name + ":\n    connector: webhook\n    url: " + sink.url(path) +
             "\n    allow_private: true\n" + extra;
    };
    insert_before(0, "routes:\n",
                  "  inbox:\n    connector: inbox\n" +
                      hook("archive", "/archive", "    retry: [200ms]\n") +
                      hook("team-hook", "/team", "") + hook("alerts-hook", "/alerts", ""));
    replace_after("Reply to", "deliver: [crm]", "deliver: [crm, inbox, archive]");
    insert_before(config.find("Call back"), "    deliver: [crm]",
                  "    notify: [{ via: team-hook, to: owner }]\n");
    config += "alerts:\n  via: [alerts-hook]\n  scan_every: 1s\n";
    return config;
  }

  static json Get(const std::string& target) {
    auto r = world_->server->ApiGet(target);
    return r.status == 200 ? json::parse(r.body, nullptr, false) : json();
  }

  // Starts the server and creates the data every operation reads; "" or what went wrong.
  static std::string StartAndFill(World& w) {
    w.sink = std::make_unique<Sink>([](int n, const HttpRequest& request) {
      if (request.path == "/archive") {
        return HttpResponse::JsonError(400, "rejected", "the archive refuses everything");
      }
      return HttpResponse::Json(200, "{\"id\":\"sink-" + std::to_string(n) + "\"}");
    });
    WriteFile(w.dir.File("handoff.yaml"), Config(*w.sink));
    w.server =
        std::make_unique<ServerProcess>(w.dir.File("handoff.yaml"), w.dir.File("handoff.db"));
    w.server->Start();

    std::vector<std::string> forms;
    for (const char* body :
         {"full_name=Ada+Lovelace&email=ada%40example.com&phone=415+555+0100"
          "&details=Leaking+pipe+under+the+sink&service=repair",
          "full_name=Bob+Stone&email=bob%40example.com&details=Water+heater+quote"}) {
      auto r = w.server->Post(std::string("/in/website?key=") + kFormToken, body,
                              "application/x-www-form-urlencoded");
      if (r.status != 202) return "form post: " + std::to_string(r.status) + " " + r.body;
      forms.push_back(json::parse(r.body).value("id", ""));
    }
    auto call = w.server->Post(
        "/in/calls",
        json{{"call_id", "CA-openapi-1"}, {"caller", "+14155550111"}, {"caller_name", "Carla"}}
            .dump(),
        "application/json", {{"X-Handoff-Token", kCallToken}});
    if (call.status != 202) return "call post: " + std::to_string(call.status) + " " + call.body;
    const std::string call_id = json::parse(call.body).value("id", "");

    // Settled: the forms' handoffs to the archive are dead, the call's all confirmed.
    auto status_is = [&](const std::string& id, const std::string& status) {
      return Eventually([&] {
        json shown = Get("/api/v1/inquiries/" + id);
        return shown.is_object() && shown["inquiry"]["status"] == status;
      });
    };
    for (const std::string& id : forms) {
      if (!status_is(id, "attention")) return "inquiry " + id + " never reached attention";
    }
    if (!status_is(call_id, "delivered")) return "the call never reached delivered";
    w.inquiry_id = forms[0];
    w.task_id = Get("/api/v1/inquiries/" + forms[0])["tasks"][0].value("id", "");

    // The call's owner was told, with the task's one-click link.
    const std::string prefix = "https://hooks.test.example/t/";
    if (!w.sink->WaitFor([&](const std::vector<Sink::Delivery>& deliveries) {
          for (const Sink::Delivery& d : deliveries) {
            json notice = json::parse(d.body, nullptr, false);
            if (d.path != "/team" || !notice.is_object()) continue;
            const std::string url = notice.value("ack_url", "");
            if (url.rfind(prefix, 0) == 0) w.link_token = url.substr(prefix.size());
          }
          return !w.link_token.empty();
        })) {
      return "no notice with an ack_url reached the team hook";
    }

    json inbox, leaks;
    if (!Eventually([&] {
          inbox = Get("/api/v1/inbox");
          leaks = Get("/api/v1/leaks");
          return inbox.is_object() && !inbox["items"].empty() && leaks.is_object() &&
                 !leaks["leaks"].empty() && !leaks["groups"].empty();
        })) {
      return "no inbox record or no leak: " + inbox.dump() + " " + leaks.dump();
    }
    w.inbox_item_id = inbox["items"][0].value("id", "");
    if (!SignIn(w.cookie, w.csrf)) return "cannot sign in";
    return "";
  }

  // Signs in with the admin token: the session cookie and its CSRF token.
  static bool SignIn(std::string& cookie, std::string& csrf) {
    auto r = world_ ? world_->server->Post("/api/v1/session", json{{"token", kAdminToken}}.dump(),
                                           "application/json")
                    : HttpClientResponse{};
    if (r.status != 200) return false;
    const std::string set_cookie = r.Header("set-cookie");
    const std::string name = "handoff_session=";
    if (set_cookie.rfind(name, 0) != 0) return false;
    cookie = set_cookie.substr(name.size(), set_cookie.find(';') - name.size());
    csrf = json::parse(r.body, nullptr, false).value("csrf_token", "");
    return !cookie.empty() && !csrf.empty();
  }

  // The values path parameters take: real ids. Everything else comes from the document's
  // examples.
  static std::string PathValue(const std::string& path, const std::string& name) {
    if (name == "source") {
      return path == "/in/{workspace}/{source}/{key}" ? std::string("webform")
                                                      : std::string("leads");
    }
    if (name == "key") return kWebformToken;
    if (name == "workspace") return "test-works";
    if (name == "inquiry_id") return world_->inquiry_id;
    if (name == "task_id") return world_->task_id;
    if (name == "inbox_item_id") return world_->inbox_item_id;
    if (name == "token") return world_->link_token;
    return "";
  }

  // What each security scheme of the document is given: by scheme name.
  static std::map<std::string, std::string> AdminCredentials() {
    return {{"bearerAuth", kAdminToken},
            {"cookieAuth", world_->cookie},
            {"csrfToken", world_->csrf},
            {"sourceToken", kLeadsToken}};
  }

  // Adds the credentials of the first of the operation's security requirements that
  // `credentials` can meet (an empty requirement needs none). False when none can be met.
  static bool Authenticate(const Operation& o,
                           const std::map<std::string, std::string>& credentials,
                           Request& request) {
    const json security = spec_->Security(o);
    if (security.empty()) return true;  // public
    for (const json& requirement : security) {
      Request trial = request;
      bool met = true;
      for (const auto& [name, scopes] : requirement.items()) {
        auto value = credentials.find(name);
        const json& scheme = spec_->doc()["components"]["securitySchemes"].value(name, json());
        if (value == credentials.end() || !scheme.is_object()) {
          met = false;
          break;
        }
        const std::string type = scheme.value("type", "");
        const std::string in = scheme.value("in", "");
        if (type == "http" && scheme.value("scheme", "") == "bearer") {
          trial.SetHeader("Authorization", "Bearer " + value->second);
        } else if (type == "apiKey" && in == "header") {
          trial.SetHeader(scheme["name"].get<std::string>(), value->second);
        } else if (type == "apiKey" && in == "cookie") {
          trial.SetHeader("Cookie", scheme["name"].get<std::string>() + "=" + value->second);
        } else if (type == "apiKey" && in == "query") {
          trial.query.emplace_back(scheme["name"].get<std::string>(), value->second);
        } else {
          met = false;
          break;
        }
      }
      if (met) {
        request = trial;
        return true;
      }
    }
    return false;
  }

  // Whether one of the operation's security requirements is the session cookie.
  static bool TakesCookie(const Operation& o) {
    for (const json& requirement : spec_->Security(o)) {
      if (requirement.contains("cookieAuth")) return true;
    }
    return false;
  }

  static bool Secured(const Operation& o) {
    const json security = spec_->Security(o);
    if (security.empty()) return false;
    for (const json& requirement : security) {
      if (requirement.empty()) return false;
    }
    return true;
  }

  // The operation's request: path parameters filled with real ids, the header parameters with
  // examples, `all_examples` adds every query parameter with an example (else only the
  // required ones), and the request body's example (forms are urlencoded for the html_form
  // path). No credentials.
  static Request Build(const Operation& o, bool all_examples, std::vector<std::string>& errors) {
    Request r;
    r.method = o.method;
    std::map<std::string, std::string> path_values;
    for (const json& p : o.params) {
      const std::string in = p.value("in", ""), name = p.value("name", "");
      const json example = p.value("example", json());
      if (in == "path") {
        std::string value = PathValue(o.path, name);
        if (value.empty() && !example.is_null()) value = ScalarText(example);
        if (value.empty()) errors.push_back(o.label() + ": no value for path parameter " + name);
        path_values[name] = value;
      } else if (in == "query" && (all_examples || p.value("required", false))) {
        if (example.is_null()) {
          errors.push_back(o.label() + ": query parameter " + name + " has no example");
        } else {
          r.query.emplace_back(name, ScalarText(example));
        }
      } else if (in == "header" && !example.is_null()) {
        r.headers.emplace_back(name, ScalarText(example));
      }
    }
    r.path = FillPath(o.path, path_values);
    if (o.path == "/api/v1/session" && o.method == "POST") {
      r.content_type = "application/json";
      r.body = json{{"token", kAdminToken}}.dump();
      return r;
    }
    if (!o.op.contains("requestBody")) return r;
    const json& body = spec_->Resolve(o.op["requestBody"]);
    const std::string preferred = o.path == "/in/{workspace}/{source}/{key}"
                                      ? "application/x-www-form-urlencoded"
                                      : "application/json";
    for (const std::string& type : {preferred, std::string("application/json"),
                                    std::string("application/x-www-form-urlencoded")}) {
      const json media = body["content"].value(type, json());
      if (!media.is_object()) continue;
      json example = media.value("example", json());
      if (example.is_null() && type == "application/x-www-form-urlencoded") {
        example = body["content"].value("application/json", json()).value("example", json());
      }
      if (example.is_null()) continue;
      r.content_type = type;
      r.body = type == "application/json" ? example.dump() : FormEncode(example);
      return r;
    }
    if (body.value("required", false)) errors.push_back(o.label() + ": no request body example");
    return r;
  }

  static HttpClientResponse Send(const Request& request) {
    HttpClientRequest h;
    h.method = request.method;
    h.url = world_->server->base_url() + request.Target();
    h.headers = request.headers;
    h.body = request.body;
    if (!request.content_type.empty()) h.headers.emplace_back("Content-Type", request.content_type);
    auto r = HttpFetch(h);
    if (!r.ok()) return HttpClientResponse{0, {}, std::string(r.status().message())};
    return *r;
  }

  // Checks one answer against the operation's documented responses: the status is listed, the
  // required headers are there, the content type is documented, and a JSON body validates.
  static void Check(const Operation& o, const std::string& what, const HttpClientResponse& r,
                    std::vector<std::string>& errors) {
    const std::string label = o.label() + " (" + what + ")";
    const json& responses = o.op["responses"];
    const std::string code = std::to_string(r.status);
    if (!responses.contains(code)) {
      std::string listed;
      for (const auto& [c, v] : responses.items()) listed += " " + c;
      errors.push_back(label + ": status " + code + " is not documented (documented:" + listed +
                       "); body: " + r.body.substr(0, 200));
      return;
    }
    const json& response = spec_->Resolve(responses[code]);
    const Validator validator(*spec_);
    const json headers = response.value("headers", json::object());
    for (const auto& [name, header_node] : headers.items()) {
      const json& header = spec_->Resolve(header_node);
      const std::string value = r.Header(Lower(name));
      if (value.empty()) {
        if (header.value("required", false)) {
          errors.push_back(label + ": " + code + " lacks the required header " + name);
        }
        continue;
      }
      if (header.contains("schema") &&
          spec_->Resolve(header["schema"]).value("type", "") == "string") {
        validator.Validate(header["schema"], value, label + " header " + name, errors);
      }
    }
    if (o.method == "HEAD") return;
    const json content = response.value("content", json());
    if (!content.is_object()) {
      if (!r.body.empty()) {
        errors.push_back(label + ": " + code +
                         " documents no body but sent one: " + r.body.substr(0, 200));
      }
      return;
    }
    const std::string type = MediaType(r.Header("content-type"));
    if (!content.contains(type)) {
      errors.push_back(label + ": " + code + " sent content type '" + type +
                       "', not documented for it");
      return;
    }
    const json& media = content[type];
    if (type != "application/json") return;
    const json body = json::parse(r.body, nullptr, false);
    if (body.is_discarded()) {
      errors.push_back(label + ": " + code + " body is not JSON: " + r.body.substr(0, 200));
      return;
    }
    if (media.contains("schema")) {
      std::vector<std::string> schema_errors;
      validator.Validate(media["schema"], body, "$", schema_errors);
      for (const std::string& e : schema_errors) {
        errors.push_back(label + ": " + code + " body " + e);
      }
    }
  }

  static void Report(const std::vector<std::string>& errors) {
    for (const std::string& e : errors) ADD_FAILURE() << e;
  }

  static std::unique_ptr<Spec> spec_;
  static std::unique_ptr<World> world_;
  static std::string setup_error_;
};

std::unique_ptr<Spec> OpenApiServerTest::spec_;
std::unique_ptr<OpenApiServerTest::World> OpenApiServerTest::world_;
std::string OpenApiServerTest::setup_error_;

// What the main request of an operation answers when it is not a success: the methods the test
// config's sources do not take.
const std::map<std::string, int> kExpectedStatus = {
    {"GET /in/{source}", 405},
    {"PUT /in/{source}", 405},
    {"GET /in/{workspace}/{source}", 405},
    {"PUT /in/{workspace}/{source}", 405},
    {"GET /in/{workspace}/{source}/{key}", 405},
    {"PUT /in/{workspace}/{source}/{key}", 405},
};

// Every documented operation once, reads first, then the writes (sign-out last): the status,
// headers and body must be documented, and a success where one is expected.
TEST_F(OpenApiServerTest, EveryDocumentedOperationAnswersAsDocumented) {
  std::vector<Operation> ops = spec_->Operations();
  std::stable_partition(ops.begin(), ops.end(),
                        [](const Operation& o) { return o.method == "GET" || o.method == "HEAD"; });
  std::stable_partition(ops.begin(), ops.end(),
                        [](const Operation& o) { return o.label() != "DELETE /api/v1/session"; });
  std::vector<std::string> errors;
  for (const Operation& o : ops) {
    Request request = Build(o, /*all_examples=*/false, errors);
    if (!Authenticate(o, AdminCredentials(), request)) {
      errors.push_back(o.label() + ": the test holds no credentials for its security");
      continue;
    }
    const HttpClientResponse r = Send(request);
    Check(o, request.Target(), r, errors);
    auto expected = kExpectedStatus.find(o.label());
    if (expected != kExpectedStatus.end() ? r.status != expected->second : !Succeeded(r.status)) {
      errors.push_back(o.label() + ": " + request.Target() + " answered " +
                       std::to_string(r.status) + ": " + r.body.substr(0, 300));
    }
  }
  Report(errors);
  // The writes did what they say: the task was acknowledged then finished, the inbox record
  // closed, and the one-click link works once.
  EXPECT_EQ(Get("/api/v1/tasks/" + world_->task_id).value("state", ""), "done");
  const json done = Get("/api/v1/inbox?state=done");
  ASSERT_TRUE(done.is_object() && !done["items"].empty()) << done.dump();
  EXPECT_EQ(done["items"][0].value("id", ""), world_->inbox_item_id);
  EXPECT_EQ(Send({"POST", "/t/" + world_->link_token, {}, {}, "", ""}).status, 409);
}

// A secured operation (every requirement names a scheme) refuses a request without credentials
// with its documented 401; the others answer a documented status.
TEST_F(OpenApiServerTest, SecuredOperationsRefuseAnonymousRequests) {
  std::vector<std::string> errors;
  int secured = 0;
  for (const Operation& o : spec_->Operations()) {
    if (spec_->Security(o).empty()) continue;  // public: its main request is the anonymous one
    Request request = Build(o, false, errors);
    const HttpClientResponse r = Send(request);
    Check(o, "no credentials", r, errors);
    if (Secured(o)) {
      ++secured;
      if (r.status != 401) {
        errors.push_back(o.label() + ": answered " + std::to_string(r.status) +
                         " without credentials");
      }
    }
  }
  EXPECT_GE(secured, 15);
  Report(errors);
}

// A dashboard session reads everything a cookie may read, and cannot change anything without
// the CSRF header (403 as documented); signing out ends it.
TEST_F(OpenApiServerTest, CookieSessionsReadAndNeedTheCsrfTokenToWrite) {
  std::string cookie, csrf;
  ASSERT_TRUE(SignIn(cookie, csrf));
  const std::map<std::string, std::string> session = {{"cookieAuth", cookie}, {"csrfToken", csrf}};
  const std::string csrf_header =
      spec_->doc()["components"]["securitySchemes"]["csrfToken"].value("name", "");
  std::vector<std::string> errors;
  for (const Operation& o : spec_->Operations()) {
    if (!TakesCookie(o)) continue;
    Request request = Build(o, false, errors);
    if (!Authenticate(o, session, request)) {
      errors.push_back(o.label() + ": a session cannot meet its security");
      continue;
    }
    if (o.method == "GET") {
      const HttpClientResponse r = Send(request);
      Check(o, "session cookie", r, errors);
      if (!Succeeded(r.status)) {
        errors.push_back(o.label() + ": answered " + std::to_string(r.status) + " to a session");
      }
      continue;
    }
    request.RemoveHeader(csrf_header);
    const HttpClientResponse r = Send(request);
    Check(o, "session cookie without " + csrf_header, r, errors);
    if (r.status != 403) {
      errors.push_back(o.label() + ": answered " + std::to_string(r.status) + " without " +
                       csrf_header);
    }
  }
  Report(errors);

  // Signing out with the cookie and its token ends the session.
  Request out{"DELETE", "/api/v1/session",
              {},       {{"Cookie", "handoff_session=" + cookie}, {csrf_header, csrf}},
              "",       ""};
  EXPECT_EQ(Send(out).status, 200);
  Request show{"GET", "/api/v1/session", {}, {{"Cookie", "handoff_session=" + cookie}}, "", ""};
  EXPECT_EQ(Send(show).status, 401);
}

// The documented query parameters are the ones the server checks: every example together is
// accepted, every enum value is accepted, values outside an enum, a bound, a pattern, a format
// or a length are refused with 400, and so is a parameter the document does not list.
TEST_F(OpenApiServerTest, QueryParametersAreCheckedAsDocumented) {
  std::vector<std::string> errors;
  int probes = 0;
  for (const Operation& o : spec_->Operations()) {
    if (o.method != "GET") continue;
    std::vector<json> query;
    for (const json& p : o.params) {
      if (p.value("in", "") == "query") query.push_back(p);
    }
    if (query.empty()) continue;
    Request base = Build(o, /*all_examples=*/true, errors);
    ASSERT_TRUE(Authenticate(o, AdminCredentials(), base));
    auto send = [&](const std::string& what, std::vector<std::pair<std::string, std::string>> q,
                    bool want_success) {
      Request request = base;
      request.query = std::move(q);
      const HttpClientResponse r = Send(request);
      ++probes;
      Check(o, request.Target(), r, errors);
      if (want_success ? !Succeeded(r.status) : r.status != 400) {
        errors.push_back(o.label() + ": " + what + " (" + request.Target() + ") answered " +
                         std::to_string(r.status) + ": " + r.body.substr(0, 200));
      }
    };
    send("every example", base.query, true);
    const bool refuses = o.op["responses"].contains("400");
    if (refuses) send("an unknown parameter", {{"no_such_parameter", "1"}}, false);
    for (const json& p : query) {
      const std::string name = p["name"];
      const json schema = spec_->Resolve(p.value("schema", json::object()));
      auto only = [&](const std::string& value) {
        return std::vector<std::pair<std::string, std::string>>{{name, value}};
      };
      for (const json& value : schema.value("enum", json::array())) {
        send("enum value " + ScalarText(value), only(ScalarText(value)), true);
      }
      if (!refuses) continue;
      if (schema.contains("enum") || schema.contains("pattern") || schema.contains("format")) {
        send("a value outside its enum, pattern or format", only("~"), false);
      }
      if (schema.contains("minimum")) {
        const int64_t min = schema["minimum"];
        send("its minimum", only(std::to_string(min)), true);
        send("below its minimum", only(std::to_string(min - 1)), false);
      }
      if (schema.contains("maximum")) {
        const int64_t max = schema["maximum"];
        send("its maximum", only(std::to_string(max)), true);
        send("above its maximum", only(std::to_string(max + 1)), false);
      }
      if (schema.contains("maxLength")) {
        const size_t max = schema["maxLength"];
        send("its longest value", only(std::string(max, 'a')), true);
        send("a value too long", only(std::string(max + 1, 'a')), false);
      }
    }
  }
  EXPECT_GE(probes, 60);
  Report(errors);
}

// An id the server does not know answers the documented 404; a body that is not JSON where JSON
// is documented answers the documented 400 (when the same request with the example succeeds).
TEST_F(OpenApiServerTest, UnknownIdsAndMalformedBodiesGetTheirDocumentedErrors) {
  std::vector<std::string> errors;
  int unknown_ids = 0, malformed = 0;
  for (const Operation& o : spec_->Operations()) {
    bool has_id = false;
    std::map<std::string, std::string> random_ids;
    for (const json& p : o.params) {
      if (p.value("in", "") != "path") continue;
      if (spec_->Resolve(p.value("schema", json::object())).value("format", "") == "uuid") {
        has_id = true;
        random_ids[p["name"].get<std::string>()] = "01900000-0000-7000-8000-00000000abcd";
      }
    }
    if (has_id && o.op["responses"].contains("404")) {
      Request request = Build(o, false, errors);
      request.path = FillPath(o.path, random_ids);
      ASSERT_TRUE(Authenticate(o, AdminCredentials(), request));
      const HttpClientResponse r = Send(request);
      ++unknown_ids;
      Check(o, "unknown id", r, errors);
      if (r.status != 404) {
        errors.push_back(o.label() + ": an unknown id answered " + std::to_string(r.status));
      }
    }
    if (o.op.contains("requestBody") && o.op["responses"].contains("400")) {
      Request request = Build(o, false, errors);
      if (request.content_type != "application/json") continue;
      ASSERT_TRUE(Authenticate(o, AdminCredentials(), request));
      if (!Succeeded(Send(request).status)) continue;
      request.body = "{not json";
      const HttpClientResponse r = Send(request);
      ++malformed;
      Check(o, "malformed JSON body", r, errors);
      if (r.status != 400) {
        errors.push_back(o.label() + ": a malformed body answered " + std::to_string(r.status));
      }
    }
  }
  EXPECT_GE(unknown_ids, 5);
  EXPECT_GE(malformed, 3);
  Report(errors);
}

// A method the document does not list for a path is refused with 405 (except the health and
// metrics paths, which answer any method).
TEST_F(OpenApiServerTest, UndocumentedMethodsAreRefused) {
  std::map<std::string, std::vector<Operation>> by_path;
  for (const Operation& o : spec_->Operations()) by_path[o.path].push_back(o);
  std::vector<std::string> errors;
  for (const auto& [path, ops] : by_path) {
    if (kAnyMethodPaths.count(path)) continue;
    for (const std::string method : {"GET", "POST", "PUT", "DELETE", "PATCH"}) {
      if (std::any_of(ops.begin(), ops.end(),
                      [&](const Operation& o) { return o.method == method; })) {
        continue;
      }
      Request request = Build(ops.front(), false, errors);
      ASSERT_TRUE(Authenticate(ops.front(), AdminCredentials(), request));
      request.method = method;
      if (method == "GET") {
        request.body.clear();
        request.content_type.clear();
      }
      const HttpClientResponse r = Send(request);
      if (r.status != 405) {
        errors.push_back(method + " " + path + " (undocumented) answered " +
                         std::to_string(r.status) + ": " + r.body.substr(0, 200));
      }
    }
  }
  Report(errors);
}

// ---- The document on its own --------------------------------------------------------------

// Every $ref in the document (recursively).
void CollectRefs(const json& node, std::vector<std::string>& refs) {
  if (node.is_object()) {
    if (node.contains("$ref") && node["$ref"].is_string()) {
      refs.push_back(node["$ref"].get<std::string>());
    }
    for (const auto& [k, v] : node.items()) CollectRefs(v, refs);
  } else if (node.is_array()) {
    for (const json& v : node) CollectRefs(v, refs);
  }
}

TEST(OpenApiSpec, IsWellFormed) {
  const Spec spec = Spec::Load();
  const json& doc = spec.doc();
  const Validator validator(spec);
  EXPECT_EQ(doc.value("openapi", ""), "3.0.3");
  std::vector<std::string> errors;

  std::vector<std::string> refs;
  CollectRefs(doc, refs);
  for (const std::string& ref : refs) {
    try {
      spec.Resolve(json{{"$ref", ref}});
    } catch (const std::exception& e) {
      errors.push_back(e.what());
    }
  }

  std::set<std::string> seen;
  for (const auto& [name, schema] : doc["components"]["schemas"].items()) {
    validator.Lint(schema, "#/components/schemas/" + name, errors, seen);
  }
  const json schemes = doc["components"].value("securitySchemes", json::object());
  std::set<std::string> operation_ids;
  for (const Operation& o : spec.Operations()) {
    const std::string id = o.op.value("operationId", "");
    if (id.empty() || !operation_ids.insert(id).second) {
      errors.push_back(o.label() + ": missing or repeated operationId '" + id + "'");
    }
    // Path templates and path parameters match one to one.
    std::set<std::string> in_template, declared;
    static const std::regex kPlaceholder("\\{([^}]*)\\}");
    for (std::sregex_iterator it(o.path.begin(), o.path.end(), kPlaceholder), end; it != end;
         ++it) {
      in_template.insert((*it)[1]);
    }
    for (const json& p : o.params) {
      std::set<std::string> lint_seen;
      if (p.contains("schema")) {
        validator.Lint(p["schema"], o.label() + " parameter " + p.value("name", ""), errors,
                       lint_seen);
      }
      if (p.value("in", "") == "path") {
        declared.insert(p.value("name", ""));
        if (!p.value("required", false)) {
          errors.push_back(o.label() + ": path parameter " + p.value("name", "") +
                           " must be required");
        }
      }
      if (p.contains("example") && p.contains("schema")) {
        validator.Validate(p["schema"], p["example"],
                           o.label() + " parameter " + p.value("name", "") + " example", errors);
      }
    }
    if (in_template != declared) errors.push_back(o.label() + ": path parameters do not match");
    // Security names defined schemes.
    for (const json& requirement : spec.Security(o)) {
      for (const auto& [name, scopes] : requirement.items()) {
        if (!schemes.contains(name)) errors.push_back(o.label() + ": unknown scheme " + name);
      }
    }
    // Request body examples validate.
    if (o.op.contains("requestBody")) {
      const json& body = spec.Resolve(o.op["requestBody"]);
      const json contents = body.value("content", json::object());
      for (const auto& [type, media] : contents.items()) {
        std::set<std::string> lint_seen;
        if (media.contains("schema")) {
          validator.Lint(media["schema"], o.label() + " request " + type, errors, lint_seen);
        }
        if (media.contains("example") && media.contains("schema")) {
          validator.Validate(media["schema"], media["example"],
                             o.label() + " request example " + type, errors);
        }
      }
    }
    // Responses: each documented, described, with linted schemas.
    if (!o.op.contains("responses") || o.op["responses"].empty()) {
      errors.push_back(o.label() + ": no responses");
      continue;
    }
    for (const auto& [code, response_node] : o.op["responses"].items()) {
      if (!std::regex_match(code, std::regex("[1-5][0-9][0-9]"))) {
        errors.push_back(o.label() + ": response key '" + code + "' is not a status code");
      }
      const json& response = spec.Resolve(response_node);
      if (response.value("description", "").empty()) {
        errors.push_back(o.label() + " " + code + ": no description");
      }
      const json contents = response.value("content", json::object());
      for (const auto& [type, media] : contents.items()) {
        std::set<std::string> lint_seen;
        if (media.contains("schema")) {
          validator.Lint(media["schema"], o.label() + " " + code + " " + type, errors, lint_seen);
        }
      }
    }
    // A secured operation documents its 401.
    bool secured = !spec.Security(o).empty();
    for (const json& requirement : spec.Security(o)) secured = secured && !requirement.empty();
    if (secured && !o.op["responses"].contains("401")) {
      errors.push_back(o.label() + ": secured but no 401 documented");
    }
  }
  for (const std::string& e : errors) ADD_FAILURE() << e;
}

// The known routes and the document agree both ways, and every API path literal in the
// request router is a documented path (or the prefix of one).
TEST(OpenApiSpec, DocumentsEveryKnownRoute) {
  const Spec spec = Spec::Load();
  std::set<std::string> documented, known;
  std::set<std::string> documented_paths;
  for (const Operation& o : spec.Operations()) {
    documented.insert(o.method + " " + Shape(o.path));
    documented_paths.insert(o.path);
  }
  for (const auto& route : kServerRoutes) {
    known.insert(std::string(route[0]) + " " + Shape(route[1]));
  }
  for (const std::string& route : known) {
    EXPECT_TRUE(documented.count(route)) << route << " is served but not in docs/openapi.yaml";
  }
  for (const std::string& route : documented) {
    EXPECT_TRUE(known.count(route)) << route << " is documented but not in kServerRoutes";
  }

  const std::filesystem::path root =
      std::filesystem::path(HANDOFF_OPENAPI_PATH).parent_path().parent_path();
  std::ifstream in(root / "src/api/api_handler.cc");
  ASSERT_TRUE(in) << "cannot read src/api/api_handler.cc under " << root;
  std::stringstream text;
  text << in.rdbuf();
  const std::string code = text.str();
  static const std::regex kLiteral("\"(/api/[^\"]*|/healthz|/readyz|/metrics)\"");
  int literals = 0;
  for (std::sregex_iterator it(code.begin(), code.end(), kLiteral), end; it != end; ++it) {
    const std::string literal = (*it)[1];
    ++literals;
    const bool covered =
        std::any_of(documented_paths.begin(), documented_paths.end(),
                    [&](const std::string& path) { return path.rfind(literal, 0) == 0; });
    EXPECT_TRUE(covered) << "api_handler.cc serves " << literal
                         << ", which no path in docs/openapi.yaml starts with";
  }
  EXPECT_GE(literals, 10);
}

}  // namespace
}  // namespace handoff::testing
