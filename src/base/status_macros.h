// Status propagation macros. Abseil 20220623 ships no status_macros.h, so these
// are ours: RETURN_IF_ERROR(expr) and ASSIGN_OR_RETURN(lhs, expr).
#ifndef SPATIAL_BASE_STATUS_MACROS_H_
#define SPATIAL_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SPATIAL_CONCAT_INNER_(a, b) a##b
#define SPATIAL_CONCAT_(a, b) SPATIAL_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    const ::absl::Status spatial_status_ = (expr);     \
    if (!spatial_status_.ok()) return spatial_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F())` assigns the value of a StatusOr or returns
// its status from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr)                                           \
  SPATIAL_ASSIGN_OR_RETURN_IMPL_(SPATIAL_CONCAT_(spatial_or_, __LINE__), lhs, \
                                 expr)

#define SPATIAL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()

#endif  // SPATIAL_BASE_STATUS_MACROS_H_
