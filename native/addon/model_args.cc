#include "addon/model_args.h"

#include "addon/convert.h"

namespace tf::addon {

TransformerConfig read_transformer_config(const Napi::Value& value) {
  Napi::Object c = object(value, "config");
  TransformerConfig config;
  config.vocab = integer(c.Get("vocabSize"), "config.vocabSize", 1, int64_t(1) << 31);
  config.dim = integer(c.Get("dModel"), "config.dModel", 1, 1 << 16);
  config.layers = integer(c.Get("layers"), "config.layers", 1, 1024);
  config.heads = integer(c.Get("heads"), "config.heads", 1, 1 << 16);
  config.hidden = integer(c.Get("hidden"), "config.hidden", 1, 1 << 20);
  config.context = integer(c.Get("context"), "config.context", 1, 1 << 20);
  config.tie_embeddings = boolean(c.Get("tieEmbeddings"), "config.tieEmbeddings");
  config.rope_base = static_cast<float>(number(c.Get("ropeBase"), "config.ropeBase"));
  config.norm_eps = static_cast<float>(number(c.Get("normEps"), "config.normEps"));
  return config;
}

Napi::Array tensor_table(Napi::Env env, const Transformer& model) {
  const auto& tensors = model.tensors();
  Napi::Array out = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); i++) {
    const TensorInfo& t = tensors[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", t.name);
    Napi::Array shape = Napi::Array::New(env, t.shape.size());
    for (size_t d = 0; d < t.shape.size(); d++) shape.Set(static_cast<uint32_t>(d), static_cast<double>(t.shape[d]));
    o.Set("shape", shape);
    o.Set("offset", static_cast<double>(t.offset));
    o.Set("size", static_cast<double>(t.size));
    o.Set("decay", t.decay);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

OwnedBatch read_batch(const Napi::Value& value, const std::string& name, int64_t vocab, int64_t context) {
  Napi::Env env = value.Env();
  Napi::Object o = object(value, name);
  OwnedBatch b;
  b.B = integer(o.Get("batch"), name + ".batch", 1, int64_t(1) << 24);
  b.T = integer(o.Get("context"), name + ".context", 1, context);
  const size_t n = static_cast<size_t>(b.B * b.T);
  View<uint32_t> in = typed_array<uint32_t>(o.Get("inputs"), name + ".inputs", n);
  View<uint32_t> tg = typed_array<uint32_t>(o.Get("targets"), name + ".targets", n);
  View<uint8_t> mk = typed_array<uint8_t>(o.Get("lossMask"), name + ".lossMask", n);
  const uint32_t V = static_cast<uint32_t>(vocab);
  check_ids_below(env, in.data, n, V, name + ".inputs");
  check_ids_below(env, tg.data, n, V, name + ".targets");
  for (size_t i = 0; i < n; i++) {
    if (mk.data[i] > 1)
      throw_range_error(env, name + ".lossMask[" + std::to_string(i) + "] = " + std::to_string(mk.data[i]) + " must be 0 or 1");
    b.supervised += mk.data[i];
  }
  b.inputs.assign(in.data, in.data + n);
  b.targets.assign(tg.data, tg.data + n);
  b.mask.assign(mk.data, mk.data + n);
  return b;
}

std::shared_ptr<std::vector<OwnedBatch>> read_micro_batches(const Napi::Value& value, int64_t vocab, int64_t context,
                                                            int64_t& supervised, int64_t& tokens) {
  Napi::Env env = value.Env();
  if (!value.IsArray()) throw_type_error(env, "microBatches must be an array");
  Napi::Array list = value.As<Napi::Array>();
  if (list.Length() < 1) throw_range_error(env, "microBatches must not be empty");
  auto batches = std::make_shared<std::vector<OwnedBatch>>();
  supervised = 0;
  tokens = 0;
  for (uint32_t i = 0; i < list.Length(); i++) {
    batches->push_back(read_batch(list.Get(i), "microBatches[" + std::to_string(i) + "]", vocab, context));
    supervised += batches->back().supervised;
    tokens += batches->back().B * batches->back().T;
  }
  return batches;
}

std::shared_ptr<std::vector<uint32_t>> read_tokens(const Napi::CallbackInfo& info, int64_t vocab, int64_t context,
                                                   int64_t& B, int64_t& T) {
  B = integer(info[1], "batch", 1, int64_t(1) << 24);
  T = integer(info[2], "context", 1, context);
  const size_t n = static_cast<size_t>(B * T);
  View<uint32_t> tokens = typed_array<uint32_t>(info[0], "tokens", n);
  check_ids_below(info.Env(), tokens.data, n, static_cast<uint32_t>(vocab), "tokens");
  return std::make_shared<std::vector<uint32_t>>(tokens.data, tokens.data + n);
}

StepOptions read_step_options(const Napi::Value& value) {
  Napi::Object o = object(value, "options");
  StepOptions s;
  s.zero = boolean(o.Get("zeroGradients"), "options.zeroGradients");
  s.update = boolean(o.Get("update"), "options.update");
  if (!s.update) return s;
  AdamHyper& h = s.hyper;
  h.lr = static_cast<float>(number(o.Get("lr"), "options.lr"));
  h.beta1 = static_cast<float>(number(o.Get("beta1"), "options.beta1"));
  h.beta2 = static_cast<float>(number(o.Get("beta2"), "options.beta2"));
  h.eps = static_cast<float>(number(o.Get("eps"), "options.eps"));
  h.weight_decay = static_cast<float>(number(o.Get("weightDecay"), "options.weightDecay"));
  h.clip = static_cast<float>(number(o.Get("clip"), "options.clip"));
  if (!(h.lr >= 0) || !(h.beta1 >= 0 && h.beta1 < 1) || !(h.beta2 >= 0 && h.beta2 < 1) || !(h.eps > 0) || !(h.weight_decay >= 0))
    throw_range_error(value.Env(), "options: need lr >= 0, beta1 and beta2 in [0, 1), eps > 0, weightDecay >= 0");
  return s;
}

Napi::Object step_result(Napi::Env env, double loss_sum, int64_t supervised, int64_t tokens, double grad_norm) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("lossSum", loss_sum);
  r.Set("supervised", static_cast<double>(supervised));
  r.Set("tokens", static_cast<double>(tokens));
  r.Set("gradNorm", grad_norm);
  return r;
}

}  // namespace tf::addon
