#include "transfer/connectors/smtp/smtp_connector.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "core/ascii.h"
#include "core/digest.h"
#include "core/status.h"
#include "fmt/format.h"
#include "transfer/connectors/smtp/mime.h"
#include "transfer/delivery_summary.h"
#include "transfer/delivery_template.h"

namespace handoff {
namespace {

constexpr std::string_view kOwner = "owner";
constexpr std::string_view kLead = "lead";
constexpr std::string_view kNone = "none";

// The destination's settings, read once per call: CheckSettings reports every problem, and
// BuildRequest fails on the first, with the same words.
struct MailSettings {
  bool require_tls = true;
  std::string username;
  std::string password;
  mime::NameAddr from;
  std::vector<std::string> to;  // "owner" or addresses
  std::string subject;          // a template; "" = the summary's title
  std::string reply_to;         // "lead", "none" or an address
};

// A text setting, `fallback` when absent; a non-text value is a problem, not a silent default.
std::string Text(const DestinationConfig& d, const std::string& key, std::string fallback,
                 std::vector<std::string>& problems) {
  auto it = d.settings.find(key);
  if (it == d.settings.end() || it->is_null()) return fallback;
  if (!it->is_string()) {
    problems.push_back(fmt::format("'{}' must be text", key));
    return fallback;
  }
  return it->get<std::string>();
}

MailSettings ReadSettings(const DestinationConfig& d, std::vector<std::string>& problems) {
  MailSettings s;
  const std::string url = AsciiLowered(d.url);
  const bool implicit_tls = url.starts_with("smtps://");
  if (!implicit_tls && !url.starts_with("smtp://")) {
    problems.push_back("url must be smtp://host:587 (STARTTLS) or smtps://host:465");
  } else if (url.size() == (implicit_tls ? 8u : 7u) || url[implicit_tls ? 8 : 7] == ':') {
    problems.push_back("url names no mail server host");
  }
  const std::string tls = AsciiLowered(Text(d, "tls", "", problems));
  auto plain = d.settings.find("insecure_plaintext");
  const bool insecure_ok = plain != d.settings.end() && plain->is_boolean() && plain->get<bool>();
  if (tls == kNone) {
    if (implicit_tls) {
      problems.push_back("'tls: none' contradicts an smtps:// url");
    } else if (!insecure_ok) {
      problems.push_back(
          "'tls: none' sends the password and the lead's data in clear text: set "
          "'insecure_plaintext: true' as well if the relay is on a trusted network");
    } else {
      s.require_tls = false;
    }
  } else if (!tls.empty() && tls != (implicit_tls ? "implicit" : "starttls")) {
    problems.push_back(fmt::format("'tls' must be {} or none for this url",
                                   implicit_tls ? "implicit" : "starttls"));
  }

  s.username = Text(d, "username", "", problems);
  s.password = Text(d, "password", "", problems);
  if (s.username.empty() != s.password.empty()) {
    problems.push_back("'username' and 'password' go together");
  }

  const std::string from = Text(d, "from", "", problems);
  s.from = mime::ParseNameAddr(from);
  if (from.empty()) {
    problems.push_back("missing setting 'from'");
  } else if (!mime::IsValidAddress(s.from.address)) {
    problems.push_back(
        "'from' must be an address, e.g. \"Harbor Plumbing <leads@harbor.example>\"");
  }

  auto to = d.settings.find("to");
  if (to == d.settings.end() || to->is_null()) {
    s.to = {std::string(kOwner)};
  } else if (to->is_string()) {
    s.to = {to->get<std::string>()};
  } else if (to->is_array()) {
    for (const auto& item : *to) {
      if (!item.is_string()) {
        problems.push_back("'to' must list addresses (or \"owner\")");
        break;
      }
      s.to.push_back(item.get<std::string>());
    }
  } else {
    problems.push_back("'to' must be \"owner\", an address or a list of them");
  }
  if (s.to.empty() && to != d.settings.end() && to->is_array()) {
    problems.push_back("'to' lists no recipient");
  }
  for (const std::string& r : s.to) {
    if (r != kOwner && !mime::IsValidAddress(r)) {
      problems.push_back(
          fmt::format("'to' entry \"{}\" is not an address", mime::StripControls(r)));
    }
  }

  s.subject = Text(d, "subject", "", problems);
  s.reply_to = Text(d, "reply_to", std::string(kLead), problems);
  if (s.reply_to != kLead && s.reply_to != kNone && !mime::IsValidAddress(s.reply_to)) {
    problems.push_back("'reply_to' must be \"lead\", \"none\" or an address");
  }
  return s;
}

std::string FirstNonEmpty(std::initializer_list<std::string_view> values) {
  for (std::string_view v : values) {
    if (!v.empty()) return std::string(v);
  }
  return "";
}

std::string DomainOf(std::string_view address) {
  return std::string(address.substr(address.rfind('@') + 1));
}

// "<handoff-id@from-domain>": the same on every attempt, so a retried send after a lost 250
// shows up as a duplicate that clients can drop. Ids are UUIDs; anything else is hashed so the
// id-left part stays a valid dot-atom.
std::string MessageId(const std::string& handoff_id, const mime::NameAddr& from) {
  const bool usable = !handoff_id.empty() && handoff_id.size() <= 64 &&
                      std::all_of(handoff_id.begin(), handoff_id.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
                      });
  return fmt::format("<{}@{}>", usable ? handoff_id : Sha256Hex(handoff_id).substr(0, 32),
                     DomainOf(from.address));
}

// Deterministic per handoff yet random-looking; "=_" can never occur in quoted-printable
// output (an '=' there is followed by a hex digit or a line break), so no part can contain it.
std::string Boundary(const std::string& handoff_id) {
  return "=_handoff_" + Sha256Hex("boundary:" + handoff_id).substr(0, 32);
}

std::string HtmlDocument(const DeliverySummary& summary) {
  return "<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\"></head><body>\n" +
         SummaryHtml(summary) + "\n</body></html>\n";
}

std::string Part(std::string_view boundary, std::string_view type, std::string_view content) {
  return fmt::format(
      "--{}\r\nContent-Type: {}; charset=UTF-8\r\nContent-Transfer-Encoding: "
      "quoted-printable\r\n\r\n{}\r\n",
      boundary, type, mime::QuotedPrintable(content));
}

}  // namespace

absl::StatusOr<OutboundRequest> SmtpConnector::BuildRequest(const DeliveryContext& ctx) const {
  const DestinationConfig& dest = ctx.destination;
  std::vector<std::string> problems;
  const MailSettings s = ReadSettings(dest, problems);
  if (!problems.empty()) return absl::FailedPreconditionError(problems.front());
  if (ctx.handoff.id.empty()) return absl::FailedPreconditionError("the handoff has no id");

  OutboundRequest::Mail envelope;
  envelope.from = s.from.address;
  envelope.username = s.username;
  envelope.password = s.password;
  envelope.require_tls = s.require_tls;
  std::vector<std::string> to_items;
  auto add_recipient = [&](const std::string& name, const std::string& address) {
    const std::string key = AsciiLowered(address);
    for (const std::string& r : envelope.recipients) {
      if (AsciiLowered(r) == key) return;
    }
    envelope.recipients.push_back(address);
    to_items.push_back(mime::Mailbox(name, address));
  };
  // A notification for one person (a route's notify, an escalation step) goes to them alone.
  const std::vector<std::string> owner_only = {std::string(kOwner)};
  const std::vector<std::string>& to = ctx.recipient ? owner_only : s.to;
  const TeamMember* person = PersonToNotify(ctx);
  for (const std::string& r : to) {
    if (r != kOwner) {
      add_recipient("", r);
    } else if (person != nullptr && mime::IsValidAddress(person->email)) {
      add_recipient(person->name, person->email);
    } else if (ctx.recipient) {
      return absl::FailedPreconditionError(
          fmt::format("{} has no valid email address in the team list", ctx.recipient->id));
    } else {
      return absl::FailedPreconditionError(
          ctx.owner ? "the task owner has no valid email address"
          : ctx.handoff.purpose == "alert"
              ? "nobody to email the alert to (name a team member with `to:` in alerts.via, or "
                "set 'to' to a list of addresses)"
              : "no task owner to email (set 'to' to a list of addresses)");
    }
  }

  const Inquiry& inq = ctx.inquiry;
  const std::string lead_email = FirstNonEmpty(
      {inq.normalized.email, inq.received.email, ctx.contact ? ctx.contact->email : ""});
  const std::string lead_name =
      FirstNonEmpty({inq.normalized.name, inq.received.name, ctx.contact ? ctx.contact->name : ""});
  std::optional<std::string> reply_to;
  if (s.reply_to == kLead) {
    // A lead's address is untrusted: anything but a plain addr-spec is left out rather than
    // repaired, so it can neither inject a header nor redirect replies somewhere odd.
    if (mime::IsValidAddress(lead_email)) reply_to = mime::Mailbox(lead_name, lead_email);
  } else if (s.reply_to != kNone) {
    reply_to = s.reply_to;
  }

  const DeliverySummary summary = Summarize(ctx);
  std::string subject = summary.title;
  // The subject template speaks of an inquiry; an alert's headline is its subject.
  if (!s.subject.empty() && ctx.handoff.purpose != "alert") {
    ASSIGN_OR_RETURN(subject, RenderDeliveryTemplate(s.subject, ctx));
  }
  if (std::all_of(subject.begin(), subject.end(),
                  [](unsigned char c) { return std::isspace(c) || c < 0x20; })) {
    subject = summary.title;
  }

  const std::string boundary = Boundary(ctx.handoff.id);
  std::string msg;
  msg += "Date: " + mime::Rfc5322Date(ctx.now) + "\r\n";
  msg += mime::AddressListHeader("From", {mime::Mailbox(s.from.name, s.from.address)}) + "\r\n";
  msg += mime::AddressListHeader("To", to_items) + "\r\n";
  if (reply_to) msg += mime::AddressListHeader("Reply-To", {*reply_to}) + "\r\n";
  msg += mime::UnstructuredHeader("Subject", subject) + "\r\n";
  msg += "Message-ID: " + MessageId(ctx.handoff.id, s.from) + "\r\n";
  // RFC 3834: marks the mail as machine-sent so auto-responders do not answer it.
  msg += "Auto-Submitted: auto-generated\r\n";
  msg += "MIME-Version: 1.0\r\n";
  msg += fmt::format("Content-Type: multipart/alternative;\r\n boundary=\"{}\"\r\n", boundary);
  msg += "\r\n";
  // RFC 2046 §5.1.4: the last alternative is the preferred one, so plain text goes first.
  msg += Part(boundary, "text/plain", SummaryText(summary));
  msg += Part(boundary, "text/html", HtmlDocument(summary));
  msg += fmt::format("--{}--\r\n", boundary);

  OutboundRequest req;
  req.url = dest.url;
  req.body = std::move(msg);
  req.mail = std::move(envelope);
  req.ca_file = dest.ca_file;
  return req;
}

DeliveryOutcome SmtpConnector::Classify(
    const DeliveryContext& ctx, int http_status,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) const {
  (void)headers;
  (void)body;
  const int code = http_status;
  if (code >= 200 && code < 300) {
    std::vector<std::string> problems;
    const MailSettings s = ReadSettings(ctx.destination, problems);
    return Confirmed(MessageId(ctx.handoff.id, s.from),
                     fmt::format("accepted by the mail server ({})", code));
  }
  // RFC 4954: 535 means the credentials are wrong; retrying cannot fix that, a person must.
  if (code == 535) return Permanent("authentication failed (535)");
  if (code >= 400 && code < 500) {
    return Retryable(fmt::format("mail server refused for now ({})", code));
  }
  if (code >= 500 && code < 600) {
    return Permanent(fmt::format("mail server rejected the message ({})", code));
  }
  // No reply code at all, or an intermediate one (354 after a dropped DATA): the outcome is
  // unknown, and the stable Message-ID makes a resend safe to deduplicate.
  return Retryable(fmt::format("unexpected SMTP reply ({})", code));
}

std::vector<std::string> SmtpConnector::CheckSettings(const DestinationConfig& destination) const {
  std::vector<std::string> problems;
  ReadSettings(destination, problems);
  return problems;
}

void RegisterSmtpConnector(ConnectorRegistry& registry) {
  registry.Register(ConnectorSpec{
      .name = "smtp",
      .note = "emails the inquiry (text + HTML) to the owner or a list through an SMTP "
              "submission server (STARTTLS or implicit TLS), Reply-To the lead",
      .settings =
          {
              {"username", "SMTP AUTH user (PLAIN/LOGIN); with 'password'"},
              {"password", "SMTP AUTH password, e.g. ${SMTP_PASSWORD}"},
              {"from",
               "sender, e.g. \"Harbor Plumbing <leads@harbor.example>\"; its address is "
               "the envelope sender and names the Message-ID's domain"},
              {"to", "\"owner\" (default: the task owner's email), an address, or a list"},
              {"subject",
               "subject template, e.g. \"Call back {{contact.name}}\" (the names of the "
               "webhook payload; default: \"New call inquiry from Dana Roe\")"},
              {"reply_to",
               "\"lead\" (default: the lead's email when valid), \"none\" or an "
               "address"},
              {"tls", "starttls (smtp://, default), implicit (smtps://) or none"},
              {"insecure_plaintext",
               "true to allow 'tls: none' (a relay on a trusted network without TLS)"},
          },
      .default_token_url = "",
      .token_basic_auth = false,
      .make = [] { return std::make_unique<SmtpConnector>(); },
  });
}

}  // namespace handoff
