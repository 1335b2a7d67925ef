#!/usr/bin/env bash
# Short libFuzzer run for ctest: tests/fuzz/run-smoke.sh FUZZER_BINARY [SECONDS]
# The seed corpus (seeds.sh: for the SIP parser the RFC 4475/5118 torture messages and the parser
# anchors' messages; for SDP their bodies and the media tests' SDP; for RTP packets written byte
# by byte; and each target's committed regressions) is made in a throwaway directory at run time,
# so the run never writes into the source tree or ../shared. Fails when the binary is missing or
# the fuzzer finds a crash, a leak, a timeout or an invariant failure; the reproducer is then kept
# (its path is printed).
set -euo pipefail
fuzzer=${1:?usage: run-smoke.sh FUZZER_BINARY [SECONDS]}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
# Each target's regressions/ inputs by extension: sip_parser_fuzz *.sip, sdp_fuzz *.sdp,
# rtp_fuzz *.rtp (binary).
case $(basename "$fuzzer") in
  sip_parser_fuzz) regressions=("$here"/regressions/*.sip) ;;
  sdp_fuzz) regressions=("$here"/regressions/*.sdp) ;;
  rtp_fuzz) regressions=("$here"/regressions/*.rtp) ;;
  *) regressions=() ;;
esac

if [ ! -x "$fuzzer" ]; then
  echo "fuzzer binary missing: $fuzzer (build it: SB_BUILD_DIR=build-fuzz bash scripts/build.sh" \
       "-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DSB_FUZZ=ON -DSB_FUZZ_ONLY=ON)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sb-fuzz.XXXXXX")
corpus=$work/corpus
mkdir -p "$corpus" "$work/artifacts"
seeds=$(bash "$here/seeds.sh" "$(basename "$fuzzer")" "$corpus")
echo "seed corpus: $seeds files in $corpus"
[ "$seeds" -gt 0 ] || echo "warning: no seed files found; fuzzing from scratch" >&2

# The regressions first, one by one: each must run clean (a fixed bug stays fixed).
existing=()
for f in "${regressions[@]}"; do [ -f "$f" ] && existing+=("$f"); done
if [ "${#existing[@]}" -gt 0 ]; then
  "$fuzzer" -rss_limit_mb=2048 "${existing[@]}" >"$work/regressions.log" 2>&1 || {
    cat "$work/regressions.log" >&2; echo "a committed regression input fails again" >&2; exit 1; }
fi

status=0
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$corpus" >"$work/fuzz.log" 2>&1 || status=$?
tail -n 25 "$work/fuzz.log"
if [ "$status" -ne 0 ] || compgen -G "$work/artifacts/*" >/dev/null; then
  echo "fuzzer failed (exit $status); log: $work/fuzz.log; reproducers:" >&2
  ls -l "$work"/artifacts >&2
  exit 1
fi
rm -rf "$work"
