#!/usr/bin/env bash
# The trade-off between clustering and the report's "one person under two
# clusters" findings (#23): a copy of an LFW-dev gallery (as run_lfw.sh makes
# it) is clustered at each threshold, then benchmarks/lfw_findings prints the
# clustering's own scores, how many people stay split, and the findings at
# each bar. A stricter clustering leaves more people split, and plainer ones.
#
#   benchmarks/run_findings_tradeoff.sh DB THRESHOLD...
#     e.g. DB of dlib's ResNet:  0.54 0.52 0.50 0.48 0.46   (0.54: the default)
#          DB of --embedder faceplugin: 1.05 1.03 1.01 0.99 0.97 0.95   (1.05: the default, scaled)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
[ $# -ge 2 ] || { echo "usage: $0 DB THRESHOLD..." >&2; exit 2; }
db=$1
shift
copy=$(mktemp -d "${TMPDIR:-/tmp}/facedex-tradeoff.XXXXXX")
trap 'rm -rf "$copy"' EXIT
for threshold in "$@"; do
  rm -rf "$copy/db"
  cp -r "$db" "$copy/db"
  "$build/cli/facedex" --db "$copy/db" -q cluster --threshold "$threshold" --no-auto-name
  echo "## cluster --threshold $threshold"
  "$build/benchmarks/lfw_findings" --db "$copy/db" | sed -n '1,/^before/p'
  echo
done
