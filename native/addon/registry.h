// Each file in native/addon/ registers the functions and classes it exports with a static
// Registrar, so adding a binding needs no edit to a central list. addon.cc calls every
// registered init function when the module loads (once per Node environment / worker thread).
#pragma once
#include <napi.h>

namespace tf::addon {

using InitFn = void (*)(Napi::Env env, Napi::Object exports);

struct Registrar {
  Registrar(const char* name, InitFn fn);
};

void init_all(Napi::Env env, Napi::Object exports);

}  // namespace tf::addon
