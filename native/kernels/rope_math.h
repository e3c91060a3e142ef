// Element math of rotary position embedding ("rotate half" pairs (d, d + hs/2)).
#pragma once
#include <cmath>

#include "core/host_device.h"

namespace tf {

// Angle of pair d (0 <= d < hs/2) at position t: t * base^(-2d / hs), computed in double so
// long contexts keep float precision in the rotation.
TF_HOST_DEVICE inline double rope_angle(long long t, long long d, long long hs, double base) {
  return static_cast<double>(t) * pow(base, -2.0 * static_cast<double>(d) / static_cast<double>(hs));
}

// Rotates the pair (x0, x1) by the angle whose cosine and sine are c and s (forward); the
// backward passes s = -sin (the inverse rotation, since the rotation is orthogonal).
TF_HOST_DEVICE inline void rope_rotate(float& x0, float& x1, float c, float s) {
  float a = x0, b = x1;
  x0 = a * c - b * s;
  x1 = a * s + b * c;
}

}  // namespace tf
