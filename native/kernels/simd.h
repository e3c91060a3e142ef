// Width-generic SIMD for the CPU kernels. A kernel is written once as a template over the
// vector width W (floats per vector) using GCC/Clang vector extensions, and instantiated three
// times: W = 16 inside an AVX-512 target function, W = 8 inside an AVX2+FMA target function and
// W = 4 (SSE2 / NEON, part of every x86-64 and aarch64 CPU) for the baseline level that
// tf::simd_level() calls "scalar" (W = 1, plain scalar code, on other architectures). The helpers below are always_inline and carry no
// target attribute, so they take the instruction set of the function they are inlined into;
// dispatch<Kernel>(args...) picks the instantiation from tf::simd_level() at run time.
//
// A kernel is a struct with `template <int W> static void run(Args...)` marked TF_SIMD_INLINE.
#pragma once
#include <cstdint>
#include <cstring>
#include <utility>

#include "core/cpu_features.h"

#if defined(__GNUC__) && !defined(__clang__)
// Vector arguments of the always-inlined helpers never cross a real call boundary, so GCC's
// note that their ABI depends on -mavx is moot (the warning fires where kernels instantiate
// them, so it stays off for the rest of each file that includes this header).
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define TF_SIMD_INLINE inline __attribute__((always_inline))

#if defined(__x86_64__) || defined(__i386__)
#define TF_SIMD_X86 1
#define TF_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define TF_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx2")))
#endif

namespace tf::simd {

template <int W>
struct Types {
  typedef float F __attribute__((vector_size(4 * W)));
  typedef int32_t I __attribute__((vector_size(4 * W)));
};
template <int W>
using vf = typename Types<W>::F;
template <int W>
using vi = typename Types<W>::I;

template <int W>
TF_SIMD_INLINE vf<W> load(const float* p) {
  vf<W> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <int W>
TF_SIMD_INLINE void store(float* p, vf<W> v) {
  std::memcpy(p, &v, sizeof(v));
}
// Every lane = x. In hot loops prefer `scalar * vector` (GCC emits one broadcast load for it).
template <int W>
TF_SIMD_INLINE vf<W> broadcast(float x) {
  return vf<W>{} + x;
}
template <int W>
TF_SIMD_INLINE vf<W> vmax(vf<W> a, vf<W> b) {
  return a > b ? a : b;
}
template <int W>
TF_SIMD_INLINE vf<W> vmin(vf<W> a, vf<W> b) {
  return a < b ? a : b;
}
// Halves of a vector (lanes [0, W/2) and [W/2, W)).
template <int W, int... I>
TF_SIMD_INLINE vf<W / 2> low_half(vf<W> v, std::integer_sequence<int, I...>) {
  return __builtin_shufflevector(v, v, I...);
}
template <int W, int... I>
TF_SIMD_INLINE vf<W / 2> high_half(vf<W> v, std::integer_sequence<int, I...>) {
  return __builtin_shufflevector(v, v, (I + W / 2)...);
}

// Horizontal reductions as a tree of halves (a fixed order, so results are reproducible).
template <int W>
TF_SIMD_INLINE float hsum(vf<W> v) {
  if constexpr (W == 1) {
    return v[0];
  } else {
    constexpr auto half = std::make_integer_sequence<int, W / 2>{};
    return hsum<W / 2>(low_half<W>(v, half) + high_half<W>(v, half));
  }
}
template <int W>
TF_SIMD_INLINE float hmax(vf<W> v) {
  if constexpr (W == 1) {
    return v[0];
  } else {
    constexpr auto half = std::make_integer_sequence<int, W / 2>{};
    return hmax<W / 2>(vmax<W / 2>(low_half<W>(v, half), high_half<W>(v, half)));
  }
}
template <int W>
TF_SIMD_INLINE double hsum_double(vf<W> v) {
  double s = v[0];
  for (int i = 1; i < W; i++) s += v[i];
  return s;
}

// exp(x) for float lanes: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact
// reduction), e^r by a degree-6 polynomial, 2^n through the exponent bits. Relative error
// below 1e-7 for x in [-87, 88] (measured maximum 8.4e-8 against double exp over 2^24 points,
// for W = 1 and W = 16); returns 0 below -87.3 (including -inf) and saturates at exp(88)
// above 88. NaN inputs are not supported.
template <int W>
TF_SIMD_INLINE vf<W> exp(vf<W> x) {
  const vf<W> lo = broadcast<W>(-87.33654f), hi = broadcast<W>(88.0f);
  vf<W> xc = vmin<W>(vmax<W>(x, lo), hi);
  // round(x / ln2) with the 1.5 * 2^23 trick (exact for |x / ln2| < 2^22)
  const float magic = 12582912.0f;
  vf<W> t = xc * 1.44269504088896341f + magic;
  vf<W> n = t - magic;
  vf<W> r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf<W> p = broadcast<W>(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  vi<W> ni = __builtin_convertvector(n, vi<W>);
  vi<W> bits = (ni + 127) << 23;
  vf<W> scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  vf<W> result = p * scale;
  return x < lo ? vf<W>{} : result;
}

inline float exp_scalar(float x) { return exp<1>(vf<1>{x})[0]; }

// A register tile of the small GEMM below: RB output rows x NV vectors, summed over R terms.
template <int W, int RB, int NV>
TF_SIMD_INLINE void combine_tile(float* out, int64_t ldo, bool accumulate, const float* a, int64_t a_row_stride,
                                 int64_t a_col_stride, const float* b, int64_t ldb, int64_t R) {
  vf<W> acc[RB][NV];
  for (int i = 0; i < RB; i++)
    for (int v = 0; v < NV; v++) acc[i][v] = accumulate ? load<W>(out + i * ldo + v * W) : vf<W>{};
  for (int64_t r = 0; r < R; r++) {
    const float* brow = b + r * ldb;
    vf<W> bv[NV];
    for (int v = 0; v < NV; v++) bv[v] = load<W>(brow + v * W);
    for (int i = 0; i < RB; i++) {
      const float s = a[i * a_row_stride + r * a_col_stride];
      for (int v = 0; v < NV; v++) acc[i][v] += s * bv[v];
    }
  }
  for (int i = 0; i < RB; i++)
    for (int v = 0; v < NV; v++) store<W>(out + i * ldo + v * W, acc[i][v]);
}

// The small GEMM of the attention kernels, for n a multiple of W:
//   out[m, 0:n] = (accumulate ? out[m, 0:n] : 0) + sum_{r < R} A[m, r] * b[r * ldb + 0:n]
// for m < M, where A[m, r] = a[m * a_row_stride + r * a_col_stride] (either layout of A).
// Register tiles of RB rows x 4 vectors (16 accumulators with AVX-512, 8 otherwise).
template <int W>
TF_SIMD_INLINE void combine(float* out, int64_t ldo, bool accumulate, const float* a, int64_t a_row_stride,
                            int64_t a_col_stride, const float* b, int64_t ldb, int64_t M, int64_t R, int64_t n) {
  constexpr int RB = W == 16 ? 4 : 2;
  int64_t m = 0;
  for (; m + RB <= M; m += RB) {
    int64_t c = 0;
    for (; c + 4 * W <= n; c += 4 * W)
      combine_tile<W, RB, 4>(out + m * ldo + c, ldo, accumulate, a + m * a_row_stride, a_row_stride, a_col_stride,
                             b + c, ldb, R);
    for (; c < n; c += W)
      combine_tile<W, RB, 1>(out + m * ldo + c, ldo, accumulate, a + m * a_row_stride, a_row_stride, a_col_stride,
                             b + c, ldb, R);
  }
  for (; m < M; m++) {
    int64_t c = 0;
    for (; c + 4 * W <= n; c += 4 * W)
      combine_tile<W, 1, 4>(out + m * ldo + c, ldo, accumulate, a + m * a_row_stride, a_row_stride, a_col_stride,
                            b + c, ldb, R);
    for (; c < n; c += W)
      combine_tile<W, 1, 1>(out + m * ldo + c, ldo, accumulate, a + m * a_row_stride, a_row_stride, a_col_stride,
                            b + c, ldb, R);
  }
}

// Run-time dispatch: Kernel::run<W>(args...) compiled for the current SIMD level.
#ifdef TF_SIMD_X86
template <class Kernel, class... Args>
TF_TARGET_AVX512 void run_avx512(Args... args) {
  Kernel::template run<16>(args...);
}
template <class Kernel, class... Args>
TF_TARGET_AVX2 void run_avx2(Args... args) {
  Kernel::template run<8>(args...);
}
#endif
// The baseline variant (SimdLevel::Scalar) uses the 128-bit vectors every x86-64 (SSE2) and
// aarch64 (NEON) CPU has; other targets get W = 1, plain scalar code.
#if defined(__x86_64__) || defined(__aarch64__)
constexpr int kBaselineWidth = 4;
#else
constexpr int kBaselineWidth = 1;
#endif
template <class Kernel, class... Args>
void run_baseline(Args... args) {
  Kernel::template run<kBaselineWidth>(args...);
}

template <class Kernel, class... Args>
void dispatch(Args... args) {
#ifdef TF_SIMD_X86
  switch (simd_level()) {
    case SimdLevel::Avx512: return run_avx512<Kernel>(args...);
    case SimdLevel::Avx2: return run_avx2<Kernel>(args...);
    default: break;
  }
#endif
  run_baseline<Kernel>(args...);
}

}  // namespace tf::simd
