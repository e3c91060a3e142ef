#include "addon/js_error.h"

#include <new>
#include <system_error>

#include "core/error.h"

namespace tf::addon {

Failure failure_of(std::exception_ptr error) {
  Failure f;
  try {
    std::rethrow_exception(error);
  } catch (const tf::Cancelled& e) {
    f = {e.what(), "E_ABORTED", true};
  } catch (const tf::Error& e) {
    f = {e.what(), error_code(e.kind), false};
  } catch (const std::bad_alloc&) {
    f = {"out of memory", "E_NATIVE", false};
  } catch (const std::system_error& e) {
    f = {std::string("native system error: ") + e.what(), "E_NATIVE", false};
  } catch (const std::exception& e) {
    f = {e.what(), "E_NATIVE", false};
  } catch (...) {
    f = {"unknown native error", "E_NATIVE", false};
  }
  return f;
}

Napi::Error js_error(Napi::Env env, JsErrorClass cls, const char* code, const std::string& message) {
  Napi::Error error;
  if (cls == JsErrorClass::TypeError)
    error = Napi::TypeError::New(env, message);
  else if (cls == JsErrorClass::RangeError)
    error = Napi::RangeError::New(env, message);
  else
    error = Napi::Error::New(env, message);
  error.Value().Set("code", Napi::String::New(env, code));
  return error;
}

Napi::Error js_error(Napi::Env env, const Failure& failure) {
  Napi::Error error = js_error(env, JsErrorClass::Error, failure.code, failure.message);
  if (failure.aborted) error.Value().Set("name", Napi::String::New(env, "AbortError"));
  return error;
}

}  // namespace tf::addon
