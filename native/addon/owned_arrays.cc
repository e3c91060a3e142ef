#include "addon/owned_arrays.h"

namespace tf::addon {

bool still_attached(Napi::Env env, const Napi::Value& array, size_t length, void** data) {
  napi_value buffer = nullptr;
  size_t current = 0;
  if (napi_get_typedarray_info(env, array, nullptr, &current, data, &buffer, nullptr) != napi_ok) return false;
  bool plain = false, detached = false;
  if (napi_is_arraybuffer(env, buffer, &plain) != napi_ok) return false;
  if (plain && (napi_is_detached_arraybuffer(env, buffer, &detached) != napi_ok || detached)) return false;
  return current == length && (length == 0 || *data != nullptr);
}

}  // namespace tf::addon
