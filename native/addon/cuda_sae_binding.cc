// JS class `CudaSaeEncoder`: an SAE encoder (all latents, or a gathered subset) resident on a
// CUDA device, for SparseAutoencoder.encode with `device: 'cuda'` (lib/label/sae_device.ts).
// The weights are uploaded once; each encode uploads a block of activations, runs
// tfc_sae_encode (GEMM + bias + JumpReLU threshold + finiteness flag) and, for a TopK SAE,
// tfc_sae_topk, then copies the codes back: the CPU's native.sae.encodeSelected (+ topkActivation)
// on the device. The activation and code buffers grow to the largest block seen and are reused.
// One encode at a time per encoder: another call while one runs throws E_STATE.
#include <napi.h>

#include <cmath>
#include <memory>
#include <string>

#include "addon/convert.h"
#include "addon/cuda_loader.h"
#include "addon/js_error.h"
#include "addon/owned_arrays.h"
#include "addon/promise_worker.h"
#include "addon/registry.h"
#include "core/error.h"

namespace tf::addon {
namespace {

// The device side: context, weights and the reusable buffers, freed together.
struct DeviceSae {
  const CudaApi* api = nullptr;
  tfc_context* ctx = nullptr;
  float* w = nullptr;          // [D, S]
  float* b = nullptr;          // [S]
  float* threshold = nullptr;  // [S]
  float* x = nullptr;          // [rows, D], grown
  float* out = nullptr;        // [rows, S], grown
  int64_t rows = 0;            // capacity of x and out
  ~DeviceSae() {
    for (float* p : {w, b, threshold, x, out})
      if (p) api->free(ctx, p);
    if (ctx) api->context_destroy(ctx);
  }
  float* upload(const View<float>& v, const char* what) {
    void* d = nullptr;
    cuda_check(api->malloc(ctx, &d, v.length * sizeof(float)), what);
    cuda_check(api->upload(ctx, d, v.data, v.length * sizeof(float)), what);
    return static_cast<float*>(d);
  }
  void reserve(int64_t N, int64_t D, int64_t S) {
    if (N <= rows) return;
    for (float** p : {&x, &out}) {
      if (*p) cuda_check(api->free(ctx, *p), "free");
      *p = nullptr;
    }
    rows = 0;
    void* d = nullptr;
    cuda_check(api->malloc(ctx, &d, static_cast<size_t>(N * D) * sizeof(float)), "malloc (activations)");
    x = static_cast<float*>(d);
    cuda_check(api->malloc(ctx, &d, static_cast<size_t>(N * S) * sizeof(float)), "malloc (codes)");
    out = static_cast<float*>(d);
    rows = N;
  }
};

class CudaSaeEncoder : public Napi::ObjectWrap<CudaSaeEncoder> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CudaSaeEncoder", {
        InstanceMethod<&CudaSaeEncoder::Encode>("encode"),
        InstanceMethod<&CudaSaeEncoder::Dispose>("dispose"),
    });
  }
  explicit CudaSaeEncoder(const Napi::CallbackInfo& info);

 private:
  Napi::Value Encode(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  void ensure_usable(Napi::Env env, const char* what) {
    if (!device_) throw_error(env, "E_STATE", std::string("CudaSaeEncoder.") + what + ": the encoder was disposed");
    if (busy_) throw_error(env, "E_STATE", std::string("CudaSaeEncoder.") + what + ": an encode is running (await it first)");
  }

  std::shared_ptr<DeviceSae> device_;
  int64_t D_ = 0, S_ = 0, k_ = 0;
  int precision_ = TFC_FP32;
  bool busy_ = false;
  friend class SaeWorker;
};

class SaeWorker : public PromiseWorker {
 public:
  SaeWorker(Napi::Env env, CudaSaeEncoder* encoder, std::shared_ptr<const std::vector<float>> x, float scale,
            std::shared_ptr<PendingOutput<float>> out)
      : PromiseWorker(env, "tokenfilter:cuda.saeEncode"), encoder_(encoder), device_(encoder->device_), x_(std::move(x)),
        scale_(scale), out_(std::move(out)), D_(encoder->D_), S_(encoder->S_), k_(encoder->k_),
        precision_(encoder->precision_) {
    encoder_->busy_ = true;
    keep(encoder_->Value());
  }
  ~SaeWorker() override { encoder_->busy_ = false; }

 protected:
  void Run() override {
    DeviceSae& d = *device_;
    const int64_t N = static_cast<int64_t>(x_->size()) / D_;
    if (N == 0) return;
    d.reserve(N, D_, S_);
    cuda_check(d.api->upload(d.ctx, d.x, x_->data(), x_->size() * sizeof(float)), "upload (activations)");
    int finite = 0;
    cuda_check(d.api->sae_encode(d.ctx, d.x, N, D_, scale_, d.w, d.b, d.threshold, S_, d.out, precision_, &finite),
               "saeEncode");
    if (!finite) {  // as the CPU's encodeSelected: name the element, else blame the encoder
      for (size_t i = 0; i < x_->size(); i++)
        if (!std::isfinite((*x_)[i]))
          throw Error("x contains a non-finite value (" + std::to_string((*x_)[i]) + ") at index " + std::to_string(i),
                      ErrorKind::NotFinite);
      throw Error("a pre-activation is not finite although x is: the encoder or its bias holds NaN or inf, or the product overflowed",
                  ErrorKind::NotFinite);
    }
    if (k_ > 0) cuda_check(d.api->sae_topk(d.ctx, d.out, N, S_, k_), "saeTopk");
    cuda_check(d.api->download(d.ctx, out_->data(), d.out, out_->length() * sizeof(float)), "download (codes)");
  }
  Napi::Value Result(Napi::Env env) override {
    out_->deliver(env);
    return env.Undefined();
  }

 private:
  CudaSaeEncoder* encoder_;
  std::shared_ptr<DeviceSae> device_;
  std::shared_ptr<const std::vector<float>> x_;
  float scale_;
  std::shared_ptr<PendingOutput<float>> out_;
  int64_t D_, S_, k_;
  int precision_;
};

// new CudaSaeEncoder(weight [D*S], bias [S], threshold [S], dModel, precision, k)
//   k = 0: codes = jumprelu(pre, threshold); k >= 1: then the TopK competition over the S latents
CudaSaeEncoder::CudaSaeEncoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaSaeEncoder>(info) {
  Napi::Env env = info.Env();
  guard(env, [&] {
    D_ = integer(info[3], "dModel", 1, int64_t{1} << 31);
    View<float> w = typed_array<float>(info[0], "weight");
    if (w.length == 0 || w.length % static_cast<size_t>(D_) != 0)
      throw_range_error(env, "weight must be a non-empty Float32Array of dModel × latents");
    S_ = static_cast<int64_t>(w.length) / D_;
    View<float> b = typed_array<float>(info[1], "bias", static_cast<size_t>(S_));
    View<float> t = typed_array<float>(info[2], "threshold", static_cast<size_t>(S_));
    check_finite(env, w.data, w.length, "weight");
    check_finite(env, b.data, b.length, "bias");
    for (size_t s = 0; s < t.length; s++)
      if (std::isnan(t.data[s]) || t.data[s] == INFINITY) throw_range_error(env, "threshold must hold no NaN or +infinity");
    const std::string p = string(info[4], "precision");
    precision_ = p == "fp32" ? TFC_FP32 : p == "tf32" ? TFC_TF32 : p == "bf16" ? TFC_BF16 : -1;
    if (precision_ < 0) throw_range_error(env, "precision must be 'fp32', 'tf32' or 'bf16', got '" + p + "'");
    k_ = integer(info[5], "k", 0, S_);
    const CudaApi* api = cuda_api();
    if (!api) throw Error("CUDA is not available (see backendInfo().cuda.reason)", ErrorKind::Device);
    auto d = std::make_shared<DeviceSae>();
    d->api = api;
    cuda_check(api->context_create(0, &d->ctx), "context");
    d->w = d->upload(w, "upload (weight)");
    d->b = d->upload(b, "upload (bias)");
    d->threshold = d->upload(t, "upload (threshold)");
    device_ = d;
    return env.Undefined();
  });
}

// encode(x [N*D], scale, out [N*S]) -> Promise<void>; rejects with E_NOT_FINITE, as the CPU's
// encodeSelected, when a pre-activation is not finite (out is then left untouched).
Napi::Value CudaSaeEncoder::Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    ensure_usable(env, "encode");
    View<float> x = typed_array<float>(info[0], "x");
    if (x.length % static_cast<size_t>(D_) != 0) throw_range_error(env, "x length must be a multiple of dModel");
    const double scale = number(info[1], "scale");
    if (!std::isfinite(scale)) throw_range_error(env, "scale must be finite");
    const size_t N = x.length / static_cast<size_t>(D_);
    typed_array<float>(info[2], "out", N * static_cast<size_t>(S_));
    auto out = std::make_shared<PendingOutput<float>>(info[2], "out", N * static_cast<size_t>(S_));
    auto* worker = new SaeWorker(env, this, owned_copy(x), static_cast<float>(scale), out);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  });
}

// dispose(): frees the device memory now (the encoder is unusable afterwards).
Napi::Value CudaSaeEncoder::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    if (busy_) throw_error(env, "E_STATE", "CudaSaeEncoder.dispose: an encode is running (await it first)");
    device_.reset();
    return env.Undefined();
  });
}

void Init(Napi::Env env, Napi::Object exports) { exports.Set("CudaSaeEncoder", CudaSaeEncoder::Define(env)); }

Registrar registrar("cuda_sae", Init);

}  // namespace
}  // namespace tf::addon
