// _gemm: the raw GEMM for tests and benchmarks (synchronous; C is updated in place).
//   _gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc[, visits])
// With `visits` (a Uint32Array [M * N]) a test epilogue runs fused: each element of C becomes
// 2 * c + 1 and its counter goes up by one, so a test can check that every element was visited
// exactly once, after its final value, and nothing outside C (the padding of ldc) was touched.
// Row-major, as tf::gemm (native/kernels/gemm.h): A is stored [M, K] (or [K, M] when
// transA), B is [K, N] (or [N, K] when transB), C is [M, N]; each leading dimension must be
// at least its stored row length and each array long enough for its strided extent.
#include <napi.h>

#include <cstdint>
#include <string>

#include "addon/convert.h"
#include "addon/js_error.h"
#include "addon/registry.h"
#include "kernels/gemm.h"

namespace tf::addon {
namespace {

constexpr int64_t kMaxDim = (int64_t{1} << 31) - 1;

// Floats a row-major [rows, cols] matrix with row stride ld spans.
int64_t extent(int64_t rows, int64_t cols, int64_t ld) { return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols; }

// Validates one operand stored [rows, cols] with leading dimension `ld` (named `ld_name`).
View<float> operand(const Napi::Value& array, const std::string& name, int64_t rows, int64_t cols, int64_t ld,
                    const std::string& ld_name, const std::string& layout) {
  Napi::Env env = array.Env();
  if (ld < (cols > 1 ? cols : 1))
    throw_range_error(env, ld_name + " must be >= " + std::to_string(cols > 1 ? cols : 1) + " (" + name +
                               " is stored " + layout + "), got " + std::to_string(ld));
  View<float> view = typed_array<float>(array, name);
  const int64_t needed = extent(rows, cols, ld);
  if (static_cast<int64_t>(view.length) < needed)
    throw_range_error(env, name + " has length " + std::to_string(view.length) + ", but a " + layout +
                               " matrix with " + ld_name + " = " + std::to_string(ld) + " needs " +
                               std::to_string(needed));
  return view;
}

bool overlaps(const View<float>& x, const View<float>& y) {
  return x.length > 0 && y.length > 0 && x.data < y.data + y.length && y.data < x.data + x.length;
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 13 && info.Length() != 14)
    throw_type_error(env, "_gemm expects 13 or 14 arguments, got " + std::to_string(info.Length()));
  const bool trans_a = boolean(info[0], "transA");
  const bool trans_b = boolean(info[1], "transB");
  const int64_t M = integer(info[2], "M", 0, kMaxDim);
  const int64_t N = integer(info[3], "N", 0, kMaxDim);
  const int64_t K = integer(info[4], "K", 0, kMaxDim);
  const float alpha = static_cast<float>(number(info[5], "alpha"));
  const int64_t lda = integer(info[7], "lda", 1, kMaxDim);
  const int64_t ldb = integer(info[9], "ldb", 1, kMaxDim);
  const float beta = static_cast<float>(number(info[10], "beta"));
  const int64_t ldc = integer(info[12], "ldc", 1, kMaxDim);
  const std::string mk = "[" + std::to_string(M) + ", " + std::to_string(K) + "]";
  const std::string km = "[" + std::to_string(K) + ", " + std::to_string(M) + "]";
  const std::string kn = "[" + std::to_string(K) + ", " + std::to_string(N) + "]";
  const std::string nk = "[" + std::to_string(N) + ", " + std::to_string(K) + "]";
  const View<float> a = trans_a ? operand(info[6], "A", K, M, lda, "lda", km) : operand(info[6], "A", M, K, lda, "lda", mk);
  const View<float> b = trans_b ? operand(info[8], "B", N, K, ldb, "ldb", nk) : operand(info[8], "B", K, N, ldb, "ldb", kn);
  const View<float> c = operand(info[11], "C", M, N, ldc, "ldc", "[" + std::to_string(M) + ", " + std::to_string(N) + "]");
  if (overlaps(c, a)) throw_range_error(env, "C must not share memory with A");
  if (overlaps(c, b)) throw_range_error(env, "C must not share memory with B");
  GemmEpilogue epilogue;
  if (info.Length() == 14) {
    const View<uint32_t> visits = typed_array<uint32_t>(info[13], "visits", static_cast<size_t>(M * N));
    epilogue = [visits, N](float* tile, int64_t ld, int64_t i0, int64_t j0, int rows, int cols) {
      for (int r = 0; r < rows; r++)
        for (int q = 0; q < cols; q++) {
          tile[r * ld + q] = 2.0f * tile[r * ld + q] + 1.0f;
          visits.data[(i0 + r) * N + j0 + q]++;
        }
    };
  }
  gemm(trans_a ? Trans::Yes : Trans::No, trans_b ? Trans::Yes : Trans::No, M, N, K, alpha, a.data, lda, b.data, ldb,
       beta, c.data, ldc, epilogue);
  return env.Undefined();
}

void Init(Napi::Env env, Napi::Object exports) { exports.Set("_gemm", Napi::Function::New(env, guarded<Gemm>, "_gemm")); }

Registrar registrar("gemm", Init);

}  // namespace
}  // namespace tf::addon
