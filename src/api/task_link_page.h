// The page behind a notification's one-click link ({public_url}/t/{token}, trigger/task_link.h).
// GET shows the task and a button; only the POST the button sends acknowledges it, so link
// previews (chat unfurls, mail scanners) that fetch the URL cannot acknowledge for the owner.
// The token is the credential: no sign-in, no cookie.
#pragma once

#include "config/config.h"
#include "http/http_types.h"
#include "store/store.h"
#include "trigger/task_link.h"

namespace handoff {

// Thread-safe.
class TaskLinkPage {
 public:
  TaskLinkPage(const Config* config, Store* store, const Clock* clock);

  // Handles GET and POST /t/{token}. Responds exactly once, with an HTML page.
  void Handle(HttpRequest&& request, HttpResponder respond);

  // True when the request's /t/{token} was signed for this workspace (expired or not): the
  // page that should answer it.
  bool Recognizes(const HttpRequest& request) const;

 private:
  const Config* config_;
  Store* store_;
  const Clock* clock_;
  const TaskLinkSigner signer_;
};

}  // namespace handoff
