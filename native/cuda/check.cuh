// Internal to tokenfilter_cuda.so: the context behind tfc_context, CUDA status checks that
// throw, and `guarded`, which turns every exception into the C ABI's error-string return.
// Nothing here is global mutable state except the per-thread error buffer.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/cuda_api.h"

struct tfc_context {
  int device = 0;
  cudaStream_t stream = nullptr;
  // Scratch for one op at a time (per-block partial sums, per-row losses, attention's D),
  // grown on demand and freed with the context.
  void* d_scratch = nullptr;
  size_t scratch_bytes = 0;
  size_t max_dynamic_smem = 0;  // bytes of shared memory a block may opt in to
  int multiprocessors = 0;      // SMs of the device (the GEMM's kernel choice)
};

namespace tf::cuda {

struct CudaError : std::runtime_error {
  explicit CudaError(const std::string& message) : std::runtime_error(message) {}
};

// Throws CudaError "what: cudaErrorName (description)" unless status is cudaSuccess.
inline void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw CudaError(std::string(what) + ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

// Throws CudaError(message) unless ok (argument checks before any launch).
inline void require(bool ok, const std::string& message) {
  if (!ok) throw CudaError(message);
}

// After a launch: a bad configuration or an earlier asynchronous fault surfaces here.
inline void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

// Stores message in the calling thread's error buffer and returns it.
const char* fail(const std::string& message);

// Makes ctx's device current for the calling thread.
void enter(tfc_context* ctx);

// ctx's scratch, grown to at least `bytes` (contents undefined; valid until the next call).
void* scratch_buffer(tfc_context* ctx, size_t bytes);

// Runs f(); returns nullptr, or the message of whatever it threw (never lets one escape).
template <typename F>
const char* guarded(F&& f) noexcept {
  try {
    f();
    return nullptr;
  } catch (const std::exception& e) {
    return fail(e.what());
  } catch (...) {
    return fail("unknown error in the CUDA backend");
  }
}

// Blocks for a grid-stride loop over n elements: at most 65535 * 8 blocks of `threads`.
inline unsigned blocks_for(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65535 * 8) b = 65535 * 8;
  return static_cast<unsigned>(b);
}

// Non-negative dimension check with the argument's name in the message.
inline void require_dim(int64_t value, const char* name, int64_t min = 0) {
  if (value < min) throw CudaError(std::string(name) + " must be >= " + std::to_string(min) + ", got " + std::to_string(value));
}

// Sets the dynamic shared-memory limit of `kernel` to `bytes`, or throws naming `what` when the
// device cannot give that much.
template <typename Kernel>
void allow_shared_memory(tfc_context* ctx, Kernel kernel, size_t bytes, const char* what) {
  require(bytes <= ctx->max_dynamic_smem, std::string(what) + " needs " + std::to_string(bytes) +
                                              " bytes of shared memory per block; the device allows " +
                                              std::to_string(ctx->max_dynamic_smem));
  if (bytes > 48 * 1024)
    check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
               what);
}

}  // namespace tf::cuda
