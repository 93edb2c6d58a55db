#include "tests/support/delivery_harness.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "core/id.h"
#include "core/status.h"
#include "fmt/format.h"

namespace handoff::testing {
namespace {

// A loopback listening socket; returns the fd and fills `port`.
int ListenOnLoopback(uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

HttpResponse Respond(int status, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string HeaderOf(const HttpRequest& r, const char* name) {
  auto v = r.Header(name);
  return v ? std::string(*v) : "";
}

ContractServer::ContractServer(Script script) : script_(std::move(script)) {
  auto server =
      HttpServer::Start(HttpServerOptions{}, [this](HttpRequest&& req, HttpResponder respond) {
        HttpResponse response;
        {
          std::lock_guard<std::mutex> lock(mu_);
          requests_.push_back(req);
          response = script_(requests_.back(), static_cast<int>(requests_.size()));
        }
        respond(std::move(response));
      });
  EXPECT_TRUE(server.ok()) << server.status();
  if (server.ok()) server_ = *std::move(server);
}

ContractServer::~ContractServer() {
  if (server_) server_->Stop(kMicrosPerSecond);
}

std::string ContractServer::Url(const std::string& path) const {
  return fmt::format("http://127.0.0.1:{}{}", port(), path);
}

uint16_t ContractServer::port() const { return server_ ? server_->port() : 0; }

std::vector<HttpRequest> ContractServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

SilentListener::SilentListener() { fd_ = ListenOnLoopback(&port_); }

SilentListener::~SilentListener() {
  for (int c : held_) close(c);
  close(fd_);
}

bool SilentListener::SawConnection() {
  int c = accept(fd_, nullptr, nullptr);
  if (c < 0) return false;
  close(c);
  return true;
}

bool SilentListener::HoldConnection() {
  int c = accept(fd_, nullptr, nullptr);
  if (c < 0) return false;
  held_.push_back(c);
  return true;
}

ResettingListener::ResettingListener() {
  fd_ = ListenOnLoopback(&port_);
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      connections_.fetch_add(1);
      // Wait for the request to arrive so the reset lands mid-exchange, not before it.
      pollfd in{c, POLLIN, 0};
      poll(&in, 1, 1000);
      char buf[4096];
      [[maybe_unused]] ssize_t n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
      linger l{1, 0};  // close with RST
      setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
      close(c);
    }
  });
}

ResettingListener::~ResettingListener() {
  stop_.store(true);
  thread_.join();
  close(fd_);
}

int ResettingListener::connections() const { return connections_.load(); }

DeliveryHarness::DeliveryHarness() {
  auto store = OpenStore("sqlite:" + dir_.File("handoff.db"), &clock_);
  EXPECT_TRUE(store.ok()) << store.status();
  if (store.ok()) store_ = *std::move(store);
  config_.workspace = kHarnessWorkspace;
  TeamMember ana;
  ana.id = "ana";
  ana.name = "Ana Lima";
  ana.email = "ana@harbor.example";
  ana.phone = "+14155550100";
  config_.team.push_back(ana);
  RegisterBuiltinConnectors(registry_);
}

DeliveryHarness::~DeliveryHarness() {
  Stop();
  if (store_) store_->Shutdown();
}

void DeliveryHarness::Start(DispatcherOptions options) {
  options.random = [] { return 0.5; };
  options.idle_poll = 200 * kMicrosPerMilli;
  dispatcher_ =
      std::make_unique<Dispatcher>(&config_, &registry_, store_.get(), &clock_, std::move(options));
  store_->SetWorkListener([d = dispatcher_.get()](Stage stage) {
    if (stage == Stage::kTransfer) d->Wake();
  });
  dispatcher_->Start();
}

void DeliveryHarness::Stop() {
  if (!dispatcher_) return;
  dispatcher_->Stop();
  store_->SetWorkListener(nullptr);
  dispatcher_.reset();
}

std::vector<std::string> DeliveryHarness::AddInquiry(
    const std::vector<std::string>& destinations,
    const std::function<void(Inquiry&, Contact&, Task&)>& edit) {
  const Micros now = clock_.Now();
  ++inquiries_;
  Inquiry inquiry;
  inquiry.id = NewUuidV7(now);
  inquiry.workspace = kHarnessWorkspace;
  inquiry.source = "website";
  inquiry.channel = Channel::kForm;
  inquiry.received_at = now;
  inquiry.occurred_at = now;
  inquiry.received.name = "Dana Roe";
  inquiry.normalized.name = "Dana Roe";
  inquiry.normalized.email = fmt::format("dana+{}@example.com", inquiries_);
  inquiry.normalized.phone = fmt::format("+1415555{:04d}", 100 + inquiries_ % 9000);
  inquiry.message = "No hot water since this morning";
  inquiry.service = "water heater";
  inquiry.stage = Stage::kTrigger;
  inquiry.status = "routed";
  Contact contact;
  contact.id = NewUuidV7(now);
  contact.workspace = kHarnessWorkspace;
  contact.name = inquiry.normalized.name;
  contact.email = inquiry.normalized.email;
  contact.phone = inquiry.normalized.phone;
  contact.created_at = now;
  contact.updated_at = now;
  inquiry.contact_id = contact.id;
  Task task;
  task.id = NewUuidV7(now);
  task.workspace = kHarnessWorkspace;
  task.inquiry_id = inquiry.id;
  task.route = "default";
  task.owner = "ana";
  task.title = "Call back Dana Roe";
  task.due_at = now + 5 * kMicrosPerMinute;
  task.created_at = now;
  if (edit) edit(inquiry, contact, task);
  std::vector<Handoff> handoffs;
  for (const std::string& d : destinations) {
    Handoff h;
    h.id = NewUuidV7(now);
    h.workspace = kHarnessWorkspace;
    h.inquiry_id = inquiry.id;
    h.destination = d;
    h.next_attempt_at = now;
    h.created_at = now;
    handoffs.push_back(h);
  }
  inquiry_id_ = inquiry.id;
  absl::Status s = store_->Write([&](WriteTx& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.InsertInquiry(inquiry));
    RETURN_IF_ERROR(tx.UpsertContact(contact));
    if (!task.id.empty()) RETURN_IF_ERROR(tx.InsertTask(task));
    for (const Handoff& h : handoffs) RETURN_IF_ERROR(tx.InsertHandoff(h));
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s.message();
  std::vector<std::string> ids;
  for (const Handoff& h : handoffs) ids.push_back(h.id);
  return ids;
}

Handoff DeliveryHarness::WaitFor(const std::string& id,
                                 const std::function<bool(const Handoff&)>& pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  Handoff last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = store_->GetHandoff(kHarnessWorkspace, id);
    if (h.ok()) {
      last = *h;
      if (pred(last)) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "handoff " << id << " stuck in state " << last.state << " after "
                << last.attempts << " attempts (" << last.last_error << ")";
  return last;
}

Handoff DeliveryHarness::WaitForState(const std::string& id, const std::string& state,
                                      int attempts) {
  return WaitFor(id, [&](const Handoff& h) { return h.state == state && h.attempts == attempts; });
}

void DeliveryHarness::AdvanceToNextAttempt(const std::string& id) {
  auto h = store_->GetHandoff(kHarnessWorkspace, id);
  ASSERT_TRUE(h.ok()) << h.status();
  if (h->next_attempt_at > clock_.Now()) clock_.Set(h->next_attempt_at);
  if (dispatcher_) dispatcher_->Wake();
}

std::vector<Event> DeliveryHarness::Events() {
  auto events = store_->ListEvents(kHarnessWorkspace, inquiry_id_);
  EXPECT_TRUE(events.ok()) << events.status();
  return events.ok() ? *events : std::vector<Event>{};
}

std::vector<std::string> DeliveryHarness::EventKinds() {
  std::vector<std::string> kinds;
  for (const Event& e : Events()) kinds.push_back(e.kind);
  return kinds;
}

Inquiry DeliveryHarness::GetInquiry() {
  auto i = store_->GetInquiry(kHarnessWorkspace, inquiry_id_);
  EXPECT_TRUE(i.ok()) << i.status();
  return i.ok() ? *i : Inquiry{};
}

}  // namespace handoff::testing
