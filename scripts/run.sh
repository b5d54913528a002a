#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then indexes FOLDER (default: the
# face-api demo photos) into FACEDEX_DB (default ~/.local/share/facedex) and
# prints the summary and the database's stats.
#   scripts/run.sh [FOLDER]
set -euo pipefail
# FOLDER is the caller's: resolve it before moving to the repository.
folder=""
if [ $# -gt 0 ]; then folder=$(realpath -m -- "$1"); fi
cd "$(dirname "$0")/.."
scripts/setup.sh
folder=${folder:-$(pwd)/.deps/face-api/package/demo}
facedex=${FACEDEX_BUILD_DIR:-build}/cli/facedex
"$facedex" index "$folder"
"$facedex" stats
