// Test hooks for the transformer ops (exported as `_ops`, not public API): one synchronous
// function per kernel in native/kernels/ops.h. Each checks element types, lengths against the
// shape arguments and token ids against the vocabulary before the kernel touches memory.
#include <napi.h>

#include <cstdint>
#include <string>

#include "addon/convert.h"
#include "addon/js_error.h"
#include "addon/registry.h"
#include "kernels/ops.h"

namespace tf::addon {
namespace {

constexpr int64_t kMaxDim = (int64_t{1} << 31) - 1;

// Product of shape dimensions; a RangeError naming `what` if it exceeds 2^48 elements.
size_t elements(Napi::Env env, const std::string& what, std::initializer_list<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d != 0 && n > (int64_t{1} << 48) / d) throw_range_error(env, what + " is too large");
    n *= d;
  }
  return static_cast<size_t>(n);
}

bool absent(const Napi::Value& value) { return value.IsUndefined() || value.IsNull(); }

// embeddingForward(out[N*C], tokens[N] (Uint32Array, ids < V), wte[V*C], N, C, V)
Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t N = integer(info[3], "N", 1, kMaxDim), C = integer(info[4], "C", 1, kMaxDim), V = integer(info[5], "V", 1, kMaxDim);
  auto out = typed_array<float>(info[0], "out", elements(env, "out", {N, C}));
  auto tokens = typed_array<uint32_t>(info[1], "tokens", static_cast<size_t>(N));
  auto wte = typed_array<float>(info[2], "wte", elements(env, "wte", {V, C}));
  check_ids_below(env, tokens.data, tokens.length, static_cast<uint32_t>(V), "tokens");
  embedding_forward(out.data, tokens.data, wte.data, N, C);
  return env.Undefined();
}

// embeddingBackward(dwte[V*C], dout[N*C], tokens[N], N, C, V)
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t N = integer(info[3], "N", 1, kMaxDim), C = integer(info[4], "C", 1, kMaxDim), V = integer(info[5], "V", 1, kMaxDim);
  auto dwte = typed_array<float>(info[0], "dwte", elements(env, "dwte", {V, C}));
  auto dout = typed_array<float>(info[1], "dout", elements(env, "dout", {N, C}));
  auto tokens = typed_array<uint32_t>(info[2], "tokens", static_cast<size_t>(N));
  check_ids_below(env, tokens.data, tokens.length, static_cast<uint32_t>(V), "tokens");
  embedding_backward(dwte.data, dout.data, tokens.data, N, C);
  return env.Undefined();
}

// rmsnormForward(out[N*C], rstd[N], inp[N*C], weight[C], N, C, eps)
Napi::Value RmsnormForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t N = integer(info[4], "N", 1, kMaxDim), C = integer(info[5], "C", 1, kMaxDim);
  double eps = number(info[6], "eps");
  if (!(eps > 0)) throw_range_error(env, "eps must be > 0");
  size_t NC = elements(env, "inp", {N, C});
  auto out = typed_array<float>(info[0], "out", NC);
  auto rstd = typed_array<float>(info[1], "rstd", static_cast<size_t>(N));
  auto inp = typed_array<float>(info[2], "inp", NC);
  auto weight = typed_array<float>(info[3], "weight", static_cast<size_t>(C));
  rmsnorm_forward(out.data, rstd.data, inp.data, weight.data, N, C, static_cast<float>(eps));
  return env.Undefined();
}

// rmsnormBackward(dinp[N*C], dweight[C], dout[N*C], inp[N*C], weight[C], rstd[N], N, C)
Napi::Value RmsnormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t N = integer(info[6], "N", 1, kMaxDim), C = integer(info[7], "C", 1, kMaxDim);
  size_t NC = elements(env, "inp", {N, C});
  auto dinp = typed_array<float>(info[0], "dinp", NC);
  auto dweight = typed_array<float>(info[1], "dweight", static_cast<size_t>(C));
  auto dout = typed_array<float>(info[2], "dout", NC);
  auto inp = typed_array<float>(info[3], "inp", NC);
  auto weight = typed_array<float>(info[4], "weight", static_cast<size_t>(C));
  auto rstd = typed_array<float>(info[5], "rstd", static_cast<size_t>(N));
  rmsnorm_backward(dinp.data, dweight.data, dout.data, inp.data, weight.data, rstd.data, N, C);
  return env.Undefined();
}

// ropeForward / ropeBackward(x, B, T, NH, hs, rowStride, base): x holds at least
// (B*T - 1) * rowStride + NH*hs elements; hs even; NH*hs <= rowStride.
Napi::Value Rope(const Napi::CallbackInfo& info, bool forward) {
  Napi::Env env = info.Env();
  int64_t B = integer(info[1], "B", 1, kMaxDim), T = integer(info[2], "T", 1, kMaxDim);
  int64_t NH = integer(info[3], "NH", 1, kMaxDim), hs = integer(info[4], "hs", 2, kMaxDim);
  int64_t row_stride = integer(info[5], "rowStride", 1, kMaxDim);
  double base = number(info[6], "base");
  if (hs % 2 != 0) throw_range_error(env, "hs must be even, got " + std::to_string(hs));
  if (!(base > 1)) throw_range_error(env, "base must be > 1");
  size_t width = elements(env, "NH * hs", {NH, hs});
  if (static_cast<int64_t>(width) > row_stride)
    throw_range_error(env, "rowStride must be >= NH * hs (" + std::to_string(width) + "), got " + std::to_string(row_stride));
  size_t needed = elements(env, "x", {B * T - 1, row_stride}) + width;
  auto x = typed_array<float>(info[0], "x");
  if (x.length < needed)
    throw_range_error(env, "x has length " + std::to_string(x.length) + ", expected at least " + std::to_string(needed));
  if (forward)
    rope_forward(x.data, B, T, NH, hs, row_stride, static_cast<float>(base));
  else
    rope_backward(x.data, B, T, NH, hs, row_stride, static_cast<float>(base));
  return env.Undefined();
}
Napi::Value RopeForward(const Napi::CallbackInfo& info) { return Rope(info, true); }
Napi::Value RopeBackward(const Napi::CallbackInfo& info) { return Rope(info, false); }

struct AttentionShape {
  int64_t B, T, C, NH;
};

AttentionShape attention_shape(const Napi::CallbackInfo& info, size_t first) {
  AttentionShape s;
  s.B = integer(info[first], "B", 1, kMaxDim);
  s.T = integer(info[first + 1], "T", 1, kMaxDim);
  s.C = integer(info[first + 2], "C", 1, kMaxDim);
  s.NH = integer(info[first + 3], "NH", 1, kMaxDim);
  if (s.C % s.NH != 0)
    throw_range_error(info.Env(), "C (" + std::to_string(s.C) + ") must be a multiple of NH (" + std::to_string(s.NH) + ")");
  return s;
}

// attentionForward(out[B*T*C], lse[B*NH*T], qkv[B*T*3C], B, T, C, NH)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AttentionShape s = attention_shape(info, 3);
  auto out = typed_array<float>(info[0], "out", elements(env, "out", {s.B, s.T, s.C}));
  auto lse = typed_array<float>(info[1], "lse", elements(env, "lse", {s.B, s.NH, s.T}));
  auto qkv = typed_array<float>(info[2], "qkv", elements(env, "qkv", {s.B, s.T, 3, s.C}));
  attention_forward(out.data, lse.data, qkv.data, s.B, s.T, s.C, s.NH);
  return env.Undefined();
}

// attentionBackward(dqkv[B*T*3C], dout[B*T*C], qkv[B*T*3C], out[B*T*C], lse[B*NH*T], B, T, C, NH)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AttentionShape s = attention_shape(info, 5);
  size_t btc = elements(env, "out", {s.B, s.T, s.C});
  size_t qkv_len = elements(env, "qkv", {s.B, s.T, 3, s.C});
  auto dqkv = typed_array<float>(info[0], "dqkv", qkv_len);
  auto dout = typed_array<float>(info[1], "dout", btc);
  auto qkv = typed_array<float>(info[2], "qkv", qkv_len);
  auto out = typed_array<float>(info[3], "out", btc);
  auto lse = typed_array<float>(info[4], "lse", elements(env, "lse", {s.B, s.NH, s.T}));
  attention_backward(dqkv.data, dout.data, qkv.data, out.data, lse.data, s.B, s.T, s.C, s.NH);
  return env.Undefined();
}

// relu2Forward(out[n], inp[n], n)
Napi::Value Relu2Forward(const Napi::CallbackInfo& info) {
  int64_t n = integer(info[2], "n", 0, int64_t{1} << 48);
  auto out = typed_array<float>(info[0], "out", static_cast<size_t>(n));
  auto inp = typed_array<float>(info[1], "inp", static_cast<size_t>(n));
  relu2_forward(out.data, inp.data, n);
  return info.Env().Undefined();
}

// relu2Backward(dinp[n], dout[n], inp[n], n)
Napi::Value Relu2Backward(const Napi::CallbackInfo& info) {
  int64_t n = integer(info[3], "n", 0, int64_t{1} << 48);
  auto dinp = typed_array<float>(info[0], "dinp", static_cast<size_t>(n));
  auto dout = typed_array<float>(info[1], "dout", static_cast<size_t>(n));
  auto inp = typed_array<float>(info[2], "inp", static_cast<size_t>(n));
  relu2_backward(dinp.data, dout.data, inp.data, n);
  return info.Env().Undefined();
}

struct CrossEntropyArgs {
  float* losses = nullptr;
  const uint32_t* targets = nullptr;
  const uint8_t* mask = nullptr;
};

// losses (Float32Array[N] or null), targets (Uint32Array[N], ids < V on unmasked rows),
// mask (Uint8Array[N] or null)
CrossEntropyArgs cross_entropy_args(const Napi::CallbackInfo& info, size_t losses_at, size_t targets_at,
                                    size_t mask_at, int64_t N, int64_t V) {
  Napi::Env env = info.Env();
  CrossEntropyArgs a;
  if (!absent(info[losses_at])) a.losses = typed_array<float>(info[losses_at], "losses", static_cast<size_t>(N)).data;
  auto targets = typed_array<uint32_t>(info[targets_at], "targets", static_cast<size_t>(N));
  a.targets = targets.data;
  if (!absent(info[mask_at])) a.mask = typed_array<uint8_t>(info[mask_at], "mask", static_cast<size_t>(N)).data;
  // the kernel never reads the target of a masked row, so only counted rows need a valid id
  for (int64_t i = 0; i < N; i++)
    if ((a.mask == nullptr || a.mask[i] != 0) && a.targets[i] >= static_cast<uint32_t>(V))
      throw_range_error(env, "targets[" + std::to_string(i) + "] = " + std::to_string(a.targets[i]) +
                                 " is out of range for a vocabulary of " + std::to_string(V));
  return a;
}

// crossEntropyForward(losses|null, logits[N*V], targets[N], mask|null, N, V) -> loss sum
Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t N = integer(info[4], "N", 1, kMaxDim), V = integer(info[5], "V", 1, kMaxDim);
  auto logits = typed_array<float>(info[1], "logits", elements(env, "logits", {N, V}));
  CrossEntropyArgs a = cross_entropy_args(info, 0, 2, 3, N, V);
  return Napi::Number::New(env, cross_entropy_forward(a.losses, logits.data, a.targets, a.mask, N, V));
}

// crossEntropyForwardBackward(logits[N*V] -> dlogits, losses|null, targets[N], mask|null, N, V,
// dlossScale) -> loss sum
Napi::Value CrossEntropyForwardBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t N = integer(info[4], "N", 1, kMaxDim), V = integer(info[5], "V", 1, kMaxDim);
  double scale = number(info[6], "dlossScale");
  auto logits = typed_array<float>(info[0], "logits", elements(env, "logits", {N, V}));
  CrossEntropyArgs a = cross_entropy_args(info, 1, 2, 3, N, V);
  return Napi::Number::New(
      env, cross_entropy_forward_backward(logits.data, a.losses, a.targets, a.mask, N, V, static_cast<float>(scale)));
}

// adamwUpdate(params[n], grads[n], m[n], v[n], n, lr, beta1, beta2, eps, weightDecay, step, gradScale)
Napi::Value AdamwUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t n = integer(info[4], "n", 0, int64_t{1} << 48);
  double lr = number(info[5], "lr"), beta1 = number(info[6], "beta1"), beta2 = number(info[7], "beta2");
  double eps = number(info[8], "eps"), weight_decay = number(info[9], "weightDecay");
  int64_t step = integer(info[10], "step", 1, int64_t{1} << 53);
  double grad_scale = number(info[11], "gradScale");
  if (!(beta1 >= 0 && beta1 < 1)) throw_range_error(env, "beta1 must be in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) throw_range_error(env, "beta2 must be in [0, 1)");
  if (!(eps > 0)) throw_range_error(env, "eps must be > 0");
  auto params = typed_array<float>(info[0], "params", static_cast<size_t>(n));
  auto grads = typed_array<float>(info[1], "grads", static_cast<size_t>(n));
  auto m = typed_array<float>(info[2], "m", static_cast<size_t>(n));
  auto v = typed_array<float>(info[3], "v", static_cast<size_t>(n));
  adamw_update(params.data, grads.data, m.data, v.data, n, static_cast<float>(lr), static_cast<float>(beta1),
               static_cast<float>(beta2), static_cast<float>(eps), static_cast<float>(weight_decay), step,
               static_cast<float>(grad_scale));
  return env.Undefined();
}

// sumOfSquares(x: Float32Array) -> number (double)
Napi::Value SumOfSquares(const Napi::CallbackInfo& info) {
  auto x = typed_array<float>(info[0], "x");
  return Napi::Number::New(info.Env(), sum_of_squares(x.data, static_cast<int64_t>(x.length)));
}

void Init(Napi::Env env, Napi::Object exports) {
  Napi::Object ops = Napi::Object::New(env);
  ops.Set("embeddingForward", Napi::Function::New(env, guarded<EmbeddingForward>, "embeddingForward"));
  ops.Set("embeddingBackward", Napi::Function::New(env, guarded<EmbeddingBackward>, "embeddingBackward"));
  ops.Set("rmsnormForward", Napi::Function::New(env, guarded<RmsnormForward>, "rmsnormForward"));
  ops.Set("rmsnormBackward", Napi::Function::New(env, guarded<RmsnormBackward>, "rmsnormBackward"));
  ops.Set("ropeForward", Napi::Function::New(env, guarded<RopeForward>, "ropeForward"));
  ops.Set("ropeBackward", Napi::Function::New(env, guarded<RopeBackward>, "ropeBackward"));
  ops.Set("attentionForward", Napi::Function::New(env, guarded<AttentionForward>, "attentionForward"));
  ops.Set("attentionBackward", Napi::Function::New(env, guarded<AttentionBackward>, "attentionBackward"));
  ops.Set("relu2Forward", Napi::Function::New(env, guarded<Relu2Forward>, "relu2Forward"));
  ops.Set("relu2Backward", Napi::Function::New(env, guarded<Relu2Backward>, "relu2Backward"));
  ops.Set("crossEntropyForward", Napi::Function::New(env, guarded<CrossEntropyForward>, "crossEntropyForward"));
  ops.Set("crossEntropyForwardBackward",
          Napi::Function::New(env, guarded<CrossEntropyForwardBackward>, "crossEntropyForwardBackward"));
  ops.Set("adamwUpdate", Napi::Function::New(env, guarded<AdamwUpdate>, "adamwUpdate"));
  ops.Set("sumOfSquares", Napi::Function::New(env, guarded<SumOfSquares>, "sumOfSquares"));
  exports.Set("_ops", ops);
}

Registrar registrar("ops", Init);

}  // namespace
}  // namespace tf::addon
