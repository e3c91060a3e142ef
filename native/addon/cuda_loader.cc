#include "addon/cuda_loader.h"

#include <dlfcn.h>

#include <mutex>

#include "core/error.h"

namespace tf::addon {
namespace {

CudaApi api_table;
CudaStatus status;
std::once_flag once;

// Fills api_table from `handle`; returns the first missing symbol's name, or "" when complete.
std::string resolve(void* handle) {
#define TF_CUDA_FN(name)                                                              \
  api_table.name = reinterpret_cast<decltype(api_table.name)>(dlsym(handle, "tfc_" #name)); \
  if (!api_table.name) return "tfc_" #name;
#include "addon/cuda_functions.inc"
#undef TF_CUDA_FN
  return "";
}

void load(const std::string& path) {
  status.path = path;
  // RTLD_LOCAL: the static CUDA runtime inside stays private to the library
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    status.reason = "no CUDA binary built (" + path + " could not be loaded: " + (why ? why : "unknown") +
                    "); it is built where CMake finds nvcc unless TOKENFILTER_CUDA=0";
    return;
  }
  const std::string missing = resolve(handle);
  if (!missing.empty()) {
    status.reason = "the CUDA binary " + path + " lacks " + missing + " (stale build? rebuild the addon)";
    return;
  }
  if (api_table.abi_version() != TFC_ABI_VERSION) {
    status.reason = "the CUDA binary " + path + " has ABI version " + std::to_string(api_table.abi_version()) +
                    ", the addon expects " + std::to_string(TFC_ABI_VERSION) + " (rebuild the addon)";
    return;
  }
  int count = 0, kind = TFC_PROBE_ERROR;
  const char* error = api_table.probe(&count, &kind);
  if (error) {
    status.reason = std::string(kind == TFC_PROBE_NO_DRIVER ? "no driver: " : kind == TFC_PROBE_NO_DEVICE ? "no device: " : "CUDA probe failed: ") + error;
    return;
  }
  for (int d = 0; d < count; d++) {
    tfc_device_info info{};
    const char* e = api_table.device_info_get(d, &info);
    if (e) {
      status.reason = std::string("cannot read device ") + std::to_string(d) + ": " + e;
      status.devices.clear();
      return;
    }
    status.devices.push_back(info);
  }
  status.available = true;
}

}  // namespace

const CudaStatus& cuda_load(const std::string& path) {
  std::call_once(once, [&] { load(path); });
  return status;
}

const CudaApi* cuda_api() { return status.available ? &api_table : nullptr; }

void cuda_check(const char* error, const char* what) {
  if (error) throw Error(std::string("CUDA ") + what + ": " + error, ErrorKind::Device);
}

}  // namespace tf::addon
