// The smtp connector through the real dispatcher (libcurl SMTP) against a real SMTP server:
// aiosmtpd (tests/support/smtp_server.py) with STARTTLS on a throwaway self-signed certificate
// and AUTH required. The server parses each message with Python's email package, an independent
// reader of what we wrote, and records the session's TLS and AUTH state.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tests/support/delivery_harness.h"
#include "tests/support/temp_dir.h"

namespace handoff {
namespace {

using nlohmann::json;

constexpr const char* kUser = "leads@harbor.example";
constexpr const char* kPassword = "correct horse";
constexpr Micros kFirstRetry = 10 * kMicrosPerSecond;

// python3 with aiosmtpd: $HANDOFF_PYTHON, else Debian's interpreter (where python3-aiosmtpd
// installs), else whatever python3 is on PATH.
std::string Python() {
  if (const char* p = std::getenv("HANDOFF_PYTHON"); p != nullptr && *p != '\0') return p;
  if (std::filesystem::exists("/usr/bin/python3")) return "/usr/bin/python3";
  return "python3";
}

// A self-signed certificate for 127.0.0.1 (CN and SAN), made with the openssl CLI.
struct TestCertificate {
  testing::TempDir dir;
  std::string cert = dir.File("cert.pem");
  std::string key = dir.File("key.pem");
  bool ok = false;

  TestCertificate() {
    const std::string cmd = fmt::format(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '{}' -out '{}' "
        ">/dev/null 2>&1",
        key, cert);
    ok = std::system(cmd.c_str()) == 0 && std::filesystem::exists(cert);
  }
};

// One smtp_server.py child process; killed with the object. Its options script failures.
class SmtpServer {
 public:
  struct Options {
    std::string rcpt_code;  // "451:1" = answer the first RCPT with 451, then accept
    std::string data_code;
    bool auth_fail = false;
    bool implicit_tls = false;  // smtps:// instead of STARTTLS
  };

  SmtpServer(const TestCertificate& cert, const testing::TempDir& dir, Options options)
      : record_(dir.File(fmt::format("smtp-{}.jsonl", ++instances_))),
        log_(dir.File(fmt::format("smtp-{}.log", instances_))) {
    std::vector<std::string> args = {
        Python(),     std::string(HANDOFF_SOURCE_DIR) + "/tests/support/smtp_server.py",
        "--cert",     cert.cert,
        "--key",      cert.key,
        "--user",     kUser,
        "--password", kPassword,
        "--record",   record_};
    if (!options.rcpt_code.empty()) args.insert(args.end(), {"--rcpt-code", options.rcpt_code});
    if (!options.data_code.empty()) args.insert(args.end(), {"--data-code", options.data_code});
    if (options.auth_fail) args.push_back("--auth-fail");
    if (options.implicit_tls) args.push_back("--implicit-tls");
    scheme_ = options.implicit_tls ? "smtps" : "smtp";

    // Everything the child needs is prepared before fork: only async-signal-safe calls may
    // follow it in a process that has threads.
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      // Its stderr (tracebacks of sessions the tests break on purpose) goes to a file.
      const int log = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (log >= 0) dup2(log, STDERR_FILENO);
      close(out[0]);
      close(out[1]);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    // The server prints its port once it listens; a missing aiosmtpd ends it at once instead.
    std::string line;
    pollfd pfd{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&pfd, 1, 20000) > 0) {
      char buf[64];
      const ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(out[0]);
    port_ = static_cast<uint16_t>(std::atoi(line.c_str()));
  }

  ~SmtpServer() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  uint16_t port() const { return port_; }
  std::string Log() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string Url() const { return fmt::format("{}://127.0.0.1:{}", scheme_, port_); }

  // Everything the server recorded so far, one JSON object per RCPT refusal or DATA.
  std::vector<json> Records() const {
    std::vector<json> out;
    std::ifstream in(record_);
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }
  std::vector<json> Messages() const {
    std::vector<json> out;
    for (json& r : Records()) {
      if (r["event"] == "message") out.push_back(std::move(r));
    }
    return out;
  }

 private:
  static inline int instances_ = 0;
  std::string record_;
  std::string log_;
  std::string scheme_ = "smtp";
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

std::string Header(const json& message, const std::string& name) {
  for (const json& h : message["parsed"]["headers"]) {
    if (h[0] == name) return h[1];
  }
  return "";
}

int HeaderCount(const json& message, const std::string& name) {
  int n = 0;
  for (const json& h : message["parsed"]["headers"]) n += h[0] == name;
  return n;
}

// A port nothing listens on: bound, then closed.
uint16_t ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class SmtpContractTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cert_ = new TestCertificate(); }
  static void TearDownTestSuite() {
    delete cert_;
    cert_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(cert_->ok) << "the openssl CLI could not make a test certificate";
    TeamMember ana;
    ana.id = "ana";
    ana.name = "Ana Lopez";
    ana.email = "ana@harbor.example";
    h_.config().team.push_back(ana);
  }

  // Starts the server and a destination "mail" pointing at it.
  SmtpServer& Serve(SmtpServer::Options options = {}) {
    server_ = std::make_unique<SmtpServer>(*cert_, dir_, std::move(options));
    if (server_->port() == 0) {
      ADD_FAILURE() << "smtp_server.py did not start: install python3-aiosmtpd (or set "
                       "HANDOFF_PYTHON to a python3 that has aiosmtpd): "
                    << server_->Log();
    }
    Configure(server_->Url());
    return *server_;
  }

  void Configure(const std::string& url, bool trust_test_ca = true) {
    DestinationConfig d;
    d.name = "mail";
    d.connector = "smtp";
    d.url = url;
    d.retry = {kFirstRetry, 20 * kMicrosPerSecond};
    d.timeout = 10 * kMicrosPerSecond;
    d.allow_private = true;
    if (trust_test_ca) d.ca_file = cert_->cert;
    d.settings = {
        {"username", kUser},
        {"password", kPassword},
        {"from", "Harbor Plumbing <leads@harbor.example>"},
    };
    h_.config().destinations = {d};
  }

  static inline TestCertificate* cert_ = nullptr;
  testing::TempDir dir_;
  std::unique_ptr<SmtpServer> server_;
  testing::DeliveryHarness h_;
};

TEST_F(SmtpContractTest, DeliversOverStartTlsWithAuth) {
  SmtpServer& server = Serve();
  h_.Start();
  const std::string name = "Zo\xC3\xAB & <Roe>";
  const std::string message = "No hot water\n.\n..two dots, one line\n<b>bold?</b>";
  auto ids = h_.AddInquiry({"mail"}, [&](Inquiry& i, Contact& c, Task&) {
    i.normalized.name = name;
    i.received.name = name;
    c.name = name;
    i.message = message;
  });
  const Handoff h = h_.WaitForState(ids[0], "confirmed", 1);
  EXPECT_EQ(h.last_status, 250);

  const std::vector<json> messages = server.Messages();
  ASSERT_EQ(messages.size(), 1u);
  const json& m = messages[0];
  EXPECT_TRUE(m["tls"].get<bool>()) << "STARTTLS was not used";
  EXPECT_TRUE(m["auth_mechanism"] == "PLAIN" || m["auth_mechanism"] == "LOGIN")
      << m["auth_mechanism"];
  EXPECT_EQ(m["auth_login"], kUser);
  EXPECT_EQ(m["mail_from"], "leads@harbor.example");
  EXPECT_EQ(m["rcpt_tos"], json::array({"ana@harbor.example"}));
  EXPECT_FALSE(m["raw_has_bare_lf"].get<bool>());
  EXPECT_LE(m["max_line"].get<int>(), 78);

  const json& parsed = m["parsed"];
  ASSERT_TRUE(parsed.is_object()) << m.dump();
  EXPECT_EQ(parsed["defects"], json::array()) << parsed["defects"];
  for (const char* header : {"Date", "From", "To", "Reply-To", "Subject", "Message-ID",
                             "MIME-Version", "Content-Type"}) {
    EXPECT_EQ(HeaderCount(m, header), 1) << header;
  }
  EXPECT_EQ(parsed["addresses"]["From"],
            json::array({json::array({"Harbor Plumbing", "leads@harbor.example"})}));
  EXPECT_EQ(parsed["addresses"]["To"],
            json::array({json::array({"Ana Lopez", "ana@harbor.example"})}));
  EXPECT_EQ(parsed["addresses"]["Reply-To"],
            json::array({json::array({name, "dana+1@example.com"})}));
  EXPECT_EQ(Header(m, "Subject"), "New form inquiry from " + name);
  EXPECT_EQ(Header(m, "Message-ID"), fmt::format("<{}@harbor.example>", ids[0]));
  EXPECT_EQ(h.remote_id, Header(m, "Message-ID"));
  EXPECT_EQ(Header(m, "Date"), "Thu, 01 Jan 2026 00:00:00 +0000");
  EXPECT_EQ(parsed["content_type"], "multipart/alternative");

  ASSERT_EQ(parsed["parts"].size(), 2u);
  const json& text = parsed["parts"][0];
  const json& html = parsed["parts"][1];
  EXPECT_EQ(text["content_type"], "text/plain");
  EXPECT_EQ(html["content_type"], "text/html");
  for (const json* p : {&text, &html}) {
    EXPECT_EQ((*p)["charset"], "utf-8");
    EXPECT_EQ((*p)["encoding"], "quoted-printable");
    EXPECT_EQ((*p)["defects"], json::array());
  }
  // A line of just "." and one starting ".." arrive intact: libcurl dot-stuffed them.
  std::string text_body = text["text"];
  // Python returns the decoded part with its wire line ends (CRLF).
  std::erase(text_body, '\r');
  EXPECT_NE(text_body.find("Message: " + message + "\n"), std::string::npos) << text_body;
  EXPECT_NE(text_body.find("Next step: Call back Dana Roe"), std::string::npos) << text_body;
  const std::string html_body = html["text"];
  EXPECT_NE(html_body.find("Zo\xC3\xAB &amp; &lt;Roe&gt;"), std::string::npos) << html_body;
  EXPECT_NE(html_body.find("&lt;b&gt;bold?&lt;/b&gt;"), std::string::npos) << html_body;
  EXPECT_EQ(html_body.find("<b>bold"), std::string::npos) << html_body;
}

TEST_F(SmtpContractTest, DeliversOverImplicitTls) {
  SmtpServer& server =
      Serve({.rcpt_code = "", .data_code = "", .auth_fail = false, .implicit_tls = true});
  h_.Start();
  auto ids = h_.AddInquiry({"mail"});
  h_.WaitForState(ids[0], "confirmed", 1);
  const std::vector<json> messages = server.Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_TRUE(messages[0]["tls"].get<bool>());
  EXPECT_EQ(messages[0]["auth_login"], kUser);
  EXPECT_EQ(messages[0]["parsed"]["defects"], json::array());
}

TEST_F(SmtpContractTest, TemporaryRcptRefusalIsRetriedThenConfirmed) {
  SmtpServer& server =
      Serve({.rcpt_code = "451:1", .data_code = "", .auth_fail = false, .implicit_tls = false});
  h_.Start();
  auto ids = h_.AddInquiry({"mail"});
  const Handoff failed = h_.WaitForState(ids[0], "failed", 1);
  EXPECT_EQ(failed.last_status, 451);
  EXPECT_NE(failed.last_error.find("451"), std::string::npos) << failed.last_error;
  EXPECT_EQ(failed.next_attempt_at, testing::kHarnessStart + kFirstRetry);
  EXPECT_TRUE(server.Messages().empty());

  h_.AdvanceToNextAttempt(ids[0]);
  const Handoff confirmed = h_.WaitForState(ids[0], "confirmed", 2);
  ASSERT_EQ(server.Messages().size(), 1u);
  EXPECT_EQ(confirmed.remote_id, Header(server.Messages()[0], "Message-ID"));
}

TEST_F(SmtpContractTest, RetriedDataKeepsTheMessageIdSoDuplicatesCanBeDropped) {
  SmtpServer& server =
      Serve({.rcpt_code = "", .data_code = "451:1", .auth_fail = false, .implicit_tls = false});
  h_.Start();
  auto ids = h_.AddInquiry({"mail"});
  h_.WaitForState(ids[0], "failed", 1);
  h_.AdvanceToNextAttempt(ids[0]);
  h_.WaitForState(ids[0], "confirmed", 2);
  const std::vector<json> messages = server.Messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_FALSE(messages[0]["accepted"].get<bool>());
  EXPECT_TRUE(messages[1]["accepted"].get<bool>());
  EXPECT_EQ(Header(messages[0], "Message-ID"), Header(messages[1], "Message-ID"));
}

TEST_F(SmtpContractTest, PermanentRefusalIsDead) {
  Serve({.rcpt_code = "550", .data_code = "", .auth_fail = false, .implicit_tls = false});
  h_.Start();
  auto ids = h_.AddInquiry({"mail"});
  const Handoff dead = h_.WaitForState(ids[0], "dead", 1);
  EXPECT_EQ(dead.last_status, 550);
  EXPECT_NE(dead.last_error.find("550"), std::string::npos) << dead.last_error;
}

TEST_F(SmtpContractTest, RejectedMessageIsDead) {
  Serve({.rcpt_code = "", .data_code = "554", .auth_fail = false, .implicit_tls = false});
  h_.Start();
  auto ids = h_.AddInquiry({"mail"});
  const Handoff dead = h_.WaitForState(ids[0], "dead", 1);
  EXPECT_NE(dead.last_error.find("554"), std::string::npos) << dead.last_error;
}

TEST_F(SmtpContractTest, AuthenticationFailureIsDeadWithItsReason) {
  SmtpServer& server =
      Serve({.rcpt_code = "", .data_code = "", .auth_fail = true, .implicit_tls = false});
  h_.Start();
  auto ids = h_.AddInquiry({"mail"});
  const Handoff dead = h_.WaitForState(ids[0], "dead", 1);
  EXPECT_EQ(dead.last_error, "authentication failed (535)");
  EXPECT_EQ(dead.last_error.find(kPassword), std::string::npos);
  EXPECT_TRUE(server.Messages().empty());
}

TEST_F(SmtpContractTest, ServerDownIsRetryable) {
  Configure(fmt::format("smtp://127.0.0.1:{}", ClosedPort()));
  h_.Start();
  auto ids = h_.AddInquiry({"mail"});
  const Handoff failed = h_.WaitForState(ids[0], "failed", 1);
  EXPECT_EQ(failed.next_attempt_at, testing::kHarnessStart + kFirstRetry);
  EXPECT_NE(failed.last_error.find("transport error"), std::string::npos) << failed.last_error;
}

TEST_F(SmtpContractTest, UntrustedCertificateIsNeverSentTo) {
  SmtpServer& server = Serve();
  Configure(server.Url(), /*trust_test_ca=*/false);
  h_.Start();
  auto ids = h_.AddInquiry({"mail"});
  const Handoff failed =
      h_.WaitFor(ids[0], [](const Handoff& h) { return h.state == "failed" || h.state == "dead"; });
  EXPECT_EQ(failed.attempts, 1);
  EXPECT_TRUE(server.Messages().empty());
}

}  // namespace
}  // namespace handoff
