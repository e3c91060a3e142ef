// RMSNorm on the device; same contract as native/kernels/rmsnorm.cc, element math from
// kernels/rmsnorm_math.h.
#include "cuda/check.cuh"
#include "cuda/reduce.cuh"
#include "kernels/rmsnorm_math.h"

namespace tf::cuda {
namespace {

constexpr int kThreads = 256;

// One block per row i. out [N, C], rstd [N], inp [N, C], weight [C]          writes out, rstd
__global__ void rmsnorm_forward_kernel(float* out, float* rstd, const float* inp, const float* weight, int64_t N,
                                       int64_t C, float eps) {
  __shared__ float shared[32];
  const int64_t i = blockIdx.x;
  if (i >= N) return;
  const float* x = inp + i * C;
  float sum_sq = 0.0f;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) sum_sq += x[j] * x[j];
  sum_sq = block_sum(sum_sq, shared);
  const float r = rmsnorm_rstd(sum_sq, static_cast<float>(C), eps);
  float* o = out + i * C;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) o[j] = rmsnorm_out(x[j], r, weight[j]);
  if (threadIdx.x == 0) rstd[i] = r;
}

// One block per row i: dinp[i, :] += rstd_i (weight dout - inp coef_i)       accumulates dinp
__global__ void rmsnorm_backward_inp_kernel(float* dinp, const float* dout, const float* inp, const float* weight,
                                            const float* rstd, int64_t N, int64_t C) {
  __shared__ float shared[32];
  const int64_t i = blockIdx.x;
  if (i >= N) return;
  const float* x = inp + i * C;
  const float* g = dout + i * C;
  float dot = 0.0f;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) dot += g[j] * weight[j] * x[j];
  dot = block_sum(dot, shared);
  const float r = rstd[i];
  const float coef = rmsnorm_backward_coef(dot, r, static_cast<float>(C));
  float* dx = dinp + i * C;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) dx[j] += rmsnorm_dinp(g[j], weight[j], x[j], r, coef);
}

// dweight [C] += sum_i dout[i, :] inp[i, :] rstd[i]                           accumulates dweight
// Block (32 columns x 8 row lanes): lane y sums rows y, y + 8, ... of its column in order,
// then the 8 lane sums are added in lane order (deterministic, no atomics).
__global__ void rmsnorm_backward_weight_kernel(float* dweight, const float* dout, const float* inp, const float* rstd,
                                               int64_t N, int64_t C) {
  __shared__ float partial[8][33];
  const int64_t c = blockIdx.x * 32 + threadIdx.x;
  float s = 0.0f;
  if (c < C)
    for (int64_t i = threadIdx.y; i < N; i += 8) s += rmsnorm_dweight_term(dout[i * C + c], inp[i * C + c], rstd[i]);
  partial[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float total = 0.0f;
    for (int y = 0; y < 8; y++) total += partial[y][threadIdx.x];
    dweight[c] += total;
  }
}

}  // namespace
}  // namespace tf::cuda

using namespace tf::cuda;

extern "C" const char* tfc_rmsnorm_forward(tfc_context* ctx, float* d_out, float* d_rstd, const float* d_inp,
                                           const float* d_weight, int64_t N, int64_t C, float eps) {
  return guarded([&] {
    enter(ctx);
    require_dim(N, "N");
    require_dim(C, "C", 1);
    require(N <= 0x7fffffffLL, "N must be < 2^31 rows");
    require(eps > 0.0f, "eps must be > 0");
    if (N == 0) return;
    rmsnorm_forward_kernel<<<static_cast<unsigned>(N), kThreads, 0, ctx->stream>>>(d_out, d_rstd, d_inp, d_weight, N, C, eps);
    check_launch("rmsnorm_forward_kernel");
  });
}

extern "C" const char* tfc_rmsnorm_backward(tfc_context* ctx, float* d_dinp, float* d_dweight, const float* d_dout,
                                            const float* d_inp, const float* d_weight, const float* d_rstd, int64_t N,
                                            int64_t C) {
  return guarded([&] {
    enter(ctx);
    require_dim(N, "N");
    require_dim(C, "C", 1);
    require(N <= 0x7fffffffLL, "N must be < 2^31 rows");
    if (N == 0) return;
    rmsnorm_backward_inp_kernel<<<static_cast<unsigned>(N), kThreads, 0, ctx->stream>>>(d_dinp, d_dout, d_inp, d_weight, d_rstd, N, C);
    check_launch("rmsnorm_backward_inp_kernel");
    rmsnorm_backward_weight_kernel<<<static_cast<unsigned>((C + 31) / 32), dim3(32, 8), 0, ctx->stream>>>(d_dweight, d_dout, d_inp, d_rstd, N, C);
    check_launch("rmsnorm_backward_weight_kernel");
  });
}
