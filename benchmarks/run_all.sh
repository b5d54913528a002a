#!/usr/bin/env bash
# Runs every benchmark, keeps the printed figures in benchmarks/results-latest.txt
# and puts them into benchmarks/RESULTS.md between its "run_all" markers (the
# tables above those markers are the curated, explained figures).
#   benchmarks/run_all.sh [SHARED_DATA_DIR]      (~60 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
db="${TMPDIR:-/tmp}/facedex-lfw-dev-db"
scripts/setup.sh >/dev/null
cmake -S . -B build -DFACEDEX_BUILD_BENCHMARKS=ON >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
{
  echo "## $(date -u +%Y-%m-%d) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  echo "### descriptor efficiency"; build/benchmarks/descriptor_efficiency
  echo "### detection quality (both detectors: wider-dev, groups/dlib, demo photos, lfw-dev)"
  build/benchmarks/detection_quality --data "$data" --lfw
  echo "### detection speed (both detectors at 250/1920/4000 px, then each HOG kernel in turns: 50 lfw-dev photos, the demo photos)"
  find "$data/lfw-dev/images" -name '*.jpg' | sort | head -50 >"${TMPDIR:-/tmp}/facedex-detection-list.txt"
  build/benchmarks/detection_speed --rounds 5 "${TMPDIR:-/tmp}/facedex-detection-list.txt"
  build/benchmarks/detection_speed --rounds 3 .deps/face-api/package/demo/sample*.jpg
  echo "### Winograd layer by layer"; OMP_NUM_THREADS=1 build/benchmarks/winograd_layers --rounds 30
  echo "### indexing throughput"; benchmarks/run_indexing.sh "$data"
  echo "### indexing throughput by descriptor model (dlib, Faceplugin on OpenCV's dnn and on oneDNN)"
  benchmarks/run_embedder_speed.sh "$data"
  echo "### indexing memory"; benchmarks/run_memory.sh "$data"
  echo "### LFW identification and verification (indexes lfw-dev into $db)"; benchmarks/run_lfw.sh "$data/lfw-dev" "$db"
  echo "### LFW clustering"; build/benchmarks/lfw_clustering --db "$db"
  echo "### atypical-pose faces in clusters"; benchmarks/run_profile_clustering.sh "$data"
  echo "### search at scale"; build/benchmarks/search_at_scale --db "$db"
  echo "### clustering at scale"
  for n in 100000 1000000; do build/benchmarks/clustering_at_scale --db "$db" --size "$n"; done
} 2>&1 | tee benchmarks/results-latest.txt
python3 - <<'PY'
import re
path = "benchmarks/RESULTS.md"
text = open(path).read()
latest = open("benchmarks/results-latest.txt").read()
block = "<!-- run_all: begin -->\n```\n" + latest.rstrip() + "\n```\n<!-- run_all: end -->"
if "<!-- run_all: begin -->" in text:
    text = re.sub(r"<!-- run_all: begin -->.*<!-- run_all: end -->", lambda m: block, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n## Latest raw output of benchmarks/run_all.sh\n\n" + block + "\n"
open(path, "w").write(text)
PY
