#!/usr/bin/env bash
# A 50-party conference's CPU: Switchboard's relay mixing one room (bench/rtp/conference_bench.cpp),
# beside the mixer alone (bench/mixer_bench, Google Benchmark) so the share of the codecs and I/O
# shows. The speech clip is ../shared/anchors/codec-limits'.
#
#   bench/rtp/conference_load.sh CONFERENCE_BENCH_BINARY WORKDIR [PARTICIPANTS]
#
# Env: SECS (default 10), ANCHORS (default ../shared/anchors/codec-limits), MIXER_BENCH (optional
# path of mixer_bench).
set -eu
BIN=$1; WORK=$2; N=${3:-50}
HERE=$(cd "$(dirname "$0")" && pwd)
ANCHORS=${ANCHORS:-$(cd "$HERE/../../.." && pwd)/shared/anchors/codec-limits}
SECS=${SECS:-10}
mkdir -p "$WORK"
cp "$ANCHORS/make-audio.sh" "$WORK/"
[ -f "$WORK/speech48.raw" ] || (cd "$WORK" && ./make-audio.sh >/dev/null)

echo "# switchboard: one room of $N participants for $SECS s (RTP in, jitter buffer, decode, mix, encode, RTP out)"
for mix in pcmu mixed opus; do
    "$BIN" "$WORK/speech48.raw" "$WORK/speech8.raw" -n "$N" -s "$SECS" -m "$mix"
done
echo "# the same room with 3 talkers and $((N - 3)) listening (silence)"
"$BIN" "$WORK/speech48.raw" "$WORK/speech8.raw" -n "$N" -s "$SECS" -m mixed -t 3
if [ -n "${MIXER_BENCH:-}" ] && [ -x "$MIXER_BENCH" ]; then
    echo "# the mixer alone (no codecs, no I/O)"
    "$MIXER_BENCH" --benchmark_filter='50' 2>/dev/null | grep -E "^BM_" || true
fi
