// Stable names of exit reasons and trap kinds (JSON, CLI, docs).
#include "pycell/result.h"

namespace pycell {

std::string_view to_string(ExitReason r) {
  switch (r) {
    case ExitReason::kOk: return "ok";
    case ExitReason::kException: return "exception";
    case ExitReason::kExit: return "exit";
    case ExitReason::kTimeout: return "timeout";
    case ExitReason::kFuel: return "fuel";
    case ExitReason::kMemory: return "memory";
    case ExitReason::kOutputLimit: return "output_limit";
    case ExitReason::kCancelled: return "cancelled";
    case ExitReason::kTrap: return "trap";
  }
  return "unknown";
}

std::string_view to_string(TrapKind t) {
  switch (t) {
    case TrapKind::kNone: return "none";
    case TrapKind::kOutOfBounds: return "out_of_bounds";
    case TrapKind::kStackExhausted: return "stack_exhausted";
    case TrapKind::kUnreachable: return "unreachable";
    case TrapKind::kIntegerOverflow: return "integer_overflow";
    case TrapKind::kDivideByZero: return "divide_by_zero";
    case TrapKind::kIndirectCall: return "indirect_call";
    case TrapKind::kUnknown: return "unknown";
  }
  return "unknown";
}

}  // namespace pycell
