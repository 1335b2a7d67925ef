#!/usr/bin/env python3
"""DTMF across phones through Switchboard's media relay: RFC 4733 events relayed between two
phones that both negotiated telephone-event, and played in-band (ITU-T Q.23 tone pairs) to a
phone that did not.

    python3 test_dtmf.py --switchboard build/app/switchboard

Setup: `switchboard run` on a fresh data dir (embedded PostgreSQL), extensions 1001 and 1002
created with `switchboard ext add`. The baresip phones are test_audio_call.py's (its Phone
class, imported from there): baresip 1.0 (Debian), PCMU only, headless (aufile source, ALSA's
null player), ctrl_tcp on a loopback port chosen at run time. baresip offers and accepts
telephone-event (RFC 4733) by itself, sends it for ctrl_tcp's `sndcode` (menu.so; one key per
command, released at once: baresip's telev still plays each digit for 9 packetisation
intervals, 180 ms at ptime 20) and reports the events it receives as ctrl_tcp events
CALL_DTMF_START (param: the digit) and CALL_DTMF_END (no param); its "call: received DTMF"
line is a debug message, not in its output.

What Switchboard does (media/src/anchored_media.cpp offer(), media/src/rtp/relay_codecs.cpp):
an offer relayed to the other leg always carries telephone-event, even when the offerer's has
none; when both legs negotiated telephone-event at the same clock the events are relayed (their
payload type renumbered); when the receiving leg has none, the relay plays the digit in-band
into that leg's audio (media/include/sb/media/dsp/dtmf_source.h), from the event's first packet
until its end packet.

test_rfc4733_digits_relayed_between_phones: two baresip phones, 1001 calls 1002, which answers
by itself; 1001 sends DIGITS_RELAYED, one `sndcode` every DIGIT_GAP s. 1002 must report exactly
those digits, in order, as CALL_DTMF_START events, and one CALL_DTMF_END per digit.

test_rfc4733_to_phone_without_telephone_event_is_played_in_band: the caller 1001 is this
script: a plain phone on 127.0.48.n (Via, Contact and SDP on its own address; INVITE answered
407, sent again with Proxy-Authorization, MD5), whose SDP offers only PCMU: m=audio P RTP/AVP 0.
Its RTP socket (that port P, on its SIP address) sends PCMU silence every 20 ms for the whole
call (symmetric RTP sees its source) and records everything it receives. The callee 1002 is
baresip, which gets telephone-event in our offer and so sends RFC 4733 events; once the call is
up it sends DIGITS_IN_BAND (`sndcode`, one every IN_BAND_GAP s) while it plays a quiet 400 Hz
tone (no DTMF frequency). Checks: our answer adds no format the caller did not offer; our
INVITE to the callee offered telephone-event/8000 (baresip's SIP trace); all the
caller receives comes from our answered address and port and is PCMU (no RFC 4733 packets);
decoded (mu-law, in sequence order), a Goertzel detector at the 8 Q.23 frequencies over 40 ms
windows (20 ms hop) finds exactly the digits sent, in order: a window holds a digit when its
strongest low-group and strongest high-group frequencies are both >= 10 dB above the third
strongest of the 8 and carry most of its energy; a digit counts once it holds for 2 windows in
a row (60 ms of tone); one press is one digit (the same digit again needs 2 windows without it
first). The callee's own tone must be heard before the first digit and again after the last
(the relay goes back to relaying its audio once a digit ends).

No timing is asserted; every wait is bounded. Failures show the baresip logs (with SIP traces),
the Python caller's SIP exchange and RTP summary, and the tail of switchboard's output.
"""

import argparse
import math
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
# Definitions only (their module level has no side effects; their tests do not run here):
# test_audio_call's baresip Phone and call helpers, test_nat_media's SIP caller, RTP and G.711.
import test_audio_call as audio  # noqa: E402
import test_nat_media as nat  # noqa: E402

SWITCHBOARD = os.environ.get("SB_SWITCHBOARD")
BLOCK = 48  # the Python caller, the baresip callee and the probes of test 2 on 127.0.48.n
# (test 1's phones are test_audio_call's, on its 127.0.44.n)

DIGITS_RELAYED = "1590*#"
DIGIT_GAP = 0.3           # seconds between two `sndcode` commands (test 1)
DIGITS_IN_BAND = "47#"
IN_BAND_GAP = 0.4         # seconds between two `sndcode` commands (test 2)
SETTLE = 1.0              # seconds of media after the call is up before the first digit
TAIL = 1.0                # seconds after the last digit before hanging up
EVENTS_WITHIN = 10        # seconds for the callee's DTMF events to arrive after the last digit

RATE = 8000
PTIME = 0.020
CALLER_HZ = 440           # the baresip caller's tone (test 1; not judged)
CALLEE_HZ = 400           # the baresip callee's tone: no DTMF frequency near it
CALLEE_AMPLITUDE = 0.2

# The detector
LOW_GROUP = (697, 770, 852, 941)
HIGH_GROUP = (1209, 1336, 1477, 1633)
KEYS = ("123A", "456B", "789C", "*0#D")  # row: low group, column: high group (Q.23)
WINDOW = 320              # 40 ms at 8 kHz
HOP = 160                 # 20 ms
MARGIN = 10.0             # the pair >= 10 dB above the third strongest of the 8
MIN_PAIR_SHARE = 0.6      # and carries at least this share of the window's energy
MIN_DIGIT_RMS = 300       # a window quieter than this (of 32767) holds no digit
MIN_WINDOWS = 2           # consecutive windows of one digit: it counts
MIN_GAP_WINDOWS = 2       # windows without it before the same digit counts again
TONE_LABEL = "~"          # a window of the callee's own tone (CALLEE_HZ)
MIN_TONE_SHARE = 0.8      # of the window's energy at CALLEE_HZ
MIN_TONE_WINDOWS = 10     # the callee's tone before the first digit and after the last

SILENCE = bytes([0xFF]) * nat.FRAME  # PCMU of 0


# --------------------------------------------------------------------------------------------
# in-band DTMF detection (standard library only)
# --------------------------------------------------------------------------------------------

def classify(window):
    """The digit a window of samples holds, TONE_LABEL if it is the callee's own tone, or None;
    and the numbers behind the decision."""
    level = audio.rms(window)
    energy = max(level * level, 1e-9)
    powers = {f: audio.goertzel_power(window, f, RATE) for f in LOW_GROUP + HIGH_GROUP}
    low = max(LOW_GROUP, key=powers.get)
    high = max(HIGH_GROUP, key=powers.get)
    third = sorted(powers.values(), reverse=True)[2]
    weakest_of_pair = min(powers[low], powers[high])
    margin_db = 10 * math.log10(max(weakest_of_pair, 1e-12) / max(third, 1e-12))
    share = 2 * (powers[low] + powers[high]) / energy  # a sine of power p has mean square 2p
    digit = None
    if level >= MIN_DIGIT_RMS and margin_db >= MARGIN and share >= MIN_PAIR_SHARE:
        digit = KEYS[LOW_GROUP.index(low)][HIGH_GROUP.index(high)]
    elif (level >= MIN_DIGIT_RMS
          and 2 * audio.goertzel_power(window, CALLEE_HZ, RATE) / energy >= MIN_TONE_SHARE):
        digit = TONE_LABEL
    return digit, (level, low, high, margin_db, share)


def detect_digits(samples):
    """The digits in samples, in order (see the module docstring), and the per-window labels
    (one character per 20 ms hop: the digit, TONE_LABEL or '.')."""
    labels = []
    for i in range(0, len(samples) - WINDOW + 1, HOP):
        labels.append(classify(samples[i:i + WINDOW])[0])
    digits = []
    run_digit, run_len, gap = None, 0, MIN_GAP_WINDOWS
    last_reported = None
    for d in labels:
        if d is None or d == TONE_LABEL:
            run_digit, run_len = None, 0
            gap += 1
            if gap >= MIN_GAP_WINDOWS:
                last_reported = None
            continue
        if d == run_digit:
            run_len += 1
        else:
            run_digit, run_len = d, 1
        gap = 0
        if run_len == MIN_WINDOWS and d != last_reported:
            digits.append(d)
            last_reported = d
    return "".join(digits), "".join(d or "." for d in labels)


def compress(labels):
    """'....44444....' -> '.x4 4x5 .x4' : runs of window labels, for the report."""
    out, prev, n = [], None, 0
    for c in labels + "\0":
        if c == prev:
            n += 1
            continue
        if prev is not None:
            out.append(f"{prev}x{n}")
        prev, n = c, 1
    return " ".join(out)


# --------------------------------------------------------------------------------------------
# the Python caller (test 2): test_nat_media's caller on its own address, no NAT
# --------------------------------------------------------------------------------------------

class PlainCaller(nat.NatCaller):
    """Extension 1001 as an ordinary phone: Via and Contact name its own SIP socket."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.call_id = h.new_token(20) + "@" + self.ip
        self.from_hdr = f'"DTMF phone" <sip:{self.user}@{self.host}>;tag={h.new_token(8)}'

    def _request(self, method, uri, cseq, branch, extra=(), body="", content_type=None):
        here = f"{self.ip}:{self.client.local_port}"
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {here};branch={branch};rport",
                 "Max-Forwards: 70"]
        lines += [f"Route: {r}" for r in self.route]  # empty outside the dialog
        lines += [f"From: {self.from_hdr}",
                  f"To: {self.to_hdr}",
                  f"Call-ID: {self.call_id}",
                  f"CSeq: {cseq} {method}",
                  f"Contact: <sip:{self.user}@{here}>",
                  "User-Agent: switchboard-integration-test (DTMF phone)"]
        lines += list(extra)
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines += [f"Content-Length: {len(body.encode())}", "", body]
        return "\r\n".join(lines)


def pcmu_only_offer(ip, port):
    """An ordinary offer on the phone's own address: PCMU, no telephone-event."""
    return "\r\n".join([
        "v=0",
        f"o=dtmfphone {random.getrandbits(31)} 1 IN IP4 {ip}",
        "s=-",
        f"c=IN IP4 {ip}",
        "t=0 0",
        f"m=audio {port} RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
        "a=ptime:20",
        "a=sendrecv",
        ""])


class Sender:
    """Sends PCMU silence from an RtpSocket every 20 ms, from a thread, until stopped."""

    def __init__(self, sock, target):
        self.sock = sock
        self.target = target
        self.stream = nat.RtpStream()
        self._stop = threading.Event()
        self.error = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        start = time.monotonic()
        i = 0
        while not self._stop.is_set():
            try:
                self.sock.send(self.stream.packet(SILENCE), self.target)
            except OSError as e:  # e.g. ICMP port unreachable reported on the socket
                self.error = e
            i += 1
            delay = start + i * PTIME - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


Q23 = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209),
       "5": (770, 1336), "6": (770, 1477), "7": (852, 1209), "8": (852, 1336),
       "9": (852, 1477), "*": (941, 1209), "0": (941, 1336), "#": (941, 1477)}


def keypad_payloads(digit, packets):
    """PCMU packets of a key press: the Q.23 pair at about -10 dBm0 per tone."""
    low, high = Q23[digit]
    out = []
    for p in range(packets):
        frame = bytearray()
        for k in range(nat.FRAME):
            t = (p * nat.FRAME + k) / nat.RATE
            x = 7000 * (math.sin(2 * math.pi * low * t) + math.sin(2 * math.pi * high * t))
            frame.append(nat.ulaw_encode(int(x)))
        out.append(bytes(frame))
    return out


class KeypadSender(Sender):
    """Like Sender, but the packets follow a script: silence, key presses, silence."""

    def __init__(self, sock, target, script):
        self.script = list(script)  # PCMU payloads, one per 20 ms; silence once it runs out
        super().__init__(sock, target)

    def _run(self):
        start = time.monotonic()
        i = 0
        while not self._stop.is_set():
            payload = self.script[i] if i < len(self.script) else SILENCE
            try:
                self.sock.send(self.stream.packet(payload), self.target)
            except OSError as e:
                self.error = e
            i += 1
            delay = start + i * PTIME - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)


# --------------------------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------------------------

class Dtmf(unittest.TestCase):
    EXTENSIONS = {"1001": "dtmf-secret-1001", "1002": "dtmf-secret-1002"}
    TONES = {"1001": CALLER_HZ, "1002": CALLEE_HZ}

    # test_audio_call's call helpers, borrowed (they use self.phone, self.sb, self.EXTENSIONS,
    # self.phones and self.fail_with); its tests are not inherited. (Not its dial(): that
    # waits for CALL_INCOMING, which baresip 1.0 does not report when it answers by itself.)
    register_pair = audio.AudioCall.register_pair
    wait_registered = audio.AudioCall.wait_registered
    bound = audio.AudioCall.bound
    server = audio.AudioCall.server

    @classmethod
    def setUpClass(cls):
        if not SWITCHBOARD:
            raise AssertionError("give the binary: --switchboard PATH (or SB_SWITCHBOARD)")
        h.require_tool("baresip")
        cls.work = tempfile.mkdtemp(prefix="sbdtmf", dir="/tmp")
        cls.tone_files = {}
        for ext, freq in cls.TONES.items():
            path = os.path.join(cls.work, f"tone-{ext}-{freq}hz-{RATE}.wav")
            audio.write_tone(path, freq, seconds=30, rate=RATE,
                             amplitude=CALLEE_AMPLITUDE if ext == "1002" else 0.5)
            cls.tone_files[ext] = path
        cls.sb = h.Switchboard(SWITCHBOARD)
        try:
            cls.sb.__enter__()
            for ext, password in cls.EXTENSIONS.items():
                cls.sb.ext_add(ext, password)
            for ext, password in cls.EXTENSIONS.items():
                cls.sb.wait_registrable(ext, password, within=30)
        except BaseException:
            cls.sb.close()
            shutil.rmtree(cls.work, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        tail = cls.sb.output(last=40)
        cls.sb.close()
        if not h.KEEP:
            shutil.rmtree(cls.work, ignore_errors=True)
        print(f"\n--- last lines of switchboard output ---\n{tail}\n", file=sys.stderr)

    def setUp(self):
        self.phones = []
        self.caller = None  # test 2's Python caller
        self.sockets = []

    # --- helpers --------------------------------------------------------------------------
    def phone(self, name, ext, n, answer_auto, codec="pcmu", block=audio.BLOCK):
        """A baresip phone for ext on 127.0.<block>.n (register_pair calls it with 4 args)."""
        p = audio.Phone(name, ext, self.EXTENSIONS[ext], self.server, h.loopback(block, n),
                        self.tone_files[ext], answer_auto, codec)
        self.addCleanup(p.close)
        self.phones.append(p)
        return p

    def context(self):
        parts = []
        if self.caller:
            parts.append(self.caller.transcript())
        parts += [s.describe() for s in self.sockets]
        parts += [p.report() for p in self.phones]
        parts.append(f"--- last lines of switchboard output ---\n{self.sb.output(last=60)}")
        return "\n".join(parts)

    def fail_with(self, what):
        self.fail(f"{what}\n{self.context()}")

    def established(self, phones, what):
        for p in phones:
            if not p.ctrl.event("CALL_ESTABLISHED", audio.ESTABLISH_WITHIN):
                self.fail_with(f"baresip {p.name} reported no CALL_ESTABLISHED within "
                               f"{audio.ESTABLISH_WITHIN} s of {what}")

    def still_up(self, phones):
        for p in phones:
            if p.ctrl.event("CALL_CLOSED", 0):
                self.fail_with(f"the call ended on {p.name}'s side before the digits were all "
                               f"sent")

    def send_digits(self, phone, digits, gap):
        for i, d in enumerate(digits):
            if i:
                time.sleep(gap)
            resp = phone.ctrl.command("sndcode", d)
            if not resp or not resp.get("ok"):
                self.fail_with(f"ctrl_tcp 'sndcode {d}' on {phone.name} failed: {resp}")

    def closed(self, phones, what):
        for p in phones:
            if not p.ctrl.event("CALL_CLOSED", audio.CLOSE_WITHIN):
                self.fail_with(f"baresip {p.name} reported no CALL_CLOSED within "
                               f"{audio.CLOSE_WITHIN} s of {what}")

    @staticmethod
    def dtmf_events(phone):
        """(kind, digit) of the phone's CALL_DTMF_START / CALL_DTMF_END events, in order."""
        with phone.ctrl.cond:
            msgs = list(phone.ctrl.messages)
        return [(m.get("type"), m.get("param")) for m in msgs
                if m.get("event") and m.get("type") in ("CALL_DTMF_START", "CALL_DTMF_END")]

    # --- test 1 ---------------------------------------------------------------------------
    def test_rfc4733_digits_relayed_between_phones(self):
        """Both baresip phones negotiate telephone-event: the caller's digits reach the callee
        as RFC 4733 events, all of them, in order."""
        caller, callee = self.register_pair(callee_answers=True)
        target = f"sip:1002@{self.sb.host}:{self.sb.port}"
        resp = caller.ctrl.command("dial", target)
        if not resp or not resp.get("ok"):
            self.fail_with(f"ctrl_tcp 'dial {target}' failed: {resp}")
        self.established((caller, callee), "the dial")
        time.sleep(SETTLE)
        self.send_digits(caller, DIGITS_RELAYED, DIGIT_GAP)
        # bounded wait for as many starts as digits sent (more would show in the comparison)
        callee.ctrl.wait(lambda m: len([e for e in self.dtmf_events(callee)
                                        if e[0] == "CALL_DTMF_START"]) >= len(DIGITS_RELAYED),
                         EVENTS_WITHIN)
        time.sleep(TAIL)  # the last digit's end, and anything extra
        self.still_up((caller, callee))
        resp = caller.ctrl.command("hangup")
        if not resp or not resp.get("ok"):
            self.fail_with(f"ctrl_tcp 'hangup' failed: {resp}")
        self.closed((caller, callee), "the hangup")

        events = self.dtmf_events(callee)
        starts = "".join(d or "?" for kind, d in events if kind == "CALL_DTMF_START")
        print(f"\n[dtmf] the caller sent {DIGITS_RELAYED!r}; the callee's DTMF events: "
              f"{events}", file=sys.stderr)
        if starts != DIGITS_RELAYED:
            self.fail_with(f"the callee reported the digits {starts!r} (its DTMF events: "
                           f"{events}), not the {DIGITS_RELAYED!r} the caller sent")
        ends = [kind for kind, _ in events].count("CALL_DTMF_END")
        if ends != len(DIGITS_RELAYED):
            self.fail_with(f"the callee reported {ends} CALL_DTMF_END events for "
                           f"{len(DIGITS_RELAYED)} digits: {events}")

    # --- test 2 ---------------------------------------------------------------------------
    def test_rfc4733_to_phone_without_telephone_event_is_played_in_band(self):
        """The callee sends RFC 4733 events; the caller, whose offer had no telephone-event,
        hears the digits as Q.23 tone pairs in its PCMU."""
        ip = h.loopback(BLOCK, 1)
        callee = self.phone("callee", "1002", 2, answer_auto=True, block=BLOCK)
        self.wait_registered(callee, 102)  # the probe on test_audio_call's 127.0.44.102
        resp = callee.connect(within=10).command("reginfo")
        if not resp or not resp.get("ok"):
            self.fail_with(f"ctrl_tcp 'reginfo' on the callee failed: {resp}")

        self.caller = PlainCaller(self.server, ip, "1001", self.EXTENSIONS["1001"], "1002")
        self.addCleanup(self.caller.close)
        media = nat.RtpSocket("caller", ip)
        self.addCleanup(media.close)
        self.sockets.append(media)

        ok = self.caller.invite(pcmu_only_offer(ip, media.port))
        if ok is None or ok.status != 200:
            got = ok.start_line if ok else f"no final response in {nat.INVITE_WITHIN} s"
            self.fail_with(f"the authenticated INVITE got {got}, not 200")
        self.caller.ack(ok)
        answer = nat.answered_media(ok)
        if answer is None:
            self.fail_with("the 200 OK carries no SDP answer with an m=audio line and c= address")
        address, port, formats = answer
        if port == 0 or formats != ["0"]:
            self.fail_with(f"the answer to an offer of PCMU only is m=audio {port} with formats "
                           f"{formats}, not just 0 (RFC 3264 6.1: no format the offer lacks)")
        target = (address, port)
        self.established((callee,), "our ACK")
        sender = Sender(media, target)
        try:
            time.sleep(SETTLE)
            self.send_digits(callee, DIGITS_IN_BAND, IN_BAND_GAP)
            time.sleep(TAIL)
        finally:
            sender.stop()
            time.sleep(0.1)
            media.stop()
        self.still_up((callee,))
        bye = self.caller.bye()
        if bye is None or bye.status != 200:
            got = bye.start_line if bye else f"no final response in {nat.BYE_WITHIN} s"
            self.fail_with(f"BYE got {got}, not 200")
        self.closed((callee,), "the caller's BYE")
        callee.stop()
        # Switchboard's INVITE to the callee offered telephone-event (baresip's SIP trace, -s:
        # each message follows a coloured "#" line and a "UDP from -> to" line; complete once
        # baresip has exited, since its stdout is a pipe and so block-buffered)
        trace = re.sub(r"\x1b\[[0-9;]*m", "", callee.output())  # without colour escapes
        invites = [m for m in trace.split("\n#\n")
                   if m.split("\n", 2)[1:2] and m.split("\n", 2)[1].startswith("INVITE sip:")]
        if not invites:
            self.fail_with("no INVITE in the callee's SIP trace")
        if not re.search(r"(?m)^a=rtpmap:\d+ telephone-event/8000", invites[0]):
            self.fail_with(f"Switchboard's INVITE to the callee offers no telephone-event/8000, "
                           f"although its offers always should:\n{invites[0]}")

        packets = media.packets()
        strangers = sorted({f"{a[0]}:{a[1]}" for _, a, _ in packets if a != target})
        samples, pcmu, other = nat.decode_pcmu(packets, target)
        digits, labels = detect_digits(samples)
        print(f"\n[dtmf] {media.describe()} (PCMU silence)", file=sys.stderr)
        print(f"[dtmf] callee sent {DIGITS_IN_BAND!r}; the caller received {pcmu} PCMU packets "
              f"({len(samples) / RATE:.2f} s) and {other} other datagrams; detected "
              f"{digits!r}; windows of 40 ms every 20 ms: {compress(labels)}", file=sys.stderr)
        if sender.error:
            print(f"[dtmf] the caller's RTP sender saw: {sender.error}", file=sys.stderr)
        if strangers:
            self.fail_with(f"the caller received datagrams from {', '.join(strangers)}, not only "
                           f"from Switchboard's {address}:{port}")
        if pcmu == 0:
            self.fail_with(f"the caller received no PCMU RTP from {address}:{port}")
        if other:
            self.fail_with(f"the caller received {other} datagrams that are not PCMU RTP (RFC "
                           f"4733 events to a leg that did not negotiate them?)")
        if digits != DIGITS_IN_BAND:
            self.fail_with(f"in-band DTMF detected in what the caller received: {digits!r}, not "
                           f"the {DIGITS_IN_BAND!r} the callee sent as RFC 4733 events; windows "
                           f"of 40 ms every 20 ms: {compress(labels)}")
        # the digits replaced the callee's audio only while they played: its tone before the
        # first and again after the last
        keys = [i for i, c in enumerate(labels) if c not in (TONE_LABEL, ".")]
        before = labels[:keys[0]].count(TONE_LABEL)
        after = labels[keys[-1] + 1:].count(TONE_LABEL)
        if before < MIN_TONE_WINDOWS or after < MIN_TONE_WINDOWS:
            self.fail_with(f"the callee's {CALLEE_HZ} Hz tone ({TONE_LABEL}) is in {before} "
                           f"windows before the first digit and {after} after the last (want >= "
                           f"{MIN_TONE_WINDOWS} each: the relay goes back to the callee's audio "
                           f"after a digit); windows of 40 ms every 20 ms: {compress(labels)}")


    # --- test 3 ---------------------------------------------------------------------------
    def test_in_band_keys_reach_a_phone_with_telephone_event_as_events(self):
        """The caller (PCMU only, no telephone-event) presses keys in-band; the callee, which
        negotiated telephone-event with Switchboard, gets them as RFC 4733 events
        (CALL_DTMF_START) from the relay's detector."""
        ip = h.loopback(BLOCK, 3)
        callee = self.phone("callee", "1002", 2, answer_auto=True, block=BLOCK)
        self.wait_registered(callee, 102)
        resp = callee.connect(within=10).command("reginfo")
        if not resp or not resp.get("ok"):
            self.fail_with(f"ctrl_tcp 'reginfo' on the callee failed: {resp}")
        self.caller = PlainCaller(self.server, ip, "1001", self.EXTENSIONS["1001"], "1002")
        self.addCleanup(self.caller.close)
        media = nat.RtpSocket("caller", ip)
        self.addCleanup(media.close)
        self.sockets.append(media)
        ok = self.caller.invite(pcmu_only_offer(ip, media.port))
        if ok is None or ok.status != 200:
            got = ok.start_line if ok else f"no final response in {nat.INVITE_WITHIN} s"
            self.fail_with(f"the authenticated INVITE got {got}, not 200")
        self.caller.ack(ok)
        answer = nat.answered_media(ok)
        if answer is None:
            self.fail_with("the 200 OK carries no SDP answer")
        address, port, _ = answer
        self.established((callee,), "our ACK")
        # 1 s of silence, then each key held 200 ms with 400 ms between, then 1 s of silence
        keys = "38"
        script = [SILENCE] * 50
        for digit in keys:
            script += keypad_payloads(digit, 10) + [SILENCE] * 20
        sender = KeypadSender(media, (address, port), script)
        try:
            time.sleep(len(script) * PTIME + TAIL)
        finally:
            sender.stop()
            media.stop()
        starts = [d for kind, d in self.dtmf_events(callee) if kind == "CALL_DTMF_START"]
        print(f"\n[dtmf] caller pressed {keys!r} in-band; the callee reported {starts!r}",
              file=sys.stderr)
        self.still_up((callee,))
        bye = self.caller.bye()
        if bye is None or bye.status != 200:
            self.fail_with("BYE did not get 200")
        self.closed((callee,), "the caller's BYE")
        callee.stop()
        if "".join(starts) != keys:
            self.fail_with(f"the callee reported the digits {starts!r} as RFC 4733 events, not "
                           f"the {keys!r} pressed in-band by the caller")


def main():
    global SWITCHBOARD
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--switchboard", default=SWITCHBOARD, help="the switchboard binary")
    args, rest = ap.parse_known_args()
    SWITCHBOARD = os.path.abspath(args.switchboard) if args.switchboard else None
    h.install_signal_cleanup()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
