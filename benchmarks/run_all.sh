#!/usr/bin/env bash
# Runs every benchmark and keeps the printed figures in benchmarks/results-latest.txt
# (benchmarks/RESULTS.md holds the curated tables and what they mean).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
{
  echo "## $(date -u +%Y-%m-%d) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  echo "### descriptor efficiency"; cmake -S . -B build -DFACEDEX_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build build --target descriptor_efficiency -j"$(nproc)" >/dev/null; build/benchmarks/descriptor_efficiency
  echo "### indexing throughput"; benchmarks/run_indexing.sh
  echo "### LFW identification and verification"; benchmarks/run_lfw.sh
  echo "### search at scale"; cmake --build build --target search_at_scale >/dev/null
  build/benchmarks/search_at_scale --db "${TMPDIR:-/tmp}/facedex-lfw-dev-db"
  echo "### LFW clustering"; cmake --build build --target lfw_clustering >/dev/null
  build/benchmarks/lfw_clustering --db "${TMPDIR:-/tmp}/facedex-lfw-dev-db"
  echo "### clustering at scale"; cmake --build build --target clustering_at_scale >/dev/null
  for n in 100000 1000000; do build/benchmarks/clustering_at_scale --db "${TMPDIR:-/tmp}/facedex-lfw-dev-db" --size "$n"; done
} 2>&1 | tee benchmarks/results-latest.txt
