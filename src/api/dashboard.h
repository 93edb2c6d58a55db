// The dashboard's pages: GET / redirects to /app/, GET /app/ is web/index.html and /app/<file>
// the other embedded files (api/dashboard_assets.h), each with a strict Content-Security-Policy
// (scripts and styles only from handoff itself, nothing inline, no framing). The data comes from
// the REST API, signed in with a session cookie (api/sessions.h).
#pragma once

#include "http/http_types.h"

namespace handoff {

// True for the paths ServeDashboard answers: "/", "/app" and "/app/…".
bool IsDashboardPath(std::string_view path);

// Answers GET/HEAD for a dashboard path: the file, 404 for an unknown one, 405 for other methods.
HttpResponse ServeDashboard(const HttpRequest& request);

// The headers every dashboard response carries (CSP, nosniff, no referrer, no framing, no-store).
void AddDashboardSecurityHeaders(HttpResponse& response);

}  // namespace handoff
