#include "entry/source_adapter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "entry/rejection.h"

namespace handoff {
namespace {

TEST(SourceAdapterRegistry, RegistersTheBuiltinSources) {
  SourceAdapterRegistry registry;
  RegisterBuiltinSources(registry);
  // One name per line, so adapters added in parallel merge without conflict.
  for (const char* name : {
           "calcom",
           "calendly",
           "chatwoot",
           "contact_form_7",
           "form",
           "gravity_forms",
           "html_form",
           "intercom",
           "json",
           "meta_leads",
           "twilio_sms",
           "twilio_voice",
           "typeform",
           "webflow",
       }) {
    EXPECT_NE(registry.FindSpec(name), nullptr) << name;
  }

  const SourceAdapterSpec* json = registry.FindSpec("json");
  ASSERT_NE(json, nullptr);
  EXPECT_EQ(json->default_channel, Channel::kOther);
  EXPECT_EQ(json->trust_note, "checks a token or an HMAC-SHA256 signature over the raw body");
  ASSERT_EQ(json->settings.size(), 1u);
  EXPECT_EQ(json->settings[0].key, "dedupe");

  const SourceAdapterSpec* form = registry.FindSpec("form");
  ASSERT_NE(form, nullptr);
  EXPECT_EQ(form->default_channel, Channel::kForm);
  ASSERT_EQ(form->settings.size(), 1u);
  EXPECT_EQ(form->settings[0].key, "dedupe");

  EXPECT_NE(registry.Find("json"), nullptr);
  EXPECT_NE(registry.Find("json"), registry.Find("form"));
  EXPECT_EQ(registry.Find("json"), registry.Find("json"));  // one shared instance
}

TEST(SourceAdapterRegistry, UnknownNamesAreNull) {
  SourceAdapterRegistry registry;
  RegisterBuiltinSources(registry);
  EXPECT_EQ(registry.FindSpec("no_such_adapter"), nullptr);
  EXPECT_EQ(registry.Find("no_such_adapter"), nullptr);
  EXPECT_EQ(registry.Find(""), nullptr);
}

// A minimal adapter: proves registration needs nothing beyond a spec, and that the default
// Verify applies the source's generic auth.
class EchoAdapter final : public SourceAdapter {
 public:
  absl::StatusOr<ParsedDelivery> Parse(const SourceConfig& /*source*/,
                                       const HttpRequest& request) const override {
    ParsedDelivery d;
    d.inquiry.message = request.body;
    return d;
  }
};

TEST(SourceAdapterRegistry, ANewAdapterIsOneRegistration) {
  SourceAdapterRegistry registry;
  registry.Register(SourceAdapterSpec{
      .name = "echo",
      .trust_note = "checks a token",
      .default_channel = Channel::kChat,
      .settings = {},
      .make = [] { return std::make_unique<EchoAdapter>(); },
  });
  const SourceAdapter* echo = registry.Find("echo");
  ASSERT_NE(echo, nullptr);
  EXPECT_EQ(registry.FindSpec("echo")->default_channel, Channel::kChat);

  SourceConfig source;
  source.auth.tokens = {"tok_0123456789abcdef"};
  HttpRequest request;
  request.body = "hello";
  EXPECT_EQ(RejectionCode(echo->Verify(source, request, 0)), "bad_credentials");
  request.headers = {{"x-handoff-token", "tok_0123456789abcdef"}};
  EXPECT_TRUE(echo->Verify(source, request, 0).ok());
  EXPECT_EQ(echo->Parse(source, request)->inquiry.message, "hello");
}

TEST(SourceAdapterRegistryDeathTest, RegisteringANameTwiceIsAProgrammingError) {
  SourceAdapterRegistry registry;
  RegisterBuiltinSources(registry);
  EXPECT_DEATH(RegisterBuiltinSources(registry), "json");
}

}  // namespace
}  // namespace handoff
