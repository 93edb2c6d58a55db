#include "entry/common/json_dom_builder.h"

#include <iterator>
#include <string_view>
#include <utility>

#include "entry/common/json_pointer.h"
#include "fmt/format.h"

namespace handoff {

bool JsonDomBuilder::number_float(json::number_float_t v, const std::string& text) {
  json value(v);
  if (value.dump() != text) number_text_[SlotPointer()] = text;
  return Put(std::move(value));
}

std::string JsonDomBuilder::SlotPointer() const {
  std::string out;
  for (size_t i = 0; i < stack_.size(); ++i) {
    const Frame& f = stack_[i];
    if (f.node->is_array()) {
      // Open children of outer frames are already appended; the innermost slot is not yet.
      const size_t index = f.node->size() - (i + 1 < stack_.size() ? 1 : 0);
      out += fmt::format("/{}", index);
    } else {
      AppendJsonPointerToken(out, f.key);
    }
  }
  return out;
}

JsonDomBuilder::json* JsonDomBuilder::Slot() {
  if (stack_.empty()) return &root_;
  Frame& f = stack_.back();
  if (f.node->is_array()) {
    f.node->push_back(nullptr);
    return &f.node->back();
  }
  if (!number_text_.empty() && f.node->contains(f.key)) {
    // A repeated key replaces the earlier value (last wins, as nlohmann's own DOM does);
    // forget the source text recorded for what it replaces.
    const std::string prefix = SlotPointer();
    for (auto it = number_text_.lower_bound(prefix);
         it != number_text_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
      const bool same_or_child =
          it->first.size() == prefix.size() || it->first[prefix.size()] == '/';
      it = same_or_child ? number_text_.erase(it) : std::next(it);
    }
  }
  return &(*f.node)[f.key];
}

bool JsonDomBuilder::Open(json container) {
  if (static_cast<int>(stack_.size()) >= max_depth_) {
    too_deep_ = true;
    return false;
  }
  json* slot = Slot();
  *slot = std::move(container);
  stack_.push_back(Frame{slot, {}});
  return true;
}

}  // namespace handoff
