// Internals of the packed GEMM (gemm.cc): packed panel layout, micro-kernels and the block
// sizes each SIMD level uses. Not part of the kernel interface; only the gemm_*.cc files use it.
//
// Packed layout. op(A) is cut into row panels of MR rows and op(B) into column panels of NR
// columns; a panel of depth kc is stored k-major: panel[k * R + r] for r < R (R = MR or NR),
// so the micro-kernel reads one contiguous R-vector per k. Rows/columns past the matrix edge
// are zero, which lets the micro-kernel always run its full MR x NR tile.
#pragma once
#include <cstdint>

namespace tf::gemm_internal {

// C[0:mr, 0:nr] = alpha * (a · b) + beta * C[0:mr, 0:nr], where a is a packed A panel
// [kc][MR], b a packed B panel [kc][NR], and mr <= MR, nr <= NR say how much of the tile lies
// inside C. beta == 0 writes C without reading it. kc >= 1.
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta,
                             int mr, int nr);

// Packs rows [0, rows) of a matrix X (element (r, k) at x[r * rs + k * ks]) for k in [0, kc)
// into ceil(rows / R) panels [kc][R] at dst (zero-padded to a whole panel).
using PackFn = void (*)(const float* x, int64_t rs, int64_t ks, int64_t rows, int64_t kc, float* dst);

// Vector kernels for a GEMM whose C is a single row or column (gemv): dot(x, y, n) = sum x[i] y[i];
// axpy(a, x, y, n): y[i] += a * x[i].
using DotFn = float (*)(const float* x, const float* y, int64_t n);
using AxpyFn = void (*)(float a, const float* x, float* y, int64_t n);

// A whole small GEMM with op(B) = B (row-major [K, N], read in place) and no packing:
// C = alpha op(A) B + beta C. Optional per SIMD level.
using SmallGemmFn = void (*)(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                             const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

struct KernelConfig {
  int mr;  // rows of the register tile (A panel height)
  int nr;  // columns of the register tile (B panel width)
  int64_t kc;       // depth of a packed block (A and B micro-panels stay in L1/L2 across it)
  int64_t nb_max;   // widest block of op(B) one task packs (kc x nb fits in L2)
  int64_t mb_max;   // tallest block of op(A) packed and shared by all threads (kc x mb fits in L3)
  MicroKernel kernel;
  PackFn pack_a;  // R = mr
  PackFn pack_b;  // R = nr
  DotFn dot;
  AxpyFn axpy;
  SmallGemmFn small;  // nullptr where the level has none
};

const KernelConfig& scalar_config();
const KernelConfig& avx2_config();
const KernelConfig& avx512_config();

// Portable packing for panel width R (instantiated in gemm_pack.cc for the widths above).
template <int R>
void pack_panels(const float* x, int64_t rs, int64_t ks, int64_t rows, int64_t kc, float* dst);
// The same with AVX2 transposes (R = 6 or 16; gemm_pack_avx2.cc).
template <int R>
void pack_panels_avx2(const float* x, int64_t rs, int64_t ks, int64_t rows, int64_t kc, float* dst);
// The same with AVX-512 transposes (R = 14 or 32; gemm_pack_avx512.cc).
template <int R>
void pack_panels_avx512(const float* x, int64_t rs, int64_t ks, int64_t rows, int64_t kc, float* dst);

}  // namespace tf::gemm_internal
