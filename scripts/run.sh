#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then indexes FOLDER (default: the
# face-api demo photos) into FACEDEX_DB (default ~/.local/share/facedex) and
# prints the summary and the database's stats.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
folder=${1:-.deps/face-api/package/demo}
facedex=${FACEDEX_BUILD_DIR:-build}/cli/facedex
"$facedex" index "$folder"
"$facedex" stats
