// Test hooks for the CUDA ops (exported as `_cudaOps`, not public API): the same functions and
// arguments as `_ops` (ops_binding.cc) and `_gemm` (gemm_binding.cc, plus a precision), run
// on the device. Each call checks types and lengths against the shape arguments (and ids
// against V), uploads its arrays, runs the op, and copies the outputs back in place.
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "addon/convert.h"
#include "addon/cuda_loader.h"
#include "addon/js_error.h"
#include "addon/registry.h"
#include "core/error.h"

namespace tf::addon {
namespace {

constexpr int64_t kMaxDim = (int64_t{1} << 31) - 1;

// One op call: a context, the device copies of its arrays, the outputs to copy back.
class Session {
 public:
  explicit Session(Napi::Env env) : env_(env), api_(cuda_api()) {
    if (!api_) throw_error(env, "E_DEVICE", "CUDA is not available (see backendInfo().cuda.reason)");
    check(api_->context_create(0, &ctx_), "context");
  }
  ~Session() {
    for (void* p : device_) api_->free(ctx_, p);
    api_->context_destroy(ctx_);
  }
  tfc_context* ctx() { return ctx_; }
  const CudaApi& api() { return *api_; }

  // A typed array of exactly `n` elements (or null when `optional` and absent), uploaded.
  template <typename T>
  T* array(const Napi::Value& value, const std::string& name, size_t n, bool output, bool optional = false) {
    if (optional && (value.IsUndefined() || value.IsNull())) return nullptr;
    View<T> v = typed_array<T>(value, name, n);
    void* d = nullptr;
    check(api_->malloc(ctx_, &d, n * sizeof(T)), "malloc");
    device_.push_back(d);
    check(api_->upload(ctx_, d, v.data, n * sizeof(T)), "upload");
    if (output) outputs_.push_back({v.data, d, n * sizeof(T)});
    return static_cast<T*>(d);
  }
  // Runs the op's status check, then copies every output back (waits for the device).
  void finish(const char* error, const char* what) {
    check(error, what);
    for (const Output& o : outputs_) check(api_->download(ctx_, o.host, o.device, o.bytes), "download");
  }
  void check(const char* error, const char* what) {
    if (error) throw_error(env_, "E_DEVICE", std::string("CUDA ") + what + ": " + error);
  }

 private:
  struct Output {
    void* host;
    const void* device;
    size_t bytes;
  };
  Napi::Env env_;
  const CudaApi* api_;
  tfc_context* ctx_ = nullptr;
  std::vector<void*> device_;
  std::vector<Output> outputs_;
};

size_t count(std::initializer_list<int64_t> dims) {
  size_t n = 1;
  for (int64_t d : dims) n *= static_cast<size_t>(d);
  return n;
}

int64_t dim(const Napi::Value& v, const char* name) { return integer(v, name, 1, kMaxDim); }

// 'fp32' | 'tf32' | 'bf16' -> TFC_*
int precision_of(const Napi::Value& v) {
  const std::string p = string(v, "precision");
  const int precision = p == "fp32" ? TFC_FP32 : p == "tf32" ? TFC_TF32 : p == "bf16" ? TFC_BF16 : -1;
  if (precision < 0) throw_range_error(v.Env(), "precision must be 'fp32', 'tf32' or 'bf16'");
  return precision;
}

// undefined | 'auto' | 'simple' | 'tiled' -> TFC_GEMM_*
int gemm_kernel_of(const Napi::Value& v) {
  if (v.IsUndefined()) return TFC_GEMM_AUTO;
  const std::string k = string(v, "kernel");
  const int kernel = k == "auto" ? TFC_GEMM_AUTO : k == "simple" ? TFC_GEMM_SIMPLE : k == "tiled" ? TFC_GEMM_TILED : -1;
  if (kernel < 0) throw_range_error(v.Env(), "kernel must be 'auto', 'simple' or 'tiled'");
  return kernel;
}

Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  const int64_t N = dim(info[3], "N"), C = dim(info[4], "C"), V = dim(info[5], "V");
  Session s(info.Env());
  auto tokens = typed_array<uint32_t>(info[1], "tokens", count({N}));
  check_ids_below(info.Env(), tokens.data, tokens.length, static_cast<uint32_t>(V), "tokens");
  float* out = s.array<float>(info[0], "out", count({N, C}), true);
  uint32_t* tok = s.array<uint32_t>(info[1], "tokens", count({N}), false);
  float* wte = s.array<float>(info[2], "wte", count({V, C}), false);
  s.finish(s.api().embedding_forward(s.ctx(), out, tok, wte, N, C, V), "embeddingForward");
  return info.Env().Undefined();
}

Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  const int64_t N = dim(info[3], "N"), C = dim(info[4], "C"), V = dim(info[5], "V");
  Session s(info.Env());
  auto tokens = typed_array<uint32_t>(info[2], "tokens", count({N}));
  check_ids_below(info.Env(), tokens.data, tokens.length, static_cast<uint32_t>(V), "tokens");
  float* dwte = s.array<float>(info[0], "dwte", count({V, C}), true);
  float* dout = s.array<float>(info[1], "dout", count({N, C}), false);
  uint32_t* tok = s.array<uint32_t>(info[2], "tokens", count({N}), false);
  s.finish(s.api().embedding_backward(s.ctx(), dwte, dout, tok, N, C, V), "embeddingBackward");
  return info.Env().Undefined();
}

Napi::Value RmsnormForward(const Napi::CallbackInfo& info) {
  const int64_t N = dim(info[4], "N"), C = dim(info[5], "C");
  const double eps = number(info[6], "eps");
  if (!(eps > 0)) throw_range_error(info.Env(), "eps must be > 0");
  Session s(info.Env());
  float* out = s.array<float>(info[0], "out", count({N, C}), true);
  float* rstd = s.array<float>(info[1], "rstd", count({N}), true);
  float* inp = s.array<float>(info[2], "inp", count({N, C}), false);
  float* w = s.array<float>(info[3], "weight", count({C}), false);
  s.finish(s.api().rmsnorm_forward(s.ctx(), out, rstd, inp, w, N, C, static_cast<float>(eps)), "rmsnormForward");
  return info.Env().Undefined();
}

Napi::Value RmsnormBackward(const Napi::CallbackInfo& info) {
  const int64_t N = dim(info[6], "N"), C = dim(info[7], "C");
  Session s(info.Env());
  float* dinp = s.array<float>(info[0], "dinp", count({N, C}), true);
  float* dw = s.array<float>(info[1], "dweight", count({C}), true);
  float* dout = s.array<float>(info[2], "dout", count({N, C}), false);
  float* inp = s.array<float>(info[3], "inp", count({N, C}), false);
  float* w = s.array<float>(info[4], "weight", count({C}), false);
  float* rstd = s.array<float>(info[5], "rstd", count({N}), false);
  s.finish(s.api().rmsnorm_backward(s.ctx(), dinp, dw, dout, inp, w, rstd, N, C), "rmsnormBackward");
  return info.Env().Undefined();
}

// ropeForward / ropeBackward(x, B, T, NH, hs, rowStride, base); x is passed whole
Napi::Value Rope(const Napi::CallbackInfo& info, int backward) {
  Napi::Env env = info.Env();
  const int64_t B = dim(info[1], "B"), T = dim(info[2], "T"), NH = dim(info[3], "NH"), hs = dim(info[4], "hs");
  const int64_t stride = dim(info[5], "rowStride");
  const double base = number(info[6], "base");
  if (hs % 2 != 0) throw_range_error(env, "hs must be even");
  if (NH * hs > stride) throw_range_error(env, "NH * hs must be <= rowStride");
  if (!(base > 1)) throw_range_error(env, "base must be > 1");
  View<float> x = typed_array<float>(info[0], "x");
  const size_t need = static_cast<size_t>((B * T - 1) * stride + NH * hs);
  if (x.length < need) throw_range_error(env, "x has length " + std::to_string(x.length) + ", needs " + std::to_string(need));
  Session s(env);
  float* d = s.array<float>(info[0], "x", x.length, true);
  s.finish(s.api().rope(s.ctx(), d, B, T, NH, hs, stride, static_cast<float>(base), backward), "rope");
  return env.Undefined();
}
Napi::Value RopeForward(const Napi::CallbackInfo& info) { return Rope(info, 0); }
Napi::Value RopeBackward(const Napi::CallbackInfo& info) { return Rope(info, 1); }

void check_heads(Napi::Env env, int64_t C, int64_t NH) {
  if (C % NH != 0) throw_range_error(env, "C must be a multiple of NH");
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  const int64_t B = dim(info[3], "B"), T = dim(info[4], "T"), C = dim(info[5], "C"), NH = dim(info[6], "NH");
  check_heads(info.Env(), C, NH);
  Session s(info.Env());
  float* out = s.array<float>(info[0], "out", count({B, T, C}), true);
  float* lse = s.array<float>(info[1], "lse", count({B, NH, T}), true);
  float* qkv = s.array<float>(info[2], "qkv", count({B, T, 3 * C}), false);
  s.finish(s.api().attention_forward(s.ctx(), out, lse, qkv, B, T, C, NH), "attentionForward");
  return info.Env().Undefined();
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const int64_t B = dim(info[5], "B"), T = dim(info[6], "T"), C = dim(info[7], "C"), NH = dim(info[8], "NH");
  check_heads(info.Env(), C, NH);
  Session s(info.Env());
  float* dqkv = s.array<float>(info[0], "dqkv", count({B, T, 3 * C}), true);
  float* dout = s.array<float>(info[1], "dout", count({B, T, C}), false);
  float* qkv = s.array<float>(info[2], "qkv", count({B, T, 3 * C}), false);
  float* out = s.array<float>(info[3], "out", count({B, T, C}), false);
  float* lse = s.array<float>(info[4], "lse", count({B, NH, T}), false);
  s.finish(s.api().attention_backward(s.ctx(), dqkv, dout, qkv, out, lse, B, T, C, NH), "attentionBackward");
  return info.Env().Undefined();
}

Napi::Value Relu2Forward(const Napi::CallbackInfo& info) {
  const int64_t n = dim(info[2], "n");
  Session s(info.Env());
  float* out = s.array<float>(info[0], "out", count({n}), true);
  float* inp = s.array<float>(info[1], "inp", count({n}), false);
  s.finish(s.api().relu2_forward(s.ctx(), out, inp, n), "relu2Forward");
  return info.Env().Undefined();
}

Napi::Value Relu2Backward(const Napi::CallbackInfo& info) {
  const int64_t n = dim(info[3], "n");
  Session s(info.Env());
  float* dinp = s.array<float>(info[0], "dinp", count({n}), true);
  float* dout = s.array<float>(info[1], "dout", count({n}), false);
  float* inp = s.array<float>(info[2], "inp", count({n}), false);
  s.finish(s.api().relu2_backward(s.ctx(), dinp, dout, inp, n), "relu2Backward");
  return info.Env().Undefined();
}

// crossEntropy(logits, losses|null, targets, mask|null, N, V, backward, dlossScale) -> sum
Napi::Value CrossEntropy(const Napi::CallbackInfo& info, int li, int lossi, int backward, float scale) {
  Napi::Env env = info.Env();
  const int64_t N = dim(info[4], "N"), V = dim(info[5], "V");
  auto targets = typed_array<uint32_t>(info[2], "targets", count({N}));
  const uint8_t* mask = nullptr;
  if (!info[3].IsUndefined() && !info[3].IsNull()) mask = typed_array<uint8_t>(info[3], "mask", count({N})).data;
  for (int64_t i = 0; i < N; i++)
    if ((!mask || mask[i]) && targets.data[i] >= V)
      throw_range_error(env, "targets[" + std::to_string(i) + "] = " + std::to_string(targets.data[i]) + " is >= V");
  Session s(env);
  float* logits = s.array<float>(info[li], "logits", count({N, V}), backward != 0);
  float* losses = s.array<float>(info[lossi], "losses", count({N}), true, true);
  uint32_t* tg = s.array<uint32_t>(info[2], "targets", count({N}), false);
  uint8_t* mk = s.array<uint8_t>(info[3], "mask", count({N}), false, true);
  double sum = 0.0;
  s.finish(s.api().cross_entropy(s.ctx(), logits, losses, tg, mk, N, V, backward, scale, &sum), "crossEntropy");
  return Napi::Number::New(env, sum);
}
// crossEntropyForward(losses|null, logits[N*V], targets[N], mask|null, N, V)
Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) { return CrossEntropy(info, 1, 0, 0, 0.0f); }
// crossEntropyForwardBackward(logits -> dlogits, losses|null, targets, mask|null, N, V, dlossScale)
Napi::Value CrossEntropyForwardBackward(const Napi::CallbackInfo& info) {
  return CrossEntropy(info, 0, 1, 1, static_cast<float>(number(info[6], "dlossScale")));
}

// adamwUpdate(params, grads, m, v, n, lr, beta1, beta2, eps, weightDecay, step, gradScale)
Napi::Value AdamwUpdate(const Napi::CallbackInfo& info) {
  const int64_t n = dim(info[4], "n");
  const float lr = static_cast<float>(number(info[5], "lr")), b1 = static_cast<float>(number(info[6], "beta1"));
  const float b2 = static_cast<float>(number(info[7], "beta2")), eps = static_cast<float>(number(info[8], "eps"));
  const float wd = static_cast<float>(number(info[9], "weightDecay"));
  const int64_t step = integer(info[10], "step", 1, int64_t(1) << 53);
  const float gs = static_cast<float>(number(info[11], "gradScale"));
  Session s(info.Env());
  float* p = s.array<float>(info[0], "params", count({n}), true);
  float* g = s.array<float>(info[1], "grads", count({n}), false);
  float* m = s.array<float>(info[2], "m", count({n}), true);
  float* v = s.array<float>(info[3], "v", count({n}), true);
  s.finish(s.api().adamw(s.ctx(), p, g, m, v, n, lr, b1, b2, eps, wd, step, gs), "adamwUpdate");
  return info.Env().Undefined();
}

Napi::Value SumOfSquares(const Napi::CallbackInfo& info) {
  View<float> x = typed_array<float>(info[0], "x");
  if (x.length == 0) return Napi::Number::New(info.Env(), 0.0);
  Session s(info.Env());
  float* d = s.array<float>(info[0], "x", x.length, false);
  double sum = 0.0;
  s.finish(s.api().sum_of_squares(s.ctx(), d, static_cast<int64_t>(x.length), &sum), "sumOfSquares");
  return Napi::Number::New(info.Env(), sum);
}

// gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, precision 'fp32'|'tf32'|'bf16',
//      kernel 'auto'|'simple'|'tiled' = 'auto')
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool ta = boolean(info[0], "transA"), tb = boolean(info[1], "transB");
  const int64_t M = dim(info[2], "M"), N = dim(info[3], "N"), K = dim(info[4], "K");
  const int64_t lda = dim(info[7], "lda"), ldb = dim(info[9], "ldb"), ldc = dim(info[12], "ldc");
  const int precision = precision_of(info[13]);
  const int kernel = gemm_kernel_of(info[14]);
  const int64_t arows = ta ? K : M, acols = ta ? M : K, brows = tb ? N : K, bcols = tb ? K : N;
  if (lda < acols || ldb < bcols || ldc < N) throw_range_error(env, "a leading dimension is smaller than its row");
  Session s(env);
  float* A = s.array<float>(info[6], "A", static_cast<size_t>((arows - 1) * lda + acols), false);
  float* B = s.array<float>(info[8], "B", static_cast<size_t>((brows - 1) * ldb + bcols), false);
  float* C = s.array<float>(info[11], "C", static_cast<size_t>((M - 1) * ldc + N), true);
  const float alpha = static_cast<float>(number(info[5], "alpha")), beta = static_cast<float>(number(info[10], "beta"));
  s.finish(s.api().gemm_with(s.ctx(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, precision, kernel), "gemm");
  return env.Undefined();
}

// saeEncodeSelected(x [N*D], D, scale, encoder [D*S], bias [S], threshold [S], out [N*S], precision)
// -> whether every pre-activation was finite (out is garbage when not)
Napi::Value SaeEncodeSelected(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t D = dim(info[1], "dModel");
  View<float> x = typed_array<float>(info[0], "x");
  View<float> w = typed_array<float>(info[3], "encoder");
  if (x.length % static_cast<size_t>(D) != 0 || w.length == 0 || w.length % static_cast<size_t>(D) != 0)
    throw_range_error(env, "x and encoder lengths must be multiples of dModel (encoder non-empty)");
  const int64_t N = static_cast<int64_t>(x.length) / D, S = static_cast<int64_t>(w.length) / D;
  const float scale = static_cast<float>(number(info[2], "scale"));
  const int precision = precision_of(info[7]);
  if (N == 0) return Napi::Boolean::New(env, true);
  Session s(env);
  float* dx = s.array<float>(info[0], "x", x.length, false);
  float* dw = s.array<float>(info[3], "encoder", w.length, false);
  float* db = s.array<float>(info[4], "bias", count({S}), false);
  float* dt = s.array<float>(info[5], "threshold", count({S}), false);
  float* dout = s.array<float>(info[6], "out", count({N, S}), true);
  int finite = 0;
  s.finish(s.api().sae_encode(s.ctx(), dx, N, D, scale, dw, db, dt, S, dout, precision, &finite), "saeEncodeSelected");
  return Napi::Boolean::New(env, finite != 0);
}

// gemmTime(transA, transB, M, N, K, precision, reps, kernel = 'auto') -> seconds per call (device-resident)
Napi::Value GemmTime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool ta = boolean(info[0], "transA"), tb = boolean(info[1], "transB");
  const int64_t M = dim(info[2], "M"), N = dim(info[3], "N"), K = dim(info[4], "K");
  const int precision = precision_of(info[5]);
  const int reps = static_cast<int>(integer(info[6], "reps", 1, 100000));
  const int kernel = gemm_kernel_of(info[7]);
  Session s(env);
  double seconds = 0.0;
  s.finish(s.api().gemm_time(s.ctx(), ta, tb, M, N, K, precision, kernel, reps, &seconds), "gemmTime");
  return Napi::Number::New(env, seconds);
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
  ops.Set("crossEntropyForwardBackward", Napi::Function::New(env, guarded<CrossEntropyForwardBackward>, "crossEntropyForwardBackward"));
  ops.Set("adamwUpdate", Napi::Function::New(env, guarded<AdamwUpdate>, "adamwUpdate"));
  ops.Set("sumOfSquares", Napi::Function::New(env, guarded<SumOfSquares>, "sumOfSquares"));
  ops.Set("gemm", Napi::Function::New(env, guarded<Gemm>, "gemm"));
  ops.Set("gemmTime", Napi::Function::New(env, guarded<GemmTime>, "gemmTime"));
  ops.Set("saeEncodeSelected", Napi::Function::New(env, guarded<SaeEncodeSelected>, "saeEncodeSelected"));
  exports.Set("_cudaOps", ops);
}

Registrar registrar("cuda_ops", Init);

}  // namespace
}  // namespace tf::addon
