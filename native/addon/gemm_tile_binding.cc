// _gemmTiledEmulate: the host model of the CUDA tiled GEMM (kernels/gemm_tile_emulate.h), for
// the CPU suite (test/native/gemm_tile.test.ts); synchronous, C updated in place.
//   _gemmTiledEmulate(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
// Arguments as _gemm (gemm_binding.cc): A stored [M, K] ([K, M] when transA), B [K, N]
// ([N, K] when transB), C [M, N], each leading dimension at least its stored row length.
#include <napi.h>

#include <cstdint>
#include <string>

#include "addon/convert.h"
#include "addon/js_error.h"
#include "addon/registry.h"
#include "kernels/gemm_tile_emulate.h"

namespace tf::addon {
namespace {

constexpr int64_t kMaxDim = (int64_t{1} << 24);  // a test hook: small shapes only

// A stored [rows, cols] operand with leading dimension ld, its length checked.
View<float> stored(const Napi::Value& array, const char* name, int64_t rows, int64_t cols, int64_t ld) {
  if (ld < cols) throw_range_error(array.Env(), std::string(name) + ": leading dimension smaller than its row");
  View<float> v = typed_array<float>(array, name);
  if (v.length < static_cast<size_t>((rows - 1) * ld + cols)) throw_range_error(array.Env(), std::string(name) + " is too short");
  return v;
}

Napi::Value Emulate(const Napi::CallbackInfo& info) {
  const bool ta = boolean(info[0], "transA"), tb = boolean(info[1], "transB");
  const int64_t M = integer(info[2], "M", 1, kMaxDim), N = integer(info[3], "N", 1, kMaxDim);
  const int64_t K = integer(info[4], "K", 1, kMaxDim);
  const int64_t lda = integer(info[7], "lda", 1, kMaxDim), ldb = integer(info[9], "ldb", 1, kMaxDim);
  const int64_t ldc = integer(info[12], "ldc", 1, kMaxDim);
  const View<float> a = ta ? stored(info[6], "A", K, M, lda) : stored(info[6], "A", M, K, lda);
  const View<float> b = tb ? stored(info[8], "B", N, K, ldb) : stored(info[8], "B", K, N, ldb);
  const View<float> c = stored(info[11], "C", M, N, ldc);
  gemm_tiled_emulate(ta, tb, M, N, K, static_cast<float>(number(info[5], "alpha")), a.data, lda, b.data, ldb,
                     static_cast<float>(number(info[10], "beta")), c.data, ldc);
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("_gemmTiledEmulate", Napi::Function::New(env, guarded<Emulate>, "_gemmTiledEmulate"));
}

Registrar registrar("gemm_tile", Init);

}  // namespace
}  // namespace tf::addon
