#include "core/cpu_features.h"

#include <atomic>
#include <cstdlib>

#include "core/error.h"

namespace tf {

SimdLevel detected_simd_level() {
#if defined(__x86_64__) || defined(__i386__)
  static const SimdLevel level = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
      return SimdLevel::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::Avx2;
    return SimdLevel::Scalar;
  }();
  return level;
#else
  return SimdLevel::Scalar;
#endif
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::Avx512: return "avx512";
    case SimdLevel::Avx2: return "avx2";
    default: return "scalar";
  }
}

SimdLevel parse_simd_level(const std::string& name) {
  if (name == "avx512") return SimdLevel::Avx512;
  if (name == "avx2") return SimdLevel::Avx2;
  if (name == "scalar") return SimdLevel::Scalar;
  throw Error("unknown SIMD level '" + name + "' (expected scalar, avx2 or avx512)");
}

namespace {
std::atomic<int> current_level{-1};

int initial_level() {
  SimdLevel level = detected_simd_level();
  if (const char* env = std::getenv("TOKENFILTER_SIMD")) {
    try {
      SimdLevel wanted = parse_simd_level(env);
      if (static_cast<int>(wanted) < static_cast<int>(level)) level = wanted;
    } catch (const Error&) {
      // an unknown value leaves the detected level in place
    }
  }
  return static_cast<int>(level);
}
}  // namespace

SimdLevel simd_level() {
  int level = current_level.load(std::memory_order_relaxed);
  if (level < 0) {
    level = initial_level();
    current_level.store(level, std::memory_order_relaxed);
  }
  return static_cast<SimdLevel>(level);
}

void set_simd_level(SimdLevel level) {
  if (static_cast<int>(level) > static_cast<int>(detected_simd_level()))
    throw Error(std::string("this CPU does not support SIMD level '") + simd_level_name(level) + "'");
  current_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

}  // namespace tf
