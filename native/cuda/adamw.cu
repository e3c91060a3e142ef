// AdamW and the gradient norm on the device; same contracts as native/kernels/adamw.cc and
// norm.cc, the update from kernels/adamw_math.h (constants computed on the host as on the CPU).
#include "cuda/check.cuh"
#include "cuda/reduce.cuh"
#include "kernels/adamw_math.h"

namespace tf::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kChunk = 1 << 16;  // floats per partial sum of squares (fixed: deterministic)

// params, grads, m, v [n]: one AdamW step, m, v, params updated in place
__global__ void adamw_kernel(float* params, const float* grads, float* m, float* v, int64_t n, AdamWConstants k) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    adamw_element(params[i], grads[i], m[i], v[i], k);
}

// partial[b] = sum over chunk b of x[i]^2 in double (one block per chunk)
__global__ void sum_of_squares_kernel(double* partial, const float* x, int64_t n) {
  __shared__ double shared[32];
  const int64_t begin = blockIdx.x * kChunk;
  const int64_t end = begin + kChunk < n ? begin + kChunk : n;
  double s = 0.0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) s += static_cast<double>(x[i]) * x[i];
  s = block_sum(s, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// total[0] = partial[0] + ... + partial[count - 1] in order
__global__ void sum_partials_kernel(double* total, const double* partial, int64_t count) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  double s = 0.0;
  for (int64_t i = 0; i < count; i++) s += partial[i];
  total[0] = s;
}

}  // namespace
}  // namespace tf::cuda

using namespace tf::cuda;

extern "C" const char* tfc_adamw(tfc_context* ctx, float* d_params, const float* d_grads, float* d_m, float* d_v,
                                 int64_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                                 int64_t step, float grad_scale) {
  return guarded([&] {
    enter(ctx);
    require_dim(n, "n");
    require(step >= 1, "step must be >= 1 (bias correction), got " + std::to_string(step));
    if (n == 0) return;
    const tf::AdamWConstants k = tf::adamw_constants(lr, beta1, beta2, eps, weight_decay, step, grad_scale);
    adamw_kernel<<<blocks_for(n, kThreads), kThreads, 0, ctx->stream>>>(d_params, d_grads, d_m, d_v, n, k);
    check_launch("adamw_kernel");
  });
}

extern "C" const char* tfc_sum_of_squares(tfc_context* ctx, const float* d_x, int64_t n, double* out) {
  *out = 0.0;
  return guarded([&] {
    enter(ctx);
    require_dim(n, "n");
    if (n == 0) return;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    require(chunks <= 0x7fffffffLL, "n too large");
    double* partial = static_cast<double*>(scratch_buffer(ctx, sizeof(double) * (static_cast<size_t>(chunks) + 1)));
    sum_of_squares_kernel<<<static_cast<unsigned>(chunks), kThreads, 0, ctx->stream>>>(partial + 1, d_x, n);
    check_launch("sum_of_squares_kernel");
    sum_partials_kernel<<<1, 1, 0, ctx->stream>>>(partial, partial + 1, chunks);
    check_launch("sum_partials_kernel");
    check_cuda(cudaMemcpyAsync(out, partial, sizeof(double), cudaMemcpyDeviceToHost, ctx->stream), "cudaMemcpy (sum)");
    check_cuda(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize (sum_of_squares)");
  });
}
