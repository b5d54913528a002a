#!/usr/bin/env bash
# Automatic names on LFW-dev: the first half of each person's photos is named
# (indexed, then `facedex enroll --dir`), the rest is indexed and named by
# facedex itself. Counts automatic names right and wrong on each new photo's
# main face (box centre nearest the photo's centre: the LFW person), after
# `index` (the identity rule), after `cluster`, and by user-named clusters alone,
# then sweeps the rule's distance and margin on copies of the same gallery.
# People with one photo have nothing named: any name their photo gets is wrong.
#   benchmarks/auto_naming.sh [LFW_DEV_DIR] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
lfw=${1:-../shared/data/lfw-dev}
work=${2:-${TMPDIR:-/tmp}/facedex-auto-naming}
scripts/setup.sh >/dev/null
F=$(pwd)/${FACEDEX_BUILD_DIR:-build}/cli/facedex
rm -rf "$work" && mkdir -p "$work/enroll" "$work/new"

python3 - "$lfw/images" "$work" <<'PY'
import os, shutil, sys
images, work = sys.argv[1], sys.argv[2]
named = new = 0
for person in sorted(os.listdir(images)):
    photos = sorted(os.listdir(os.path.join(images, person)))
    half = len(photos) // 2
    for i, p in enumerate(photos):
        dest = os.path.join(work, "enroll" if i < half else "new", person)
        os.makedirs(dest, exist_ok=True)
        shutil.copy(os.path.join(images, person, p), dest)
        named += i < half
        new += i >= half
print("photos named by the user: %d, new photos: %d" % (named, new))
PY

evaluate() {  # EXPORT_JSONL LABEL
  python3 - "$1" "$2" "$work/new" <<'PY'
import json, sys
export, label, new_root = sys.argv[1], sys.argv[2], sys.argv[3]
faces = [json.loads(l) for l in open(export)]
by_photo = {}
for f in faces:
    if f["photo"].startswith(new_root + "/"):
        by_photo.setdefault(f["photo"], []).append(f)
main = total = right = wrong = other_named = 0
wrong_examples = []
for photo, fs in by_photo.items():
    person = photo[len(new_root) + 1:].split("/")[0]
    centre = lambda f: ((f["box"][0] + f["box"][2]) / 2 - 125) ** 2 + ((f["box"][1] + f["box"][3]) / 2 - 125) ** 2
    m = min(fs, key=centre)
    total += 1
    for f in fs:
        if f["name_source"] != "automatic":
            continue
        if f is m:
            if f["person"] == person: right += 1
            else:
                wrong += 1
                if len(wrong_examples) < 5: wrong_examples.append("%s named %s" % (photo.split("/")[-1], f["person"]))
        else:
            other_named += 1
named = right + wrong
print("%-34s main faces %5d  named %5d (%5.1f%%)  right %5d  wrong %3d  precision %6.2f%%  other faces named %d"
      % (label, total, named, 100.0 * named / max(total, 1), right, wrong, 100.0 * right / max(named, 1), other_named))
for e in wrong_examples: print("    wrong: " + e)
PY
}

echo "indexing the photos to be named, then naming them (enroll --dir)"
"$F" --db "$work/db" -q index --no-auto-name "$work/enroll"
"$F" --db "$work/db" -q enroll --dir "$work/enroll" || true  # photos with no face found exit 1
"$F" --db "$work/db" persons --json | python3 -c 'import json,sys; p=json.load(sys.stdin); print("%d persons, %d named faces" % (len(p), sum(x["faces"] for x in p)))'
cp -a "$work/db" "$work/db-named"

echo "defaults: index names the new faces by the identity rule"
"$F" --db "$work/db" -q index "$work/enroll" "$work/new"
"$F" --db "$work/db" export > "$work/after-index.jsonl"
evaluate "$work/after-index.jsonl" "after index (defaults)"
"$F" --db "$work/db" -q cluster
"$F" --db "$work/db" export > "$work/after-cluster.jsonl"
evaluate "$work/after-cluster.jsonl" "after index + cluster (defaults)"

echo "the same new photos indexed without names: the gallery the variants start from"
cp -a "$work/db-named" "$work/db-base"
"$F" --db "$work/db-base" -q index --no-auto-name "$work/enroll" "$work/new"
rm -rf "$work/db-cluster-only" && cp -a "$work/db-base" "$work/db-cluster-only"
"$F" --db "$work/db-cluster-only" -q cluster --auto-name-by-cluster --auto-name-distance 0 --auto-name-margin 4
"$F" --db "$work/db-cluster-only" export > "$work/cluster-only.jsonl"
evaluate "$work/cluster-only.jsonl" "by cluster alone (--auto-name-by-cluster)"

echo "sweep of the identity rule (cluster, which names every unnamed face, on a copy of that gallery)"
for d in 0.40 0.45 0.50; do
  for m in 0.05 0.08 0.12; do
    rm -rf "$work/db-sweep" && cp -a "$work/db-base" "$work/db-sweep"
    "$F" --db "$work/db-sweep" -q cluster --auto-name-distance $d --auto-name-margin $m >/dev/null
    "$F" --db "$work/db-sweep" export > "$work/sweep.jsonl"
    evaluate "$work/sweep.jsonl" "rule distance $d margin $m"
  done
done
