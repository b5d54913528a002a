#!/usr/bin/env bash
# How faces in atypical pose (profiles, tilted heads) cluster. One gallery of
# ../shared/data/wider-dev (crowd photos; WIDER flags atypical pose), the
# 4,992 identity-labelled lfw-dev photos and people/deepface_unit, indexed with
# the default (CNN) detector and clustered with the defaults. Every WIDER
# person appears once, in one photo: a WIDER face that shares its cluster with
# any other face is a wrong merge. Prints, for WIDER's atypical-pose faces and
# for its typical ones (matched to the labelled boxes at IoU >= 0.5, short side
# >= 16 px, and >= 32 px): how many were found, how many were merged wrongly, and the
# distance to the nearest other face of the gallery; and LFW's cluster purity
# as the baseline for frontal faces.
#   benchmarks/run_profile_clustering.sh [SHARED_DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
build=${FACEDEX_BUILD_DIR:-build}
cmake --build "$build" --target facedex -j"$(nproc)" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/photos/wider" "$work/photos/lfw" "$work/photos/deepface"
cp "$data"/wider-dev/images/*.jpg "$work/photos/wider/"
find "$data/lfw-dev/images" -name '*.jpg' -exec cp -t "$work/photos/lfw/" {} +
cp "$data"/people/deepface_unit/*.jpg "$work/photos/deepface/"
"$build/cli/facedex" --db "$work/db" -q index "$work/photos"
"$build/cli/facedex" --db "$work/db" -q cluster --no-auto-name
"$build/cli/facedex" --db "$work/db" export --format csv >"$work/faces.csv"

python3 - "$work/faces.csv" "$data/wider-dev/faces.jsonl" <<'PY'
import collections, csv, json, math, statistics, sys
faces = list(csv.DictReader(open(sys.argv[1])))
for f in faces:
    f["box"] = tuple(float(f[k]) for k in ("left", "top", "right", "bottom"))
    f["e"] = [float(f[f"e{i}"]) for i in range(128)]
    f["name"] = f["photo"].rsplit("/", 1)[1]
    f["set"] = f["photo"].rsplit("/", 2)[1]
cluster_members = collections.defaultdict(list)
for f in faces:
    if f["cluster"]:
        cluster_members[f["cluster"]].append(f)

def iou(a, b):
    l, t, r, bt = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, r - l) * max(0, bt - t)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0

def nearest(f):
    return min(math.dist(f["e"], g["e"]) for g in faces if g is not f)

by_photo = collections.defaultdict(list)
for f in faces:
    if f["set"] == "wider":
        by_photo[f["name"]].append(f)
groups = {"atypical pose": [], "typical pose": []}
labelled = collections.Counter()
for line in open(sys.argv[2]):
    photo = json.loads(line)
    name = photo["image"].rsplit("/", 1)[1]
    used = set()
    for w in photo["faces"]:
        l, t, r, b = w["box"]
        if w["invalid"] or min(r - l, b - t) < 16:
            continue
        kind = "atypical pose" if w["pose"] else "typical pose"
        labelled[kind] += 1
        labelled[kind + " >= 32"] += min(r - l, b - t) >= 32
        cands = [f for f in by_photo[name] if id(f) not in used and iou(f["box"], w["box"]) >= 0.5]
        if cands:
            best = max(cands, key=lambda f: iou(f["box"], w["box"]))
            used.add(id(best))
            groups[kind].append(best)

print(f"gallery: {len(faces)} faces, {len(cluster_members)} clusters")
def side(f):
    return min(f["box"][2] - f["box"][0], f["box"][3] - f["box"][1])

for kind, all_found in list(groups.items()):
    groups[kind + ", >= 32 px"] = [f for f in all_found if side(f) >= 32]
    labelled[kind + ", >= 32 px"] = labelled[kind + " >= 32"]
for kind, found in groups.items():
    merged = [f for f in found if f["cluster"] and len(cluster_members[f["cluster"]]) > 1]
    with_other_sets = [f for f in merged if any(g["set"] != "wider" for g in cluster_members[f["cluster"]])]
    dists = [nearest(f) for f in found]
    print(f"WIDER {kind}: {labelled[kind]} labelled faces, {len(found)} found; "
          f"merged wrongly into a cluster: {len(merged)} ({len(merged) / max(1, len(found)):.1%}), "
          f"{len(with_other_sets)} of them with LFW or deepface faces; nearest other face: median "
          f"{statistics.median(dists) if dists else float('nan'):.3f}, "
          f"{sum(d < 0.6 for d in dists)} within 0.6")

# Frontal baseline: LFW's clusters, identity from the file name.
lfw = [f for f in faces if f["set"] == "lfw" and f["cluster"]]
by_cluster = collections.defaultdict(list)
for f in lfw:
    by_cluster[f["cluster"]].append(f["name"].rsplit("_", 1)[0])
pure = sum(max(collections.Counter(v).values()) for v in by_cluster.values())
print(f"LFW faces in clusters: {len(lfw)}, purity {pure / max(1, len(lfw)):.3f} "
      f"(share of each cluster's faces that are its main person)")
PY
