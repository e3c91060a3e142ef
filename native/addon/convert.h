// Conversions between JavaScript values and the plain C++ the core takes. Every check that
// guards memory (element type, length against a shape, index range) happens here, and each
// failure throws a JS TypeError or RangeError whose message names the argument and whose
// `code` is E_OPTION (E_NOT_FINITE for NaN / infinity; js_error.h).
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace tf::addon {

[[noreturn]] void throw_type_error(Napi::Env env, const std::string& message);
[[noreturn]] void throw_range_error(Napi::Env env, const std::string& message, const char* code = "E_OPTION");
// A plain Error with a code, e.g. E_STATE for a busy model.
[[noreturn]] void throw_error(Napi::Env env, const char* code, const std::string& message);

// A typed array's data and element count; the JS object must be kept alive by the caller
// (or by a Napi::Reference held for an async worker's lifetime).
template <typename T>
struct View {
  T* data = nullptr;
  size_t length = 0;
};

template <typename T>
struct TypedArrayTraits;
template <> struct TypedArrayTraits<float> { static constexpr napi_typedarray_type type = napi_float32_array; static constexpr const char* name = "Float32Array"; };
template <> struct TypedArrayTraits<double> { static constexpr napi_typedarray_type type = napi_float64_array; static constexpr const char* name = "Float64Array"; };
template <> struct TypedArrayTraits<uint32_t> { static constexpr napi_typedarray_type type = napi_uint32_array; static constexpr const char* name = "Uint32Array"; };
template <> struct TypedArrayTraits<int32_t> { static constexpr napi_typedarray_type type = napi_int32_array; static constexpr const char* name = "Int32Array"; };
template <> struct TypedArrayTraits<uint16_t> { static constexpr napi_typedarray_type type = napi_uint16_array; static constexpr const char* name = "Uint16Array"; };
template <> struct TypedArrayTraits<uint8_t> { static constexpr napi_typedarray_type type = napi_uint8_array; static constexpr const char* name = "Uint8Array"; };

// Throws a TypeError naming `name` unless `value` is a typed array of element type T.
template <typename T>
View<T> typed_array(const Napi::Value& value, const std::string& name) {
  Napi::Env env = value.Env();
  if (!value.IsTypedArray())
    throw_type_error(env, name + " must be a " + TypedArrayTraits<T>::name);
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  if (array.TypedArrayType() != TypedArrayTraits<T>::type)
    throw_type_error(env, name + " must be a " + TypedArrayTraits<T>::name);
  // napi_get_typedarray_info's data pointer (already offset) also works for typed arrays over a
  // SharedArrayBuffer, where Napi::ArrayBuffer::Data() fails with "Invalid argument".
  void* data = nullptr;
  size_t length = 0;
  napi_status status = napi_get_typedarray_info(env, array, nullptr, &length, &data, nullptr, nullptr);
  if (status != napi_ok) throw_type_error(env, name + " could not be read as a " + TypedArrayTraits<T>::name);
  View<T> view;
  view.length = length;
  view.data = static_cast<T*>(data);
  return view;
}

// As typed_array, and the length must equal `expected` (a RangeError says both numbers).
template <typename T>
View<T> typed_array(const Napi::Value& value, const std::string& name, size_t expected) {
  View<T> view = typed_array<T>(value, name);
  if (view.length != expected)
    throw_range_error(value.Env(), name + " has length " + std::to_string(view.length) + ", expected " +
                                       std::to_string(expected));
  return view;
}

// Throws a RangeError (E_NOT_FINITE) naming `name` and the first offending index if any element is NaN/inf.
void check_finite(Napi::Env env, const float* data, size_t n, const std::string& name);
// Throws a RangeError if any id is >= limit.
void check_ids_below(Napi::Env env, const uint32_t* ids, size_t n, uint32_t limit, const std::string& name);

// Integer argument in [min, max] (a TypeError if not an integer, RangeError if out of range).
int64_t integer(const Napi::Value& value, const std::string& name, int64_t min, int64_t max);
double number(const Napi::Value& value, const std::string& name);
// A number that may also be +Infinity (e.g. a threshold that flags nothing); NaN is refused.
double number_or_infinity(const Napi::Value& value, const std::string& name);
bool boolean(const Napi::Value& value, const std::string& name);
std::string string(const Napi::Value& value, const std::string& name);
Napi::Object object(const Napi::Value& value, const std::string& name);

// A cancellation flag shared with JavaScript: an Int32Array of length >= 1 over a
// SharedArrayBuffer; JS sets element 0 to non-zero (Atomics.store) when an AbortSignal fires.
// A worker thread reads the word while JS runs, so an ordinary ArrayBuffer (which JS could
// detach, freeing the word) is refused; a SharedArrayBuffer cannot be detached.
struct CancelFlag {
  int32_t* word = nullptr;
  bool cancelled() const { return word && __atomic_load_n(word, __ATOMIC_RELAXED) != 0; }
};
CancelFlag cancel_flag(const Napi::Value& value, const std::string& name);

}  // namespace tf::addon
