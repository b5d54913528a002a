#!/usr/bin/env bash
# Indexing memory: peak RSS of `facedex index` on 1,000 and on 10,000 photos
# (lfw-dev's 4,992 images, and mirrored copies of them to reach 10,000). It must
# not grow with the collection: workers, queues and write batches are bounded;
# what grows is the in-memory vector index (512 bytes per face).
#   benchmarks/run_memory.sh [SHARED_DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
build=${FACEDEX_BUILD_DIR:-build}
cmake --build "$build" --target facedex -j"$(nproc)" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/p1000" "$work/p10000"
find "$data/lfw-dev/images" -name '*.jpg' | sort >"$work/all.txt"
head -n 1000 "$work/all.txt" | while read -r f; do cp "$f" "$work/p1000/"; done
while read -r f; do cp "$f" "$work/p10000/"; done <"$work/all.txt"
# Mirrored copies (new content, so they are analysed, not recognised as copies).
head -n $((10000 - $(wc -l <"$work/all.txt"))) "$work/all.txt" | while read -r f; do
  b=$(basename "$f" .jpg); convert "$f" -flop "$work/p10000/${b}_mirrored.jpg"
done
for set in p1000 p10000; do
  n=$(find "$work/$set" -name '*.jpg' | wc -l)
  /usr/bin/time -f "%M %e" -o "$work/time.txt" "$build/cli/facedex" --db "$work/db-$set" -q index "$work/$set" >/dev/null
  read -r kb secs <"$work/time.txt"
  faces=$("$build/cli/facedex" --db "$work/db-$set" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["faces"])')
  echo "facedex index: $n photos, $faces faces in ${secs} s: peak RSS $((kb / 1024)) MB"
done
