// Run-time choice of the SIMD level. Kernels compile AVX2 and AVX-512 variants with function
// target attributes and pick one through simd_level(), so one binary runs on any x86-64.
// TOKENFILTER_SIMD=scalar|avx2|avx512 (or set_simd_level) forces a lower level, which is how
// the tests exercise every path on one machine.
#pragma once
#include <string>

namespace tf {

enum class SimdLevel { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// The best level this CPU supports (AVX2 means AVX2 + FMA; AVX-512 means F + BW + DQ + VL).
SimdLevel detected_simd_level();
// The level kernels use now: the detected one unless lowered by the environment or setter.
SimdLevel simd_level();
// Sets the level kernels use; throws tf::Error if the CPU does not support it.
void set_simd_level(SimdLevel level);
const char* simd_level_name(SimdLevel level);
SimdLevel parse_simd_level(const std::string& name);

}  // namespace tf
