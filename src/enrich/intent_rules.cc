#include "enrich/intent_rules.h"

#include <re2/re2.h>

#include "model/field_path.h"

namespace handoff {

IntentRules::IntentRules(const EnrichConfig& config) : config_(config) {
  intents_ = Compile(config_.intents);
  urgency_ = Compile(config_.urgency);
}

IntentRules::~IntentRules() = default;

std::vector<IntentRules::Compiled> IntentRules::Compile(const std::vector<MatchRule>& rules) {
  std::vector<Compiled> out;
  for (const MatchRule& rule : rules) {
    auto re = std::make_unique<re2::RE2>(rule.pattern, re2::RE2::Quiet);
    if (!re->ok()) continue;
    out.push_back({&rule, std::move(re)});
  }
  return out;
}

const MatchRule* IntentRules::FirstMatch(const std::vector<Compiled>& rules,
                                         const Inquiry& inquiry) {
  for (const Compiled& c : rules) {
    for (const std::string& path : c.rule->on) {
      const std::string text = FieldText(inquiry, path);
      if (!text.empty() && re2::RE2::PartialMatch(text, *c.re)) return c.rule;
    }
  }
  return nullptr;
}

Classification IntentRules::Classify(const Inquiry& inquiry) const {
  Classification out;
  if (const MatchRule* intent = FirstMatch(intents_, inquiry)) {
    out.service = intent->name;
    out.value = intent->value;
  }
  if (const MatchRule* level = FirstMatch(urgency_, inquiry)) out.urgency = level->name;
  return out;
}

}  // namespace handoff
