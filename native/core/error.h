// Errors raised by the native core. The core throws tf::Error for invalid input it detects
// (bad shapes, out-of-range ids, hostile files); each carries a kind, and native/addon/ catches
// every exception at the boundary and turns it into a JavaScript Error with the same message
// and the kind's stable code (lib/errors.ts). Hot loops never check: arguments are validated
// before they start.
#pragma once
#include <stdexcept>
#include <string>

namespace tf {

// What went wrong, in the terms of lib/errors.ts (each kind maps to one code there).
enum class ErrorKind {
  Option,      // E_OPTION: a bad argument, shape or setting
  NotFinite,   // E_NOT_FINITE: NaN or infinity in an input, a loss or a gradient
  TooLarge,    // E_TOO_LARGE: a size beyond what the package accepts
  State,       // E_STATE: an object used in a state that does not allow it (a busy model)
  Native,      // E_NATIVE: the native core failed (out of memory, thread start-up)
  Device,      // E_DEVICE: a device (CUDA) is unavailable or one of its calls failed
};

// The stable code string of a kind ("E_OPTION", ...).
inline const char* error_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Option: return "E_OPTION";
    case ErrorKind::NotFinite: return "E_NOT_FINITE";
    case ErrorKind::TooLarge: return "E_TOO_LARGE";
    case ErrorKind::State: return "E_STATE";
    case ErrorKind::Native: return "E_NATIVE";
    case ErrorKind::Device: return "E_DEVICE";
  }
  return "E_NATIVE";
}

struct Error : std::runtime_error {
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::Option)
      : std::runtime_error(message), kind(kind) {}
  ErrorKind kind;
};

// Raised when a long-running operation observes its cancellation flag (E_ABORTED).
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("operation was aborted") {}
};

inline void check(bool ok, const std::string& message, ErrorKind kind = ErrorKind::Option) {
  if (!ok) throw Error(message, kind);
}

}  // namespace tf
