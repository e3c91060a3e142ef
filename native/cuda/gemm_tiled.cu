// The large tensor-core GEMM (bf16 or tf32 inputs, fp32 accumulation), same contract as
// tfc_gemm: C[M, N] = alpha * op(A)[M, K] · op(B)[K, N] + beta * C[M, N], row-major,
// beta == 0: C not read. gemm.cu picks it for bf16 / tf32 when M and N are both >= 128.
//
// Block tile 128 x 128, depth 32 per stage, 256 threads = 8 warps laid out 2 (rows) x 4 (cols),
// each owning 64 x 32 of C as 4 x 2 WMMA accumulator fragments of 16 x 16 (fp32). The index
// math (tiles, which thread loads what, shared offsets, fragment layouts) is
// kernels/gemm_tile_math.h, shared with a host emulation the CPU suite runs
// (test/native/gemm_tile.test.ts).
//
// Shared-memory tiles keep the orientation of the matrix in global memory, so every transpose
// is a fragment layout rather than a strided load:
//   op(A) tile [128 rows i, 32 depth k]: A row-major [M, K]  -> As[i][k] (128 x 40), matrix_a row_major
//                                        A transposed [K, M] -> As[k][i] (32 x 136), matrix_a col_major
//   op(B) tile [32 depth k, 128 cols j]: B row-major [K, N]  -> Bs[k][j] (32 x 136), matrix_b row_major
//                                        B transposed [N, K] -> Bs[j][k] (128 x 40), matrix_b col_major
// (+ 8 elements of padding per line: fragment pointers stay 32-byte aligned, banks spread.)
// Global loads are float4 where the line is in bounds, 4 columns fit and the operand allows it
// (leading dimension a multiple of 4, base 16-byte aligned), element-wise with bounds checks
// otherwise, zero outside the matrix: any M, N, K and leading dimension is exact.
// The next stage's global loads are issued into registers before the current stage's MMAs
// (one shared buffer, two barriers per stage). The epilogue stages each 16 x 16 fragment
// through a per-warp 1 KB patch of the (then idle) tile memory and applies alpha / beta with
// bounds checks.
#include <cuda_bf16.h>
#include <mma.h>

#include <cstdint>
#include <type_traits>

#include "cuda/check.cuh"
#include "cuda/gemm_tiled.cuh"
#include "kernels/gemm_tile_math.h"

namespace tf::cuda {
namespace {

using namespace tf::gemm_tile;

struct Bf16 {
  using Smem = __nv_bfloat16;
  using Frag = __nv_bfloat16;
  static constexpr int kStep = 16;
  __device__ static Smem convert(float x) { return __float2bfloat16(x); }
};
struct Tf32 {
  using Smem = float;
  using Frag = nvcuda::wmma::precision::tf32;
  static constexpr int kStep = 8;
  __device__ static Smem convert(float x) { return nvcuda::wmma::__float_to_tf32(x); }
};

static_assert(a_tile(false).lines * a_tile(false).width == kThreads * kVectorsPerThread * 4, "one float4 per thread and q");
static_assert(a_tile(true).lines * a_tile(true).width == kThreads * kVectorsPerThread * 4, "one float4 per thread and q");

// Loads this thread's 4 float4 of tile `t` starting at `o` in the stored operand P (leading
// dimension ld); zeros outside the operand.
__device__ __forceinline__ void load_tile(float4 (&r)[kVectorsPerThread], const float* P, int64_t ld, Origin o, Tile t,
                                          bool vec) {
#pragma unroll
  for (int q = 0; q < kVectorsPerThread; q++) {
    const int64_t line = o.line0 + vector_line(t, threadIdx.x, q), col = o.col0 + vector_col(t, threadIdx.x, q);
    float4 x = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (line < o.lines) {
      const float* p = P + line * ld + col;
      if (vec && col + 3 < o.cols) {
        x = *reinterpret_cast<const float4*>(p);
      } else {
        if (col < o.cols) x.x = p[0];
        if (col + 1 < o.cols) x.y = p[1];
        if (col + 2 < o.cols) x.z = p[2];
        if (col + 3 < o.cols) x.w = p[3];
      }
    }
    r[q] = x;
  }
}

// Stores the registers of load_tile into the shared tile `t`, rounded to Tr::Smem.
template <typename Tr>
__device__ __forceinline__ void store_tile(typename Tr::Smem* s, const float4 (&r)[kVectorsPerThread], Tile t) {
#pragma unroll
  for (int q = 0; q < kVectorsPerThread; q++) {
    typename Tr::Smem* d = s + vector_line(t, threadIdx.x, q) * tile_ld(t) + vector_col(t, threadIdx.x, q);
    d[0] = Tr::convert(r[q].x);
    d[1] = Tr::convert(r[q].y);
    d[2] = Tr::convert(r[q].z);
    d[3] = Tr::convert(r[q].w);
  }
}

template <bool kColMajor>
using Layout = typename std::conditional<kColMajor, nvcuda::wmma::col_major, nvcuda::wmma::row_major>::type;

template <typename Tr>
constexpr int tile_bytes() {
  return (tile_elements(a_tile(false)) > tile_elements(a_tile(true)) ? tile_elements(a_tile(false))
                                                                      : tile_elements(a_tile(true))) *
         int(sizeof(typename Tr::Smem));
}

template <typename Tr, bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kThreads) gemm_tiled_kernel(int64_t M, int64_t N, int64_t K, float alpha,
                                                              const float* A, int64_t lda, bool vec_a, const float* B,
                                                              int64_t ldb, bool vec_b, float beta, float* C,
                                                              int64_t ldc) {
  using namespace nvcuda;
  using S = typename Tr::Smem;
  constexpr Tile kTileA = a_tile(kTransA), kTileB = b_tile(kTransB);
  constexpr int kTileBytes = tile_bytes<Tr>();
  __shared__ __align__(128) unsigned char smem[2 * kTileBytes];
  S* As = reinterpret_cast<S*>(smem);
  S* Bs = reinterpret_cast<S*>(smem + kTileBytes);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t i0 = int64_t(blockIdx.y) * kBlock, j0 = int64_t(blockIdx.x) * kBlock;

  wmma::fragment<wmma::accumulator, 16, 16, Tr::kStep, float> acc[4][2];
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);

  float4 ra[kVectorsPerThread], rb[kVectorsPerThread];
  load_tile(ra, A, lda, a_origin(kTransA, i0, 0, M, K), kTileA, vec_a);
  load_tile(rb, B, ldb, b_origin(kTransB, j0, 0, K, N), kTileB, vec_b);
  for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
    store_tile<Tr>(As, ra, kTileA);
    store_tile<Tr>(Bs, rb, kTileB);
    __syncthreads();
    if (k0 + kDepth < K) {  // the next stage's loads are in flight during this stage's MMAs
      load_tile(ra, A, lda, a_origin(kTransA, i0, k0 + kDepth, M, K), kTileA, vec_a);
      load_tile(rb, B, ldb, b_origin(kTransB, j0, k0 + kDepth, K, N), kTileB, vec_b);
    }
#pragma unroll
    for (int kk = 0; kk < kDepth; kk += Tr::kStep) {
      wmma::fragment<wmma::matrix_a, 16, 16, Tr::kStep, typename Tr::Frag, Layout<a_col_major(kTransA)>> a[4];
      wmma::fragment<wmma::matrix_b, 16, 16, Tr::kStep, typename Tr::Frag, Layout<b_col_major(kTransB)>> b[2];
#pragma unroll
      for (int i = 0; i < 4; i++)
        wmma::load_matrix_sync(a[i], As + a_at(kTransA, warp_row(warp) + i * kFrag, kk), tile_ld(kTileA));
#pragma unroll
      for (int j = 0; j < 2; j++)
        wmma::load_matrix_sync(b[j], Bs + b_at(kTransB, kk, warp_col(warp) + j * kFrag), tile_ld(kTileB));
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();  // every warp is done reading before the tiles are overwritten
  }

  // Epilogue: each warp stages one fragment at a time in its own 16 x 16 float patch
  // (8 warps x 1 KB <= one tile's bytes; the loop's last barrier freed the tiles).
  float* patch = reinterpret_cast<float*>(smem) + warp * 256;
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 2; j++) {
      wmma::store_matrix_sync(patch, acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
#pragma unroll
      for (int t = 0; t < 8; t++) {
        const int e = lane + 32 * t, r = e / 16, c = e % 16;
        const int64_t gi = i0 + warp_row(warp) + i * kFrag + r, gj = j0 + warp_col(warp) + j * kFrag + c;
        if (gi < M && gj < N) {
          float* out = C + gi * ldc + gj;
          *out = beta == 0.0f ? alpha * patch[e] : alpha * patch[e] + beta * *out;
        }
      }
      __syncwarp();  // the patch is read before the next fragment overwrites it
    }
}

static_assert(2 * tile_bytes<Tf32>() <= 48 * 1024, "static shared memory of the tf32 tiles");
static_assert(8 * 256 * 4 <= tile_bytes<Bf16>(), "the epilogue patches fit in the tile memory");

bool vectorizable(const float* p, int64_t ld) { return ld % 4 == 0 && reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <typename Tr>
void launch(tfc_context* ctx, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
            int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const int64_t grid_y = (M + kBlock - 1) / kBlock, grid_x = (N + kBlock - 1) / kBlock;
  require(grid_y <= 65535, "M too large for one launch of the tiled GEMM (at most 65535 * 128 rows)");
  require(grid_x <= 0x7fffffffLL, "N too large for one launch");
  const dim3 grid(static_cast<unsigned>(grid_x), static_cast<unsigned>(grid_y));
  const bool va = vectorizable(A, lda), vb = vectorizable(B, ldb);
#define TF_TILED(TA, TB)                                                                                            \
  gemm_tiled_kernel<Tr, TA, TB><<<grid, kThreads, 0, ctx->stream>>>(M, N, K, alpha, A, lda, va, B, ldb, vb, beta, C, \
                                                                     ldc)
  if (!ta && !tb) TF_TILED(false, false);
  else if (!ta && tb) TF_TILED(false, true);
  else if (ta && !tb) TF_TILED(true, false);
  else TF_TILED(true, true);
#undef TF_TILED
  check_launch("gemm_tiled_kernel");
}

}  // namespace

void gemm_tiled(tfc_context* ctx, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int precision) {
  if (precision == TFC_BF16) launch<Bf16>(ctx, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else if (precision == TFC_TF32) launch<Tf32>(ctx, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else throw CudaError("the tiled GEMM takes bf16 or tf32 only (fp32 has no tensor-core path)");
}

}  // namespace tf::cuda
