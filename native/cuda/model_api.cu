// The C ABI of the device transformer (tfc_model_*), over DeviceTransformer.
#include <cmath>

#include "cuda/transformer.cuh"

struct tfc_model {
  tf::cuda::DeviceTransformer impl;
};

using namespace tf::cuda;

namespace {

// The device array `which` names: 0 parameters, 1 gradients, 2 AdamW m, 3 AdamW v.
float* model_array(tfc_model* model, int which, int64_t n) {
  require(model != nullptr, "no model");
  require(n == model->impl.param_count(), "length " + std::to_string(n) + " differs from the parameter count " +
                                              std::to_string(model->impl.param_count()));
  switch (which) {
    case 0: return model->impl.params();
    case 1: return model->impl.grads();
    case 2: return model->impl.adam_m();
    case 3: return model->impl.adam_v();
    default: throw CudaError("unknown model array " + std::to_string(which));
  }
}

}  // namespace

extern "C" {

const char* tfc_model_create(tfc_context* ctx, const tfc_model_layout* layout, tfc_model** out) {
  *out = nullptr;
  return guarded([&] {
    enter(ctx);
    require(layout != nullptr, "no layout");
    *out = new tfc_model{DeviceTransformer(ctx, *layout)};
  });
}

void tfc_model_destroy(tfc_model* model) {
  if (!model) return;
  cudaSetDevice(model->impl.ctx()->device);
  delete model;
}

const char* tfc_model_read(tfc_model* model, int which, float* dst, int64_t n) {
  return guarded([&] {
    float* src = model_array(model, which, n);
    must(tfc_download(model->impl.ctx(), dst, src, static_cast<size_t>(n) * sizeof(float)), "read");
  });
}

const char* tfc_model_write(tfc_model* model, int which, const float* src, int64_t n) {
  return guarded([&] {
    float* dst = model_array(model, which, n);
    must(tfc_upload(model->impl.ctx(), dst, src, static_cast<size_t>(n) * sizeof(float)), "write");
  });
}

const char* tfc_model_zero_grads(tfc_model* model) {
  return guarded([&] {
    require(model != nullptr, "no model");
    must(tfc_zero(model->impl.ctx(), model->impl.grads(), static_cast<size_t>(model->impl.param_count()) * sizeof(float)),
         "zero gradients");
  });
}

const char* tfc_model_forward(tfc_model* model, const uint32_t* inputs, const uint32_t* targets, const uint8_t* mask,
                              int64_t B, int64_t T, float* losses, int backward, float dloss_scale, double* sum) {
  *sum = 0.0;
  return guarded([&] {
    require(model != nullptr && inputs != nullptr && targets != nullptr, "no model, inputs or targets");
    enter(model->impl.ctx());
    *sum = model->impl.forward(inputs, targets, mask, B, T, losses, backward != 0, dloss_scale);
  });
}

const char* tfc_model_logits(tfc_model* model, const uint32_t* inputs, int64_t B, int64_t T, float* out) {
  return guarded([&] {
    require(model != nullptr && inputs != nullptr && out != nullptr, "no model, inputs or output");
    enter(model->impl.ctx());
    model->impl.logits(inputs, B, T, out);
  });
}

const char* tfc_model_hidden_states(tfc_model* model, const uint32_t* inputs, int64_t B, int64_t T, int64_t layer,
                                    float* out) {
  return guarded([&] {
    require(model != nullptr && inputs != nullptr && out != nullptr, "no model, inputs or output");
    enter(model->impl.ctx());
    model->impl.hidden_states(inputs, B, T, layer, out);
  });
}

const char* tfc_model_grad_norm(tfc_model* model, double* norm) {
  *norm = 0.0;
  return guarded([&] {
    require(model != nullptr, "no model");
    enter(model->impl.ctx());
    double sum = 0.0;
    must(tfc_sum_of_squares(model->impl.ctx(), model->impl.grads(), model->impl.param_count(), &sum), "gradient norm");
    *norm = std::sqrt(sum);
  });
}

const char* tfc_model_adamw_step(tfc_model* model, int64_t step, float lr, float beta1, float beta2, float eps,
                                 float weight_decay, float clip, double* norm) {
  *norm = 0.0;
  return guarded([&] {
    require(model != nullptr, "no model");
    enter(model->impl.ctx());
    *norm = model->impl.adamw_step(step, lr, beta1, beta2, eps, weight_decay, clip);
  });
}

}  // extern "C"
