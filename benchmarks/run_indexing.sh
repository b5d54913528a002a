#!/usr/bin/env bash
# Indexing throughput: facedex index vs the naive dlib pipeline (benchmarks/naive_pipeline.cpp)
# on the same photos: the face-api demo photos, ../shared/data/groups, and
# 1,000 images of ../shared/data/lfw-dev. Detection recall and precision at
# IoU 0.5 on groups/dlib (boxes in training.xml / testing.xml).
#   benchmarks/run_indexing.sh [SHARED_DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
build=${FACEDEX_BUILD_DIR:-build}
cmake -S . -B "$build" -DFACEDEX_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" --target naive_pipeline facedex -j"$(nproc)" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/photos/demo" "$work/photos/groups" "$work/photos/lfw"
cp .deps/face-api/package/demo/sample*.jpg "$work/photos/demo/"
for d in "$data"/groups/*/; do
  mkdir -p "$work/photos/groups/$(basename "$d")"
  cp "$d"*.jpg "$work/photos/groups/$(basename "$d")/" 2>/dev/null || true
done
find "$data/lfw-dev/images" -name '*.jpg' | sort | sed -n '1,1000p' | while read -r f; do cp "$f" "$work/photos/lfw/"; done
find "$work/photos" -name '*.jpg' | sort >"$work/list.txt"
echo "photos: $(wc -l <"$work/list.txt") ($(ls "$work/photos/demo" | wc -l) demo, $(find "$work/photos/groups" -name '*.jpg' | wc -l) groups, $(ls "$work/photos/lfw" | wc -l) lfw-dev)"

"$build/benchmarks/naive_pipeline" "$work/list.txt" "$work/naive_boxes.tsv" | tee "$work/naive.txt"
"$build/cli/facedex" --db "$work/db" index --json "$work/photos" 2>/dev/null >"$work/facedex.json"
"$build/cli/facedex" --db "$work/db" export --format csv >"$work/facedex_faces.csv"

python3 - "$work" "$data/groups/dlib" <<'PY'
import csv, json, re, sys
work, dlib_dir = sys.argv[1], sys.argv[2]
j = json.load(open(f"{work}/facedex.json"))
naive = open(f"{work}/naive.txt").read()
m = re.search(r"(\d+) photos, (\d+) faces in ([\d.]+) s", naive)
n_photos, n_faces, n_secs = int(m.group(1)), int(m.group(2)), float(m.group(3))
f_faces = j["faces_added"]
f_secs = j["seconds"]
print(f"facedex: {j['photos_seen']} photos, {f_faces} faces in {f_secs:.1f} s: {j['photos_seen']/f_secs:.2f} photos/s, {f_faces/f_secs:.2f} faces/s")
print(f"ratio facedex/naive photos/s: {(j['photos_seen']/f_secs)/(n_photos/n_secs):.2f}x")

truth = {}
for xml in ("training.xml", "testing.xml"):
    text = open(f"{dlib_dir}/{xml}", encoding="latin-1").read()
    for img in re.finditer(r"<image file='([^']+)'[^>]*>(.*?)</image>", text, re.S):
        boxes = [(int(b[1]), int(b[0]), int(b[1]) + int(b[2]), int(b[0]) + int(b[3]))
                 for b in re.findall(r"<box top='(\d+)' left='(\d+)' width='(\d+)' height='(\d+)'", img.group(2))]
        truth[img.group(1)] = boxes

def iou(a, b):
    l, t, r, bt = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, r - l) * max(0, bt - t)
    union = (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
    return inter / union if union else 0

def score(found):
    tp = fp = fn = 0
    for name, gt in truth.items():
        dets = found.get(name, [])
        used = set()
        for g in gt:
            best = max(range(len(dets)), key=lambda i: iou(g, dets[i]) if i not in used else -1, default=None)
            if best is not None and best not in used and iou(g, dets[best]) >= 0.5:
                used.add(best); tp += 1
            else:
                fn += 1
        fp += len(dets) - len(used)
    return tp / (tp + fn), tp / max(1, tp + fp)

naive_found, facedex_found = {}, {}
for line in open(f"{work}/naive_boxes.tsv"):
    p, l, t, r, b = line.rstrip("\n").split("\t")
    if "/groups/dlib/" in p:
        naive_found.setdefault(p.rsplit("/", 1)[1], []).append(tuple(map(int, (l, t, r, b))))
for row in csv.DictReader(open(f"{work}/facedex_faces.csv")):
    if "/groups/dlib/" in row["photo"]:
        facedex_found.setdefault(row["photo"].rsplit("/", 1)[1], []).append(
            tuple(int(row[k]) for k in ("left", "top", "right", "bottom")))
for name, found in (("naive", naive_found), ("facedex", facedex_found)):
    r, p = score(found)
    print(f"{name}: groups/dlib detection recall {r:.3f}, precision {p:.3f} at IoU 0.5 ({sum(len(v) for v in truth.values())} labelled faces)")
PY
