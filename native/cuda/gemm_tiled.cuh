// Internal to tokenfilter_cuda.so: the 128 x 128 tensor-core GEMM of gemm_tiled.cu, launched
// by tfc_gemm (gemm.cu) after it has checked the arguments.
#pragma once
#include <cstdint>

#include "cuda/check.cuh"

namespace tf::cuda {

// Whether TFC_GEMM_AUTO takes the tiled kernel for a bf16 / tf32 GEMM of M x N: M and N at
// least 128 (below, a 128 x 128 block leaves most of its tile idle) and at least one 128 x 128
// block per SM (fewer blocks leave SMs idle that the 64 x 64 kernel's 4x as many blocks would
// use). A heuristic, not yet measured (docs/cuda.md).
inline bool tiled_preferred(const tfc_context* ctx, int64_t M, int64_t N) {
  constexpr int64_t kTile = 128;
  return M >= kTile && N >= kTile && ((M + kTile - 1) / kTile) * ((N + kTile - 1) / kTile) >= ctx->multiprocessors;
}

// C[M, N] = alpha op(A) op(B) + beta C in bf16 or tf32 (TFC_BF16 / TFC_TF32; anything else
// throws). Arguments are not re-checked: tfc_gemm has.
void gemm_tiled(tfc_context* ctx, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int precision);

}  // namespace tf::cuda
