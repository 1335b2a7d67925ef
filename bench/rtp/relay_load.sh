#!/usr/bin/env bash
# Relayed PCMU streams: Switchboard's relay beside rtpengine (userspace), one run, one machine.
# The anchors' generator (../shared/anchors/rtp-relay/rtpgen.c) sends 50 packets/s per stream
# for SECS seconds and samples the relay's CPU (utime+stime of its process) over its send
# window; CPU microseconds per relayed packet = relay CPU / packets delivered.
#
#   bench/rtp/relay_load.sh RELAY_BENCH_BINARY OUTDIR [N ...]     (default N: 1000 2000 4000)
#
# Env: SECS (default 20), BIDIR (0/1), WORKERS (Switchboard relay threads, default 1),
# SKIP_RTPENGINE=1, ANCHORS (default ../shared/anchors/rtp-relay).
set -u
BIN=$1; OUT=$2; shift 2
NS=("$@"); [ ${#NS[@]} -eq 0 ] && NS=(1000 2000 4000)
HERE=$(cd "$(dirname "$0")" && pwd)
ANCHORS=${ANCHORS:-$(cd "$HERE/../../.." && pwd)/shared/anchors/rtp-relay}
SECS=${SECS:-20}
BIDIR=${BIDIR:-0}
WORKERS=${WORKERS:-1}
mkdir -p "$OUT"
GEN=$OUT/rtpgen
cc -O2 -Wall -o "$GEN" "$ANCHORS/rtpgen.c" || exit 1
ulimit -n "$(ulimit -Hn)" 2>/dev/null
GENFLAGS=(); [ "$BIDIR" = 1 ] && GENFLAGS+=(-b)
DIRS=$((BIDIR + 1))

table_row() {  # name n RESULT-line  (the anchor's run.sh arithmetic)
    echo "$3" | awk -v name="$1" -v n="$2" -v dirs="$DIRS" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        rel = v["received"] + v["sink_drops"]
        upk = rel > 0 ? 1e6 * v["relay_cpu_s"] / rel : 0
        spc = v["relay_cpu_s"] > 0 ? rel / (50 * dirs * v["relay_cpu_s"]) : 0
        printf "%-12s %6d %9d %9d %7.4f %8.4f %8.2f %9.0f %8s %8s %7s\n", name, n, v["sent"],
            rel, 100 * (v["sent"] - rel) / v["sent"], v["relay_cpu_per_s"], upk, spc,
            v["lat_p50_us"], v["lat_p99_us"], v["skipped_ticks"]
    }'
}

echo "# relay: SECS=$SECS BIDIR=$BIDIR WORKERS=$WORKERS N=${NS[*]}"
printf "%-12s %6s %9s %9s %7s %8s %8s %9s %8s %8s %7s\n" relay N sent delivered loss% core us/pkt streams/core p50_us p99_us skipped

for n in "${NS[@]}"; do
    # Switchboard
    pf=$OUT/sb-N$n.ports
    rm -f "$pf"
    "$BIN" -n "$n" -o "$pf" -w "$WORKERS" >"$OUT/sb-N$n.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do [ -f "$pf" ] && break; sleep 0.1; done
    if [ ! -f "$pf" ]; then echo "switchboard relay did not start:"; cat "$OUT/sb-N$n.log"; kill $pid; exit 1; fi
    sleep 1
    timeout $((SECS + 60)) "$GEN" -n "$n" -s "$SECS" -f "$pf" -p "$pid" -l "sb-N$n" "${GENFLAGS[@]}" \
        >"$OUT/sb-N$n.result" 2>"$OUT/sb-N$n.gen.log"
    kill "$pid"; wait "$pid" 2>/dev/null
    line=$(grep '^RESULT' "$OUT/sb-N$n.result")
    [ -n "$line" ] && table_row switchboard "$n" "$line" || { echo "generator failed for N=$n"; tail -3 "$OUT/sb-N$n.gen.log"; }

    # rtpengine, the anchor's own script, same N and window
    if [ "${SKIP_RTPENGINE:-0}" != 1 ]; then
        SECS=$SECS BIDIR=$BIDIR OUTDIR=$OUT/rtpengine-N$n "$ANCHORS/run.sh" "$n" >"$OUT/rtpengine-N$n.log" 2>&1
        line=$(grep '^RESULT' "$OUT/rtpengine-N$n/results.txt" 2>/dev/null)
        [ -n "$line" ] && table_row rtpengine "$n" "$line" || { echo "rtpengine run failed for N=$n"; tail -3 "$OUT/rtpengine-N$n.log"; }
    fi
done
