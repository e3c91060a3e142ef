// Loads the CUDA backend (tokenfilter_cuda.so, built only where nvcc was found) on demand with
// dlopen and resolves its C ABI (native/cuda/cuda_api.h) into a table of function pointers.
// The addon itself links nothing of CUDA, so it loads on any machine; a missing library, a
// missing driver or a machine without a device is reported as a reason, never a crash.
//
// The library handle is process-wide (dlopen's own state is); it is loaded at most once, the
// first time a path is given, and stays loaded until the process exits.
#pragma once
#include <string>
#include <vector>

#include "cuda/cuda_api.h"

namespace tf::addon {

// The C ABI as function pointers (names as in cuda_api.h without the tfc_ prefix).
struct CudaApi {
#define TF_CUDA_FN(name) decltype(&tfc_##name) name = nullptr;
#include "addon/cuda_functions.inc"
#undef TF_CUDA_FN
};

struct CudaStatus {
  bool available = false;
  std::string reason;  // why not (empty when available)
  std::string path;    // the library that was tried
  std::vector<tfc_device_info> devices;
};

// Loads the library at `path` (first call) and probes for devices; later calls return the
// first call's result whatever the path. Thread-safe.
const CudaStatus& cuda_load(const std::string& path);

// The resolved ABI, or nullptr unless cuda_load found a usable device.
const CudaApi* cuda_api();

// Throws tf::Error("CUDA <what>: <message>", ErrorKind::Device) (code E_DEVICE) when `error`
// (a C ABI return) is not null.
void cuda_check(const char* error, const char* what);

}  // namespace tf::addon
