#include "api/dashboard.h"

#include "api/dashboard_assets.h"

namespace handoff {
namespace {

std::string ContentType(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

}  // namespace

bool IsDashboardPath(std::string_view path) {
  return path == "/" || path == "/app" || path.rfind("/app/", 0) == 0;
}

void AddDashboardSecurityHeaders(HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; "
                         "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                         "form-action 'self'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Cache-Control", "no-store");
}

HttpResponse ServeDashboard(const HttpRequest& request) {
  HttpResponse r;
  if (request.method != "GET" && request.method != "HEAD") {
    r = HttpResponse::JsonError(405, "method_not_allowed", "the dashboard's pages accept GET");
    AddDashboardSecurityHeaders(r);
    return r;
  }
  if (request.path == "/" || request.path == "/app") {
    r.status = 302;
    r.content_type = "text/plain; charset=utf-8";
    r.headers.emplace_back("Location", "/app/");
    AddDashboardSecurityHeaders(r);
    return r;
  }
  std::string_view name = std::string_view(request.path).substr(5);  // after "/app/"
  if (name.empty()) name = "index.html";
  for (const DashboardAsset& asset : DashboardAssets()) {
    if (asset.name != name) continue;
    r.status = 200;
    r.content_type = ContentType(asset.name);
    r.body = std::string(asset.bytes);
    AddDashboardSecurityHeaders(r);
    return r;
  }
  r = HttpResponse::JsonError(404, "not_found", "no such page");
  AddDashboardSecurityHeaders(r);
  return r;
}

}  // namespace handoff
