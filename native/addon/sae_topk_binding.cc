// _saeTopkEmulate(codes [N*L], L, k): the host model of the CUDA TopK kernel
// (kernels/sae_topk_emulate.h), in place, for the CPU suite (test/native/sae_topk.test.ts).
#include <napi.h>

#include <cstdint>

#include "addon/convert.h"
#include "addon/js_error.h"
#include "addon/registry.h"
#include "kernels/sae_topk_emulate.h"

namespace tf::addon {
namespace {

Napi::Value Emulate(const Napi::CallbackInfo& info) {
  View<float> codes = typed_array<float>(info[0], "codes");
  const int64_t L = integer(info[1], "L", 1, int64_t{1} << 31);
  const int64_t k = integer(info[2], "k", 1, L);
  if (codes.length % static_cast<size_t>(L) != 0) throw_range_error(info.Env(), "codes length must be a multiple of L");
  sae_topk_radix_emulate(codes.data, static_cast<int64_t>(codes.length) / L, L, k);
  return info.Env().Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("_saeTopkEmulate", Napi::Function::New(env, guarded<Emulate>, "_saeTopkEmulate"));
}

Registrar registrar("sae_topk", Init);

}  // namespace
}  // namespace tf::addon
