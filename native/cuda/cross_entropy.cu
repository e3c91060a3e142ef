// Fused softmax + masked cross-entropy on the device; same contract as
// native/kernels/cross_entropy.cc, row formulas from kernels/cross_entropy_math.h.
#include "cuda/check.cuh"
#include "cuda/reduce.cuh"
#include "kernels/cross_entropy_math.h"

namespace tf::cuda {
namespace {

constexpr int kThreads = 256;

// One block per row i of logits [N, V]. Masked row (mask && !mask[i]): loss 0, the target is
// never read, and with backward the row becomes 0. Otherwise row_loss[i] = the row's loss and,
// with backward, logits[i, :] = dloss_scale * (softmax - onehot) in place. An out-of-range
// target (the caller validates, so only a bug gives one) yields a NaN loss, never a bad read.
__global__ void cross_entropy_kernel(float* logits, double* row_loss, float* losses, const uint32_t* targets,
                                     const uint8_t* mask, int64_t N, int64_t V, int backward, float dloss_scale) {
  __shared__ float shared_f[32];
  __shared__ double shared_d[32];
  const int64_t i = blockIdx.x;
  if (i >= N) return;
  float* x = logits + i * V;
  if (mask != nullptr && mask[i] == 0) {
    if (backward)
      for (int64_t j = threadIdx.x; j < V; j += blockDim.x) x[j] = 0.0f;
    if (threadIdx.x == 0) {
      row_loss[i] = 0.0;
      if (losses) losses[i] = 0.0f;
    }
    return;
  }
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) m = fmaxf(m, x[j]);
  const float maxv = block_max(m, shared_f);
  double s = 0.0;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) s += static_cast<double>(expf(x[j] - maxv));
  const double sum = block_sum(s, shared_d);
  const uint32_t target = targets[i];
  const float target_logit = target < V ? x[target] : NAN;
  __syncthreads();  // every thread has read x[target] before the row is overwritten
  if (threadIdx.x == 0) {
    const double loss = cross_entropy_row_loss(maxv, sum, target_logit);
    row_loss[i] = loss;
    if (losses) losses[i] = static_cast<float>(loss);
  }
  if (!backward) return;
  const float factor = cross_entropy_grad_factor(dloss_scale, sum);
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) {
    const float g = expf(x[j] - maxv) * factor;
    x[j] = j == static_cast<int64_t>(target) ? g - dloss_scale : g;
  }
}

// total[0] = sum of row_loss[0:N] in row order (one thread: the order is the CPU's).
__global__ void sum_rows_kernel(double* total, const double* row_loss, int64_t N) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  double s = 0.0;
  for (int64_t i = 0; i < N; i++) s += row_loss[i];
  total[0] = s;
}

}  // namespace
}  // namespace tf::cuda

using namespace tf::cuda;

extern "C" const char* tfc_cross_entropy(tfc_context* ctx, float* d_logits, float* d_losses, const uint32_t* d_targets,
                                         const uint8_t* d_mask, int64_t N, int64_t V, int backward, float dloss_scale,
                                         double* sum) {
  *sum = 0.0;
  return guarded([&] {
    enter(ctx);
    require_dim(N, "N");
    require_dim(V, "V", 1);
    require(N <= 0x7fffffffLL, "N must be < 2^31 rows");
    if (N == 0) return;
    double* partial = static_cast<double*>(scratch_buffer(ctx, sizeof(double) * (static_cast<size_t>(N) + 1)));
    cross_entropy_kernel<<<static_cast<unsigned>(N), kThreads, 0, ctx->stream>>>(d_logits, partial + 1, d_losses, d_targets,
                                                                            d_mask, N, V, backward, dloss_scale);
    check_launch("cross_entropy_kernel");
    sum_rows_kernel<<<1, 1, 0, ctx->stream>>>(partial, partial + 1, N);
    check_launch("sum_rows_kernel");
    check_cuda(cudaMemcpyAsync(sum, partial, sizeof(double), cudaMemcpyDeviceToHost, ctx->stream), "cudaMemcpy (loss)");
    check_cuda(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize (cross_entropy)");
  });
}
