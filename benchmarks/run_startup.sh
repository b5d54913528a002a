#!/usr/bin/env bash
# One command's whole time, start-up included: `who` on one demo photo against
# a gallery of that photo, run N times (default 7) by each facedex binary
# given, the binaries taking turns so that both see the same machine. Prints
# each binary's median wall, user and system seconds, and the ratio of the
# medians against the first (the baseline: for example a build of an earlier
# commit).
#   benchmarks/run_startup.sh BASELINE_FACEDEX [OTHER_FACEDEX...] [-n N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=7
binaries=()
while [ $# -gt 0 ]; do
  case $1 in
    -n) runs=$2; shift 2 ;;
    *) binaries+=("$1"); shift ;;
  esac
done
[ ${#binaries[@]} -gt 0 ] || { echo "usage: $0 BASELINE_FACEDEX [OTHER_FACEDEX...] [-n N]" >&2; exit 2; }
photo=.deps/face-api/package/demo/sample3.jpg
[ -f "$photo" ] || { echo "run_startup: $photo is missing (run scripts/setup.sh)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$photo" "$work/probe.jpg"
echo "who on $(basename "$photo"), $runs runs each; $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for i in "${!binaries[@]}"; do
  # Each binary its own gallery, and one run first so that its model caches exist.
  "${binaries[$i]}" --db "$work/db$i" index "$work/probe.jpg" >/dev/null 2>&1
  "${binaries[$i]}" --db "$work/db$i" who "$work/probe.jpg" >/dev/null 2>&1
done
for ((r = 0; r < runs; r++)); do
  for i in "${!binaries[@]}"; do
    /usr/bin/time -f "%e %U %S" -a -o "$work/times$i" "${binaries[$i]}" --db "$work/db$i" who "$work/probe.jpg" \
      >/dev/null 2>&1
  done
done
python3 - "$work" "${binaries[@]}" <<'PY'
import statistics, sys
work, binaries = sys.argv[1], sys.argv[2:]
medians = []
for i, b in enumerate(binaries):
    rows = [list(map(float, l.split())) for l in open(f"{work}/times{i}") if l.strip()]
    m = [statistics.median(col) for col in zip(*rows)]
    medians.append(m)
    ratio = "" if i == 0 else "  %.2fx the baseline's wall time" % (medians[0][0] / m[0])
    print("%-40s wall %.2f s  user %.2f s  system %.2f s%s" % (b[-40:], m[0], m[1], m[2], ratio))
PY
