#!/usr/bin/env bash
# Each module shows a small public interface (ARCHITECTURE.md, "Modules and
# their public headers"): production code outside a module includes only the
# headers listed here. Tests and benchmarks may include any header, to test
# and measure the internals.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A public=(
  [models]="decode_budget.h embedder.h face_detector.h face_pipeline.h model_constants.h model_files.h
            onnx_export.h external_model_spec.h photo_decoder.h tfjs_graph_export.h xmp_face_tags.h"
  [models/kernels]="face_detection_kernel.h shape_predictor_members.h winograd_conv.h"
  [storage]="gallery.h gallery_check.h gallery_store.h index_choice.h records.h vector_index.h"
  [storage/ann]="fast_search.h"
  [indexer]="crawler.h index_run.h"
  [search]="auto_naming.h enrollment.h face_tags.h gallery_clusters.h names_from_gallery.h identity_rule.h people.h photo_removal.h probe.h report.h who.h"
  [cli]=""
)
# The module a path belongs to: the longest listed folder it is in (util: everything public).
module_of() {
  local best=""
  for m in "${!public[@]}"; do
    if [[ "$1" == "$m"/* && ${#m} -gt ${#best} ]]; then best=$m; fi
  done
  echo "$best"
}
status=0
while IFS= read -r line; do
  file=${line%%:*}
  header=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"${line#*:}")
  from=$(module_of "$file")
  to=$(module_of "$header")
  [[ -z "$to" || "$from" == "$to" ]] && continue
  if ! grep -qw -- "$(basename "$header")" <<<"${public[$to]}"; then
    echo "check_boundaries: $file includes $header, which is private to $to/" >&2
    status=1
  fi
done < <(grep -rnE '#include "[a-z_/0-9]+\.h"' --include=*.cpp --include=*.h models storage indexer search cli util |
         sed -E 's/:[0-9]+:/:/')
[ $status -eq 0 ] && echo "check_boundaries: every module is used through its public headers"
exit $status
