// Native failures as JavaScript errors with a stable `code` (lib/errors.ts). Every Error,
// TypeError and RangeError the addon throws or rejects with is made here: argument checks
// (convert.h) give E_OPTION or E_NOT_FINITE, and any C++ exception escaping the core is mapped
// by its kind: tf::Error by ErrorKind, tf::Cancelled to E_ABORTED (named 'AbortError'),
// std::bad_alloc and thread start-up failures (std::system_error) to E_NATIVE.
#pragma once
#include <napi.h>

#include <exception>
#include <string>

namespace tf::addon {

// Which JS class an error is made as.
enum class JsErrorClass { Error, TypeError, RangeError };

// A failure captured off the JS thread (an AsyncWorker's Execute), made into a JS Error later.
struct Failure {
  std::string message;
  const char* code = "E_NATIVE";
  bool aborted = false;
};

// Classifies an exception: its message, code and whether it is a cancellation.
Failure failure_of(std::exception_ptr error);

// A JS error of class `cls` with `message` and a `code` property.
Napi::Error js_error(Napi::Env env, JsErrorClass cls, const char* code, const std::string& message);
// The JS form of a captured failure (an Error; named 'AbortError' when it was a cancellation).
Napi::Error js_error(Napi::Env env, const Failure& failure);

// Runs f(); a C++ exception other than a Napi::Error leaves as a coded JS Error.
template <typename F>
auto guard(Napi::Env env, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw js_error(env, failure_of(std::current_exception()));
  }
}

// A Napi callback wrapped in guard: `Napi::Function::New(env, guarded<Fn>, "name")`.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&] { return Fn(info); });
}

}  // namespace tf::addon
