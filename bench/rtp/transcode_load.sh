#!/usr/bin/env bash
# Opus <-> PCMU transcoding: Switchboard's relay end to end (bench/rtp/transcode_bench.cpp) beside
# the raw codec cost of ../shared/anchors/codec-limits, one run, one machine, the same speech clip.
#
#   bench/rtp/transcode_load.sh TRANSCODE_BENCH_BINARY WORKDIR [CALLS]
#
# Env: SECS (default 10), ANCHORS (default ../shared/anchors/codec-limits), CPU (core the anchor is
# pinned to, default 1).
set -eu
BIN=$1; WORK=$2; CALLS=${3:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
ANCHORS=${ANCHORS:-$(cd "$HERE/../../.." && pwd)/shared/anchors/codec-limits}
SECS=${SECS:-10}
mkdir -p "$WORK"
# The anchor's program and speech clip, built in WORKDIR (the anchors' folder stays untouched).
gcc -O2 -Wall -o "$WORK/codec_bench" "$ANCHORS/codec_bench.c" -lopus -lspandsp -lspeexdsp -lm
cp "$ANCHORS/make-audio.sh" "$WORK/"
[ -f "$WORK/speech48.raw" ] || (cd "$WORK" && ./make-audio.sh >/dev/null)

echo "# anchor: codec-limits (raw codec cost per 20 ms, CPU-time medians, pinned to core ${CPU:-1})"
"$WORK/codec_bench" "$WORK/speech48.raw" "$WORK/speech8.raw" 5 "${CPU:-1}" | grep -E "^(opus|g711u)|^leg|^opus48 c5|^opus@8k|^# trans"
echo "# switchboard: $CALLS Opus<->PCMU calls through the relay for $SECS s (RTP in, decode, encode, RTP out)"
for fec in 1 0; do
    "$BIN" "$WORK/speech48.raw" "$WORK/speech8.raw" -n "$CALLS" -s "$SECS" -f "$fec"
done
