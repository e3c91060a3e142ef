// L-BFGS logistic regression; see logistic.h for the objective.
#include "models/logistic.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "core/error.h"
#include "core/thread_pool.h"

namespace tf {
namespace {

constexpr int64_t kBlockRows = 1024;  // fixed row blocks: sums are deterministic across thread counts

inline double softplus(double m) { return std::max(m, 0.0) + std::log1p(std::exp(-std::fabs(m))); }
inline double sigmoid(double m) {
  if (m >= 0) return 1.0 / (1.0 + std::exp(-m));
  const double e = std::exp(m);
  return e / (1.0 + e);
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
  return s;
}

double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::fabs(v));
  return m;
}

}  // namespace

void column_moments(const LogisticData& data, std::vector<double>& mean, std::vector<double>& inv_std) {
  const int64_t n = data.n, d = data.d;
  const int64_t blocks = (n + kBlockRows - 1) / kBlockRows;
  std::vector<double> sums(static_cast<size_t>(blocks * 2 * d), 0.0);
  // x: [n, d] → per block Σx [d] and Σx² [d]
  pool()->parallel_for(static_cast<size_t>(blocks), [&](size_t k) {
    double* s = &sums[k * 2 * d];
    double* s2 = s + d;
    const int64_t end = std::min(n, static_cast<int64_t>(k + 1) * kBlockRows);
    for (int64_t i = static_cast<int64_t>(k) * kBlockRows; i < end; i++) {
      const float* row = data.x + i * d;
      for (int64_t j = 0; j < d; j++) {
        const double v = row[j];
        s[j] += v;
        s2[j] += v * v;
      }
    }
  });
  mean.assign(static_cast<size_t>(d), 0.0);
  std::vector<double> square(static_cast<size_t>(d), 0.0);
  for (int64_t k = 0; k < blocks; k++)
    for (int64_t j = 0; j < d; j++) {
      mean[j] += sums[k * 2 * d + j];
      square[j] += sums[k * 2 * d + d + j];
    }
  inv_std.assign(static_cast<size_t>(d), 1.0);
  for (int64_t j = 0; j < d; j++) {
    mean[j] /= static_cast<double>(n);
    const double variance = std::max(0.0, square[j] / static_cast<double>(n) - mean[j] * mean[j]);
    const double sd = std::sqrt(variance);
    inv_std[j] = sd > 1e-12 * std::max(1.0, std::fabs(mean[j])) ? 1.0 / sd : 1.0;
  }
}

double logistic_objective(const LogisticData& data, const std::vector<double>& mean, const std::vector<double>& inv_std,
                          const double* w, double b, double l2, double* grad) {
  const int64_t n = data.n, d = data.d;
  // fold the standardisation into raw weights: m_i = x_i · v + c, v = inv_std ∘ w, c = b − mean · v
  std::vector<double> v(static_cast<size_t>(d));
  double c = b;
  for (int64_t j = 0; j < d; j++) {
    v[j] = inv_std[j] * w[j];
    c -= mean[j] * v[j];
  }
  const int64_t blocks = (n + kBlockRows - 1) / kBlockRows;
  // per block: [0, d) Σ r_i x_i, d: Σ r_i, d + 1: Σ c_i loss_i, d + 2: Σ c_i
  const int64_t stride = d + 3;
  std::vector<double> partial(static_cast<size_t>(blocks * stride), 0.0);
  pool()->parallel_for(static_cast<size_t>(blocks), [&](size_t k) {
    double* p = &partial[k * stride];
    const int64_t end = std::min(n, static_cast<int64_t>(k + 1) * kBlockRows);
    for (int64_t i = static_cast<int64_t>(k) * kBlockRows; i < end; i++) {
      const float* row = data.x + i * d;
      double m = c;
      for (int64_t j = 0; j < d; j++) m += row[j] * v[j];
      const double ci = data.weight ? data.weight[i] : 1.0;
      const double yi = data.y[i];
      const double r = ci * (sigmoid(m) - yi);
      for (int64_t j = 0; j < d; j++) p[j] += r * row[j];
      p[d] += r;
      p[d + 1] += ci * (softplus(m) - yi * m);
      p[d + 2] += ci;
    }
  });
  std::vector<double> total(static_cast<size_t>(stride), 0.0);
  for (int64_t k = 0; k < blocks; k++)
    for (int64_t j = 0; j < stride; j++) total[j] += partial[k * stride + j];
  const double W = total[d + 2];
  double loss = total[d + 1] / W;
  for (int64_t j = 0; j < d; j++) {
    // ∂/∂w_j = inv_std_j (Σ r_i x_ij − mean_j Σ r_i) / W + λ w_j
    grad[j] = inv_std[j] * (total[j] - mean[j] * total[d]) / W + l2 * w[j];
    loss += 0.5 * l2 * w[j] * w[j];
  }
  grad[d] = total[d] / W;
  return loss;
}

LogisticFit fit_logistic(const LogisticData& data, const LogisticOptions& options,
                         const std::function<void(int, double, double)>& on_iteration) {
  const int64_t n = data.n, d = data.d;
  check(n >= 1 && d >= 1, "logistic regression needs at least one sample and one feature");
  double positive = 0, negative = 0;
  for (int64_t i = 0; i < n; i++) (data.y[i] ? positive : negative) += data.weight ? data.weight[i] : 1.0;
  check(positive > 0 && negative > 0, "logistic regression needs samples of both classes (labels 0 and 1)");

  LogisticFit fit;
  column_moments(data, fit.mean, fit.inv_std);
  const size_t P = static_cast<size_t>(d + 1);  // parameters: w then b
  std::vector<double> theta(P, 0.0), grad(P), next(P), next_grad(P), direction(P);
  theta[d] = std::log(positive / negative);
  auto evaluate = [&](const std::vector<double>& t, std::vector<double>& g) {
    return logistic_objective(data, fit.mean, fit.inv_std, t.data(), t[d], options.l2, g.data());
  };
  double loss = evaluate(theta, grad);
  std::deque<std::vector<double>> s_history, y_history;
  std::deque<double> rho_history;
  int iteration = 0;
  bool converged = max_abs(grad) <= options.tolerance;
  while (!converged && iteration < options.max_iterations) {
    // two-loop recursion: direction = −H ∇J
    direction = grad;
    const size_t m = s_history.size();
    std::vector<double> alpha(m);
    for (size_t k = m; k-- > 0;) {
      alpha[k] = rho_history[k] * dot(s_history[k], direction);
      for (size_t j = 0; j < P; j++) direction[j] -= alpha[k] * y_history[k][j];
    }
    const double gamma = m > 0 ? dot(s_history[m - 1], y_history[m - 1]) / dot(y_history[m - 1], y_history[m - 1])
                               : 1.0 / std::max(1.0, std::sqrt(dot(grad, grad)));
    for (double& v : direction) v *= gamma;
    for (size_t k = 0; k < m; k++) {
      const double beta = rho_history[k] * dot(y_history[k], direction);
      for (size_t j = 0; j < P; j++) direction[j] += (alpha[k] - beta) * s_history[k][j];
    }
    for (double& v : direction) v = -v;
    double slope = dot(grad, direction);
    if (slope >= 0) {  // not a descent direction: restart from steepest descent
      s_history.clear(), y_history.clear(), rho_history.clear();
      for (size_t j = 0; j < P; j++) direction[j] = -grad[j] / std::max(1.0, std::sqrt(dot(grad, grad)));
      slope = dot(grad, direction);
    }
    // backtracking line search with the Armijo condition
    double step = 1.0, next_loss = 0;
    bool accepted = false;
    for (int tries = 0; tries < 40; tries++) {
      for (size_t j = 0; j < P; j++) next[j] = theta[j] + step * direction[j];
      next_loss = evaluate(next, next_grad);
      if (next_loss <= loss + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    iteration++;
    if (!accepted) break;  // no decrease possible at float64 precision: at the minimum
    std::vector<double> s(P), y(P);
    for (size_t j = 0; j < P; j++) {
      s[j] = next[j] - theta[j];
      y[j] = next_grad[j] - grad[j];
    }
    const double sy = dot(s, y);
    if (sy > 1e-12 * std::sqrt(dot(s, s) * dot(y, y))) {
      s_history.push_back(std::move(s));
      y_history.push_back(std::move(y));
      rho_history.push_back(1.0 / sy);
      if (static_cast<int>(s_history.size()) > options.memory) {
        s_history.pop_front(), y_history.pop_front(), rho_history.pop_front();
      }
    }
    const double previous = loss;
    theta.swap(next);
    grad.swap(next_grad);
    loss = next_loss;
    const double norm = max_abs(grad);
    on_iteration(iteration, loss, norm);
    converged = norm <= options.tolerance || previous - loss <= 1e-15 * std::max(1.0, std::fabs(loss));
  }
  fit.w.assign(theta.begin(), theta.begin() + d);
  fit.b = theta[d];
  fit.loss = loss;
  fit.gradient_norm = max_abs(grad);
  fit.iterations = iteration;
  fit.converged = fit.gradient_norm <= options.tolerance || converged;
  return fit;
}

void logistic_predict(const float* x, int64_t n, int64_t d, const double* w_raw, double b_raw, float* out) {
  parallel_range(static_cast<size_t>(n), 256, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
      const float* row = x + static_cast<int64_t>(i) * d;
      double m = b_raw;
      for (int64_t j = 0; j < d; j++) m += row[j] * w_raw[j];
      out[i] = static_cast<float>(sigmoid(m));
    }
  });
}

}  // namespace tf
