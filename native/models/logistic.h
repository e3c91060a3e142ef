// L2-regularised, class-weighted binary logistic regression on standardised features, fitted
// to convergence with L-BFGS. Features are float32 rows [n, d]; the fit works on standardised
// columns z_j = (x_j − mean_j) · inv_std_j without copying X (the standardisation is folded into
// each matrix-vector product), and every sum runs in float64 over fixed row blocks, so a fit is
// deterministic whatever the thread count.
//
// Objective (w ∈ R^d, bias b unregularised, c_i the weight of sample i, W = Σ c_i):
//   J(w, b) = (1/W) Σ_i c_i [ softplus(m_i) − y_i m_i ] + (λ/2) ‖w‖²,   m_i = z_i · w + b
//   ∂J/∂w = (1/W) Z^T (c ∘ (σ(m) − y)) + λ w,   ∂J/∂b = (1/W) Σ_i c_i (σ(m_i) − y_i)
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace tf {

struct LogisticData {
  const float* x = nullptr;       // [n, d] row-major
  const uint8_t* y = nullptr;     // [n], 0 or 1
  const float* weight = nullptr;  // [n] sample weights (> 0), or null for all 1
  int64_t n = 0;
  int64_t d = 0;
};

struct LogisticOptions {
  double l2 = 1e-3;          // λ ≥ 0
  int max_iterations = 500;  // L-BFGS iterations
  double tolerance = 1e-6;   // stop when ‖∇J‖_∞ ≤ tolerance
  int memory = 10;           // L-BFGS history pairs
};

struct LogisticFit {
  std::vector<double> mean;     // [d] column means
  std::vector<double> inv_std;  // [d] 1 / column standard deviations (1 for a constant column)
  std::vector<double> w;        // [d] weights on standardised features
  double b = 0;
  double loss = 0;           // J at the solution
  double gradient_norm = 0;  // ‖∇J‖_∞ at the solution
  int iterations = 0;
  bool converged = false;
};

// Column means and 1/std (population) of x, in float64.
void column_moments(const LogisticData& data, std::vector<double>& mean, std::vector<double>& inv_std);

// J and its gradient at (w, b) on standardised features; grad has d + 1 entries (bias last).
double logistic_objective(const LogisticData& data, const std::vector<double>& mean, const std::vector<double>& inv_std,
                          const double* w, double b, double l2, double* grad);

// Fits the model. `on_iteration(iteration, loss, gradient_norm)` runs after every iteration
// and may throw (e.g. tf::Cancelled) to stop. Throws tf::Error if a class is absent.
LogisticFit fit_logistic(const LogisticData& data, const LogisticOptions& options,
                         const std::function<void(int, double, double)>& on_iteration);

// Probabilities σ(x · w_raw + b_raw) for rows of x [n, d] with raw-feature weights (float64).
void logistic_predict(const float* x, int64_t n, int64_t d, const double* w_raw, double b_raw, float* out);

}  // namespace tf
