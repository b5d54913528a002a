#!/usr/bin/env bash
# A library whose photos get metadata written into them (a rating by exiv2, as
# digiKam or Lightroom write theirs): the index run after the edit, against the
# first run's full analysis of the same photos, for each facedex binary given
# (for example a build of an earlier commit first). Prints each binary's
# seconds for both runs, the ratio, the summary's counts and how many face ids
# the edit kept.
#   benchmarks/run_metadata_edit.sh FACEDEX [OTHER_FACEDEX...]   (photos: ../shared/data/wider-dev/images,
#                                                                 or PHOTOS=DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 FACEDEX [OTHER_FACEDEX...]" >&2; exit 2; }
photos=${PHOTOS:-../shared/data/wider-dev/images}
command -v exiv2 >/dev/null || { echo "run_metadata_edit: exiv2 is needed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "photos: $photos; $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
seconds() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; python3 -c "print($EPOCHREALTIME - $t0)"; }
ids() { "$1" --db "$2" export | python3 -c 'import json,sys; print("\n".join(sorted(str(json.loads(l)["face_id"]) for l in sys.stdin)))'; }
for i in $(seq 1 $#); do
  facedex=${!i}
  lib=$work/lib$i db=$work/db$i
  mkdir -p "$lib"
  find "$photos" -maxdepth 1 -type f -iname '*.jpg' -exec cp -t "$lib" {} +
  first=$(seconds "$facedex" --db "$db" index "$lib")
  ids "$facedex" "$db" >"$work/ids-before"
  exiv2 -q -M'set Xmp.xmp.Rating 3' "$lib"/*.jpg
  edited=$(seconds "$facedex" --db "$db" index "$lib")
  ids "$facedex" "$db" >"$work/ids-after"
  kept=$(comm -12 "$work/ids-before" "$work/ids-after" | wc -l)
  # Then reorganised: every photo moved into an album folder, rated again on the way.
  mkdir -p "$lib/album"
  mv "$lib"/*.jpg "$lib/album/"
  exiv2 -q -M'set Xmp.xmp.Rating 4' "$lib"/album/*.jpg
  reorganised=$(seconds "$facedex" --db "$db" index "$lib")
  ids "$facedex" "$db" >"$work/ids-moved"
  kept_moved=$(comm -12 "$work/ids-before" "$work/ids-moved" | wc -l)
  faces_now=$(wc -l <"$work/ids-moved")
  printf '%s: %d photos; first index %.1f s; after the edit %.1f s (%.2fx the first), face ids kept %d of %d; ' \
    "$facedex" "$(ls "$lib/album" | wc -l)" "$first" "$edited" "$(python3 -c "print($edited / $first)")" "$kept" \
    "$(wc -l <"$work/ids-before")"
  printf 'moved and edited %.1f s (%.2fx), face ids kept %d, faces stored %d\n' "$reorganised" \
    "$(python3 -c "print($reorganised / $first)")" "$kept_moved" "$faces_now"
done
