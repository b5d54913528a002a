#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/check_format.sh
scripts/check_boundaries.sh
build=${FACEDEX_BUILD_DIR:-build}
(cd "$build" && ctest --output-on-failure -j2)
# Again with every hand-written AVX2 kernel switched off: the portable paths
# are what CPUs without AVX2 run (util/kernel_choice.h). Only the unit tests
# whose code reaches a kernel (detection, descriptors, search, clustering), and
# one end-to-end test of each command that detects, describes, searches or
# clusters: decoding, records, naming, damage, crash-safety and other-model
# tests take the same paths either way, so they run once (CI's time budget).
(cd "$build" && FACEDEX_KERNELS=generic ctest --output-on-failure -j2 -L unit \
  -E '^(PhotoDecoderTest|XmpFaceTagsTest|HeifDecoderTest|ShapePredictorCacheTest|FaceapiConversionTest|MobileFaceNetConversionTest|TfGraphRewriteTest|TfEmbedderTest|FaceCropTest|RecordsTest)[.]|^IndexRunTest[.](Second|Renamed|Copied|Deleted|Missing|Modified|Garbage|Database|Descriptors|Photos)')
(cd "$build" && FACEDEX_KERNELS=generic ctest --output-on-failure -j2 -L e2e \
  -R '^(IndexCommandTest[.]JsonSummaryExportAndStatsAgree|WhoCommandTest[.]EveryEnrolledFaceGetsItsOwnNameAndAStrangerIsUnknown|FacesCommandTest[.]KeepsGoingPastBadFilesAndExitsNonZeroAtTheEnd|ClusterCommandTest[.]ClustersAreThePeopleAndKeepTheirIdsNamesAndSplits|DetectorCommandTest[.]AGalleryMadeWithHogIsAnalysedAgainOnceKeepingEveryFaceIdAndName)$')
# Sanitizers, each in its own build tree (scripts/test_sanitizers.sh):
# ASan+UBSan on the unit tests, TSan on the storage and indexer tests.
# FACEDEX_SANITIZERS=0 skips them (a quicker local run).
if [ "${FACEDEX_SANITIZERS:-1}" != 0 ]; then
  scripts/test_sanitizers.sh
fi
