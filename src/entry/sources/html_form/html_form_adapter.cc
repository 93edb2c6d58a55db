#include "entry/sources/html_form/html_form_adapter.h"

#include <memory>

#include "core/ascii.h"
#include "entry/common/mapped_delivery.h"
#include "entry/common/source_auth.h"
#include "entry/rejection.h"
#include "fmt/format.h"

namespace handoff {
namespace {

using nlohmann::json;

// The honeypot's name when the source does not set one: Formspree's convention, which form
// snippets already carry as a hidden input.
constexpr char kDefaultHoneypot[] = "_gotcha";

// "https://example.com" from "https://Example.com/contact?x" (scheme://host[:port], lowercase).
std::string OriginOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return AsciiLowered(url);
  const size_t end = url.find_first_of("/?#", scheme + 3);
  return AsciiLowered(url.substr(0, end));
}

// Refuses a post whose Origin (or, without one, Referer) names a site the source does not
// allow. Posts with neither header (server-side senders) pass: the secret still applies.
absl::Status CheckOrigin(const SourceConfig& source, const HttpRequest& request) {
  if (!source.settings.is_object()) return absl::OkStatus();
  auto allowed = source.settings.find("allowed_origins");
  if (allowed == source.settings.end()) return absl::OkStatus();
  std::string origin;
  if (auto o = request.Header("origin"); o && !o->empty() && *o != "null") {
    origin = OriginOf(*o);
  } else if (auto r = request.Header("referer"); r && !r->empty()) {
    origin = OriginOf(*r);
  } else {
    return absl::OkStatus();
  }
  const auto matches = [&](const json& v) {
    return v.is_string() && OriginOf(v.get_ref<const std::string&>()) == origin;
  };
  const bool ok = allowed->is_array() ? std::any_of(allowed->begin(), allowed->end(), matches)
                                      : matches(*allowed);
  if (ok) return absl::OkStatus();
  return Reject(RejectReason::kBadCredentials,
                fmt::format("posts from {} are not allowed for this form", origin.substr(0, 100)));
}

// A browser navigating to the form's action, as opposed to a script that asked for JSON.
bool FromBrowser(const HttpRequest& request) {
  const std::string accept = AsciiLowered(request.Header("accept").value_or(""));
  if (accept.find("text/html") != std::string::npos) return true;
  return accept.find("json") == std::string::npos;
}

std::optional<HttpResponse> ThankYou(const SourceConfig& source, const HttpRequest& request) {
  const std::string url = TextSetting(source, "thank_you_url");
  if (url.empty() || !FromBrowser(request)) return std::nullopt;
  HttpResponse r;
  r.status = 303;
  r.content_type = "text/plain; charset=utf-8";
  r.headers.emplace_back("Location", url);
  r.body = "Thank you. Continue at " + url + "\n";
  return r;
}

bool IsBlank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

}  // namespace

absl::Status HtmlFormAdapter::Verify(const SourceConfig& source, const HttpRequest& request,
                                     Micros /*now*/) const {
  if (absl::Status s = CheckOrigin(source, request); !s.ok()) return s;
  if (auto key = PathKey(source, request)) {
    if (!MatchesAnySecret(*key, source.auth.tokens)) {
      return Reject(RejectReason::kBadCredentials, "the key in the URL does not match");
    }
    SourceAuth rest = source.auth;
    rest.tokens.clear();
    return VerifySourceAuth(rest, request);
  }
  return VerifySourceAuth(source.auth, request);
}

absl::StatusOr<ParsedDelivery> HtmlFormAdapter::Parse(const SourceConfig& source,
                                                      const HttpRequest& request) const {
  if (request.HeaderCount("content-type") > 1) {
    return Reject(RejectReason::kUnsupportedMediaType, "several Content-Type headers");
  }
  BodyParseOptions options;
  options.accept_json = false;
  auto body = ParseBody(request.Header("content-type").value_or(""), request.body, options);
  if (!body.ok()) return body.status();

  // An explicit "" turns the honeypot off.
  const std::string honeypot = source.settings.is_object() && source.settings.contains("honeypot")
                                   ? TextSetting(source, "honeypot")
                                   : std::string(kDefaultHoneypot);
  if (const std::string* v = honeypot.empty() ? nullptr : body->FirstField(honeypot);
      v != nullptr && !IsBlank(*v)) {
    ParsedDelivery spam;
    spam.store = false;
    spam.spam = true;
    spam.reply = ThankYou(source, request);
    return spam;
  }

  auto delivery = MapParsedBody(source, request, *body, Channel::kForm);
  if (!delivery.ok()) return delivery.status();
  if (delivery->dedupe_key.empty()) {
    delivery->dedupe_key = ContentDedupeKey(request.body);
    delivery->dedupe_window = kMicrosPerMinute;
  }
  json fields = {{"kind", "form_submission"}};
  if (!body->files.empty()) {
    json files = json::array();
    for (const FormFile& f : body->files) {
      files.push_back({{"field", f.field}, {"filename", f.filename}, {"size", f.size}});
    }
    fields["files"] = std::move(files);
  }
  delivery->inquiry.fields = std::move(fields);
  delivery->reply = ThankYou(source, request);
  return delivery;
}

void RegisterHtmlFormSource(SourceAdapterRegistry& registry) {
  registry.Register(SourceAdapterSpec{
      .name = "html_form",
      .trust_note = "checks the form's secret in the URL (/in/{source}/{token} or ?token=) and "
                    "the Origin when allowed_origins is set; a filled honeypot is spam",
      .default_channel = Channel::kForm,
      .settings = {{"honeypot", "the hidden field bots fill (default _gotcha; \"\" = none)"},
                   {"thank_you_url", "where a browser is sent (303) after its post"},
                   {"allowed_origins", "sites whose pages may post (Origin or Referer)"}},
      .make = [] { return std::make_unique<HtmlFormAdapter>(); },
      .path_key = true,
  });
}

}  // namespace handoff
