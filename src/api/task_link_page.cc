#include "api/task_link_page.h"

#include <memory>

#include "core/markup_escape.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "trigger/task_actions.h"

namespace handoff {
namespace {

// Every value is escaped; the page runs no script and loads nothing, and the token in its URL
// is not sent on as a referrer.
HttpResponse Page(int status, std::string_view title, const std::string& body_html) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.headers = {{"Content-Security-Policy", "default-src 'none'; form-action 'self'"},
               {"Cache-Control", "no-store"},
               {"Referrer-Policy", "no-referrer"},
               {"X-Frame-Options", "DENY"},
               {"X-Content-Type-Options", "nosniff"}};
  r.body = fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\"><title>{}</title></head>"
      "<body><h1>{}</h1>{}</body></html>\n",
      EscapeMarkup(title), EscapeMarkup(title), body_html);
  return r;
}

std::string Describe(const Task& task, const Inquiry* inquiry, const TeamMember* owner) {
  std::string out = fmt::format("<p>{}</p><dl>", EscapeMarkup(task.title));
  if (inquiry != nullptr) {
    const std::string& name =
        inquiry->normalized.name.empty() ? inquiry->received.name : inquiry->normalized.name;
    if (!name.empty()) out += fmt::format("<dt>From</dt><dd>{}</dd>", EscapeMarkup(name));
    if (!inquiry->message.empty()) {
      out += fmt::format("<dt>Message</dt><dd>{}</dd>", EscapeMarkup(inquiry->message));
    }
  }
  if (owner != nullptr) out += fmt::format("<dt>Owner</dt><dd>{}</dd>", EscapeMarkup(owner->name));
  out += fmt::format("<dt>Due</dt><dd>{}</dd></dl>", EscapeMarkup(FormatRfc3339(task.due_at)));
  return out;
}

}  // namespace

TaskLinkPage::TaskLinkPage(const Config* config, Store* store, const Clock* clock)
    : config_(config), store_(store), clock_(clock), signer_(TaskLinkSigner::ForConfig(*config)) {}

bool TaskLinkPage::Recognizes(const HttpRequest& request) const {
  constexpr std::string_view kPrefix = "/t/";
  if (request.path.rfind(kPrefix, 0) != 0) return false;
  auto claims =
      signer_.Verify(std::string_view(request.path).substr(kPrefix.size()), clock_->Now());
  return claims.ok() || absl::IsDeadlineExceeded(claims.status());
}

void TaskLinkPage::Handle(HttpRequest&& request, HttpResponder respond) {
  constexpr std::string_view kPrefix = "/t/";
  const std::string token = request.path.substr(kPrefix.size());
  if (request.method != "GET" && request.method != "POST") {
    HttpResponse r = Page(405, "Not allowed", "<p>Open the link from your notification.</p>");
    r.headers.emplace_back("Allow", "GET, POST");
    respond(std::move(r));
    return;
  }
  const Micros now = clock_->Now();
  absl::StatusOr<TaskLinkSigner::Claims> claims = signer_.Verify(token, now);
  // Another workspace's link is no more valid here than a forged one.
  if (claims.ok() && claims->workspace != config_->workspace) {
    claims = absl::PermissionDeniedError("this link is not valid");
  }
  if (absl::IsDeadlineExceeded(claims.status())) {
    respond(Page(410, "Link expired",
                 "<p>This link has expired. Open the task in handoff instead.</p>"));
    return;
  }
  if (!claims.ok()) {
    respond(Page(404, "Link not valid", "<p>This link is not valid.</p>"));
    return;
  }
  absl::StatusOr<Task> task = store_->GetTask(config_->workspace, claims->task_id);
  if (!task.ok()) {
    respond(absl::IsNotFound(task.status())
                ? Page(404, "Link not valid", "<p>This link is not valid.</p>")
                : Page(503, "Try again", "<p>handoff could not read the task; try again.</p>"));
    return;
  }
  absl::StatusOr<Inquiry> inquiry = store_->GetInquiry(config_->workspace, task->inquiry_id);
  const TeamMember* owner = config_->FindMember(task->owner);
  const std::string about = Describe(*task, inquiry.ok() ? &*inquiry : nullptr, owner);
  if (task->state != "open") {
    // Usable once: after the first acknowledgement the link only reports it.
    respond(Page(409, "Already acknowledged",
                 fmt::format("{}<p>This task was acknowledged at {}.</p>", about,
                             EscapeMarkup(FormatRfc3339(task->acknowledged_at)))));
    return;
  }
  if (request.method == "GET") {
    respond(Page(200, "Acknowledge this task",
                 fmt::format("{}<form method=\"post\"><button type=\"submit\">"
                             "Acknowledge: I am on it</button></form>",
                             about)));
    return;
  }
  auto change = std::make_shared<TaskChange>();
  store_->SubmitWrite(
      ChangeTaskState(config_->workspace, task->id, TaskStep::kAcknowledge, "link", now, change),
      [respond = std::move(respond), change, about](absl::Status status) {
        if (!status.ok()) {
          respond(Page(503, "Try again",
                       "<p>handoff could not record the acknowledgement; try again.</p>"));
        } else if (!change->changed) {
          respond(Page(409, "Already acknowledged",
                       about + "<p>Someone acknowledged this task a moment ago.</p>"));
        } else {
          respond(Page(200, "Acknowledged",
                       about + "<p>Thanks: the task is yours. Escalation "
                               "has stopped.</p>"));
        }
      });
}

}  // namespace handoff
