#!/usr/bin/env bash
# Fails, naming the files, when a C++ file in the repository differs from
# .clang-format (fix: clang-format -i FILE...).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r f; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.cpp' '*.h')
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: ${#bad[@]} files differ from .clang-format (clang-format -i them):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check_format: every C++ file follows .clang-format"
