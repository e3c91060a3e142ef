// ReLU² on the device; element math from kernels/relu2_math.h (the CPU kernel's tails use the
// same functions).
#include "cuda/check.cuh"
#include "kernels/relu2_math.h"

namespace tf::cuda {
namespace {

// out [n] = max(inp, 0)^2                                                    writes out
__global__ void relu2_forward_kernel(float* out, const float* inp, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = relu2(inp[i]);
}

// dinp [n] = dout * 2 max(inp, 0)                                            writes dinp
__global__ void relu2_backward_kernel(float* dinp, const float* dout, const float* inp, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dinp[i] = relu2_grad(inp[i], dout[i]);
}

}  // namespace
}  // namespace tf::cuda

using namespace tf::cuda;

extern "C" const char* tfc_relu2_forward(tfc_context* ctx, float* d_out, const float* d_inp, int64_t n) {
  return guarded([&] {
    enter(ctx);
    require_dim(n, "n");
    if (n == 0) return;
    relu2_forward_kernel<<<blocks_for(n, 256), 256, 0, ctx->stream>>>(d_out, d_inp, n);
    check_launch("relu2_forward_kernel");
  });
}

extern "C" const char* tfc_relu2_backward(tfc_context* ctx, float* d_dinp, const float* d_dout, const float* d_inp,
                                          int64_t n) {
  return guarded([&] {
    enter(ctx);
    require_dim(n, "n");
    if (n == 0) return;
    relu2_backward_kernel<<<blocks_for(n, 256), 256, 0, ctx->stream>>>(d_dinp, d_dout, d_inp, n);
    check_launch("relu2_backward_kernel");
  });
}
