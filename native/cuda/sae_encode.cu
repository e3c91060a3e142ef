// SAE encoding on the device: one GEMM, then bias, JumpReLU threshold and a finiteness check
// in one pass (kernels/sae_encode_math.h); same contract as tf::sae_encode_selected. For a TopK
// SAE, tfc_sae_topk then runs the top-k competition per row, as tf::topk_activation.
#include <algorithm>
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

constexpr int kTopkThreads = 256;  // 8 warps (the rank scan below assumes whole warps)

// codes [N, L], in place; one block per row (grid-stride over rows). The k-th largest order key
// (sae_topk_key) is found by radix select, 8 bits per pass from the top: a 256-bin histogram of
// the keys that match the digits chosen so far (integer shared-memory atomics: exact, so the
// result does not depend on scheduling), then the bin where the count from the top reaches the
// winners still needed. After 4 passes `prefix` is that key and `need` how many of the keys
// equal to it win (the lowest indices: a block-wide scan in index order counts them).
__global__ void __launch_bounds__(kTopkThreads) sae_topk_kernel(float* codes, int64_t N, int64_t L, int64_t k) {
  __shared__ uint32_t hist[256];
  __shared__ uint32_t chosen_prefix;
  __shared__ int64_t chosen_need;
  __shared__ int warp_equal[kTopkThreads / 32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int64_t row = blockIdx.x; row < N; row += gridDim.x) {
    float* v = codes + row * L;
    uint32_t prefix = 0, mask = 0;
    int64_t need = k;  // winners still to find among the keys matching prefix under mask
    for (int shift = 24; shift >= 0; shift -= 8) {
      for (int b = threadIdx.x; b < 256; b += kTopkThreads) hist[b] = 0;
      __syncthreads();
      for (int64_t i = threadIdx.x; i < L; i += kTopkThreads) {
        const uint32_t key = sae_topk_key(v[i]);
        if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 0xffu], 1u);
      }
      __syncthreads();
      if (threadIdx.x == 0) {  // the matching keys number >= need >= 1, so a bin is found
        uint32_t p = prefix;
        chosen_need = sae_topk_radix_step(hist, shift, need, &p);
        chosen_prefix = p;
      }
      __syncthreads();
      prefix = chosen_prefix;  // rewritten only after the next pass's two barriers
      need = chosen_need;
      mask |= 0xffu << shift;
    }
    // keep keys above prefix, and the first `need` keys equal to it in index order
    int64_t taken = 0;  // equal keys in the chunks before this one (the same in every thread)
    for (int64_t base = 0; base < L; base += kTopkThreads) {
      const int64_t i = base + threadIdx.x;
      const float x = i < L ? v[i] : 0.0f;
      const uint32_t key = sae_topk_key(x);
      const bool equal = i < L && key == prefix;
      const unsigned ballot = __ballot_sync(0xffffffffu, equal);
      if (lane == 0) warp_equal[warp] = __popc(ballot);
      __syncthreads();
      int64_t rank = taken + __popc(ballot & ((1u << lane) - 1u));
      int chunk = 0;
      for (int q = 0; q < kTopkThreads / 32; q++) {
        if (q < warp) rank += warp_equal[q];
        chunk += warp_equal[q];
      }
      if (i < L) v[i] = sae_topk_kept(key, prefix, rank, need) ? sae_topk_code(x) : 0.0f;
      taken += chunk;
      __syncthreads();  // warp_equal is read by every thread before the next chunk rewrites it
    }
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

extern "C" const char* tfc_sae_topk(tfc_context* ctx, float* d_codes, int64_t N, int64_t L, int64_t k) {
  return guarded([&] {
    enter(ctx);
    require_dim(N, "N");
    require_dim(L, "L", 1);
    require(k >= 1 && k <= L, "k must be in [1, L = " + std::to_string(L) + "], got " + std::to_string(k));
    if (N == 0) return;
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(N, 65535));
    sae_topk_kernel<<<blocks, kTopkThreads, 0, ctx->stream>>>(d_codes, N, L, k);
    check_launch("sae_topk_kernel");
  });
}
