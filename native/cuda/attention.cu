// Causal multi-head self-attention on the device with a streaming (online) softmax over key
// tiles, flash-style: no [T, T] matrix exists. Same layout and contract as
// native/kernels/attention.cc:
//   qkv [B, T, 3C] (q | k | v, head h = columns [h hs, (h+1) hs) of each), out [B, T, C],
//   lse [B, NH, T] = log-sum-exp of the scaled scores of each query row (saved for backward),
//   scale = 1/sqrt(hs), position t attends to positions <= t.
// Written simply (one thread per query or key row, tiles of 32 rows staged in shared memory,
// rows padded to hs + 1 floats against bank conflicts), every index bounds-checked; backward
// recomputes p = exp(s - lse) from q, k and lse, and uses no atomics (deterministic):
//   forward      one block per (b, h, 32 query rows), keys streamed in tiles of 32
//   backward D   D_i = dout_i . out_i
//   backward dq  one block per (b, h, 32 query rows):  dq_i = scale sum_{j<=i} ds_ij k_j
//   backward dkv one block per (b, h, 32 key rows):    dk_j = scale sum_{i>=j} ds_ij q_i,
//                                                      dv_j = sum_{i>=j} p_ij dout_i
//   with ds_ij = p_ij (dout_i . v_j - D_i).
#include <cmath>

#include "cuda/check.cuh"
#include "kernels/attention_math.h"

namespace tf::cuda {
namespace {

constexpr int kRows = 32;  // query rows per block (= threads per block) and keys per tile

struct Geometry {
  int64_t B, T, C, NH, hs;
  float scale;
  __device__ int64_t ld() const { return hs + 1; }                  // padded shared-memory row
  __device__ int64_t qkv_row(int64_t b, int64_t t) const { return (b * T + t) * 3 * C; }
};

// rows [t0, t0 + kRows) of one head's slice (column offset col, row stride ld_src) into
// dst [kRows, g.ld()] times `mul`; rows past T are zero. All threads of the block take part.
__device__ void stage_rows(float* dst, const float* src, int64_t ld_src, int64_t col, int64_t t0, int64_t row0,
                           const Geometry& g, float mul) {
  const int64_t ld = g.ld();
  for (int64_t e = threadIdx.x; e < kRows * g.hs; e += blockDim.x) {
    const int64_t r = e / g.hs, d = e % g.hs, t = t0 + r;
    dst[r * ld + d] = t < g.T ? src[(row0 + t) * ld_src + col + d] * mul : 0.0f;
  }
}

__device__ __forceinline__ float dot(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t d = 0; d < n; d++) s += a[d] * b[d];
  return s;
}

// smem: Q, K, V, O tiles [kRows, hs + 1] each
__global__ void attention_forward_kernel(float* out, float* lse, const float* qkv, Geometry g) {
  extern __shared__ float smem[];
  const int64_t ld = g.ld(), hs = g.hs, C = g.C;
  float* Q = smem;
  float* K = Q + kRows * ld;
  float* V = K + kRows * ld;
  float* O = V + kRows * ld;
  const int64_t b = blockIdx.z, h = blockIdx.y, i0 = int64_t(blockIdx.x) * kRows;
  const int r = threadIdx.x;
  const int64_t i = i0 + r;
  const int64_t row0 = b * g.T, C3 = 3 * C;
  stage_rows(Q, qkv, C3, h * hs, i0, row0, g, g.scale);  // scale folded into q, as on the CPU
  for (int64_t d = 0; d < hs; d++) O[r * ld + d] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  const int64_t last = (i0 + kRows < g.T ? i0 + kRows : g.T) - 1;  // last query row of the block
  for (int64_t j0 = 0; j0 <= last; j0 += kRows) {
    __syncthreads();  // the previous tile is no longer read
    stage_rows(K, qkv, C3, C + h * hs, j0, row0, g, 1.0f);
    stage_rows(V, qkv, C3, 2 * C + h * hs, j0, row0, g, 1.0f);
    __syncthreads();
    const int64_t valid = i < g.T ? (i - j0 + 1 < kRows ? i - j0 + 1 : kRows) : 0;  // keys j0.. visible to i
    if (valid <= 0) continue;
    float p[kRows];
    float mx = -INFINITY;
#pragma unroll
    for (int c = 0; c < kRows; c++) {
      p[c] = c < valid ? dot(Q + r * ld, K + c * ld, hs) : -INFINITY;
      mx = fmaxf(mx, p[c]);
    }
    const float m_new = fmaxf(m, mx);
    const float correction = expf(m - m_new);  // 0 on the first tile (m = -inf)
    float sum = 0.0f;
#pragma unroll
    for (int c = 0; c < kRows; c++) {
      p[c] = c < valid ? expf(p[c] - m_new) : 0.0f;
      sum += p[c];
    }
    l = l * correction + sum;
    m = m_new;
    for (int64_t d = 0; d < hs; d++) {
      float acc = O[r * ld + d] * correction;
#pragma unroll
      for (int c = 0; c < kRows; c++) acc += p[c] * V[c * ld + d];
      O[r * ld + d] = acc;
    }
  }
  if (i >= g.T) return;
  const float inv = 1.0f / l;
  float* y = out + (row0 + i) * C + h * hs;
  for (int64_t d = 0; d < hs; d++) y[d] = O[r * ld + d] * inv;
  lse[(b * g.NH + h) * g.T + i] = attention_lse(m, l);
}

// D [B, NH, T]: D[b, h, i] = dout[b, i, h] . out[b, i, h]
__global__ void attention_delta_kernel(float* D, const float* dout, const float* out, Geometry g) {
  const int64_t rows = g.B * g.NH * g.T;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < rows; idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = idx % g.T, h = idx / g.T % g.NH, b = idx / (g.T * g.NH);
    const int64_t at = (b * g.T + i) * g.C + h * g.hs;
    D[idx] = dot(dout + at, out + at, g.hs);
  }
}

// smem: Q (scaled), dO, K, V, dQ tiles [kRows, hs + 1]. Writes the q part of dqkv.
__global__ void attention_dq_kernel(float* dqkv, const float* dout, const float* qkv, const float* lse, const float* D,
                                    Geometry g) {
  extern __shared__ float smem[];
  const int64_t ld = g.ld(), hs = g.hs, C = g.C, C3 = 3 * C;
  float* Q = smem;
  float* dO = Q + kRows * ld;
  float* K = dO + kRows * ld;
  float* V = K + kRows * ld;
  float* dQ = V + kRows * ld;
  const int64_t b = blockIdx.z, h = blockIdx.y, i0 = int64_t(blockIdx.x) * kRows;
  const int r = threadIdx.x;
  const int64_t i = i0 + r, row0 = b * g.T;
  stage_rows(Q, qkv, C3, h * hs, i0, row0, g, g.scale);
  stage_rows(dO, dout, C, h * hs, i0, row0, g, 1.0f);
  for (int64_t d = 0; d < hs; d++) dQ[r * ld + d] = 0.0f;
  const float L = i < g.T ? lse[(b * g.NH + h) * g.T + i] : 0.0f;
  const float Di = i < g.T ? D[(b * g.NH + h) * g.T + i] : 0.0f;
  const int64_t last = (i0 + kRows < g.T ? i0 + kRows : g.T) - 1;
  for (int64_t j0 = 0; j0 <= last; j0 += kRows) {
    __syncthreads();
    stage_rows(K, qkv, C3, C + h * hs, j0, row0, g, 1.0f);
    stage_rows(V, qkv, C3, 2 * C + h * hs, j0, row0, g, 1.0f);
    __syncthreads();
    const int64_t valid = i < g.T ? (i - j0 + 1 < kRows ? i - j0 + 1 : kRows) : 0;
    for (int64_t c = 0; c < valid; c++) {
      const float p = expf(dot(Q + r * ld, K + c * ld, hs) - L);
      const float ds = attention_ds(p, dot(dO + r * ld, V + c * ld, hs), Di);
      for (int64_t d = 0; d < hs; d++) dQ[r * ld + d] += ds * K[c * ld + d];
    }
  }
  if (i >= g.T) return;
  float* dq = dqkv + g.qkv_row(b, i) + h * hs;
  for (int64_t d = 0; d < hs; d++) dq[d] = dQ[r * ld + d] * g.scale;
}

// smem: K, V, dK, dV (own keys), Q (scaled), dO (query tile) [kRows, hs + 1], then lse and D
// of the query tile [kRows] each. Writes the k and v parts of dqkv.
__global__ void attention_dkv_kernel(float* dqkv, const float* dout, const float* qkv, const float* lse, const float* D,
                                     Geometry g) {
  extern __shared__ float smem[];
  const int64_t ld = g.ld(), hs = g.hs, C = g.C, C3 = 3 * C;
  float* K = smem;
  float* V = K + kRows * ld;
  float* dK = V + kRows * ld;
  float* dV = dK + kRows * ld;
  float* Q = dV + kRows * ld;
  float* dO = Q + kRows * ld;
  float* Lt = dO + kRows * ld;
  float* Dt = Lt + kRows;
  const int64_t b = blockIdx.z, h = blockIdx.y, j0 = int64_t(blockIdx.x) * kRows;
  const int c = threadIdx.x;
  const int64_t j = j0 + c, row0 = b * g.T;
  stage_rows(K, qkv, C3, C + h * hs, j0, row0, g, 1.0f);
  stage_rows(V, qkv, C3, 2 * C + h * hs, j0, row0, g, 1.0f);
  for (int64_t d = 0; d < hs; d++) dK[c * ld + d] = dV[c * ld + d] = 0.0f;
  for (int64_t i0 = j0; i0 < g.T; i0 += kRows) {  // query tiles from the diagonal on
    __syncthreads();
    stage_rows(Q, qkv, C3, h * hs, i0, row0, g, g.scale);
    stage_rows(dO, dout, C, h * hs, i0, row0, g, 1.0f);
    const int64_t i = i0 + threadIdx.x;
    Lt[threadIdx.x] = i < g.T ? lse[(b * g.NH + h) * g.T + i] : 0.0f;
    Dt[threadIdx.x] = i < g.T ? D[(b * g.NH + h) * g.T + i] : 0.0f;
    __syncthreads();
    if (j >= g.T) continue;
    for (int64_t r = 0; r < kRows; r++) {
      const int64_t qi = i0 + r;
      if (qi >= g.T || qi < j) continue;  // past the end, or a query that cannot see key j
      const float p = expf(dot(Q + r * ld, K + c * ld, hs) - Lt[r]);
      const float ds = attention_ds(p, dot(dO + r * ld, V + c * ld, hs), Dt[r]);
      for (int64_t d = 0; d < hs; d++) {
        dV[c * ld + d] += p * dO[r * ld + d];
        dK[c * ld + d] += ds * Q[r * ld + d];  // Q holds scale * q: dk = scale sum ds q
      }
    }
  }
  if (j >= g.T) return;
  float* dk = dqkv + g.qkv_row(b, j) + C + h * hs;
  for (int64_t d = 0; d < hs; d++) {
    dk[d] = dK[c * ld + d];
    dk[C + d] = dV[c * ld + d];
  }
}

Geometry make_geometry(int64_t B, int64_t T, int64_t C, int64_t NH) {
  require_dim(B, "B");
  require_dim(T, "T");
  require_dim(NH, "NH", 1);
  require(C >= NH && C % NH == 0, "C (" + std::to_string(C) + ") must be a positive multiple of NH (" + std::to_string(NH) + ")");
  require(B <= 65535 && NH <= 65535, "B and NH must be <= 65535");
  Geometry g{B, T, C, NH, C / NH, 0.0f};
  g.scale = 1.0f / sqrtf(static_cast<float>(g.hs));
  return g;
}

dim3 grid_for(const Geometry& g) {
  return dim3(static_cast<unsigned>((g.T + kRows - 1) / kRows), static_cast<unsigned>(g.NH), static_cast<unsigned>(g.B));
}

size_t tiles_bytes(const Geometry& g, int tiles, int vectors) {
  return (static_cast<size_t>(tiles) * kRows * (g.hs + 1) + static_cast<size_t>(vectors) * kRows) * sizeof(float);
}

}  // namespace
}  // namespace tf::cuda

using namespace tf::cuda;

extern "C" const char* tfc_attention_forward(tfc_context* ctx, float* d_out, float* d_lse, const float* d_qkv, int64_t B,
                                             int64_t T, int64_t C, int64_t NH) {
  return guarded([&] {
    enter(ctx);
    const Geometry g = make_geometry(B, T, C, NH);
    if (B == 0 || T == 0) return;
    const size_t bytes = tiles_bytes(g, 4, 0);
    allow_shared_memory(ctx, attention_forward_kernel, bytes, "attention_forward_kernel");
    attention_forward_kernel<<<grid_for(g), kRows, bytes, ctx->stream>>>(d_out, d_lse, d_qkv, g);
    check_launch("attention_forward_kernel");
  });
}

extern "C" const char* tfc_attention_backward(tfc_context* ctx, float* d_dqkv, const float* d_dout, const float* d_qkv,
                                              const float* d_out, const float* d_lse, int64_t B, int64_t T, int64_t C,
                                              int64_t NH) {
  return guarded([&] {
    enter(ctx);
    const Geometry g = make_geometry(B, T, C, NH);
    if (B == 0 || T == 0) return;
    float* D = static_cast<float*>(scratch_buffer(ctx, sizeof(float) * static_cast<size_t>(B * NH * T)));
    attention_delta_kernel<<<blocks_for(B * NH * T, 256), 256, 0, ctx->stream>>>(D, d_dout, d_out, g);
    check_launch("attention_delta_kernel");
    const size_t dq_bytes = tiles_bytes(g, 5, 0), dkv_bytes = tiles_bytes(g, 6, 2);
    allow_shared_memory(ctx, attention_dq_kernel, dq_bytes, "attention_dq_kernel");
    allow_shared_memory(ctx, attention_dkv_kernel, dkv_bytes, "attention_dkv_kernel");
    attention_dq_kernel<<<grid_for(g), kRows, dq_bytes, ctx->stream>>>(d_dqkv, d_dout, d_qkv, d_lse, D, g);
    check_launch("attention_dq_kernel");
    attention_dkv_kernel<<<grid_for(g), kRows, dkv_bytes, ctx->stream>>>(d_dqkv, d_dout, d_qkv, d_lse, D, g);
    check_launch("attention_dkv_kernel");
  });
}
