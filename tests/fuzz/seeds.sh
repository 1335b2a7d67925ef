#!/usr/bin/env bash
# The seed corpus of a fuzz target, made at run time: tests/fuzz/seeds.sh TARGET DIRECTORY
# Fills DIRECTORY (which exists) and prints how many seeds it wrote. Seeds come from files that
# are there anyway (../shared's torture and benchmark messages, the media unit tests' SDP) or are
# written here byte by byte; nothing generated is committed. The committed regressions of the
# target (regressions/*.sip, *.sdp, *.rtp) are seeds too.
set -euo pipefail
target=${1:?usage: seeds.sh TARGET DIRECTORY}
out=${2:?usage: seeds.sh TARGET DIRECTORY}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=$(cd "$root/.." && pwd)/shared
count=0

copy() {  # copy FILE...: each under a name that keeps its folder
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    cp "$f" "$out/$(basename "$(dirname "$f")")-$(basename "$f")"
    count=$((count + 1))
  done
}

sip_messages=("$shared"/conformance/rfc4475/*.dat "$shared"/conformance/rfc4475/rfc5118/*.dat
              "$shared"/anchors/parser/msgs/*.sip)

# The SDP bodies of SIP messages: from the v=0 line to the end of the message.
sdp_from_sip() {
  local f
  for f in "${sip_messages[@]}"; do
    [ -f "$f" ] && grep -q '^v=0' "$f" || continue
    sed -n '/^v=0/,$p' "$f" >"$out/body-$(basename "$f").sdp"
    count=$((count + 1))
  done
}

# The SDP string literals of the media unit tests: a literal that starts with "v=0 and the
# literal lines that continue it, C escapes (\r\n) undone.
sdp_from_tests() {
  local f n=0 text
  for f in "$root"/media/tests/*.cpp; do
    while IFS= read -r -d '' text; do
      n=$((n + 1))
      printf '%b' "$text" >"$out/test-$(basename "$f" .cpp)-$n.sdp"
      count=$((count + 1))
    done < <(awk '
      function body(line) { sub(/^[^"]*"/, "", line); sub(/"[^"]*$/, "", line); return line }
      function flush() { if (sdp != "") printf "%s%c", sdp, 0; sdp = "" }
      /"v=0/ { flush(); line = $0; sub(/^[^"]*"v=0/, "\"v=0", line); sdp = body(line); next }
      sdp != "" && /^[ \t]*"/ { sdp = sdp body($0); next }
      { flush() }
      END { flush() }' "$f")
  done
}

# put NAME HEX...: a seed written from hex bytes.
put() {
  local name=$1
  shift
  printf '%s' "$*" | tr -d ' ' | sed 's/../\\x&/g' | xargs -0 printf '%b' >"$out/$name"
  count=$((count + 1))
}

rtp_seeds() {
  # RTP (RFC 3550 5.1): PCMU with 20 ms of silence; marked, one CSRC, a header extension and
  # 4 octets of padding; RFC 4733 telephone-event (digit 5, end, volume 10, duration 800).
  put rtp-pcmu.rtp 80 00 1234 00001f40 deadbeef "$(printf 'ff%.0s' $(seq 160))"
  put rtp-csrc-ext-pad.rtp b1 80 0001 00000000 01020304 0a0b0c0d bede0001 10aa0000 \
      d5d5d5d5 00000004
  put rtp-dtmf.rtp 80 e5 0100 00002000 deadbeef 05 8a 0320
  put telephone-event.rtp 0b 0a 00a0
  # RTCP (RFC 3550 6.4): SR with one block + SDES CNAME; RR + SDES + BYE; RTCP on the RTP port.
  put rtcp-sr-sdes.rtp 81 c8 000c deadbeef e8d4a510 00000000 00001f40 00000010 00000a00 \
      01020304 05000002 00011234 00000020 a5100000 00010000 \
      81 ca 0006 deadbeef 010e "$(printf '%s' 'user@192.0.2.1' | od -An -tx1 | tr -d ' \n')" 00000000
  put rtcp-rr-sdes-bye.rtp 81 c9 0007 cafebabe 01020304 00ffffff 00000100 00000004 00000000 \
      00000000 \
      81 ca 0003 cafebabe 01 02 6162 00000000 \
      81 cb 0001 cafebabe
  put rtcp-rr-padded-app.rtp 80 c9 0001 cafebabe 81 cc 0003 cafebabe 6e616d65 00000000 \
      a0 ce 0003 cafebabe 00000000 00000004
  # WAV (a prompt): 16-bit PCM mono 8 kHz with 4 samples; stereo 16 kHz with a LIST chunk first.
  put prompt-mono.rtp 52494646 2c000000 57415645 666d7420 10000000 0100 0100 401f0000 803e0000 \
      0200 1000 64617461 08000000 0000 ff7f 0180 0000
  put prompt-stereo.rtp 52494646 38000000 57415645 4c495354 04000000 494e464f \
      666d7420 10000000 0100 0200 803e0000 00fa0000 0400 1000 64617461 08000000 0010 0020 fff0 0100
}

case $(basename "$target") in
  sip_parser_fuzz)
    copy "${sip_messages[@]}" "$here"/regressions/*.sip
    ;;
  sdp_fuzz)
    sdp_from_sip
    sdp_from_tests
    copy "$here"/regressions/*.sdp
    ;;
  rtp_fuzz)
    rtp_seeds
    copy "$here"/regressions/*.rtp
    ;;
  *)
    echo "seeds.sh: no seeds for $target" >&2
    ;;
esac
echo "$count"
