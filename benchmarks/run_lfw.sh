#!/usr/bin/env bash
# LFW development view: index ../shared/data/lfw-dev with facedex, then measure
# identification (the `who` rule) and verification. Prints the figures.
#   benchmarks/run_lfw.sh [LFW_DEV_DIR] [DB_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
lfw=${1:-../shared/data/lfw-dev}
db=${2:-${TMPDIR:-/tmp}/facedex-lfw-dev-db}
scripts/setup.sh >/dev/null
build=${FACEDEX_BUILD_DIR:-build}
cmake -S . -B "$build" -DFACEDEX_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" --target lfw_identification -j"$(nproc)" >/dev/null
echo "indexing $lfw/images into $db (incremental: a second run is quick)"
"$build/cli/facedex" --db "$db" index --json "$lfw/images" 2>/dev/null |
  python3 -c 'import json,sys; j=json.load(sys.stdin); print("indexed %d photos, %d faces in %.0f s (%.1f photos/s)" % (j["photos_seen"], j["faces_in_index"], j["seconds"], j["photos_per_second"]))'
"$build/benchmarks/lfw_identification" --db "$db" --lfw "$lfw"
