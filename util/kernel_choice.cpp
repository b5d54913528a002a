#include "util/kernel_choice.h"

#include <cstdlib>
#include <cstring>

namespace facedex {

bool use_avx2_kernels() {
  static const bool yes = [] {
    const char* choice = std::getenv("FACEDEX_KERNELS");
    if (choice && std::strcmp(choice, "generic") == 0) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return yes;
}

}  // namespace facedex
