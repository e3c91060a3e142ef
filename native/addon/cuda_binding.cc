// The CUDA backend's status for JavaScript: cudaLoad(path) loads tokenfilter_cuda.so (once)
// and returns { available, reason, path, devices: [{ name, memory, capability, ... }] }.
#include <napi.h>

#include "addon/convert.h"
#include "addon/cuda_loader.h"
#include "addon/js_error.h"
#include "addon/registry.h"

namespace tf::addon {
namespace {

Napi::Object device_object(Napi::Env env, const tfc_device_info& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", std::string(d.name));
  o.Set("memory", static_cast<double>(d.memory));
  o.Set("capability", std::to_string(d.major) + "." + std::to_string(d.minor));
  o.Set("multiprocessors", d.multiprocessors);
  o.Set("clockKhz", d.clock_khz);
  return o;
}

// cudaLoad(path: string) → { available, reason, path, devices }
Napi::Value CudaLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CudaStatus& s = cuda_load(string(info[0], "path"));
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", s.available);
  out.Set("reason", s.reason);
  out.Set("path", s.path);
  Napi::Array devices = Napi::Array::New(env, s.devices.size());
  for (size_t i = 0; i < s.devices.size(); i++) devices.Set(static_cast<uint32_t>(i), device_object(env, s.devices[i]));
  out.Set("devices", devices);
  return out;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaLoad", Napi::Function::New(env, guarded<CudaLoad>, "cudaLoad"));
}

Registrar registrar("cuda", Init);

}  // namespace
}  // namespace tf::addon
