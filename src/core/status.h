// Status helpers missing from Debian's Abseil (20220623): propagate errors as values.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define HANDOFF_CONCAT_INNER(a, b) a##b
#define HANDOFF_CONCAT(a, b) HANDOFF_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status handoff_status_ = (expr);           \
    if (!handoff_status_.ok()) return handoff_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, Fn())` assigns the value of a StatusOr or returns its status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  HANDOFF_ASSIGN_OR_RETURN_IMPL(HANDOFF_CONCAT(handoff_statusor_, __LINE__), lhs, expr)

#define HANDOFF_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()
