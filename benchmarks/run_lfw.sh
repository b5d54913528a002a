#!/usr/bin/env bash
# LFW development view: index ../shared/data/lfw-dev with facedex, then measure
# identification (the `who` rule: on named faces only, and on a library of
# unnamed photos at three gallery sizes), verification, clustering (and as the
# gallery grows: each half, both, distractors added) and the report's
# duplicate-person findings ("one person under two groups", "two people under
# one group"), each on both name-hash halves. Prints the tables RESULTS.md keeps.
#   benchmarks/run_lfw.sh [LFW_DEV_DIR] [DB_DIR]
# FACEDEX_EMBEDDER=faceplugin (or mobilefacenet, onnx:PATH, tf:PATH) measures
# another descriptor model with the same detector and pipeline. lfw_who fits
# the who rule leaving 97% of the calibration half's strangers unknown (98% for
# faceplugin, whose shipped weights were fitted so; FACEDEX_LFW_UNKNOWN sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
lfw=${1:-../shared/data/lfw-dev}
db=${2:-${TMPDIR:-/tmp}/facedex-lfw-dev-db}
data=$(dirname "$lfw")
scripts/setup.sh >/dev/null
build=${FACEDEX_BUILD_DIR:-build}
embedder=${FACEDEX_EMBEDDER:-auto}
cmake -S . -B "$build" -DFACEDEX_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" --target lfw_identification lfw_who lfw_clustering lfw_findings -j"$(nproc)" >/dev/null
echo "indexing $lfw/images into $db (incremental: a second run is quick)"
"$build/cli/facedex" --embedder "$embedder" --db "$db" index --json "$lfw/images" 2>/dev/null |
  python3 -c 'import json,sys; j=json.load(sys.stdin); print("indexed %d photos, %d faces in %.0f s (%.1f photos/s)" % (j["photos_seen"], j["faces_in_index"], j["seconds"], j["photos_per_second"]))'
"$build/benchmarks/lfw_identification" --db "$db" --lfw "$lfw"

# The library for lfw_who: per person with two or more photos the first and
# every second one after the second (copies: index skips symlinks), and the
# other sets' photos as distractors.
library=$db-library
rm -rf "$library" "$library-photos"
for dir in "$lfw"/images/*/; do
  photos=("$dir"*)
  [ ${#photos[@]} -ge 2 ] || continue
  person=$(basename "$dir")
  mkdir -p "$library-photos/lfw/$person"
  for i in "${!photos[@]}"; do
    if [ "$i" -eq 0 ] || { [ "$i" -ge 2 ] && [ $((i % 2)) -eq 0 ]; }; then
      cp "${photos[$i]}" "$library-photos/lfw/$person/"
    fi
  done
done
"$build/cli/facedex" --embedder "$embedder" --db "$library" -q index "$library-photos/lfw" "$data/wider-dev" "$data/groups" "$data/people"
echo
unknown=${FACEDEX_LFW_UNKNOWN:-$([ "$embedder" = faceplugin ] && echo 0.98 || echo 0.97)}
"$build/benchmarks/lfw_who" --library "$library" --probes "$db" --embedder "$embedder" --unknown "$unknown"

# Clustering and the report's findings, on a copy clustered as `facedex cluster` does.
clustered=$db-clustered
rm -rf "$clustered"
cp -r "$db" "$clustered"
"$build/cli/facedex" --embedder "$embedder" --db "$clustered" -q cluster
echo
# The library's other sets' faces join the clustering as distractors (its last table: the gallery growing).
"$build/benchmarks/lfw_clustering" --db "$clustered" --distractors "$library"
echo
"$build/benchmarks/lfw_findings" --db "$clustered"
rm -rf "$clustered" "$library" "$library-photos"
