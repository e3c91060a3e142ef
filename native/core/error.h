// Errors raised by the native core. The core throws tf::Error for invalid input it detects
// (bad shapes, out-of-range ids, hostile files); native/addon/ catches every exception at the
// boundary and turns it into a JavaScript Error carrying the same message. Hot loops never
// check: arguments are validated before they start.
#pragma once
#include <stdexcept>
#include <string>

namespace tf {

struct Error : std::runtime_error {
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Raised when a long-running operation observes its cancellation flag.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("operation was aborted") {}
};

inline void check(bool ok, const std::string& message) {
  if (!ok) throw Error(message);
}

}  // namespace tf
