// Intent and urgency from the config's keyword/pattern rules (enrich.intents, enrich.urgency):
// which service an inquiry is about, what it is worth, and how urgent it is.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/records.h"

namespace re2 {
class RE2;
}

namespace handoff {

// What the rules found; empty names when no rule matched.
struct Classification {
  std::string service;  // the first matching intent rule's service
  double value = 0;     // that rule's value estimate
  std::string urgency;  // the first matching urgency rule's level
};

// The compiled rules of one config. Immutable after construction; thread-safe.
class IntentRules {
 public:
  // Patterns were checked by the config loader; one that still fails to compile (a config built
  // in code) never matches.
  explicit IntentRules(const EnrichConfig& config);
  ~IntentRules();
  IntentRules(const IntentRules&) = delete;
  IntentRules& operator=(const IntentRules&) = delete;

  // First match wins within each list; a rule matches when its pattern matches part of any of
  // the fields it reads (after enrichment normalised the contact fields).
  Classification Classify(const Inquiry& inquiry) const;

 private:
  struct Compiled {
    const MatchRule* rule;
    std::unique_ptr<re2::RE2> re;
  };
  static std::vector<Compiled> Compile(const std::vector<MatchRule>& rules);
  static const MatchRule* FirstMatch(const std::vector<Compiled>& rules, const Inquiry& inquiry);

  EnrichConfig config_;  // owns the rules the compiled patterns point at
  std::vector<Compiled> intents_;
  std::vector<Compiled> urgency_;
};

}  // namespace handoff
