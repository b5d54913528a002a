// Which code runs the hot loops: facedex's hand-written AVX2 + FMA kernels, or
// the portable paths beside them. FACEDEX_KERNELS=generic forces the portable
// paths everywhere, so that they run (and are tested) on any machine.
#pragma once

namespace facedex {

// The CPU has AVX2 and FMA, and FACEDEX_KERNELS is not "generic". Decided once
// per process (asked during static initialisation too).
bool use_avx2_kernels();

}  // namespace facedex
