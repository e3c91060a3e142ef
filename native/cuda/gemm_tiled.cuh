// Internal to tokenfilter_cuda.so: the 128 x 128 tensor-core GEMM of gemm_tiled.cu, launched
// by tfc_gemm (gemm.cu) after it has checked the arguments.
#pragma once
#include <cstdint>

#include "cuda/check.cuh"

namespace tf::cuda {

// Smallest M and N the tiled kernel is chosen for by TFC_GEMM_AUTO: below, a 128 x 128 block
// leaves most of its tile (and most SMs) idle, and the 64 x 64 kernel is used.
constexpr int64_t kTiledMin = 128;

// C[M, N] = alpha op(A) op(B) + beta C in bf16 or tf32 (TFC_BF16 / TFC_TF32; anything else
// throws). Arguments are not re-checked: tfc_gemm has.
void gemm_tiled(tfc_context* ctx, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int precision);

}  // namespace tf::cuda
