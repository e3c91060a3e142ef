// Our own GEMMs (no cuBLAS in our package sources), same contract as native/kernels/gemm.h:
//   C[M, N] = alpha * op(A)[M, K] · op(B)[K, N] + beta * C[M, N], row-major, beta == 0: C not read.
// Two kernel families, both tiled 64 x 64 through shared memory with every global index
// bounds-checked (edge tiles are zero-filled, so any M, N, K and leading dimension works):
// - fp32: 256 threads, each accumulating a 4 x 4 grid of C in registers (plain FFMA).
// - tensor cores (WMMA): 4 warps, each a 32 x 32 quarter of the tile as 2 x 2 fragments of
//   16 x 16; inputs are rounded to bf16 or tf32 as they enter shared memory ("autocast" with
//   fp32 master values), accumulation is fp32.
// These are the "simple" kernels (TFC_GEMM_SIMPLE): every fp32 GEMM, and the bf16 / tf32 GEMMs
// too small for the 128 x 128 tensor-core kernel of gemm_tiled.cu (TFC_GEMM_TILED; the choice:
// tiled_preferred in gemm_tiled.cuh); tfc_gemm_with names the kernel for tests and benchmarks.
#include <cuda_bf16.h>
#include <mma.h>

#include "cuda/check.cuh"
#include "cuda/gemm_tiled.cuh"

namespace tf::cuda {
namespace {

constexpr int kTile = 64;

// op(A)[i, k] and op(B)[k, j], zero outside [M, K] / [K, N]
__device__ __forceinline__ float load_a(const float* A, int64_t lda, bool ta, int64_t i, int64_t k, int64_t M, int64_t K) {
  if (i >= M || k >= K) return 0.0f;
  return ta ? A[k * lda + i] : A[i * lda + k];
}
__device__ __forceinline__ float load_b(const float* B, int64_t ldb, bool tb, int64_t k, int64_t j, int64_t K, int64_t N) {
  if (k >= K || j >= N) return 0.0f;
  return tb ? B[j * ldb + k] : B[k * ldb + j];
}
__device__ __forceinline__ void store_c(float* C, int64_t ldc, int64_t i, int64_t j, float value, float alpha, float beta) {
  float* c = C + i * ldc + j;
  *c = beta == 0.0f ? alpha * value : alpha * value + beta * *c;
}

// ---- fp32: block tile 64 x 64, depth 16; thread (tx, ty) owns rows ty + 16 r, cols tx + 16 c
constexpr int kDepth32 = 16;
__global__ void __launch_bounds__(256) gemm_fp32_kernel(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                                                        const float* A, int64_t lda, const float* B, int64_t ldb,
                                                        float beta, float* C, int64_t ldc) {
  __shared__ float As[kDepth32][kTile + 4];
  __shared__ float Bs[kDepth32][kTile + 4];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t i0 = int64_t(blockIdx.y) * kTile, j0 = int64_t(blockIdx.x) * kTile;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kDepth32) {
    for (int e = tid; e < kTile * kDepth32; e += 256) {
      const int r = e / kDepth32, k = e % kDepth32;  // A tile [64 rows, 16 depth]
      As[k][r] = load_a(A, lda, ta, i0 + r, k0 + k, M, K);
      const int kb = e / kTile, c = e % kTile;       // B tile [16 depth, 64 cols]
      Bs[kb][c] = load_b(B, ldb, tb, k0 + kb, j0 + c, K, N);
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kDepth32; k++) {
      float a[4], b[4];
#pragma unroll
      for (int r = 0; r < 4; r++) a[r] = As[k][ty + 16 * r];
#pragma unroll
      for (int c = 0; c < 4; c++) b[c] = Bs[k][tx + 16 * c];
#pragma unroll
      for (int r = 0; r < 4; r++)
#pragma unroll
        for (int c = 0; c < 4; c++) acc[r][c] += a[r] * b[c];
    }
    __syncthreads();
  }
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++) {
      const int64_t i = i0 + ty + 16 * r, j = j0 + tx + 16 * c;
      if (i < M && j < N) store_c(C, ldc, i, j, acc[r][c], alpha, beta);
    }
}

// ---- tensor cores: Traits give the shared-memory element type, the rounding and the shape
struct Bf16Traits {
  using Smem = __nv_bfloat16;
  using Frag = __nv_bfloat16;
  static constexpr int kStep = 16;  // WMMA depth
  __device__ static Smem convert(float x) { return __float2bfloat16(x); }
};
struct Tf32Traits {
  using Smem = float;
  using Frag = nvcuda::wmma::precision::tf32;
  static constexpr int kStep = 8;
  __device__ static Smem convert(float x) { return nvcuda::wmma::__float_to_tf32(x); }
};

constexpr int kDepthTc = 32;  // depth of a shared-memory stage
constexpr int kPadTc = 8;     // keeps fragment rows 32-byte aligned and spreads banks

template <typename Tr>
__global__ void __launch_bounds__(128) gemm_tc_kernel(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                                                      const float* A, int64_t lda, const float* B, int64_t ldb,
                                                      float beta, float* C, int64_t ldc) {
  using namespace nvcuda;
  using S = typename Tr::Smem;
  __shared__ __align__(32) S As[kTile][kDepthTc + kPadTc];   // op(A) tile [64 rows, 32 depth]
  __shared__ __align__(32) S Bs[kDepthTc][kTile + kPadTc];   // op(B) tile [32 depth, 64 cols]
  __shared__ __align__(32) float Cs[kTile][kTile + 4];       // accumulated tile for the epilogue
  const int tid = threadIdx.x, warp = tid / 32, wm = warp / 2, wn = warp % 2;
  const int64_t i0 = int64_t(blockIdx.y) * kTile, j0 = int64_t(blockIdx.x) * kTile;
  wmma::fragment<wmma::accumulator, 16, 16, Tr::kStep, float> acc[2][2];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);
  for (int64_t k0 = 0; k0 < K; k0 += kDepthTc) {
    for (int e = tid; e < kTile * kDepthTc; e += 128) {
      const int r = e / kDepthTc, k = e % kDepthTc;
      As[r][k] = Tr::convert(load_a(A, lda, ta, i0 + r, k0 + k, M, K));
      const int kb = e / kTile, c = e % kTile;
      Bs[kb][c] = Tr::convert(load_b(B, ldb, tb, k0 + kb, j0 + c, K, N));
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kDepthTc; kk += Tr::kStep) {
      wmma::fragment<wmma::matrix_a, 16, 16, Tr::kStep, typename Tr::Frag, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, Tr::kStep, typename Tr::Frag, wmma::row_major> b[2];
      for (int i = 0; i < 2; i++) wmma::load_matrix_sync(a[i], &As[wm * 32 + i * 16][kk], kDepthTc + kPadTc);
      for (int j = 0; j < 2; j++) wmma::load_matrix_sync(b[j], &Bs[kk][wn * 32 + j * 16], kTile + kPadTc);
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      wmma::store_matrix_sync(&Cs[wm * 32 + i * 16][wn * 32 + j * 16], acc[i][j], kTile + 4, wmma::mem_row_major);
  __syncthreads();
  for (int e = tid; e < kTile * kTile; e += 128) {
    const int r = e / kTile, c = e % kTile;
    const int64_t i = i0 + r, j = j0 + c;
    if (i < M && j < N) store_c(C, ldc, i, j, Cs[r][c], alpha, beta);
  }
}

}  // namespace
}  // namespace tf::cuda

using namespace tf::cuda;

extern "C" const char* tfc_gemm(tfc_context* ctx, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                                const float* d_A, int64_t lda, const float* d_B, int64_t ldb, float beta, float* d_C,
                                int64_t ldc, int precision) {
  return tfc_gemm_with(ctx, trans_a, trans_b, M, N, K, alpha, d_A, lda, d_B, ldb, beta, d_C, ldc, precision, TFC_GEMM_AUTO);
}

extern "C" const char* tfc_gemm_with(tfc_context* ctx, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                     float alpha, const float* d_A, int64_t lda, const float* d_B, int64_t ldb,
                                     float beta, float* d_C, int64_t ldc, int precision, int kernel) {
  return guarded([&] {
    enter(ctx);
    require_dim(M, "M");
    require_dim(N, "N");
    require_dim(K, "K");
    require(precision == TFC_FP32 || precision == TFC_TF32 || precision == TFC_BF16,
            "precision must be TFC_FP32, TFC_TF32 or TFC_BF16, got " + std::to_string(precision));
    require(lda >= (trans_a ? M : K) && lda >= 1, "lda too small for op(A)");
    require(ldb >= (trans_b ? K : N) && ldb >= 1, "ldb too small for op(B)");
    require(ldc >= N && ldc >= 1, "ldc must be >= N");
    require(kernel == TFC_GEMM_AUTO || kernel == TFC_GEMM_SIMPLE || kernel == TFC_GEMM_TILED,
            "kernel must be TFC_GEMM_AUTO, TFC_GEMM_SIMPLE or TFC_GEMM_TILED, got " + std::to_string(kernel));
    require(kernel != TFC_GEMM_TILED || precision != TFC_FP32, "the tiled GEMM takes bf16 or tf32 only");
    if (M == 0 || N == 0) return;
    const bool ta = trans_a != 0, tb = trans_b != 0;
    const bool tiled = kernel == TFC_GEMM_TILED ||
                       (kernel == TFC_GEMM_AUTO && precision != TFC_FP32 && tiled_preferred(ctx, M, N));
    if (tiled) {
      gemm_tiled(ctx, ta, tb, M, N, K, alpha, d_A, lda, d_B, ldb, beta, d_C, ldc, precision);
      return;
    }
    const int64_t grid_y = (M + kTile - 1) / kTile, grid_x = (N + kTile - 1) / kTile;
    require(grid_y <= 65535, "M too large for one launch (at most 65535 * 64 rows)");
    require(grid_x <= 0x7fffffffLL, "N too large for one launch");
    const dim3 grid(static_cast<unsigned>(grid_x), static_cast<unsigned>(grid_y));
    if (precision == TFC_FP32) {
      gemm_fp32_kernel<<<grid, 256, 0, ctx->stream>>>(ta, tb, M, N, K, alpha, d_A, lda, d_B, ldb, beta, d_C, ldc);
      check_launch("gemm_fp32_kernel");
    } else if (precision == TFC_BF16) {
      gemm_tc_kernel<Bf16Traits><<<grid, 128, 0, ctx->stream>>>(ta, tb, M, N, K, alpha, d_A, lda, d_B, ldb, beta, d_C, ldc);
      check_launch("gemm_tc_kernel<bf16>");
    } else {
      gemm_tc_kernel<Tf32Traits><<<grid, 128, 0, ctx->stream>>>(ta, tb, M, N, K, alpha, d_A, lda, d_B, ldb, beta, d_C, ldc);
      check_launch("gemm_tc_kernel<tf32>");
    }
  });
}
