// Largest token id of a Uint16Array or Uint32Array, so shard readers and writers can check a
// whole shard against the vocabulary at memory speed (a JS loop runs at a fraction of it).
#include <napi.h>

#include <cstdint>

#include "addon/convert.h"
#include "addon/js_error.h"
#include "addon/registry.h"

namespace tf::addon {
namespace {

template <typename T>
uint32_t max_of(const T* ids, size_t n) {
  // four independent maxima let the compiler vectorise without reassociation concerns
  uint32_t m0 = 0, m1 = 0, m2 = 0, m3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    m0 = ids[i] > m0 ? ids[i] : m0;
    m1 = ids[i + 1] > m1 ? ids[i + 1] : m1;
    m2 = ids[i + 2] > m2 ? ids[i + 2] : m2;
    m3 = ids[i + 3] > m3 ? ids[i + 3] : m3;
  }
  for (; i < n; i++) m0 = ids[i] > m0 ? ids[i] : m0;
  m0 = m1 > m0 ? m1 : m0;
  m2 = m3 > m2 ? m3 : m2;
  return m2 > m0 ? m2 : m0;
}

// maxTokenId(ids: Uint16Array | Uint32Array) → largest id, or -1 for an empty array.
Napi::Value MaxTokenId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value value = info[0];
  if (!value.IsTypedArray()) throw_type_error(env, "ids must be a Uint16Array or Uint32Array");
  auto type = value.As<Napi::TypedArray>().TypedArrayType();
  if (type == napi_uint16_array) {
    View<uint16_t> ids = typed_array<uint16_t>(value, "ids");
    return Napi::Number::New(env, ids.length == 0 ? -1.0 : static_cast<double>(max_of(ids.data, ids.length)));
  }
  if (type == napi_uint32_array) {
    View<uint32_t> ids = typed_array<uint32_t>(value, "ids");
    return Napi::Number::New(env, ids.length == 0 ? -1.0 : static_cast<double>(max_of(ids.data, ids.length)));
  }
  throw_type_error(env, "ids must be a Uint16Array or Uint32Array");
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("maxTokenId", Napi::Function::New(env, guarded<MaxTokenId>, "maxTokenId"));
}

Registrar registrar("token_ids", Init);

}  // namespace
}  // namespace tf::addon
