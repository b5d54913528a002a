#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/check_format.sh
scripts/check_boundaries.sh
cd "${FACEDEX_BUILD_DIR:-build}"
ctest --output-on-failure -j2
# Again with every hand-written AVX2 kernel switched off: the portable paths
# are what CPUs without AVX2 run (util/kernel_choice.h).
FACEDEX_KERNELS=generic ctest --output-on-failure -j2
