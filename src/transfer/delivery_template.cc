#include "transfer/delivery_template.h"

#include <kainjow/mustache.hpp>

#include "core/time_format.h"
#include "fmt/format.h"
#include "model/template_values.h"
#include "transfer/delivery_summary.h"

namespace handoff {
namespace {

kainjow::mustache::data Values(const DeliveryContext& ctx) {
  using kainjow::mustache::data;
  const DeliverySummary summary = Summarize(ctx);
  data task;
  std::string missing;
  if (ctx.task) {
    for (const std::string& m : ctx.task->missing) missing += (missing.empty() ? "" : ", ") + m;
  }
  task.set("title", ctx.task ? ctx.task->title : "");
  task.set("owner", ctx.task ? ctx.task->owner : "");
  task.set("due_at", ctx.task && ctx.task->due_at ? FormatRfc3339(ctx.task->due_at) : "");
  task.set("missing", missing);
  auto person = [](const std::optional<TeamMember>& m) {
    data out;
    out.set("id", m ? m->id : "");
    out.set("name", m ? m->name : "");
    out.set("email", m ? m->email : "");
    out.set("phone", m ? m->phone : "");
    return out;
  };
  // The inquiry's own values (model/template_values.h), then what this delivery adds.
  data root = InquiryTemplateValues(ctx.inquiry, ctx.contact ? &*ctx.contact : nullptr);
  root.set("task", task);
  root.set("owner", person(ctx.owner));
  root.set("recipient", person(ctx.recipient));
  root.set("route", ctx.inquiry.route);
  root.set("handoff_id", ctx.handoff.id);
  root.set("purpose", ctx.handoff.purpose);
  root.set("summary", SummaryText(summary));
  root.set("timeline_url", summary.timeline_url);
  root.set("ack_url", summary.ack_url);
  return root;
}

}  // namespace

absl::StatusOr<std::string> RenderDeliveryTemplate(std::string_view tmpl,
                                                   const DeliveryContext& ctx) {
  kainjow::mustache::mustache m{std::string(tmpl)};
  if (!m.is_valid()) {
    return absl::FailedPreconditionError(
        fmt::format("template '{}' does not parse: {}", tmpl, m.error_message()));
  }
  m.set_custom_escape([](const std::string& v) { return v; });
  return m.render(Values(ctx));
}

}  // namespace handoff
