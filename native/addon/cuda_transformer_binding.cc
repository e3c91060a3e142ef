// JS class `CudaTransformerModel`: the same interface as `TransformerModel`
// (transformer_binding.cc) for a model whose parameters, gradients and AdamW moments live on
// a CUDA device (tokenfilter_cuda.so, tfc_model_*). A host tf::Transformer is kept for the
// tensor table, the parameter layout (passed to the device, so both sides share it) and the
// seeded initialisation; parameters cross to the host only when read. Arguments are checked
// here exactly as for the CPU model (ids < vocab, lengths against B × T, mask values 0/1,
// finite floats) before any device call. Long work runs in PromiseWorkers; while one runs
// the model is busy and other calls throw (E_STATE). Outputs are written into native buffers and
// copied into the caller's arrays on the JS thread (owned_arrays.h); every failure of a device
// call is a coded Error (E_DEVICE). Steering, decoding and hidden-state backward run on the CPU
// only: here they throw E_DEVICE.
#include <napi.h>

#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "addon/convert.h"
#include "addon/cuda_loader.h"
#include "addon/js_error.h"
#include "addon/model_args.h"
#include "addon/owned_arrays.h"
#include "addon/promise_worker.h"
#include "addon/registry.h"
#include "core/error.h"
#include "models/transformer.h"

namespace tf::addon {
namespace {

// A validated, copied batch (as transformer_binding.cc's OwnedBatch).
// The device model and its context, released together (model first).
struct DeviceModel {
  const CudaApi* api = nullptr;
  tfc_context* ctx = nullptr;
  tfc_model* model = nullptr;
  int64_t step = 0;  // AdamW updates applied
  ~DeviceModel() {
    if (model) api->model_destroy(model);
    if (ctx) api->context_destroy(ctx);
  }
};

// The device layout from the host model's tensor table (same offsets on both sides).
std::vector<int64_t> layer_offsets(const Transformer& host) {
  const int64_t L = host.config().layers;
  std::vector<int64_t> offsets(static_cast<size_t>(L * 6), -1);
  static const char* const parts[6] = {"attn_norm.weight", "attn.qkv.weight", "attn.proj.weight",
                                       "mlp_norm.weight", "mlp.fc.weight", "mlp.proj.weight"};
  for (const TensorInfo& t : host.tensors())
    for (int64_t l = 0; l < L; l++)
      for (int j = 0; j < 6; j++)
        if (t.name == "blocks." + std::to_string(l) + "." + parts[j]) offsets[l * 6 + j] = static_cast<int64_t>(t.offset);
  return offsets;
}

int64_t offset_of(const Transformer& host, const std::string& name, int64_t fallback) {
  for (const TensorInfo& t : host.tensors())
    if (t.name == name) return static_cast<int64_t>(t.offset);
  return fallback;
}

std::shared_ptr<DeviceModel> create_device_model(const Transformer& host, int precision, std::vector<int64_t>& offsets) {
  const CudaApi* api = cuda_api();
  if (!api) throw Error("CUDA is not available (see backendInfo().cuda.reason)", ErrorKind::Device);
  auto dm = std::make_shared<DeviceModel>();
  dm->api = api;
  cuda_check(api->context_create(0, &dm->ctx), "context");
  const TransformerConfig& c = host.config();
  offsets = layer_offsets(host);
  tfc_model_layout k{};
  k.vocab = c.vocab; k.dim = c.dim; k.layers = c.layers; k.heads = c.heads; k.hidden = c.hidden; k.context = c.context;
  k.rope_base = c.rope_base;
  k.norm_eps = c.norm_eps;
  k.param_count = static_cast<int64_t>(host.param_count());
  k.decayed_count = static_cast<int64_t>(host.decayed_count());
  k.wte_offset = offset_of(host, "wte.weight", -1);
  k.final_norm_offset = offset_of(host, "final_norm.weight", -1);
  k.head_offset = offset_of(host, "lm_head.weight", k.wte_offset);
  k.layer_offsets = offsets.data();
  k.precision = precision;
  cuda_check(api->model_create(dm->ctx, &k, &dm->model), "model");
  return dm;
}

class CudaTransformerModel : public Napi::ObjectWrap<CudaTransformerModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit CudaTransformerModel(const Napi::CallbackInfo& info);

 private:
  // Every method runs inside guard (js_error.h): a C++ exception leaves as a coded JS Error.
  template <Napi::Value (CudaTransformerModel::*Method)(const Napi::CallbackInfo&)>
  Napi::Value guarded(const Napi::CallbackInfo& info) {
    return guard(info.Env(), [&] { return (this->*Method)(info); });
  }
  void ensure_idle(Napi::Env env, const char* what) {
    if (busy_)
      throw_error(env, "E_STATE", std::string("CudaTransformerModel.") + what +
                                      ": the model is busy with another operation (await it before starting another)");
  }
  static std::function<Napi::Value(Napi::Env)> delivery(std::shared_ptr<PendingOutput<float>> out) {
    return [out](Napi::Env e) -> Napi::Value {
      out->deliver(e);
      return e.Undefined();
    };
  }
  Napi::Promise queue(Napi::Env env, const char* what, std::function<void()> run,
                      std::function<Napi::Value(Napi::Env)> result, const std::vector<Napi::Value>& keep_alive);
  OwnedBatch batch(const Napi::Value& value, const std::string& name);
  std::shared_ptr<std::vector<uint32_t>> tokens(const Napi::CallbackInfo& info, int64_t& B, int64_t& T);
  void read_array(const Napi::CallbackInfo& info, int which, const Napi::Value& out, const char* name);
  void write_array(const Napi::CallbackInfo& info, int which, const Napi::Value& in, const char* name);

  Napi::Value Init(const Napi::CallbackInfo& info);
  Napi::Value Tensors(const Napi::CallbackInfo& info);
  Napi::Value ParamCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(host_->param_count()));
  }
  Napi::Value Device(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), "cuda"); }
  Napi::Value ReadParameters(const Napi::CallbackInfo& info);
  Napi::Value WriteParameters(const Napi::CallbackInfo& info);
  Napi::Value ReadGradients(const Napi::CallbackInfo& info);
  Napi::Value ReadOptimizer(const Napi::CallbackInfo& info);
  Napi::Value WriteOptimizer(const Napi::CallbackInfo& info);
  Napi::Value ZeroGradients(const Napi::CallbackInfo& info);
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Evaluate(const Napi::CallbackInfo& info);
  Napi::Value Logits(const Napi::CallbackInfo& info);
  Napi::Value HiddenStates(const Napi::CallbackInfo& info);
  // CPU-only features: hiddenBackward, headOutputs, setHeadShift, setResidualSteering,
  // newCache, decode
  Napi::Value CpuOnly(const Napi::CallbackInfo& info) {
    throw_error(info.Env(), "E_DEVICE", "this operation runs on the CPU only: load the model with device 'cpu'");
  }

  std::unique_ptr<Transformer> host_;
  std::vector<int64_t> offsets_;
  std::shared_ptr<DeviceModel> device_;
  bool busy_ = false;
  friend class CudaWorker;
};

class CudaWorker : public PromiseWorker {
 public:
  CudaWorker(Napi::Env env, const char* what, CudaTransformerModel* model, std::function<void()> run,
             std::function<Napi::Value(Napi::Env)> result)
      : PromiseWorker(env, what), model_(model), run_(std::move(run)), result_(std::move(result)) {
    model_->busy_ = true;
    keep(model_->Value());
  }
  ~CudaWorker() override { model_->busy_ = false; }

 protected:
  void Run() override { run_(); }
  Napi::Value Result(Napi::Env env) override { return result_ ? result_(env) : env.Undefined(); }

 private:
  CudaTransformerModel* model_;
  std::function<void()> run_;
  std::function<Napi::Value(Napi::Env)> result_;
};

Napi::Function CudaTransformerModel::Define(Napi::Env env) {
  using M = CudaTransformerModel;
  return DefineClass(env, "CudaTransformerModel", {
      InstanceMethod<&M::guarded<&M::Init>>("init"),
      InstanceMethod<&M::guarded<&M::Tensors>>("tensors"),
      InstanceMethod<&M::guarded<&M::ParamCount>>("paramCount"),
      InstanceMethod<&M::guarded<&M::Device>>("device"),
      InstanceMethod<&M::guarded<&M::ReadParameters>>("readParameters"),
      InstanceMethod<&M::guarded<&M::WriteParameters>>("writeParameters"),
      InstanceMethod<&M::guarded<&M::ReadGradients>>("readGradients"),
      InstanceMethod<&M::guarded<&M::ReadOptimizer>>("readOptimizer"),
      InstanceMethod<&M::guarded<&M::WriteOptimizer>>("writeOptimizer"),
      InstanceMethod<&M::guarded<&M::ZeroGradients>>("zeroGradients"),
      InstanceMethod<&M::guarded<&M::Step>>("step"),
      InstanceMethod<&M::guarded<&M::Evaluate>>("evaluate"),
      InstanceMethod<&M::guarded<&M::Logits>>("logits"),
      InstanceMethod<&M::guarded<&M::HiddenStates>>("hiddenStates"),
      InstanceMethod<&M::guarded<&M::CpuOnly>>("hiddenBackward"),
      InstanceMethod<&M::guarded<&M::CpuOnly>>("headOutputs"),
      InstanceMethod<&M::guarded<&M::CpuOnly>>("setHeadShift"),
      InstanceMethod<&M::guarded<&M::CpuOnly>>("setResidualSteering"),
      InstanceMethod<&M::guarded<&M::CpuOnly>>("newCache"),
      InstanceMethod<&M::guarded<&M::CpuOnly>>("decode"),
  });
}

// new CudaTransformerModel(config, precision: 'fp32' | 'tf32' | 'bf16')
CudaTransformerModel::CudaTransformerModel(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<CudaTransformerModel>(info) {
  Napi::Env env = info.Env();
  const TransformerConfig config = read_transformer_config(info[0]);
  const std::string p = string(info[1], "precision");
  const int precision = p == "fp32" ? TFC_FP32 : p == "tf32" ? TFC_TF32 : p == "bf16" ? TFC_BF16 : -1;
  if (precision < 0) throw_range_error(env, "precision must be 'fp32', 'tf32' or 'bf16', got '" + p + "'");
  guard(env, [&] {
    try {
      host_ = std::make_unique<Transformer>(config);
    } catch (const tf::Error& e) {
      throw js_error(env, JsErrorClass::RangeError, error_code(e.kind), std::string("config: ") + e.what());
    }
    device_ = create_device_model(*host_, precision, offsets_);
  });
}

Napi::Promise CudaTransformerModel::queue(Napi::Env env, const char* what, std::function<void()> run,
                                          std::function<Napi::Value(Napi::Env)> result,
                                          const std::vector<Napi::Value>& keep_alive) {
  auto* worker = new CudaWorker(env, what, this, std::move(run), std::move(result));
  for (const Napi::Value& v : keep_alive) worker->keep(v);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

OwnedBatch CudaTransformerModel::batch(const Napi::Value& value, const std::string& name) {
  return read_batch(value, name, host_->config().vocab, host_->config().context);
}

std::shared_ptr<std::vector<uint32_t>> CudaTransformerModel::tokens(const Napi::CallbackInfo& info, int64_t& B, int64_t& T) {
  return read_tokens(info, host_->config().vocab, host_->config().context, B, T);
}

// Synchronous copies between a JS Float32Array [paramCount] and a device array.
void CudaTransformerModel::read_array(const Napi::CallbackInfo& info, int which, const Napi::Value& out, const char* name) {
  ensure_idle(info.Env(), name);
  View<float> v = typed_array<float>(out, name, host_->param_count());
  cuda_check(device_->api->model_read(device_->model, which, v.data, static_cast<int64_t>(v.length)), name);
}

void CudaTransformerModel::write_array(const Napi::CallbackInfo& info, int which, const Napi::Value& in, const char* name) {
  ensure_idle(info.Env(), name);
  View<float> v = typed_array<float>(in, name, host_->param_count());
  check_finite(info.Env(), v.data, v.length, name);
  cuda_check(device_->api->model_write(device_->model, which, v.data, static_cast<int64_t>(v.length)), name);
}

// init(seed): the CPU's seeded initialisation, uploaded (identical parameters on both devices).
Napi::Value CudaTransformerModel::Init(const Napi::CallbackInfo& info) {
  ensure_idle(info.Env(), "init");
  const int64_t seed = integer(info[0], "seed", 0, (int64_t(1) << 53) - 1);
  Transformer* host = host_.get();
  auto dm = device_;
  return queue(info.Env(), "tokenfilter:cuda.init", [host, dm, seed] {
    host->init(static_cast<uint64_t>(seed));
    cuda_check(dm->api->model_write(dm->model, 0, host->params(), static_cast<int64_t>(host->param_count())), "init");
  }, nullptr, {});
}

Napi::Value CudaTransformerModel::Tensors(const Napi::CallbackInfo& info) { return tensor_table(info.Env(), *host_); }

Napi::Value CudaTransformerModel::ReadParameters(const Napi::CallbackInfo& info) {
  read_array(info, 0, info[0], "readParameters");
  return info.Env().Undefined();
}
Napi::Value CudaTransformerModel::WriteParameters(const Napi::CallbackInfo& info) {
  write_array(info, 0, info[0], "parameters");
  return info.Env().Undefined();
}
Napi::Value CudaTransformerModel::ReadGradients(const Napi::CallbackInfo& info) {
  read_array(info, 1, info[0], "readGradients");
  return info.Env().Undefined();
}

// readOptimizer(m, v) → updates applied; writeOptimizer(m, v, step)
Napi::Value CudaTransformerModel::ReadOptimizer(const Napi::CallbackInfo& info) {
  read_array(info, 2, info[0], "m");
  read_array(info, 3, info[1], "v");
  return Napi::Number::New(info.Env(), static_cast<double>(device_->step));
}

Napi::Value CudaTransformerModel::WriteOptimizer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = host_->param_count();
  View<float> v = typed_array<float>(info[1], "v", n);
  for (size_t i = 0; i < n; i++)
    if (v.data[i] < 0.0f) throw_range_error(env, "v[" + std::to_string(i) + "] is negative");
  const int64_t step = integer(info[2], "step", 0, (int64_t(1) << 53) - 1);
  write_array(info, 2, info[0], "m");
  write_array(info, 3, info[1], "v");
  device_->step = step;
  return env.Undefined();
}

Napi::Value CudaTransformerModel::ZeroGradients(const Napi::CallbackInfo& info) {
  ensure_idle(info.Env(), "zeroGradients");
  cuda_check(device_->api->model_zero_grads(device_->model), "zeroGradients");
  return info.Env().Undefined();
}

// step(microBatches, options, cancel?) → Promise<{lossSum, supervised, tokens, gradNorm}>, as
// TransformerModel.step.
Napi::Value CudaTransformerModel::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensure_idle(env, "step");
  int64_t supervised = 0, tokens = 0;
  auto batches = read_micro_batches(info[0], host_->config().vocab, host_->config().context, supervised, tokens);
  const StepOptions options = read_step_options(info[1]);
  const bool zero = options.zero, update = options.update;
  const AdamHyper h = options.hyper;
  CancelFlag cancel = cancel_flag(info[2], "cancel");
  std::vector<Napi::Value> keep_alive;
  if (!info[2].IsUndefined()) keep_alive.push_back(info[2]);
  auto out = std::make_shared<std::pair<double, double>>(0.0, 0.0);  // loss sum, grad norm
  auto dm = device_;
  const float scale = supervised > 0 ? 1.0f / static_cast<float>(supervised) : 0.0f;
  auto run = [dm, batches, zero, update, h, cancel, scale, out] {
    const CudaApi& api = *dm->api;
    if (zero) cuda_check(api.model_zero_grads(dm->model), "step");
    for (const OwnedBatch& b : *batches) {
      if (cancel.cancelled()) throw tf::Cancelled();
      double sum = 0.0;
      cuda_check(api.model_forward(dm->model, b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T, nullptr, 1,
                                   scale, &sum), "step");
      out->first += sum;
    }
    if (cancel.cancelled()) throw tf::Cancelled();
    if (!update) {
      cuda_check(api.model_grad_norm(dm->model, &out->second), "step");
      return;
    }
    cuda_check(api.model_adamw_step(dm->model, dm->step + 1, h.lr, h.beta1, h.beta2, h.eps, h.weight_decay, h.clip,
                                    &out->second), "step");
    dm->step += 1;  // only once the update succeeded (a non-finite gradient leaves the state)
  };
  auto result = [out, supervised, tokens](Napi::Env e) -> Napi::Value { return step_result(e, out->first, supervised, tokens, out->second); };
  return queue(env, "tokenfilter:cuda.step", run, result, keep_alive);
}

// evaluate(batch, losses?) → Promise<{lossSum, supervised}>
Napi::Value CudaTransformerModel::Evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensure_idle(env, "evaluate");
  auto b = std::make_shared<OwnedBatch>(batch(info[0], "batch"));
  std::shared_ptr<PendingOutput<float>> losses;
  if (!info[1].IsUndefined() && !info[1].IsNull()) {
    const size_t n = typed_array<float>(info[1], "losses", static_cast<size_t>(b->B * b->T)).length;
    losses = std::make_shared<PendingOutput<float>>(info[1], "losses", n);
  }
  auto sum = std::make_shared<double>(0.0);
  auto dm = device_;
  auto run = [dm, b, losses, sum] {
    cuda_check(dm->api->model_forward(dm->model, b->inputs.data(), b->targets.data(), b->mask.data(), b->B, b->T,
                                      losses ? losses->data() : nullptr, 0, 0.0f, sum.get()), "evaluate");
  };
  const int64_t supervised = b->supervised;
  auto result = [sum, supervised, losses](Napi::Env e) -> Napi::Value {
    if (losses) losses->deliver(e);
    Napi::Object r = Napi::Object::New(e);
    r.Set("lossSum", *sum);
    r.Set("supervised", static_cast<double>(supervised));
    return r;
  };
  return queue(env, "tokenfilter:cuda.evaluate", run, result, {});
}

// logits(tokens, batch, context, out [B·T·V]) → Promise<void>
Napi::Value CudaTransformerModel::Logits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensure_idle(env, "logits");
  int64_t B, T;
  auto ids = tokens(info, B, T);
  const size_t n = typed_array<float>(info[3], "out", static_cast<size_t>(B * T * host_->config().vocab)).length;
  auto out = std::make_shared<PendingOutput<float>>(info[3], "out", n);
  auto dm = device_;
  return queue(env, "tokenfilter:cuda.logits", [dm, ids, B, T, out] {
    cuda_check(dm->api->model_logits(dm->model, ids->data(), B, T, out->data()), "logits");
  }, delivery(out), {});
}

// hiddenStates(tokens, batch, context, layer, out [B·T·C]) → Promise<void>
Napi::Value CudaTransformerModel::HiddenStates(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensure_idle(env, "hiddenStates");
  int64_t B, T;
  auto ids = tokens(info, B, T);
  const int64_t layer = integer(info[3], "layer", 0, host_->config().layers + 1);
  const size_t n = typed_array<float>(info[4], "out", static_cast<size_t>(B * T * host_->config().dim)).length;
  auto out = std::make_shared<PendingOutput<float>>(info[4], "out", n);
  auto dm = device_;
  return queue(env, "tokenfilter:cuda.hiddenStates", [dm, ids, B, T, layer, out] {
    cuda_check(dm->api->model_hidden_states(dm->model, ids->data(), B, T, layer, out->data()), "hiddenStates");
  }, delivery(out), {});
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("CudaTransformerModel", CudaTransformerModel::Define(env));
}

Registrar registrar("cuda_transformer", Init);

}  // namespace
}  // namespace tf::addon
