#!/usr/bin/env bash
# facedex under the sanitizers, each kind from its own build tree:
#   asan          the unit tests but the indexer's (models, storage, search)
#                 under AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan          the storage tests (the query helper's lock-free hand-off,
#                 the vector index) and two of the indexer's (its worker
#                 threads: a first run, and a second one reusing a copy's
#                 descriptors) under ThreadSanitizer
#   tsan-indexer  every indexer test under ThreadSanitizer (about 16
#                 minutes here: too long for CI's budget, so by hand)
# scripts/test.sh runs asan and tsan after the suite; FACEDEX_SANITIZERS=0
# skips them.
#   scripts/test_sanitizers.sh [asan|tsan|tsan-indexer]...
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(asan tsan)

# build DIR SANITIZERS TARGET...: -O1 keeps the build and the runs quick
# enough for CI; frame pointers keep the reports' stacks whole. Warnings are
# the Release build's to fail on.
build() {
  local dir=$1 sanitizers=$2
  shift 2
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 \
      -DFACEDEX_SANITIZE="$sanitizers" -DFACEDEX_WERROR=OFF >/dev/null
  fi
  # The build runs some of what it builds (the model converter): one thread
  # each for OpenBLAS and OpenMP, whose uninstrumented pools TSan would report.
  if ! OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 cmake --build "$dir" --target "$@" -j"$(nproc)" >"$dir/build.log" 2>&1; then
    grep -E 'error|Error' "$dir/build.log" | head -40 >&2
    echo "sanitizers: the $sanitizers build failed (full log: $dir/build.log)" >&2
    exit 1
  fi
}

# ThreadSanitizer runs: OpenMP's and OpenBLAS's thread pools are not
# instrumented, so their threads would be reported as races: oneDNN, FAISS and
# BLAS run one thread each. scripts/tsan_suppressions.txt names the other
# uninstrumented libraries. setarch -R: this TSan cannot map its shadow memory
# under the kernel's full address randomisation.
tsan_ctest() {
  (cd "$1" && OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/tsan_suppressions.txt" \
    setarch "$(uname -m)" -R ctest --output-on-failure -j2 -R "$2")
}

for kind in "${kinds[@]}"; do
  case $kind in
    asan)
      dir=${FACEDEX_ASAN_BUILD_DIR:-build-asan}
      build "$dir" address,undefined models_test storage_test search_test
      # Leaks are not checked: OpenCV, oneDNN and dlib keep process-lifetime
      # caches that LeakSanitizer reports at exit.
      (cd "$dir" && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --output-on-failure -j2 -L unit -E '^IndexRunTest[.]')
      ;;
    tsan)
      dir=${FACEDEX_TSAN_BUILD_DIR:-build-tsan}
      build "$dir" thread storage_test indexer_test
      # PqFastScanTest's other tests run one thread (OMP_NUM_THREADS=1 here).
      tsan_ctest "$dir" '^(RecordsTest|VectorIndexTest|GalleryStoreTest|IndexChoiceTest|FastSearchTest|BalancedRotationTest|Sq8VectorsTest|QueryHelperTest)[.]|^PqFastScanTest[.]OneQueryOnTwoThreadsAnswersAsOnOne$|^IndexRunTest[.](IndexesEveryFaceOfTheDemoPhotosAndStoreAgreesWithFaiss|CopiedFileReusesTheDescriptors)$'
      ;;
    tsan-indexer)
      dir=${FACEDEX_TSAN_BUILD_DIR:-build-tsan}
      build "$dir" thread indexer_test
      tsan_ctest "$dir" '^IndexRunTest[.]'
      ;;
    *)
      echo "usage: $0 [asan|tsan|tsan-indexer]..." >&2
      exit 2
      ;;
  esac
done
echo "sanitizers: clean (${kinds[*]})"
