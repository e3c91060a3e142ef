#include "addon/convert.h"

#include "addon/js_error.h"

#include <cmath>
#include <limits>

namespace tf::addon {

void throw_type_error(Napi::Env env, const std::string& message) {
  throw js_error(env, JsErrorClass::TypeError, "E_OPTION", message);
}
void throw_range_error(Napi::Env env, const std::string& message, const char* code) {
  throw js_error(env, JsErrorClass::RangeError, code, message);
}
void throw_error(Napi::Env env, const char* code, const std::string& message) {
  throw js_error(env, JsErrorClass::Error, code, message);
}

void check_finite(Napi::Env env, const float* data, size_t n, const std::string& name) {
  for (size_t i = 0; i < n; i++)
    if (!std::isfinite(data[i]))
      throw_range_error(env, name + " contains a non-finite value (" + std::to_string(data[i]) + ") at index " +
                                 std::to_string(i),
                        "E_NOT_FINITE");
}

void check_ids_below(Napi::Env env, const uint32_t* ids, size_t n, uint32_t limit, const std::string& name) {
  for (size_t i = 0; i < n; i++)
    if (ids[i] >= limit)
      throw_range_error(env, name + "[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                                 " is out of range for a vocabulary of " + std::to_string(limit));
}

int64_t integer(const Napi::Value& value, const std::string& name, int64_t min, int64_t max) {
  Napi::Env env = value.Env();
  if (!value.IsNumber()) throw_type_error(env, name + " must be an integer");
  double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d) throw_type_error(env, name + " must be an integer, got " + std::to_string(d));
  if (d < static_cast<double>(min) || d > static_cast<double>(max))
    throw_range_error(env, name + " must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                               std::to_string(static_cast<long long>(d)));
  return static_cast<int64_t>(d);
}

double number(const Napi::Value& value, const std::string& name) {
  if (!value.IsNumber()) throw_type_error(value.Env(), name + " must be a number");
  double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_range_error(value.Env(), name + " must be finite");
  return d;
}

double number_or_infinity(const Napi::Value& value, const std::string& name) {
  if (!value.IsNumber()) throw_type_error(value.Env(), name + " must be a number");
  double d = value.As<Napi::Number>().DoubleValue();
  if (std::isnan(d)) throw_range_error(value.Env(), name + " must not be NaN");
  return d;
}

bool boolean(const Napi::Value& value, const std::string& name) {
  if (!value.IsBoolean()) throw_type_error(value.Env(), name + " must be a boolean");
  return value.As<Napi::Boolean>().Value();
}

std::string string(const Napi::Value& value, const std::string& name) {
  if (!value.IsString()) throw_type_error(value.Env(), name + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

Napi::Object object(const Napi::Value& value, const std::string& name) {
  if (!value.IsObject()) throw_type_error(value.Env(), name + " must be an object");
  return value.As<Napi::Object>();
}

CancelFlag cancel_flag(const Napi::Value& value, const std::string& name) {
  CancelFlag flag;
  if (value.IsUndefined() || value.IsNull()) return flag;
  View<int32_t> view = typed_array<int32_t>(value, name);
  if (view.length < 1) throw_range_error(value.Env(), name + " must have at least one element");
  napi_value buffer = nullptr;
  bool plain = true;
  if (napi_get_typedarray_info(value.Env(), value, nullptr, nullptr, nullptr, &buffer, nullptr) != napi_ok ||
      napi_is_arraybuffer(value.Env(), buffer, &plain) != napi_ok || plain)
    throw_type_error(value.Env(), name + " must be an Int32Array over a SharedArrayBuffer");
  flag.word = view.data;
  return flag;
}

}  // namespace tf::addon
