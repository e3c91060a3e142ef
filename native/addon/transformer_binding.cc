// JS class `TransformerModel`: owns a tf::Transformer and its AdamW state. Every argument is
// checked here (types, lengths against B × T, ids < vocab, finite floats where loaded) before
// the core sees it; token ids, targets and masks are copied once checked, so JS code changing
// (or detaching) its arrays while a worker runs cannot put an out-of-range id in front of the
// core, and outputs are written into native buffers delivered at resolve (owned_arrays.h). Long work (init, train steps, loss, logits, hidden states and their backward) runs in a
// PromiseWorker; while one runs the model is busy and any other call on it throws, so two
// workers never share its buffers. Big allocations are reported to V8 as external memory.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "addon/convert.h"
#include "addon/js_error.h"
#include "addon/model_args.h"
#include "addon/owned_arrays.h"
#include "addon/promise_worker.h"
#include "addon/registry.h"
#include "core/error.h"
#include "models/transformer.h"

namespace tf::addon {
namespace {

// A new Float32Array holding a copy of `values` (results the binding computed into its own memory).
Napi::Float32Array float_array(Napi::Env env, const std::vector<float>& values) {
  Napi::Float32Array out = Napi::Float32Array::New(env, values.size());
  std::copy(values.begin(), values.end(), out.Data());
  return out;
}

class TransformerModel : public Napi::ObjectWrap<TransformerModel> {
 public:
  // Every method runs inside guard (js_error.h): a C++ exception leaves as a coded JS Error.
  template <Napi::Value (TransformerModel::*Method)(const Napi::CallbackInfo&)>
  Napi::Value guarded(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&] { return (this->*Method)(info); });
  }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TransformerModel",
                       {
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::Init>>("init"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::Tensors>>("tensors"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::ParamCount>>("paramCount"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::ActivationBytesFor>>("activationBytesFor"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::SavedActivationBytesFor>>("savedActivationBytesFor"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::SetProfiling>>("setProfiling"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::ResetProfile>>("resetProfile"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::Profile>>("profile"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::ReadParameters>>("readParameters"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::WriteParameters>>("writeParameters"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::ReadGradients>>("readGradients"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::ReadOptimizer>>("readOptimizer"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::WriteOptimizer>>("writeOptimizer"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::Step>>("step"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::Evaluate>>("evaluate"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::Logits>>("logits"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::HiddenStates>>("hiddenStates"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::HiddenBackward>>("hiddenBackward"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::ZeroGradients>>("zeroGradients"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::HeadOutputs>>("headOutputs"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::SetHeadShift>>("setHeadShift"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::SetResidualSteering>>("setResidualSteering"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::NewCache>>("newCache"),
                           InstanceMethod<&TransformerModel::guarded<&TransformerModel::Decode>>("decode"),
                       });
  }

  explicit TransformerModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TransformerModel>(info) {
    guard(info.Env(), [&] { construct(info); });
  }

  void construct(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const TransformerConfig config = read_transformer_config(info[0]);
    try {
      model_ = std::make_unique<Transformer>(config);
    } catch (const tf::Error& e) {
      throw_range_error(env, std::string("config: ") + e.what(), error_code(e.kind));
    }
    sync_external_memory(env);
  }

  ~TransformerModel() override {
    if (reported_bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), -reported_bytes_);
  }

  // Called on the JS thread when a worker finishes.
  void release(Napi::Env env) {
    busy_ = false;
    sync_external_memory(env);
  }

 private:
  class Worker : public PromiseWorker {
   public:
    Worker(Napi::Env env, const char* what, TransformerModel* model, std::function<void()> run,
           std::function<Napi::Value(Napi::Env)> result)
        : PromiseWorker(env, what), model_(model), run_(std::move(run)), result_(std::move(result)) {
      model_->busy_ = true;
      keep(model_->Value());
    }
    ~Worker() override { model_->release(Env()); }

   protected:
    void Run() override { run_(); }
    Napi::Value Result(Napi::Env env) override { return result_ ? result_(env) : env.Undefined(); }

   private:
    TransformerModel* model_;
    std::function<void()> run_;
    std::function<Napi::Value(Napi::Env)> result_;
  };

  Napi::Promise queue(Napi::Env env, const char* what, std::function<void()> run,
                      std::function<Napi::Value(Napi::Env)> result, const std::vector<Napi::Value>& keep_alive) {
    auto* worker = new Worker(env, what, this, std::move(run), std::move(result));
    for (const Napi::Value& v : keep_alive) worker->keep(v);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  // A Result that copies `out` into the caller's array (owned_arrays.h) and resolves to undefined.
  static std::function<Napi::Value(Napi::Env)> delivery(std::shared_ptr<PendingOutput<float>> out) {
    return [out](Napi::Env e) -> Napi::Value {
      out->deliver(e);
      return e.Undefined();
    };
  }

  void ensure_idle(Napi::Env env, const char* what) {
    if (busy_)
      throw_error(env, "E_STATE", std::string("TransformerModel.") + what +
                                      ": the model is busy with another operation (await it before starting another)");
  }

  void sync_external_memory(Napi::Env env) {
    int64_t bytes = static_cast<int64_t>(2 * model_->param_count() * sizeof(float) + model_->activation_bytes() +
                                         (adam_.m.size() + adam_.v.size()) * sizeof(float));
    if (bytes != reported_bytes_) {
      Napi::MemoryManagement::AdjustExternalMemory(env, bytes - reported_bytes_);
      reported_bytes_ = bytes;
    }
  }

  OwnedBatch batch_view(const Napi::Value& value, const std::string& name) {
    return read_batch(value, name, model_->config().vocab, model_->config().context);
  }

  // Token ids [B, T] for inference calls: (tokens, batch, context), validated and copied.
  std::shared_ptr<std::vector<uint32_t>> token_view(const Napi::CallbackInfo& info, int64_t& B, int64_t& T) {
    return read_tokens(info, model_->config().vocab, model_->config().context, B, T);
  }

  Napi::Value Init(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env(), "init");
    const int64_t seed = integer(info[0], "seed", 0, (int64_t(1) << 53) - 1);
    Transformer* m = model_.get();
    return queue(info.Env(), "tokenfilter:transformer.init", [m, seed] { m->init(static_cast<uint64_t>(seed)); },
                 nullptr, {});
  }

  Napi::Value Tensors(const Napi::CallbackInfo& info) { return tensor_table(info.Env(), *model_); }

  Napi::Value ParamCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(model_->param_count()));
  }

  Napi::Value ActivationBytesFor(const Napi::CallbackInfo& info) {
    const int64_t B = integer(info[0], "batch", 1, int64_t(1) << 24);
    const int64_t T = integer(info[1], "context", 1, model_->config().context);
    return Napi::Number::New(info.Env(), static_cast<double>(model_->activation_bytes_for(B, T)));
  }

  Napi::Value SavedActivationBytesFor(const Napi::CallbackInfo& info) {
    const int64_t B = integer(info[0], "batch", 1, int64_t(1) << 24);
    const int64_t T = integer(info[1], "context", 1, model_->config().context);
    return Napi::Number::New(info.Env(), static_cast<double>(model_->saved_activation_bytes_for(B, T)));
  }

  // Profiler (for benchmarks): setProfiling(on), resetProfile(), profile(steps) → milliseconds
  // per step by op kind (totals divided by `steps`).
  Napi::Value SetProfiling(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env(), "setProfiling");
    model_->set_profiling(boolean(info[0], "enabled"));
    return info.Env().Undefined();
  }

  Napi::Value ResetProfile(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env(), "resetProfile");
    model_->reset_profile();
    return info.Env().Undefined();
  }

  Napi::Value Profile(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env(), "profile");
    const double steps = static_cast<double>(integer(info[0], "steps", 1, int64_t(1) << 40));
    Napi::Object out = Napi::Object::New(info.Env());
    for (int k = 0; k < static_cast<int>(OpKind::Count); k++)
      out.Set(op_kind_name(static_cast<OpKind>(k)), 1000.0 * model_->profile_seconds(static_cast<OpKind>(k)) / steps);
    return out;
  }

  Napi::Value ReadParameters(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env(), "readParameters");
    View<float> out = typed_array<float>(info[0], "out", model_->param_count());
    std::memcpy(out.data, model_->params(), out.length * sizeof(float));
    return info.Env().Undefined();
  }

  Napi::Value WriteParameters(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env(), "writeParameters");
    View<float> in = typed_array<float>(info[0], "parameters", model_->param_count());
    check_finite(info.Env(), in.data, in.length, "parameters");
    std::memcpy(model_->params(), in.data, in.length * sizeof(float));
    return info.Env().Undefined();
  }

  Napi::Value ReadGradients(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env(), "readGradients");
    View<float> out = typed_array<float>(info[0], "out", model_->param_count());
    std::memcpy(out.data, model_->grads(), out.length * sizeof(float));
    return info.Env().Undefined();
  }

  // readOptimizer(m, v) copies the AdamW moments (zeros before the first update) and returns
  // the number of updates applied.
  Napi::Value ReadOptimizer(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env(), "readOptimizer");
    const size_t n = model_->param_count();
    View<float> m = typed_array<float>(info[0], "m", n);
    View<float> v = typed_array<float>(info[1], "v", n);
    if (adam_.m.size() == n) {
      std::memcpy(m.data, adam_.m.data(), n * sizeof(float));
      std::memcpy(v.data, adam_.v.data(), n * sizeof(float));
    } else {
      std::memset(m.data, 0, n * sizeof(float));
      std::memset(v.data, 0, n * sizeof(float));
    }
    return Napi::Number::New(info.Env(), static_cast<double>(adam_.step));
  }

  Napi::Value WriteOptimizer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_idle(env, "writeOptimizer");
    const size_t n = model_->param_count();
    View<float> m = typed_array<float>(info[0], "m", n);
    View<float> v = typed_array<float>(info[1], "v", n);
    const int64_t step = integer(info[2], "step", 0, (int64_t(1) << 53) - 1);
    check_finite(env, m.data, n, "m");
    check_finite(env, v.data, n, "v");
    for (size_t i = 0; i < n; i++)
      if (v.data[i] < 0.0f) throw_range_error(env, "v[" + std::to_string(i) + "] is negative");
    adam_.m.resize(n);
    adam_.v.resize(n);
    std::memcpy(adam_.m.data(), m.data, n * sizeof(float));
    std::memcpy(adam_.v.data(), v.data, n * sizeof(float));
    adam_.step = step;
    sync_external_memory(env);
    return env.Undefined();
  }

  // step(microBatches, options, cancel?) → Promise<{lossSum, supervised, tokens, gradNorm}>:
  // optionally zeroes the gradients, runs forward + backward over every micro-batch (gradients
  // accumulate, scaled so they are those of the mean loss over all unmasked targets of all
  // micro-batches), then optionally applies one AdamW update. The cancel flag is checked
  // before each micro-batch; a cancelled step leaves the parameters unchanged.
  Napi::Value Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_idle(env, "step");
    std::vector<Napi::Value> keep_alive;
    int64_t supervised = 0, tokens = 0;
    auto batches = read_micro_batches(info[0], model_->config().vocab, model_->config().context, supervised, tokens);
    const StepOptions options = read_step_options(info[1]);
    const bool zero = options.zero, update = options.update;
    const AdamHyper h = options.hyper;
    CancelFlag cancel = cancel_flag(info[2], "cancel");
    if (!info[2].IsUndefined()) keep_alive.push_back(info[2]);

    struct Out {
      double loss_sum = 0, grad_norm = 0;
    };
    auto out = std::make_shared<Out>();
    Transformer* m = model_.get();
    AdamState* adam = &adam_;
    const float scale = supervised > 0 ? 1.0f / static_cast<float>(supervised) : 0.0f;
    auto run = [m, adam, batches, zero, update, h, cancel, scale, out] {
      if (zero) m->zero_grads();
      for (const OwnedBatch& b : *batches) {
        if (cancel.cancelled()) throw tf::Cancelled();
        out->loss_sum += m->forward(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T, nullptr, true, scale);
      }
      if (cancel.cancelled()) throw tf::Cancelled();
      out->grad_norm = update ? m->adamw_step(*adam, h) : m->grad_norm();
    };
    auto result = [out, supervised, tokens](Napi::Env e) -> Napi::Value {
      return step_result(e, out->loss_sum, supervised, tokens, out->grad_norm);
    };
    return queue(env, "tokenfilter:transformer.step", run, result, keep_alive);
  }

  // evaluate(batch, losses?) → Promise<{lossSum, supervised}>; losses (Float32Array [B·T])
  // receives per-position losses, 0 at masked positions.
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_idle(env, "evaluate");
    auto b = std::make_shared<OwnedBatch>(batch_view(info[0], "batch"));
    std::shared_ptr<PendingOutput<float>> losses;
    if (!info[1].IsUndefined() && !info[1].IsNull()) {
      const size_t n = typed_array<float>(info[1], "losses", static_cast<size_t>(b->B * b->T)).length;
      losses = std::make_shared<PendingOutput<float>>(info[1], "losses", n);
    }
    auto sum = std::make_shared<double>(0.0);
    Transformer* m = model_.get();
    auto run = [m, b, losses, sum] {
      *sum = m->forward(b->inputs.data(), b->targets.data(), b->mask.data(), b->B, b->T,
                        losses ? losses->data() : nullptr, false, 0.0f);
    };
    const int64_t supervised = b->supervised;
    auto result = [sum, supervised, losses](Napi::Env e) -> Napi::Value {
      if (losses) losses->deliver(e);
      Napi::Object r = Napi::Object::New(e);
      r.Set("lossSum", *sum);
      r.Set("supervised", static_cast<double>(supervised));
      return r;
    };
    return queue(env, "tokenfilter:transformer.evaluate", run, result, {});
  }

  // logits(tokens, batch, context, out Float32Array [B·T·V]) → Promise<void>
  Napi::Value Logits(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_idle(env, "logits");
    int64_t B, T;
    auto tokens = token_view(info, B, T);
    const size_t n = typed_array<float>(info[3], "out", static_cast<size_t>(B * T * model_->config().vocab)).length;
    auto out = std::make_shared<PendingOutput<float>>(info[3], "out", n);
    Transformer* m = model_.get();
    return queue(env, "tokenfilter:transformer.logits", [m, tokens, B, T, out] { m->logits(tokens->data(), B, T, out->data()); },
                 delivery(out), {});
  }

  // hiddenStates(tokens, batch, context, layer, out Float32Array [B·T·C]) → Promise<void>
  Napi::Value HiddenStates(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_idle(env, "hiddenStates");
    int64_t B, T;
    auto tokens = token_view(info, B, T);
    const int64_t layer = integer(info[3], "layer", 0, model_->config().layers + 1);
    const size_t n = typed_array<float>(info[4], "out", static_cast<size_t>(B * T * model_->config().dim)).length;
    auto out = std::make_shared<PendingOutput<float>>(info[4], "out", n);
    Transformer* m = model_.get();
    return queue(env, "tokenfilter:transformer.hiddenStates",
                 [m, tokens, B, T, layer, out] { m->hidden_states(tokens->data(), B, T, layer, out->data()); },
                 delivery(out), {});
  }

  // hiddenBackward(tokens, batch, context, layer, dHidden Float32Array [B·T·C]) →
  // Promise<number>: accumulates the gradient of S = Σ dHidden ⊙ h_layer into the gradient
  // block and resolves to S. dHidden is checked finite and copied before the worker starts.
  Napi::Value HiddenBackward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_idle(env, "hiddenBackward");
    int64_t B, T;
    auto tokens = token_view(info, B, T);
    const int64_t layer = integer(info[3], "layer", 0, model_->config().layers + 1);
    const size_t n = static_cast<size_t>(B * T * model_->config().dim);
    View<float> d = typed_array<float>(info[4], "dHidden", n);
    check_finite(env, d.data, n, "dHidden");
    auto d_hidden = std::make_shared<std::vector<float>>(d.data, d.data + n);
    auto sum = std::make_shared<double>(0.0);
    Transformer* m = model_.get();
    auto run = [m, tokens, B, T, layer, d_hidden, sum] {
      *sum = m->hidden_backward(tokens->data(), B, T, layer, d_hidden->data());
    };
    auto result = [sum](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, *sum); };
    return queue(env, "tokenfilter:transformer.hiddenBackward", run, result, {});
  }

  // headOutputs(tokens, batch, context, layer) → Promise<Float32Array [B·T·C]>: block `layer`'s
  // attention output before the output projection (head h = columns h·hs .. (h+1)·hs - 1). The
  // result is written into memory the binding owns and copied into a new array at resolve.
  Napi::Value HeadOutputs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_idle(env, "headOutputs");
    int64_t B, T;
    auto tokens = token_view(info, B, T);
    const int64_t layer = integer(info[3], "layer", 0, model_->config().layers - 1);
    auto out = std::make_shared<std::vector<float>>(static_cast<size_t>(B * T * model_->config().dim));
    Transformer* m = model_.get();
    auto run = [m, tokens, B, T, layer, out] { m->head_outputs(tokens->data(), B, T, layer, out->data()); };
    return queue(env, "tokenfilter:transformer.headOutputs", run, [out](Napi::Env e) { return float_array(e, *out); }, {});
  }

  // setHeadShift(shift Float32Array [L·C] | null): the ITI shift added to every block's attention
  // output (zeros leave a head alone); null clears it. Checked finite, copied.
  Napi::Value SetHeadShift(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_idle(env, "setHeadShift");
    if (info[0].IsNull() || info[0].IsUndefined()) {
      model_->set_head_shift(nullptr);
      return env.Undefined();
    }
    const size_t n = static_cast<size_t>(model_->config().layers * model_->config().dim);
    View<float> shift = typed_array<float>(info[0], "headShift", n);
    check_finite(env, shift.data, n, "headShift");
    model_->set_head_shift(shift.data);
    return env.Undefined();
  }

  // setResidualSteering(directions Float32Array [(L+1)·C] | null, keep Float32Array [L+1]): per
  // hidden-state layer, a unit direction (or zeros) whose component is scaled by keep[l] in [0, 1];
  // null clears it.
  Napi::Value SetResidualSteering(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_idle(env, "setResidualSteering");
    if (info[0].IsNull() || info[0].IsUndefined()) {
      model_->set_residual_steering(nullptr, nullptr);
      return env.Undefined();
    }
    const int64_t layers = model_->config().layers + 1, C = model_->config().dim;
    View<float> dirs = typed_array<float>(info[0], "directions", static_cast<size_t>(layers * C));
    View<float> keep = typed_array<float>(info[1], "keep", static_cast<size_t>(layers));
    check_finite(env, dirs.data, dirs.length, "directions");
    for (int64_t l = 0; l < layers; l++) {
      if (!(keep.data[l] >= 0.0f && keep.data[l] <= 1.0f))
        throw_range_error(env, "keep[" + std::to_string(l) + "] = " + std::to_string(keep.data[l]) + " must be in [0, 1]");
      double norm = 0.0;
      for (int64_t c = 0; c < C; c++) norm += static_cast<double>(dirs.data[l * C + c]) * dirs.data[l * C + c];
      if (norm != 0.0 && std::fabs(std::sqrt(norm) - 1.0) > 1e-3)
        throw_range_error(env, "directions row " + std::to_string(l) + " has norm " + std::to_string(std::sqrt(norm)) +
                                   ", not 1 (or 0 for none)");
    }
    model_->set_residual_steering(dirs.data, keep.data);
    return env.Undefined();
  }

  // newCache() → an opaque KV cache for decode (one sequence).
  Napi::Value NewCache(const Napi::CallbackInfo& info) {
    return Napi::External<Transformer::KvCache>::New(info.Env(), new Transformer::KvCache(),
                                                     [](Napi::Env, Transformer::KvCache* c) { delete c; });
  }

  // decode(cache, tokens Uint32Array [n]) → Promise<Float32Array [V]>: appends the tokens to the
  // cache and resolves to the logits after the last one. Refuses to pass the context.
  Napi::Value Decode(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ensure_idle(env, "decode");
    if (!info[0].IsExternal()) throw js_error(env, JsErrorClass::TypeError, "E_OPTION", "cache must come from newCache()");
    auto* cache = info[0].As<Napi::External<Transformer::KvCache>>().Data();
    View<uint32_t> ids = typed_array<uint32_t>(info[1], "tokens");
    const int64_t n = static_cast<int64_t>(ids.length), ctx = model_->config().context;
    if (n < 1) throw_range_error(env, "tokens must hold at least one id");
    if (cache->length + n > ctx)
      throw_range_error(env, "decode: " + std::to_string(cache->length) + " cached + " + std::to_string(n) +
                                 " new tokens exceed the context of " + std::to_string(ctx));
    check_ids_below(env, ids.data, ids.length, static_cast<uint32_t>(model_->config().vocab), "tokens");
    auto tokens = std::make_shared<std::vector<uint32_t>>(ids.data, ids.data + n);
    auto logits = std::make_shared<std::vector<float>>(static_cast<size_t>(model_->config().vocab));
    Transformer* m = model_.get();
    auto run = [m, cache, tokens, n, logits] { m->decode(*cache, tokens->data(), n, logits->data()); };
    return queue(env, "tokenfilter:transformer.decode", run, [logits](Napi::Env e) { return float_array(e, *logits); },
                 {info[0]});
  }

  // zeroGradients(): sets the gradient block to zero.
  Napi::Value ZeroGradients(const Napi::CallbackInfo& info) {
    ensure_idle(info.Env(), "zeroGradients");
    model_->zero_grads();
    return info.Env().Undefined();
  }

  std::unique_ptr<Transformer> model_;
  AdamState adam_;
  bool busy_ = false;
  int64_t reported_bytes_ = 0;
};

void Init(Napi::Env env, Napi::Object exports) { exports.Set("TransformerModel", TransformerModel::Define(env)); }

Registrar registrar("transformer", Init);

}  // namespace
}  // namespace tf::addon
