// Binding for the filterTokens pass (lib/filter/filter_tokens.ts validates options; this
// re-checks everything that guards memory).
#include <napi.h>

#include "addon/convert.h"
#include "addon/js_error.h"
#include "addon/registry.h"
#include "kernels/token_filter.h"

namespace tf::addon {
namespace {

// tokenFilter(tokens: Uint32Array, scores: Float32Array | Uint8Array, level: number,
//             levelU8: number, eot: number (-1 = none), hidden: number (-1 = mask mode),
//             labels: Uint8Array | undefined)
//   → { lossMask: Uint8Array, tokens?: Uint32Array, flagged, documents, emptied,
//       labelTokens: Float64Array(256), labelFlagged: Float64Array(256) }
Napi::Value TokenFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  View<uint32_t> tokens = typed_array<uint32_t>(info[0], "tokens");
  const size_t n = tokens.length;
  const float* scores_f32 = nullptr;
  const uint8_t* scores_u8 = nullptr;
  if (info[1].IsTypedArray() && info[1].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array)
    scores_u8 = typed_array<uint8_t>(info[1], "scores", n).data;
  else
    scores_f32 = typed_array<float>(info[1], "scores", n).data;
  const double level = number_or_infinity(info[2], "level");
  const int level_u8 = static_cast<int>(integer(info[3], "levelU8", 0, 256));
  const int64_t eot = integer(info[4], "eot", -1, 0xFFFFFFFFll);
  const int64_t hidden = integer(info[5], "hidden", -1, 0xFFFFFFFFll);
  const uint8_t* labels = nullptr;
  if (!info[6].IsUndefined()) labels = typed_array<uint8_t>(info[6], "labels", n).data;

  Napi::Uint8Array loss_mask = Napi::Uint8Array::New(env, n);
  Napi::Uint32Array out_tokens;
  if (hidden >= 0) out_tokens = Napi::Uint32Array::New(env, n);
  TokenFilterStats stats = token_filter(loss_mask.Data(), hidden >= 0 ? out_tokens.Data() : nullptr, tokens.data,
                                        scores_f32, scores_u8, static_cast<int64_t>(n), level, level_u8, eot,
                                        static_cast<uint32_t>(hidden < 0 ? 0 : hidden), labels);
  Napi::Object out = Napi::Object::New(env);
  out.Set("lossMask", loss_mask);
  if (hidden >= 0) out.Set("tokens", out_tokens);
  out.Set("flagged", static_cast<double>(stats.flagged));
  out.Set("documents", static_cast<double>(stats.documents));
  out.Set("emptied", static_cast<double>(stats.emptied));
  Napi::Float64Array label_tokens = Napi::Float64Array::New(env, 256);
  Napi::Float64Array label_flagged = Napi::Float64Array::New(env, 256);
  for (int k = 0; k < 256; k++) {
    label_tokens[k] = static_cast<double>(stats.label_tokens[k]);
    label_flagged[k] = static_cast<double>(stats.label_flagged[k]);
  }
  out.Set("labelTokens", label_tokens);
  out.Set("labelFlagged", label_flagged);
  return out;
}

// firstInvalidProbability(scores: Float32Array) → index of the first NaN / out-of-[0,1] value, or -1
Napi::Value FirstInvalidProbability(const Napi::CallbackInfo& info) {
  View<float> scores = typed_array<float>(info[0], "scores");
  return Napi::Number::New(info.Env(), static_cast<double>(first_invalid_probability(scores.data, static_cast<int64_t>(scores.length))));
}

void Init(Napi::Env env, Napi::Object exports) {
  Napi::Object filter = Napi::Object::New(env);
  filter.Set("tokenFilter", Napi::Function::New(env, guarded<TokenFilter>, "tokenFilter"));
  filter.Set("firstInvalidProbability", Napi::Function::New(env, guarded<FirstInvalidProbability>, "firstInvalidProbability"));
  exports.Set("filter", filter);
}

Registrar registrar("filter", Init);

}  // namespace
}  // namespace tf::addon
