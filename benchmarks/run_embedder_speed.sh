#!/usr/bin/env bash
# Indexing throughput of the descriptor models on the same photos, one after
# the other in this script: dlib's ResNet (the default), Faceplugin's network
# run by OpenCV's dnn (FACEDEX_EXTERNAL_BACKEND=opencv, the runner before) and
# by facedex's oneDNN runner. Photos: the first N (default: all) of
# ../shared/data/lfw-dev, copied (index skips symlinks).
#   benchmarks/run_embedder_speed.sh [SHARED_DATA_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
count=${2:-0}
build=${FACEDEX_BUILD_DIR:-build}
cmake --build "$build" --target facedex -j"$(nproc)" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/photos"
find "$data/lfw-dev/images" -name '*.jpg' | sort | { if [ "$count" -gt 0 ]; then head -n "$count"; else cat; fi; } |
  while read -r f; do cp "$f" "$work/photos/"; done
echo "photos: $(ls "$work/photos" | wc -l) of lfw-dev; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
run() {  # label, embedder, external backend
  rm -rf "$work/db"
  FACEDEX_EXTERNAL_BACKEND=$3 "$build/cli/facedex" --embedder "$2" --db "$work/db" index --json "$work/photos" \
    2>/dev/null >"$work/$1.json"
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%-22s %5d photos %5d faces %7.1f s %7.1f photos/s" % (sys.argv[2], j["photos_seen"], j["faces_in_index"], j["seconds"], j["photos_per_second"]))' \
    "$work/$1.json" "$1"
}
run dlib auto ""
run faceplugin-opencv faceplugin opencv
run faceplugin-onednn faceplugin ""
python3 - "$work" <<'PY'
import json, sys
r = {k: json.load(open(f"{sys.argv[1]}/{k}.json"))["photos_per_second"] for k in ("dlib", "faceplugin-opencv", "faceplugin-onednn")}
print("faceplugin on oneDNN: %.2fx its OpenCV runner, %.2fx dlib's ResNet" % (r["faceplugin-onednn"] / r["faceplugin-opencv"], r["faceplugin-onednn"] / r["dlib"]))
PY
