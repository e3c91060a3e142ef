// General matrix multiply, the op that dominates training time.
//   C[M, N] = alpha * op(A)[M, K] · op(B)[K, N] + beta * C[M, N]
// op(X) is X or X^T. All matrices are row-major with leading dimensions (row strides)
// lda, ldb, ldc: A is stored [M, K] (lda >= K) when not transposed and [K, M] (lda >= M) when
// transposed; likewise B is [K, N] or [N, K]. beta == 0 means C is written without being read
// (so it may hold garbage or NaN). Multi-threaded over the tf::pool(); picks the AVX-512,
// AVX2 or scalar micro-kernel from tf::simd_level().
//
// A linear layer y = x W^T with W [OC, IC] (PyTorch layout) is
//   forward  y[N, OC]   = gemm(NoTrans, Trans,   N,  OC, IC, 1, x, IC,  W, IC, 0, y, OC)
//   backward dx[N, IC] += gemm(NoTrans, NoTrans, N,  IC, OC, 1, dy, OC, W, IC, 1, dx, IC)
//            dW[OC, IC]+= gemm(Trans,   NoTrans, OC, IC, N,  1, dy, OC, x, IC, 1, dW, IC)
#pragma once
#include <cstdint>
#include <functional>

namespace tf {

enum class Trans { No = 0, Yes = 1 };

void gemm(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// An element-wise pass fused into a GEMM: called once on every finished tile of C, the
// `rows` x `cols` block at row i0, column j0 (c points at its first element, row stride ldc),
// right after its last depth block was accumulated, while the tile is still in L1. Tiles are
// disjoint and may be visited on any thread in any order.
using GemmEpilogue = std::function<void(float* c, int64_t ldc, int64_t i0, int64_t j0, int rows, int cols)>;

// gemm, then `epilogue` on every element of C (each exactly once), in the same pass.
void gemm(Trans trans_a, Trans trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const GemmEpilogue& epilogue);

}  // namespace tf
