// Binding for L2 logistic regression (native/models/logistic.h): fit off the JS thread in a
// PromiseWorker (cancellable, progress per iteration), the objective and gradient for checks,
// and prediction. Every array is checked against (n, d) before native code reads it.
#include <napi.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "addon/convert.h"
#include "addon/js_error.h"
#include "addon/promise_worker.h"
#include "addon/registry.h"
#include "core/error.h"
#include "models/logistic.h"

namespace tf::addon {
namespace {

// The fit's inputs copied out of JS memory (owned_arrays.h): the worker reads them while JS
// runs, and JS could detach the caller's arrays meanwhile. `data` points into the copies.
struct OwnedData {
  std::vector<float> x;
  std::vector<uint8_t> y;
  std::vector<float> weight;
  LogisticData data;
};

// Reads x [n, d], y [n] (0/1) and optional weights [n] (finite, > 0).
LogisticData read_data(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t n = integer(info[3], "n", 1, int64_t{1} << 40);
  const int64_t d = integer(info[4], "d", 1, int64_t{1} << 24);
  LogisticData data;
  data.n = n;
  data.d = d;
  View<float> x = typed_array<float>(info[0], "x", static_cast<size_t>(n * d));
  check_finite(env, x.data, x.length, "x");
  View<uint8_t> y = typed_array<uint8_t>(info[1], "y", static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++)
    if (y.data[i] > 1) throw_range_error(env, "y[" + std::to_string(i) + "] = " + std::to_string(y.data[i]) + " is not a label 0 or 1");
  data.x = x.data;
  data.y = y.data;
  if (!info[2].IsUndefined() && !info[2].IsNull()) {
    View<float> w = typed_array<float>(info[2], "weight", static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++)
      if (!(std::isfinite(w.data[i]) && w.data[i] > 0))
        throw_range_error(env, "weight[" + std::to_string(i) + "] = " + std::to_string(w.data[i]) + " must be finite and > 0");
    data.weight = w.data;
  }
  return data;
}

Napi::Float64Array to_js(Napi::Env env, const std::vector<double>& v) {
  Napi::Float64Array out = Napi::Float64Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) out[i] = v[i];
  return out;
}

class FitWorker : public PromiseWorker {
 public:
  FitWorker(Napi::Env env, std::shared_ptr<const OwnedData> data, LogisticOptions options, CancelFlag cancel)
      : PromiseWorker(env, "logisticFit"), data_(std::move(data)), options_(options), cancel_(cancel) {}

 protected:
  void Run() override {
    fit_ = fit_logistic(data_->data, options_, [&](int iteration, double loss, double norm) {
      if (cancel_.cancelled()) throw Cancelled();
      report({{{"iteration", iteration}, {"loss", loss}, {"gradientNorm", norm}}});
    });
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("mean", to_js(env, fit_.mean));
    out.Set("invStd", to_js(env, fit_.inv_std));
    out.Set("w", to_js(env, fit_.w));
    out.Set("b", fit_.b);
    out.Set("loss", fit_.loss);
    out.Set("gradientNorm", fit_.gradient_norm);
    out.Set("iterations", fit_.iterations);
    out.Set("converged", fit_.converged);
    return out;
  }

 private:
  std::shared_ptr<const OwnedData> data_;
  LogisticOptions options_;
  CancelFlag cancel_;
  LogisticFit fit_;
};

// fit(x, y, weight | undefined, n, d, {l2, maxIterations, tolerance, memory}, onProgress?, cancel?) → Promise
Napi::Value Fit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = object(info[5], "options");
  LogisticOptions options;
  options.l2 = number(o.Get("l2"), "options.l2");
  if (!(options.l2 >= 0)) throw_range_error(env, "options.l2 must be >= 0");
  options.max_iterations = static_cast<int>(integer(o.Get("maxIterations"), "options.maxIterations", 1, 1000000));
  options.tolerance = number(o.Get("tolerance"), "options.tolerance");
  if (!(options.tolerance > 0)) throw_range_error(env, "options.tolerance must be > 0");
  options.memory = static_cast<int>(integer(o.Get("memory"), "options.memory", 1, 1000));
  CancelFlag cancel;
  if (info.Length() > 7 && !info[7].IsUndefined()) cancel = cancel_flag(info[7], "cancel");
  // Read after the options: an options getter could otherwise detach x between check and copy.
  const LogisticData data = read_data(info);
  auto owned = std::make_shared<OwnedData>();
  owned->x.assign(data.x, data.x + data.n * data.d);
  owned->y.assign(data.y, data.y + data.n);
  if (data.weight) owned->weight.assign(data.weight, data.weight + data.n);
  owned->data = {owned->x.data(), owned->y.data(), data.weight ? owned->weight.data() : nullptr, data.n, data.d};
  auto* worker = new FitWorker(env, owned, options, cancel);
  if (info.Length() > 7) worker->keep(info[7]);
  return PromiseWorker::queue(worker, info[6], "onProgress");
}

// objective(x, y, weight | undefined, n, d, mean, invStd, w, b, l2) → {loss, gradient: Float64Array(d + 1)}
Napi::Value Objective(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LogisticData data = read_data(info);
  const size_t d = static_cast<size_t>(data.d);
  View<double> mean = typed_array<double>(info[5], "mean", d);
  View<double> inv_std = typed_array<double>(info[6], "invStd", d);
  View<double> w = typed_array<double>(info[7], "w", d);
  const double b = number(info[8], "b");
  const double l2 = number(info[9], "l2");
  std::vector<double> m(mean.data, mean.data + d), s(inv_std.data, inv_std.data + d), grad(d + 1);
  const double loss = logistic_objective(data, m, s, w.data, b, l2, grad.data());
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", loss);
  out.Set("gradient", to_js(env, grad));
  return out;
}

// predict(x, n, d, wRaw: Float64Array(d), bRaw) → Float32Array(n) of probabilities
Napi::Value Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t n = integer(info[1], "n", 0, int64_t{1} << 40);
  const int64_t d = integer(info[2], "d", 1, int64_t{1} << 24);
  // n · d must not wrap: no typed array holds more than 2^53 elements
  if (n > (int64_t{1} << 53) / d)
    throw_range_error(env, "n × d = " + std::to_string(n) + " × " + std::to_string(d) + " is beyond any array", "E_TOO_LARGE");
  View<float> x = typed_array<float>(info[0], "x", static_cast<size_t>(n * d));
  View<double> w = typed_array<double>(info[3], "w", static_cast<size_t>(d));
  const double b = number(info[4], "b");
  Napi::Float32Array out = Napi::Float32Array::New(env, static_cast<size_t>(n));
  logistic_predict(x.data, n, d, w.data, b, out.Data());
  return out;
}

void Init(Napi::Env env, Napi::Object exports) {
  Napi::Object logistic = Napi::Object::New(env);
  logistic.Set("fit", Napi::Function::New(env, guarded<Fit>, "fit"));
  logistic.Set("objective", Napi::Function::New(env, guarded<Objective>, "objective"));
  logistic.Set("predict", Napi::Function::New(env, guarded<Predict>, "predict"));
  exports.Set("logistic", logistic);
}

Registrar registrar("logistic", Init);

}  // namespace
}  // namespace tf::addon
