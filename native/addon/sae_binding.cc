// JS class `SaeModel` (owns a tf::Sae with its Adam state) and the SAE scoring functions:
// encodeSelected (one GEMM over gathered encoder columns), latentMoments (streaming mean and
// M2), labelTokens (the labelling rule). Every argument is checked here before the core sees
// it; training steps and encoding run in PromiseWorkers, and a busy model refuses other calls.
#include <napi.h>

#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "addon/convert.h"
#include "addon/js_error.h"
#include "addon/owned_arrays.h"
#include "addon/promise_worker.h"
#include "addon/registry.h"
#include "core/error.h"
#include "kernels/latent_moments.h"
#include "kernels/sae_label.h"
#include "models/sae.h"

namespace tf::addon {
namespace {

class LambdaWorker : public PromiseWorker {
 public:
  LambdaWorker(Napi::Env env, const char* what, std::function<void()> run, std::function<Napi::Value(Napi::Env)> result,
               std::function<void()> done)
      : PromiseWorker(env, what), run_(std::move(run)), result_(std::move(result)), done_(std::move(done)) {}
  ~LambdaWorker() override {
    if (done_) done_();
  }

 protected:
  void Run() override { run_(); }
  Napi::Value Result(Napi::Env env) override { return result_ ? result_(env) : env.Undefined(); }

 private:
  std::function<void()> run_;
  std::function<Napi::Value(Napi::Env)> result_;
  std::function<void()> done_;
};

Napi::Object stats_object(Napi::Env env, const SaeStepStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("mse", s.mse);
  o.Set("variance", s.variance);
  o.Set("l0", s.l0);
  o.Set("aux", s.aux);
  o.Set("loss", s.loss);
  o.Set("dead", static_cast<double>(s.dead));
  return o;
}

class SaeModel : public Napi::ObjectWrap<SaeModel> {
 public:
  // Every method runs inside guard (js_error.h): a C++ exception leaves as a coded JS Error.
  template <Napi::Value (SaeModel::*Method)(const Napi::CallbackInfo&)>
  Napi::Value guarded(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&] { return (this->*Method)(info); });
  }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SaeModel",
                       {
                           InstanceMethod<&SaeModel::guarded<&SaeModel::Init>>("init"),
                           InstanceMethod<&SaeModel::guarded<&SaeModel::InitDecoderBias>>("initDecoderBias"),
                           InstanceMethod<&SaeModel::guarded<&SaeModel::ParamCount>>("paramCount"),
                           InstanceMethod<&SaeModel::guarded<&SaeModel::ReadParameters>>("readParameters"),
                           InstanceMethod<&SaeModel::guarded<&SaeModel::WriteParameters>>("writeParameters"),
                           InstanceMethod<&SaeModel::guarded<&SaeModel::ReadGradients>>("readGradients"),
                           InstanceMethod<&SaeModel::guarded<&SaeModel::SinceFired>>("sinceFired"),
                           InstanceMethod<&SaeModel::guarded<&SaeModel::Forward>>("forward"),
                           InstanceMethod<&SaeModel::guarded<&SaeModel::LossAndGrad>>("lossAndGrad"),
                           InstanceMethod<&SaeModel::guarded<&SaeModel::Step>>("step"),
                       });
  }

  // new SaeModel({dModel, dSae, kind: 'topk'|'jumprelu', k, l0Coefficient, bandwidth,
  //               auxCoefficient, auxK, deadAfter})
  explicit SaeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SaeModel>(info) {
    guard(info.Env(), [&] { construct(info); });
  }

  void construct(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object c = object(info[0], "config");
    SaeConfig config;
    config.d_model = integer(c.Get("dModel"), "config.dModel", 1, 1 << 20);
    config.d_sae = integer(c.Get("dSae"), "config.dSae", 1, 1 << 24);
    const std::string kind = string(c.Get("kind"), "config.kind");
    if (kind != "topk" && kind != "jumprelu") throw_range_error(env, "config.kind must be 'topk' or 'jumprelu'");
    config.kind = kind == "topk" ? SaeKind::TopK : SaeKind::JumpReLU;
    config.k = integer(c.Get("k"), "config.k", 1, config.d_sae);
    config.l0_coefficient = static_cast<float>(number(c.Get("l0Coefficient"), "config.l0Coefficient"));
    config.bandwidth = static_cast<float>(number(c.Get("bandwidth"), "config.bandwidth"));
    if (!(config.bandwidth > 0)) throw_range_error(env, "config.bandwidth must be > 0");
    config.aux_coefficient = static_cast<float>(number(c.Get("auxCoefficient"), "config.auxCoefficient"));
    config.aux_k = integer(c.Get("auxK"), "config.auxK", 1, config.d_sae);
    config.dead_after = integer(c.Get("deadAfter"), "config.deadAfter", 1, int64_t(1) << 52);
    model_ = std::make_unique<Sae>(config);
    bytes_ = static_cast<int64_t>(4 * model_->param_count() * sizeof(float));
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes_);
  }
  ~SaeModel() override { Napi::MemoryManagement::AdjustExternalMemory(Env(), -bytes_); }

 private:
  void ensure_idle(Napi::Env env) {
    if (busy_) throw_error(env, "E_STATE", "SaeModel: busy with a training step (await it first)");
  }
  int64_t D() const { return model_->config().d_model; }
  int64_t L() const { return model_->config().d_sae; }

  // x: Float32Array [N, D], finite
  View<float> rows(const Napi::Value& value, int64_t& N) {
    Napi::Env env = value.Env();
    View<float> x = typed_array<float>(value, "x");
    if (x.length == 0 || x.length % static_cast<size_t>(D()) != 0)
      throw_range_error(env, "x has length " + std::to_string(x.length) + ", not a positive multiple of dModel = " +
                                 std::to_string(D()));
    check_finite(env, x.data, x.length, "x");
    N = static_cast<int64_t>(x.length) / D();
    return x;
  }

  Napi::Value Init(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env());
    model_->init(static_cast<uint64_t>(integer(info[0], "seed", 0, (int64_t(1) << 53))),
                 static_cast<float>(number(info[1], "initialThreshold")));
    return info.Env().Undefined();
  }
  Napi::Value InitDecoderBias(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env());
    int64_t N = 0;
    View<float> x = rows(info[0], N);
    model_->init_decoder_bias(x.data, N);
    return info.Env().Undefined();
  }
  Napi::Value ParamCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(model_->param_count()));
  }
  Napi::Value ReadParameters(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env());
    View<float> out = typed_array<float>(info[0], "out", static_cast<size_t>(model_->param_count()));
    std::copy(model_->params(), model_->params() + model_->param_count(), out.data);
    return info.Env().Undefined();
  }
  Napi::Value WriteParameters(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env());
    View<float> in = typed_array<float>(info[0], "parameters", static_cast<size_t>(model_->param_count()));
    check_finite(info.Env(), in.data, in.length, "parameters");
    std::copy(in.data, in.data + in.length, model_->params());
    return info.Env().Undefined();
  }
  Napi::Value ReadGradients(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env());
    View<float> out = typed_array<float>(info[0], "out", static_cast<size_t>(model_->param_count()));
    std::copy(model_->grads(), model_->grads() + model_->param_count(), out.data);
    return info.Env().Undefined();
  }
  Napi::Value SinceFired(const Napi::CallbackInfo& info) {
    const auto& s = model_->since_fired();
    Napi::Float64Array out = Napi::Float64Array::New(info.Env(), s.size());
    for (size_t i = 0; i < s.size(); i++) out[i] = static_cast<double>(s[i]);
    return out;
  }
  // forward(x, pre, f): pre, f Float32Array [N, L] written (sync; for tests and small blocks)
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env());
    int64_t N = 0;
    View<float> x = rows(info[0], N);
    View<float> pre = typed_array<float>(info[1], "pre", static_cast<size_t>(N * L()));
    View<float> f = typed_array<float>(info[2], "f", static_cast<size_t>(N * L()));
    sae_forward(model_->config(), model_->params(), x.data, N, pre.data, f.data);
    return info.Env().Undefined();
  }
  // lossAndGrad(x) → stats (sync; gradients readable with readGradients)
  Napi::Value LossAndGrad(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env());
    int64_t N = 0;
    View<float> x = rows(info[0], N);
    return stats_object(info.Env(), model_->loss_and_grad(x.data, N));
  }
  // step(x, lr, beta1, beta2, eps) → Promise<stats>
  Napi::Value Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_idle(env);
    int64_t N = 0;
    View<float> x = rows(info[0], N);
    const float lr = static_cast<float>(number(info[1], "lr"));
    const float b1 = static_cast<float>(number(info[2], "beta1"));
    const float b2 = static_cast<float>(number(info[3], "beta2"));
    const float eps = static_cast<float>(number(info[4], "eps"));
    auto stats = std::make_shared<SaeStepStats>();
    auto rows_copy = owned_copy(x);
    Sae* model = model_.get();
    busy_ = true;
    auto* worker = new LambdaWorker(
        env, "SaeModel.step", [=]() { *stats = model->step(rows_copy->data(), N, lr, b1, b2, eps); },
        [stats](Napi::Env e) { return stats_object(e, *stats); }, [this]() { busy_ = false; });
    worker->keep(Value());
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  std::unique_ptr<Sae> model_;
  int64_t bytes_ = 0;
  bool busy_ = false;
};

// encodeSelected(x [N, D], D, scale, w [D, S], b [S], threshold [S], out [N, S]) → Promise
Napi::Value EncodeSelected(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t D = integer(info[1], "dModel", 1, 1 << 20);
  View<float> x = typed_array<float>(info[0], "x");
  if (x.length % static_cast<size_t>(D) != 0)
    throw_range_error(env, "x has length " + std::to_string(x.length) + ", not a multiple of dModel = " + std::to_string(D));
  const int64_t N = static_cast<int64_t>(x.length) / D;
  const double scale = number(info[2], "scale");
  View<float> w = typed_array<float>(info[3], "encoder");
  if (w.length == 0 || w.length % static_cast<size_t>(D) != 0)
    throw_range_error(env, "encoder has length " + std::to_string(w.length) + ", not a positive multiple of dModel");
  const int64_t S = static_cast<int64_t>(w.length) / D;
  View<float> b = typed_array<float>(info[4], "bias", static_cast<size_t>(S));
  View<float> th = typed_array<float>(info[5], "threshold", static_cast<size_t>(S));
  View<float> out_view = typed_array<float>(info[6], "out", static_cast<size_t>(N * S));
  // Copies (owned_arrays.h): JS may detach any of these arrays while the worker runs.
  auto xs = owned_copy(x), ws = owned_copy(w), bs = owned_copy(b), ths = owned_copy(th);
  auto out = std::make_shared<PendingOutput<float>>(info[6], "out", out_view.length);
  auto* worker = new LambdaWorker(
      env, "encodeSelected",
      [=]() {
        // x is checked for NaN / inf through the encoding's own epilogue; only on failure is it
        // scanned, to name the element
        const float* xd = xs->data();
        if (sae_encode_selected(xd, N, D, static_cast<float>(scale), ws->data(), bs->data(), ths->data(), S, out->data()))
          return;
        for (size_t i = 0; i < xs->size(); i++)
          if (!std::isfinite(xd[i]))
            throw Error("x contains a non-finite value (" + std::to_string(xd[i]) + ") at index " + std::to_string(i),
                        ErrorKind::NotFinite);
        throw Error("a pre-activation is not finite although x is: the encoder or its bias holds NaN or inf, or the product overflowed",
                    ErrorKind::NotFinite);
      },
      [out](Napi::Env e) -> Napi::Value {
        out->deliver(e);
        return e.Undefined();
      },
      nullptr);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// topkActivation(pre [N, L], L, k, f [N, L]) (sync)
Napi::Value TopkActivation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t L = integer(info[1], "latents", 1, int64_t(1) << 24);
  View<float> pre = typed_array<float>(info[0], "pre");
  if (pre.length % static_cast<size_t>(L) != 0) throw_range_error(env, "pre length is not a multiple of latents");
  const int64_t N = static_cast<int64_t>(pre.length) / L;
  const int64_t k = integer(info[2], "k", 1, L);
  View<float> f = typed_array<float>(info[3], "out", pre.length);
  check_finite(env, pre.data, pre.length, "pre");
  topk_activation(pre.data, N, L, k, f.data);
  return env.Undefined();
}

// latentMoments(acts [T, S], S, count, mean Float64Array [S], m2 Float64Array [S]) → new count
Napi::Value LatentMoments(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t S = integer(info[1], "latents", 1, int64_t(1) << 24);
  View<float> acts = typed_array<float>(info[0], "activations");
  if (acts.length % static_cast<size_t>(S) != 0)
    throw_range_error(env, "activations has length " + std::to_string(acts.length) + ", not a multiple of latents = " +
                               std::to_string(S));
  check_finite(env, acts.data, acts.length, "activations");
  const double count = number(info[2], "count");
  View<double> mean = typed_array<double>(info[3], "mean", static_cast<size_t>(S));
  View<double> m2 = typed_array<double>(info[4], "m2", static_cast<size_t>(S));
  const double n = latent_moments_update(acts.data, static_cast<int64_t>(acts.length) / S, S, count, mean.data, m2.data);
  return Napi::Number::New(env, n);
}

// labelTokens(acts [T, S], S, mean [S], std [S], z, minLatents, breakBefore [T] | undefined,
//             blocked [T] | undefined, out Uint8Array [T]) → {seeds, labelled}
Napi::Value LabelTokens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t S = integer(info[1], "latents", 1, int64_t(1) << 24);
  View<float> acts = typed_array<float>(info[0], "activations");
  if (acts.length % static_cast<size_t>(S) != 0)
    throw_range_error(env, "activations has length " + std::to_string(acts.length) + ", not a multiple of latents = " +
                               std::to_string(S));
  const int64_t T = static_cast<int64_t>(acts.length) / S;
  check_finite(env, acts.data, acts.length, "activations");
  View<float> mean = typed_array<float>(info[2], "mean", static_cast<size_t>(S));
  View<float> sd = typed_array<float>(info[3], "std", static_cast<size_t>(S));
  check_finite(env, mean.data, mean.length, "mean");
  check_finite(env, sd.data, sd.length, "std");
  const double z = number(info[4], "z");
  const int64_t min_latents = integer(info[5], "minLatents", 1, S);
  const uint8_t* breaks = info[6].IsUndefined() ? nullptr : typed_array<uint8_t>(info[6], "breakBefore", static_cast<size_t>(T)).data;
  const uint8_t* blocked = info[7].IsUndefined() ? nullptr : typed_array<uint8_t>(info[7], "blocked", static_cast<size_t>(T)).data;
  View<uint8_t> out = typed_array<uint8_t>(info[8], "out", static_cast<size_t>(T));
  LabelRuleStats st = sae_label_tokens(acts.data, T, S, mean.data, sd.data, static_cast<float>(z), min_latents, breaks,
                                       blocked, out.data);
  Napi::Object o = Napi::Object::New(env);
  o.Set("seeds", static_cast<double>(st.seeds));
  o.Set("labelled", static_cast<double>(st.labelled));
  return o;
}

void Init(Napi::Env env, Napi::Object exports) {
  Napi::Object sae = Napi::Object::New(env);
  sae.Set("SaeModel", SaeModel::Define(env));
  sae.Set("encodeSelected", Napi::Function::New(env, guarded<EncodeSelected>, "encodeSelected"));
  sae.Set("topkActivation", Napi::Function::New(env, guarded<TopkActivation>, "topkActivation"));
  sae.Set("latentMoments", Napi::Function::New(env, guarded<LatentMoments>, "latentMoments"));
  sae.Set("labelTokens", Napi::Function::New(env, guarded<LabelTokens>, "labelTokens"));
  exports.Set("sae", sae);
}

Registrar registrar("sae", Init);

}  // namespace
}  // namespace tf::addon
