#include "transfer/connectors/smtp/smtp_connector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "transfer/connectors/smtp/mime.h"
#include "transfer/connectors/smtp/mime_test_decoders.h"

namespace handoff {
namespace {

using mime::testing::DecodeQp;
using mime::testing::DecodeWords;
using mime::testing::Lines;

constexpr Micros kSmtpNow = 1767225600 * kMicrosPerSecond;  // Thu, 01 Jan 2026 00:00:00 +0000

// A message split into its top-level headers (unfolded, by lowercase name, in order) and its
// MIME parts (headers and decoded body) for assertions.
struct ParsedMessage {
  std::vector<std::pair<std::string, std::string>> headers;
  struct Part {
    std::string content_type;
    std::string encoding;
    std::string text;
  };
  std::vector<Part> parts;
  std::string boundary;

  int Count(const std::string& name) const {
    int n = 0;
    for (const auto& [k, v] : headers) n += k == name;
    return n;
  }
  std::string Get(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::pair<std::string, std::string>> ParseHeaders(const std::vector<std::string>& lines,
                                                              size_t& i) {
  std::vector<std::pair<std::string, std::string>> out;
  for (; i < lines.size() && !lines[i].empty(); ++i) {
    if (lines[i][0] == ' ' || lines[i][0] == '\t') {
      out.back().second += lines[i];
      continue;
    }
    const size_t colon = lines[i].find(':');
    EXPECT_NE(colon, std::string::npos) << "not a header: " << lines[i];
    if (colon == std::string::npos) continue;
    std::string value = lines[i].substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    out.emplace_back(Lower(lines[i].substr(0, colon)), value);
  }
  ++i;  // the blank line
  return out;
}

ParsedMessage Parse(const std::string& body) {
  ParsedMessage m;
  const std::vector<std::string> lines = Lines(body);
  size_t i = 0;
  m.headers = ParseHeaders(lines, i);
  const std::string ct = m.Get("content-type");
  const size_t b = ct.find("boundary=\"");
  if (b == std::string::npos) return m;
  m.boundary = ct.substr(b + 10, ct.find('"', b + 10) - b - 10);
  const std::string delimiter = "--" + m.boundary;
  while (i < lines.size() && lines[i] != delimiter) ++i;
  while (i < lines.size() && lines[i] == delimiter) {
    ++i;
    auto part_headers = ParseHeaders(lines, i);
    ParsedMessage::Part part;
    for (const auto& [k, v] : part_headers) {
      if (k == "content-type") part.content_type = v;
      if (k == "content-transfer-encoding") part.encoding = v;
    }
    std::string raw;
    for (; i < lines.size() && lines[i].rfind(delimiter, 0) != 0; ++i) raw += lines[i] + "\r\n";
    part.text = DecodeQp(raw);
    m.parts.push_back(std::move(part));
  }
  EXPECT_LT(i, lines.size());
  if (i < lines.size()) {
    EXPECT_EQ(lines[i], delimiter + "--");
  }
  return m;
}

class SmtpConnectorTest : public ::testing::Test {
 protected:
  SmtpConnectorTest() {
    dest_.name = "owner-mail";
    dest_.connector = "smtp";
    dest_.url = "smtp://mail.harbor.example:587";
    dest_.settings = {
        {"username", "leads@harbor.example"},
        {"password", "s3cret"},
        {"from", "Harbor Plumbing <leads@harbor.example>"},
    };
    handoff_.id = "0190c4c0-7a3e-7b11-8c55-3f1b2a4d5e6f";
    handoff_.destination = "owner-mail";
    inquiry_.id = "0190c4c0-0000-7000-8000-000000000001";
    inquiry_.source = "website";
    inquiry_.channel = Channel::kCall;
    inquiry_.received_at = kSmtpNow;
    inquiry_.normalized.name = "Dana Roe";
    inquiry_.normalized.email = "dana@example.com";
    inquiry_.normalized.phone = "+14155550142";
    inquiry_.message = "No hot water since this morning";
    Task task;
    task.id = "task-1";
    task.owner = "ana";
    task.title = "Call back Dana Roe";
    task_ = task;
    TeamMember ana;
    ana.id = "ana";
    ana.name = "Ana Lopez";
    ana.email = "ana@harbor.example";
    owner_ = ana;
  }

  DeliveryContext Ctx(Micros now = kSmtpNow) {
    DeliveryContext ctx{dest_, handoff_, inquiry_, task_, contact_, now};
    ctx.owner = owner_;
    ctx.recipient = recipient_;
    return ctx;
  }

  absl::StatusOr<OutboundRequest> Build() { return connector_.BuildRequest(Ctx()); }

  DestinationConfig dest_;
  Handoff handoff_;
  Inquiry inquiry_;
  std::optional<Task> task_;
  std::optional<Contact> contact_;
  std::optional<TeamMember> owner_;
  std::optional<TeamMember> recipient_;
  SmtpConnector connector_;
};

TEST_F(SmtpConnectorTest, BuildsACompleteMessage) {
  auto req = Build();
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->url, "smtp://mail.harbor.example:587");
  ASSERT_TRUE(req->mail.has_value());
  EXPECT_EQ(req->mail->from, "leads@harbor.example");
  EXPECT_EQ(req->mail->recipients, std::vector<std::string>{"ana@harbor.example"});
  EXPECT_EQ(req->mail->username, "leads@harbor.example");
  EXPECT_EQ(req->mail->password, "s3cret");
  EXPECT_TRUE(req->mail->require_tls);

  const ParsedMessage m = Parse(req->body);
  for (const char* name : {"date", "from", "to", "reply-to", "subject", "message-id",
                           "mime-version", "content-type"}) {
    EXPECT_EQ(m.Count(name), 1) << name;
  }
  EXPECT_EQ(m.Get("date"), "Thu, 01 Jan 2026 00:00:00 +0000");
  EXPECT_EQ(m.Get("from"), "Harbor Plumbing <leads@harbor.example>");
  EXPECT_EQ(m.Get("to"), "Ana Lopez <ana@harbor.example>");
  EXPECT_EQ(m.Get("reply-to"), "Dana Roe <dana@example.com>");
  EXPECT_EQ(m.Get("subject"), "New call inquiry from Dana Roe");
  EXPECT_EQ(m.Get("message-id"), "<0190c4c0-7a3e-7b11-8c55-3f1b2a4d5e6f@harbor.example>");
  EXPECT_EQ(m.Get("mime-version"), "1.0");
  EXPECT_EQ(m.Get("content-type").rfind("multipart/alternative;", 0), 0u);

  ASSERT_EQ(m.parts.size(), 2u);
  EXPECT_EQ(m.parts[0].content_type, "text/plain; charset=UTF-8");
  EXPECT_EQ(m.parts[1].content_type, "text/html; charset=UTF-8");
  for (const auto& p : m.parts) EXPECT_EQ(p.encoding, "quoted-printable");
  EXPECT_NE(m.parts[0].text.find("New call inquiry from Dana Roe\n"), std::string::npos);
  EXPECT_NE(m.parts[0].text.find("Phone: +14155550142\n"), std::string::npos);
  EXPECT_NE(m.parts[0].text.find("Message: No hot water since this morning\n"), std::string::npos);
  EXPECT_NE(m.parts[1].text.find("<strong>New call inquiry from Dana Roe</strong>"),
            std::string::npos);

  // The boundary opens each part and closes the body, and nowhere else.
  size_t count = 0;
  for (size_t p = req->body.find(m.boundary); p != std::string::npos;
       p = req->body.find(m.boundary, p + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 4u) << "Content-Type, two delimiters, the close delimiter";
  EXPECT_NE(m.boundary.find("=_"), std::string::npos);

  // Every line ends with CRLF and stays far under the 998 limit.
  for (size_t p = 0; p < req->body.size(); ++p) {
    if (req->body[p] == '\n') {
      EXPECT_EQ(req->body[p - 1], '\r') << "bare LF at " << p;
    }
    if (req->body[p] == '\r') {
      EXPECT_EQ(req->body[p + 1], '\n') << "bare CR at " << p;
    }
  }
  for (const std::string& line : Lines(req->body)) EXPECT_LE(line.size(), 78u) << line;
  EXPECT_EQ(req->body.substr(req->body.size() - 2), "\r\n");
}

TEST_F(SmtpConnectorTest, SameMessageOnEveryAttemptExceptTheDate) {
  auto first = connector_.BuildRequest(Ctx(kSmtpNow));
  auto second = connector_.BuildRequest(Ctx(kSmtpNow + 3600 * kMicrosPerSecond));
  ASSERT_TRUE(first.ok() && second.ok());
  const ParsedMessage a = Parse(first->body);
  const ParsedMessage b = Parse(second->body);
  EXPECT_EQ(a.Get("message-id"), b.Get("message-id"));
  EXPECT_EQ(a.boundary, b.boundary);
  EXPECT_EQ(b.Get("date"), "Thu, 01 Jan 2026 01:00:00 +0000");

  Handoff other = handoff_;
  other.id = "0190c4c0-7a3e-7b11-8c55-000000000000";
  DeliveryContext ctx{dest_, other, inquiry_, task_, contact_, kSmtpNow};
  ctx.owner = owner_;
  const ParsedMessage c = Parse(connector_.BuildRequest(ctx)->body);
  EXPECT_NE(c.Get("message-id"), a.Get("message-id"));
  EXPECT_NE(c.boundary, a.boundary);
}

TEST_F(SmtpConnectorTest, HtmlPartEscapesLeadFields) {
  inquiry_.normalized.name = "<b>Dana</b> & \"Co\"";
  inquiry_.message = "<script>alert(1)</script>";
  auto req = Build();
  ASSERT_TRUE(req.ok()) << req.status();
  const ParsedMessage m = Parse(req->body);
  ASSERT_EQ(m.parts.size(), 2u);
  EXPECT_EQ(m.parts[1].text.find("<script>"), std::string::npos);
  EXPECT_NE(m.parts[1].text.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(m.parts[1].text.find("&lt;b&gt;Dana&lt;/b&gt; &amp; &quot;Co&quot;"),
            std::string::npos);
  EXPECT_NE(m.parts[0].text.find("Message: <script>alert(1)</script>"), std::string::npos);
}

TEST_F(SmtpConnectorTest, HeaderInjectionNeverAddsAHeader) {
  inquiry_.normalized.name = "Dana\r\nBcc: victim@example.com";
  inquiry_.message = "line\r\nBcc: victim@example.com";
  owner_->name = "Ana\nX-Injected: 1";
  auto req = Build();
  ASSERT_TRUE(req.ok()) << req.status();
  const ParsedMessage m = Parse(req->body);
  EXPECT_EQ(m.Count("bcc"), 0);
  EXPECT_EQ(m.Count("x-injected"), 0);
  EXPECT_EQ(m.headers.size(), 9u);
  EXPECT_EQ(m.Get("subject"), "New call inquiry from Dana Bcc: victim@example.com");
  EXPECT_EQ(m.Get("reply-to"), "\"Dana Bcc: victim@example.com\" <dana@example.com>");
  EXPECT_EQ(m.Get("to"), "\"Ana X-Injected: 1\" <ana@harbor.example>");
}

TEST_F(SmtpConnectorTest, NonAsciiSubjectAndNamesAreEncodedWords) {
  inquiry_.normalized.name = "Zo\xC3\xAB Ro\xC3\xA9";
  auto req = Build();
  ASSERT_TRUE(req.ok()) << req.status();
  const ParsedMessage m = Parse(req->body);
  EXPECT_EQ(m.Get("subject").rfind("=?UTF-8?", 0), 0u) << m.Get("subject");
  EXPECT_EQ(DecodeWords(m.Get("subject")), "New call inquiry from Zo\xC3\xAB Ro\xC3\xA9");
  const std::string reply_to = m.Get("reply-to");
  EXPECT_EQ(DecodeWords(reply_to), "Zo\xC3\xAB Ro\xC3\xA9");
  EXPECT_NE(reply_to.find("<dana@example.com>"), std::string::npos);
  for (char c : req->body.substr(0, req->body.find("\r\n\r\n"))) {
    EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "raw 8-bit byte in the headers";
  }
}

TEST_F(SmtpConnectorTest, ReplyToOnlyForAValidLeadAddress) {
  struct Case {
    std::string email;
    bool expected;
  };
  for (const Case& c : std::vector<Case>{
           {"dana@example.com", true},
           {"", false},
           {"not-an-email", false},
           {"dana@example.com\r\nBcc: x@y.z", false},
           {"Dana <dana@example.com>", false},
           {"dana@example.com, boss@example.com", false},
           {"\"dana\"@example.com", false},
       }) {
    inquiry_.normalized.email = c.email;
    auto req = Build();
    ASSERT_TRUE(req.ok()) << req.status();
    const ParsedMessage m = Parse(req->body);
    EXPECT_EQ(m.Count("reply-to"), c.expected ? 1 : 0) << c.email;
    EXPECT_EQ(m.Count("bcc"), 0);
  }
}

TEST_F(SmtpConnectorTest, ReplyToFallsBackToTheContactAndCanBeFixedOrOff) {
  inquiry_.normalized.email = "";
  inquiry_.normalized.name = "";
  Contact contact;
  contact.name = "Dana R";
  contact.email = "dana.r@example.com";
  contact_ = contact;
  EXPECT_EQ(Parse(Build()->body).Get("reply-to"), "Dana R <dana.r@example.com>");

  dest_.settings["reply_to"] = "none";
  EXPECT_EQ(Parse(Build()->body).Count("reply-to"), 0);
  dest_.settings["reply_to"] = "office@harbor.example";
  EXPECT_EQ(Parse(Build()->body).Get("reply-to"), "office@harbor.example");
}

TEST_F(SmtpConnectorTest, Recipients) {
  struct Case {
    const char* name;
    nlohmann::json to;  // null = unset
    std::vector<std::string> recipients;
    std::string header;
  };
  const std::vector<Case> cases = {
      {"default owner", nullptr, {"ana@harbor.example"}, "Ana Lopez <ana@harbor.example>"},
      {"owner by name", "owner", {"ana@harbor.example"}, "Ana Lopez <ana@harbor.example>"},
      {"one address", "office@harbor.example", {"office@harbor.example"}, "office@harbor.example"},
      {"a list with the owner",
       nlohmann::json::array({"office@harbor.example", "owner", "OFFICE@harbor.example"}),
       {"office@harbor.example", "ana@harbor.example"},
       "office@harbor.example, Ana Lopez <ana@harbor.example>"},
  };
  for (const Case& c : cases) {
    if (c.to.is_null()) {
      dest_.settings.erase("to");
    } else {
      dest_.settings["to"] = c.to;
    }
    auto req = Build();
    ASSERT_TRUE(req.ok()) << c.name << ": " << req.status();
    EXPECT_EQ(req->mail->recipients, c.recipients) << c.name;
    EXPECT_EQ(Parse(req->body).Get("to"), c.header) << c.name;
  }
}

TEST_F(SmtpConnectorTest, ANotificationForOnePersonGoesToThemAlone) {
  dest_.settings["to"] = nlohmann::json::array({"office@harbor.example", "owner"});
  handoff_.purpose = "notify";
  handoff_.recipient = "maria";
  TeamMember maria;
  maria.id = "maria";
  maria.name = "Maria Lopez";
  maria.email = "maria@harbor.example";
  recipient_ = maria;
  auto req = Build();
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->mail->recipients, std::vector<std::string>{"maria@harbor.example"});
  EXPECT_EQ(Parse(req->body).Get("to"), "Maria Lopez <maria@harbor.example>");
  recipient_->email.clear();
  EXPECT_EQ(Build().status().message(), "maria has no valid email address in the team list");
}

TEST_F(SmtpConnectorTest, NoRecipientIsAnError) {
  owner_.reset();
  auto no_owner = Build();
  ASSERT_FALSE(no_owner.ok());
  EXPECT_EQ(no_owner.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(no_owner.status().message().find("owner"), std::string_view::npos);

  owner_ = TeamMember();
  owner_->name = "Ana";
  EXPECT_FALSE(Build().ok());
  owner_->email = "ana@harbor.example\r\nBcc: x@y.z";
  EXPECT_FALSE(Build().ok());

  dest_.settings["to"] = nlohmann::json::array();
  EXPECT_FALSE(Build().ok());
}

TEST_F(SmtpConnectorTest, SubjectTemplate) {
  dest_.settings["subject"] = "Call back {{contact.name}} ({{inquiry.source}})";
  EXPECT_EQ(Parse(Build()->body).Get("subject"), "Call back Dana Roe (website)");
  dest_.settings["subject"] = "   ";
  EXPECT_EQ(Parse(Build()->body).Get("subject"), "New call inquiry from Dana Roe");
}

TEST_F(SmtpConnectorTest, TransportSecuritySettings) {
  struct Case {
    const char* name;
    std::string url;
    std::map<std::string, nlohmann::json> extra;
    bool ok;
    bool require_tls;
  };
  const std::vector<Case> cases = {
      {"starttls", "smtp://mail.example.com:587", {}, true, true},
      {"implicit tls", "smtps://mail.example.com:465", {}, true, true},
      {"explicit starttls", "smtp://mail.example.com:587", {{"tls", "starttls"}}, true, true},
      {"plain refused", "smtp://mail.example.com:25", {{"tls", "none"}}, false, true},
      {"plain acknowledged",
       "smtp://mail.example.com:25",
       {{"tls", "none"}, {"insecure_plaintext", true}},
       true,
       false},
      {"plain flag must be a boolean",
       "smtp://mail.example.com:25",
       {{"tls", "none"}, {"insecure_plaintext", "yes"}},
       false,
       true},
      {"none with smtps",
       "smtps://mail.example.com:465",
       {{"tls", "none"}, {"insecure_plaintext", true}},
       false,
       true},
      {"unknown tls", "smtp://mail.example.com:587", {{"tls", "ssl3"}}, false, true},
      {"http url", "https://mail.example.com", {}, false, true},
      {"no host", "smtp://:587", {}, false, true},
  };
  for (const Case& c : cases) {
    dest_.url = c.url;
    dest_.settings.erase("tls");
    dest_.settings.erase("insecure_plaintext");
    for (const auto& [k, v] : c.extra) dest_.settings[k] = v;
    auto req = Build();
    EXPECT_EQ(req.ok(), c.ok) << c.name << ": " << req.status();
    EXPECT_EQ(connector_.CheckSettings(dest_).empty(), c.ok) << c.name;
    if (req.ok()) {
      EXPECT_EQ(req->mail->require_tls, c.require_tls) << c.name;
    }
  }
}

TEST_F(SmtpConnectorTest, CheckSettingsNamesEveryProblem) {
  dest_.settings = {
      {"from", "Harbor <not an address>"},
      {"to", nlohmann::json::array({"owner", "bad@@x"})},
      {"username", "u"},
      {"reply_to", "somewhere"},
      {"subject", 5},
  };
  const std::vector<std::string> problems = connector_.CheckSettings(dest_);
  auto mentions = [&](const std::string& key) {
    for (const std::string& p : problems) {
      if (p.find(key) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(mentions("'from'"));
  EXPECT_TRUE(mentions("'to'"));
  EXPECT_TRUE(mentions("'password'"));
  EXPECT_TRUE(mentions("'reply_to'"));
  EXPECT_TRUE(mentions("'subject'"));
  for (const std::string& p : problems) {
    EXPECT_EQ(p.find('\r'), std::string::npos);
  }

  dest_.settings = nlohmann::json::object();
  EXPECT_FALSE(connector_.CheckSettings(dest_).empty()) << "from is required";
}

TEST_F(SmtpConnectorTest, ClassifiesSmtpReplyCodes) {
  using Kind = DeliveryOutcome::Kind;
  struct Case {
    int code;
    Kind kind;
    std::string reason_has;
  };
  const std::vector<Case> cases = {
      {250, Kind::kConfirmed, "250"},
      {421, Kind::kRetryable, "421"},
      {450, Kind::kRetryable, "450"},
      {451, Kind::kRetryable, "451"},
      {452, Kind::kRetryable, "452"},
      {454, Kind::kRetryable, "454"},
      {535, Kind::kPermanent, "authentication failed (535)"},
      {550, Kind::kPermanent, "550"},
      {553, Kind::kPermanent, "553"},
      {554, Kind::kPermanent, "554"},
      {530, Kind::kPermanent, "530"},
      {0, Kind::kRetryable, "0"},
      {354, Kind::kRetryable, "354"},
  };
  for (const Case& c : cases) {
    const DeliveryOutcome o = connector_.Classify(Ctx(), c.code, {}, "");
    EXPECT_EQ(o.kind, c.kind) << c.code;
    EXPECT_NE(o.reason.find(c.reason_has), std::string::npos) << c.code << ": " << o.reason;
    EXPECT_FALSE(o.more_steps);
    if (c.kind == Kind::kConfirmed) {
      EXPECT_EQ(o.remote_id, "<0190c4c0-7a3e-7b11-8c55-3f1b2a4d5e6f@harbor.example>");
    }
  }
}

TEST(SmtpConnectorRegistration, RegistersWithItsSettings) {
  ConnectorRegistry registry;
  RegisterSmtpConnector(registry);
  const ConnectorSpec* spec = registry.FindSpec("smtp");
  ASSERT_NE(spec, nullptr);
  std::vector<std::string> keys;
  for (const auto& s : spec->settings) keys.push_back(s.key);
  for (const char* key :
       {"username", "password", "from", "to", "subject", "reply_to", "tls", "insecure_plaintext"}) {
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
  }
  EXPECT_NE(registry.Find("smtp"), nullptr);
}

}  // namespace
}  // namespace handoff
