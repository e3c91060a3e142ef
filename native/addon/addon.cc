// Module entry point: every binding registers itself (registry.h); this only runs them.
#include <napi.h>

#include "addon/registry.h"

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tf::addon::init_all(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(tokenfilter, Init)
