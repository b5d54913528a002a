#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/check_format.sh
scripts/check_boundaries.sh
build=${FACEDEX_BUILD_DIR:-build}
(cd "$build" && ctest --output-on-failure -j2)
# Again with every hand-written AVX2 kernel switched off: the portable paths
# are what CPUs without AVX2 run (util/kernel_choice.h). The unit tests, and the
# command tests that detect, describe, search and cluster; the naming, damage,
# tag, install and other-model command tests use those paths only through the
# same commands, so they run once (CI's time budget).
(cd "$build" && FACEDEX_KERNELS=generic ctest --output-on-failure -j2 -L unit)
(cd "$build" && FACEDEX_KERNELS=generic ctest --output-on-failure -j2 -L e2e \
  -R '^(IndexCommandTest|WhoCommandTest|FacesCommandTest|ClusterCommandTest|DetectorCommandTest)\.')
# Sanitizers, each in its own build tree (scripts/test_sanitizers.sh):
# ASan+UBSan on the unit tests, TSan on the storage and indexer tests.
# FACEDEX_SANITIZERS=0 skips them (a quicker local run).
if [ "${FACEDEX_SANITIZERS:-1}" != 0 ]; then
  scripts/test_sanitizers.sh
fi
