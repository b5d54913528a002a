#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/check_format.sh
cd "${FACEDEX_BUILD_DIR:-build}"
ctest --output-on-failure -j2 --timeout 1200
