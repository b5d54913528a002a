#!/usr/bin/env bash
# Sets up a fresh Debian bookworm machine for facedex, idempotently:
#   1. installs the Debian packages it needs (only the missing ones),
#   2. fetches the pinned npm packages (face-api; the CNN face detector;
#      MobileFaceNet) and checks their sha256,
#   3. configures and builds (the build converts the descriptor model and
#      checks the result's sha256).
# A second run only re-checks: a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${FACEDEX_BUILD_DIR:-$ROOT/build}

APT_PACKAGES=(
  cmake g++ make pkg-config git
  clang-format                      # scripts/check_format.sh, run by the tests
  libdlib-dev libdlib-data          # dlib and its 68-point landmark model
  libopenblas0-pthread libopenblas-pthread-dev  # so dlib and FAISS do not use the reference BLAS
  libfaiss-dev librocksdb-dev
  libdnnl-dev                       # oneDNN: the fast embedder backend (models/onednn_embedder.cpp)
  ocl-icd-opencl-dev                # dnnl-config.cmake requires OpenCL (a Recommends, skipped by --no-install-recommends)
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-dnn-dev libopencv-dev
  libcli11-dev nlohmann-json3-dev libgtest-dev libexif-dev libssl-dev
  libjpeg62-turbo-dev               # JPEG decoding with libjpeg's warnings (models/jpeg_decoder.cpp)
  libpng-dev                        # PNG decoding with libpng's messages (models/png_decoder.cpp)
  libheif-dev                       # HEIC (iPhone) and AVIF photos (models/heif_decoder.cpp)
  libheif-examples                  # heif-enc: tests make HEIC and AVIF copies of the demo photos
  libexiv2-dev                      # XMP face tags in photos and sidecars (models/xmp_face_tags.cpp)
  exiv2                             # tests write face tags with exiv2's own command
  dpkg-dev                          # cpack's Debian package computes its Depends with dpkg-shlibdeps
  file                              # ... and finds the binaries to give it with file(1)
  npm                               # only to fetch the face-api package (weights + demo photos)
  imagemagick                       # to look at photos and reports
  chromium                          # tests open the HTML report in headless Chromium
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then missing+=("$p"); fi
done
# npm may come from elsewhere (nvm, the machine image): then do not install Debian's.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm/}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
  *openblas*) ;;
  *) echo "setup: warning: libblas.so.3 is $blas, not OpenBLAS: descriptors will be ~15x slower" >&2 ;;
esac

# fetch_pinned PACKAGE TARBALL_SHA256 DIR [FILE...]: npm pack PACKAGE into DIR,
# refuse it unless its sha256 is the pinned one, and unpack it (only FILEs, if given).
fetch_pinned() {
  local package=$1 sha=$2 dir=$3
  shift 3
  echo "setup: fetching $package"
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$package" >/dev/null)
  local tgz got
  tgz=$(ls "$dir"/*.tgz)
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    echo "setup: $tgz has sha256 $got, expected $sha: refusing to use it" >&2
    rm -rf "$dir"
    exit 1
  fi
  tar xzf "$tgz" -C "$dir" "$@"
}
pin() { awk -v k="$2" '$1==k {print $2}' "$ROOT/models/$1"; }

# The pinned face-api package: dlib's ResNet weights (tfjs form) and demo photos.
FACEAPI_DIR=$ROOT/.deps/face-api
if [ ! -f "$FACEAPI_DIR/package/model/face_recognition_model.bin" ]; then
  fetch_pinned "$(pin faceapi_pins.txt package)" "$(pin faceapi_pins.txt tarball_sha256)" "$FACEAPI_DIR"
fi

# fetch_pinned_file PINS DIR: the one file PINS names (and the package's
# licence) out of its pinned package into DIR, unless it is there; either
# way its sha256 must be the pinned one. The tarball is not kept.
fetch_pinned_file() {
  local pins=$1 dir=$2 file got
  file=$(pin "$pins" file)
  if [ ! -f "$dir/$file" ]; then
    fetch_pinned "$(pin "$pins" package)" "$(pin "$pins" tarball_sha256)" "$dir" "$file" package/LICENSE
    rm -f "$dir"/*.tgz
  fi
  got=$(sha256sum "$dir/$file" | cut -d' ' -f1)
  if [ "$got" != "$(pin "$pins" file_sha256)" ]; then
    echo "setup: $dir/$file has sha256 $got, expected $(pin "$pins" file_sha256): refusing to use it" >&2
    exit 1
  fi
}

# The pinned CNN face detector: one 2 MB file out of a 2 MB npm package.
fetch_pinned_file detector_pins.txt "$ROOT/.deps/face-detector"

# The pinned second descriptor model (MobileFaceNet): two files out of a
# 145 MB npm package of many models; the tarball is not kept.
EMBEDDER_DIR=$ROOT/.deps/human-models
EMBEDDER_FILES=("$(pin embedder_pins.txt file)" "$(pin embedder_pins.txt weights)")
if [ ! -f "$EMBEDDER_DIR/${EMBEDDER_FILES[1]}" ]; then
  fetch_pinned "$(pin embedder_pins.txt package)" "$(pin embedder_pins.txt tarball_sha256)" "$EMBEDDER_DIR" \
    "${EMBEDDER_FILES[@]}" package/LICENSE
  rm -f "$EMBEDDER_DIR"/*.tgz
fi
for key in file weights; do
  f=$EMBEDDER_DIR/$(pin embedder_pins.txt $key)
  got=$(sha256sum "$f" | cut -d' ' -f1)
  if [ "$got" != "$(pin embedder_pins.txt ${key}_sha256)" ]; then
    echo "setup: $f has sha256 $got, expected $(pin embedder_pins.txt ${key}_sha256): refusing to use it" >&2
    exit 1
  fi
done

# The pinned third descriptor model (Faceplugin's, ONNX): one 5 MB file out of
# a 41 MB npm package.
fetch_pinned_file faceplugin_pins.txt "$ROOT/.deps/faceplugin"

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  # FACEDEX_WERROR=1 (CI) makes warnings in facedex's own code errors; they are
  # printed either way.
  # FACEDEX_BUILD_BENCHMARKS=1 (CI) builds the benchmarks too, so they keep compiling.
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DFACEDEX_WERROR="${FACEDEX_WERROR:-0}" \
    -DFACEDEX_BUILD_BENCHMARKS="${FACEDEX_BUILD_BENCHMARKS:-0}" >/dev/null
fi
if ! cmake --build "$BUILD_DIR" -j"$(nproc)" >"$BUILD_DIR/build.log" 2>&1; then
  grep -E 'error|Error' "$BUILD_DIR/build.log" | head -40 >&2
  echo "setup: build failed (full log: $BUILD_DIR/build.log)" >&2
  exit 1
fi
# Warnings are not hidden in the log.
if grep -q 'warning:' "$BUILD_DIR/build.log"; then
  echo "setup: the build gave warnings:" >&2
  grep -A3 'warning:' "$BUILD_DIR/build.log" | head -60 >&2
fi
echo "setup: ready ($BUILD_DIR/cli/facedex)"
