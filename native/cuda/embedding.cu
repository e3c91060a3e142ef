// Token embedding on the device; same contract as native/kernels/embedding.cc.
#include "cuda/check.cuh"

namespace tf::cuda {
namespace {

// out [N, C] = wte [V, C] rows picked by tokens [N]                        writes out
// An id >= V (the caller validates ids, so only a bug gives one) writes a zero row.
__global__ void embedding_forward_kernel(float* out, const uint32_t* tokens, const float* wte, int64_t N, int64_t C,
                                         int64_t V) {
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < N * C;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = idx / C, c = idx % C;
    const int64_t tok = tokens[i];
    out[idx] = tok < V ? wte[tok * C + c] : 0.0f;
  }
}

// dwte [V, C] += dout [N, C] scattered by tokens [N]                       accumulates dwte
// One thread per column walks the rows in order, as the CPU kernel does: repeated tokens add
// up in the same order (bit-identical to the CPU, no atomics). Ids >= V are skipped.
__global__ void embedding_backward_kernel(float* dwte, const float* dout, const uint32_t* tokens, int64_t N,
                                          int64_t C, int64_t V) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (c >= C) return;
  for (int64_t i = 0; i < N; i++) {
    const int64_t tok = tokens[i];
    if (tok < V) dwte[tok * C + c] += dout[i * C + c];
  }
}

}  // namespace
}  // namespace tf::cuda

using namespace tf::cuda;

extern "C" const char* tfc_embedding_forward(tfc_context* ctx, float* d_out, const uint32_t* d_tokens,
                                             const float* d_wte, int64_t N, int64_t C, int64_t V) {
  return guarded([&] {
    enter(ctx);
    require_dim(N, "N");
    require_dim(C, "C", 1);
    require_dim(V, "V", 1);
    if (N == 0) return;
    embedding_forward_kernel<<<blocks_for(N * C, 256), 256, 0, ctx->stream>>>(d_out, d_tokens, d_wte, N, C, V);
    check_launch("embedding_forward_kernel");
  });
}

extern "C" const char* tfc_embedding_backward(tfc_context* ctx, float* d_dwte, const float* d_dout,
                                              const uint32_t* d_tokens, int64_t N, int64_t C, int64_t V) {
  return guarded([&] {
    enter(ctx);
    require_dim(N, "N");
    require_dim(C, "C", 1);
    require_dim(V, "V", 1);
    if (N == 0) return;
    embedding_backward_kernel<<<static_cast<unsigned>((C + 127) / 128), 128, 0, ctx->stream>>>(d_dwte, d_dout, d_tokens, N, C, V);
    check_launch("embedding_backward_kernel");
  });
}
