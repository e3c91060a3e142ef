#include "addon/registry.h"

#include <string>
#include <utility>
#include <vector>

namespace tf::addon {

namespace {
std::vector<std::pair<std::string, InitFn>>& registry() {
  static std::vector<std::pair<std::string, InitFn>> entries;
  return entries;
}
}  // namespace

Registrar::Registrar(const char* name, InitFn fn) { registry().emplace_back(name, fn); }

void init_all(Napi::Env env, Napi::Object exports) {
  for (auto& entry : registry()) entry.second(env, exports);
}

}  // namespace tf::addon
