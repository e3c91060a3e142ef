// Arguments the CPU and CUDA transformer bindings share, checked and copied out of JS in one
// place: training batches (ids below the vocabulary, positions within the context, a 0/1 mask),
// token arrays for inference calls, and the options of a training step.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/transformer.h"

namespace tf::addon {

// The model config {vocabSize, dModel, layers, heads, hidden, context, tieEmbeddings, ropeBase,
// normEps} (named `config.*` in errors; the model itself validates the combination).
TransformerConfig read_transformer_config(const Napi::Value& value);

// The model's tensor table as JS objects {name, shape, offset, size, decay}.
Napi::Array tensor_table(Napi::Env env, const Transformer& model);

// A validated batch, copied out of the JS arrays: JS cannot change it while a worker reads it.
struct OwnedBatch {
  std::vector<uint32_t> inputs;   // [B, T]
  std::vector<uint32_t> targets;  // [B, T]
  std::vector<uint8_t> mask;      // [B, T], 1 = the target counts
  int64_t B = 0, T = 0;
  int64_t supervised = 0;  // targets that count
};

// {batch, context, inputs, targets, lossMask} named `name` in errors; context <= `context`.
OwnedBatch read_batch(const Napi::Value& value, const std::string& name, int64_t vocab, int64_t context);

// The micro-batches of a step (a non-empty array), with their supervised and total token counts.
std::shared_ptr<std::vector<OwnedBatch>> read_micro_batches(const Napi::Value& value, int64_t vocab, int64_t context,
                                                            int64_t& supervised, int64_t& tokens);

// (tokens Uint32Array [B·T], batch, context) at info[0..2], validated and copied.
std::shared_ptr<std::vector<uint32_t>> read_tokens(const Napi::CallbackInfo& info, int64_t vocab, int64_t context,
                                                   int64_t& B, int64_t& T);

// {zeroGradients, update, lr, beta1, beta2, eps, weightDecay, clip}: the AdamW settings are read
// and range-checked only when update is set.
struct StepOptions {
  bool zero = true;
  bool update = true;
  AdamHyper hyper;
};
StepOptions read_step_options(const Napi::Value& value);

// What a step resolves to: {lossSum, supervised, tokens, gradNorm}.
Napi::Object step_result(Napi::Env env, double loss_sum, int64_t supervised, int64_t tokens, double grad_norm);

}  // namespace tf::addon
