// A host model of the CUDA tiled GEMM's data movement (native/cuda/gemm_tiled.cu), for the CPU
// test suite: the same index math (kernels/gemm_tile_math.h) drives every load into the
// emulated shared tiles, every fragment read (in the WMMA layout the kernel declares) and every
// store, in fp32 without the tensor cores' rounding. A wrong origin, transpose, offset or
// layout gives a wrong product; a read of shared memory no thread wrote gives NaN; an offset
// outside a tile throws.
#pragma once
#include <cstdint>

namespace tf {

// C[M, N] = alpha op(A) op(B) + beta C, row-major (beta == 0: C not read), as the kernel.
// Throws tf::Error (E_NATIVE) when the index math leaves a shared tile.
void gemm_tiled_emulate(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                        int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace tf
