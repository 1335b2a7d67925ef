#!/usr/bin/env bash
# Configures and builds Switchboard with Ninja and ccache into build/ (or $SB_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${SB_BUILD_DIR:-build}
build_type=${SB_BUILD_TYPE:-RelWithDebInfo}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "${launcher[@]}" "$@"
fi
cmake --build "$build_dir" -j "$(nproc)"
