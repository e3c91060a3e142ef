// SAE encoding on the device: one GEMM, then bias, JumpReLU threshold and a finiteness check
// in one pass (kernels/sae_encode_math.h); same contract as tf::sae_encode_selected.
#include <cmath>

#include "cuda/check.cuh"
#include "kernels/sae_encode_math.h"

namespace tf::cuda {
namespace {

// out [N, S]: out = jumprelu(out + b, threshold) per column; *nonfinite = 1 if any out + b is
// NaN or infinite (an integer flag: every writer writes the same value).
__global__ void sae_epilogue_kernel(float* out, int64_t N, int64_t S, const float* b, const float* threshold,
                                    int* nonfinite) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < N * S; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t s = i % S;
    const float v = out[i] + b[s];
    if (!isfinite(v)) *nonfinite = 1;
    out[i] = sae_jumprelu(v, threshold[s]);
  }
}

}  // namespace
}  // namespace tf::cuda

using namespace tf::cuda;

extern "C" const char* tfc_sae_encode(tfc_context* ctx, const float* d_x, int64_t N, int64_t D, float scale,
                                      const float* d_w, const float* d_b, const float* d_threshold, int64_t S,
                                      float* d_out, int precision, int* finite) {
  *finite = 0;
  return guarded([&] {
    enter(ctx);
    require_dim(N, "N");
    require_dim(D, "D", 1);
    require_dim(S, "S", 1);
    if (N == 0) {
      *finite = 1;
      return;
    }
    const char* e = tfc_gemm(ctx, 0, 0, N, S, D, scale, d_x, D, d_w, S, 0.0f, d_out, S, precision);
    if (e) throw CudaError(std::string("gemm: ") + e);
    int* flag = static_cast<int*>(scratch_buffer(ctx, sizeof(int)));
    check_cuda(cudaMemsetAsync(flag, 0, sizeof(int), ctx->stream), "cudaMemset (flag)");
    sae_epilogue_kernel<<<blocks_for(N * S, 256), 256, 0, ctx->stream>>>(d_out, N, S, d_b, d_threshold, flag);
    check_launch("sae_epilogue_kernel");
    int nonfinite = 0;
    check_cuda(cudaMemcpyAsync(&nonfinite, flag, sizeof(int), cudaMemcpyDeviceToHost, ctx->stream), "cudaMemcpy (flag)");
    check_cuda(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize (sae_encode)");
    *finite = nonfinite ? 0 : 1;
  });
}
