#!/usr/bin/env bash
# Installs the Debian packages Switchboard needs, only those missing.
# Usage: scripts/deps.sh [build|run|test|bench]  (default: test, which is a superset of run)
set -euo pipefail

build_pkgs=(cmake ninja-build ccache g++ pkg-config libboost-dev libssl-dev libpqxx-dev
            libcli11-dev libtoml11-dev nlohmann-json3-dev libfmt-dev liblua5.4-dev
            libgtest-dev libgmock-dev libbenchmark-dev liburing-dev libopus-dev libspandsp-dev
            libspeexdsp-dev)
run_pkgs=(postgresql espeak-ng sox)
test_pkgs=(sip-tester baresip python3 clang libclang-rt-14-dev libfuzzer-14-dev procps iproute2)
bench_pkgs=(libosip2-dev libsofia-sip-ua-dev util-linux linux-perf rtpengine-daemon)

want=("${build_pkgs[@]}" "${run_pkgs[@]}")
case "${1:-test}" in
  build) want=("${build_pkgs[@]}") ;;
  run) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|run|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
SUDO=()
[ "$(id -u)" -ne 0 ] && SUDO=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
