#!/usr/bin/env python3
"""A phone behind NAT (its SDP names a private address nobody listens on; its RTP comes from
another address and port) still gets two-way audio through Switchboard, and a stranger who
sends to the call's media port first does not take the stream over.

    python3 test_nat_media.py --switchboard build/app/switchboard

Setup: `switchboard run` on a fresh data dir (embedded PostgreSQL), extensions 1001 and 1002
created with `switchboard ext add`.

  * 1002, the callee, is a baresip phone exactly as in test_audio_call.py (its Phone class,
    imported from there): PCMU only, answermode=auto, aufile playing a 1000 Hz sine, sndfile
    recording what it receives and decodes (dump-*-dec.wav), SIP on its own 127.0.46.n.
  * 1001, the caller, is this script: a phone behind a NAT without an ALG. Its SIP comes from
    127.0.46.n (its "public" address) but its INVITE names only its private side: Via and
    Contact 10.0.0.99:5060 (with rport), SDP c=IN IP4 10.0.0.99, m=audio 40000 RTP/AVP 0 101
    (PCMU and telephone-event). Nothing listens at 10.0.0.99. The INVITE is challenged (407)
    and sent again with Proxy-Authorization (MD5 digest); 1001 need not be registered to call.
  * Its media socket is bound on the same IP as its SIP socket (the leg's signalling IP) and on
    a port its SDP does not name (from 20000-32000, never 40000), like a NAT mapping.

The call: INVITE sip:1002@<switchboard>, 200 OK with Switchboard's SDP answer (our media
address: its c= and m= port), ACK; then the caller sends 3 s of a 440 Hz tone as PCMU RTP
(20 ms packets of 160 bytes, one SSRC, consecutive sequence numbers and timestamps) to that
address and receives on the same socket meanwhile; then BYE (answered with digest
credentials if challenged), which must get 200.

Why it should work (media/include/sb/media/rtp/source_latch.h): the relay does symmetric RTP.
A source on the leg's SDP IP or SIP signalling IP latches at once, so the caller's first packet
makes Switchboard send the callee's audio back to where it came from instead of to
10.0.0.99:40000; a source on any other IP latches only after 3 consecutive packets of one
stream, and once latched the relay's socket is connect()ed to the source, so the kernel drops
everybody else's packets.

Checks (test_caller_behind_nat_hears_and_is_heard):
  * every RTP packet the caller's socket receives comes from Switchboard's answered address
    and port; they are PCMU (payload type 0), and decoded (mu-law, in sequence order), the
    callee's 1000 Hz tone is at least 20 dB above 440 Hz in most (2/3) 100 ms windows after
    the first 0.5 s (Goertzel), and there are at least 1.5 s of them;
  * the callee's recording holds the caller's 440 Hz tone (test_audio_call's Analysis: 20 dB
    above 1000 Hz in at least 2 s of 100 ms windows).

test_stranger_cannot_hijack_the_stream: the same call, but first a stranger on a third address
(another 127.0.46.n) sends 2 consecutive RTP packets (one short of the 3 an unexpected source
needs) to the caller's Switchboard port; the caller starts only afterwards, and halfway through
its 3 s the stranger sends a burst of 10 consecutive packets. The stranger must receive nothing
at all (neither before the caller latched, when the callee's audio goes to the SDP's
10.0.0.99:40000, nor after); the caller must still get the callee's tone and the callee the
caller's, and no window of the callee's recording may be dominated by the stranger's 2600 Hz.

No timing is asserted; every wait is bounded. Failures show the caller's SIP exchange, what
each RTP socket received, the callee's baresip log and the tail of switchboard's output.
"""

import argparse
import contextlib
import math
import os
import random
import select
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
# Definitions only (its module level has no side effects; its tests do not run here): the
# baresip Phone, write_tone, goertzel_power, Analysis and its thresholds.
import test_audio_call as audio  # noqa: E402

SWITCHBOARD = os.environ.get("SB_SWITCHBOARD")
BLOCK = 46  # SIP, RTP and the stranger on 127.0.46.n (test_audio_call uses 44)

PRIVATE_IP = "10.0.0.99"  # the NAT'd phone's own address: in its Via, Contact and SDP only
PRIVATE_SIP_PORT = 5060
PRIVATE_RTP_PORT = 40000

CALLER_HZ = 440
CALLEE_HZ = 1000
STRANGER_HZ = 2600
RATE = 8000
PTIME = 0.020
FRAME = 160            # samples (and PCMU bytes) per 20 ms packet
SEND_SECONDS = 3.0
AMPLITUDE = 0.5

SKIP_SECONDS = 0.5          # the start of what the caller receives is not judged
MIN_RECEIVED_WINDOWS = 15   # 1.5 s of 100 ms windows after SKIP_SECONDS
MIN_TONE_SHARE = 2 / 3      # of those windows, dominated by the callee's tone
MIN_CALLEE_TONE_SECONDS = 2.0  # of the 3 s sent, dominated by the caller's tone

REGISTER_WITHIN = 30
INVITE_WITHIN = 20
ESTABLISH_WITHIN = 15
BYE_WITHIN = 10
CLOSE_WITHIN = 15
TAIL_SECONDS = 0.4  # keep receiving this long after the last packet sent


# --------------------------------------------------------------------------------------------
# G.711 mu-law (standard library only: audioop is deprecated)
# --------------------------------------------------------------------------------------------

def ulaw_encode(sample):
    """One 16-bit linear sample -> one mu-law byte (G.711, the usual bias-and-clip form)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, 32635) + 0x84
    exponent = magnitude.bit_length() - 8  # 0..7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _ulaw_decode(byte):
    u = ~byte & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    return 0x84 - magnitude if u & 0x80 else magnitude - 0x84


ULAW_DECODE = [_ulaw_decode(b) for b in range(256)]


def tone_payloads(freq, packets, phase_start=0):
    """`packets` PCMU payloads of FRAME bytes each: a continuous sine at freq."""
    peak = 32767 * AMPLITUDE
    out = []
    for p in range(packets):
        base = phase_start + p * FRAME
        out.append(bytes(ulaw_encode(int(round(peak * math.sin(2 * math.pi * freq * (base + i)
                                                                  / RATE))))
                         for i in range(FRAME)))
    return out


# --------------------------------------------------------------------------------------------
# RTP
# --------------------------------------------------------------------------------------------

class RtpStream:
    """One RTP stream's header fields: random SSRC, sequence and timestamp starts (RFC 3550)."""

    def __init__(self, payload_type=0):
        self.pt = payload_type
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.first = True

    def packet(self, payload):
        header = struct.pack("!BBHII", 0x80, (0x80 if self.first else 0) | self.pt,
                             self.seq, self.ts, self.ssrc)
        self.first = False
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + FRAME) & 0xFFFFFFFF
        return header + payload


class RtpSocket:
    """A UDP socket on ip (a port from 20000-32000 chosen at run time, never one an SDP of ours
    names) that records every datagram it receives, from a reader thread."""

    def __init__(self, name, ip):
        self.name = name
        self.ip = ip
        self.sock = None
        for _ in range(50):
            port = h.free_port(ip, avoid=(5060, 5061, PRIVATE_RTP_PORT, PRIVATE_RTP_PORT + 1))
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind((ip, port))
            except OSError:
                s.close()
                continue
            self.sock = s
            break
        if self.sock is None:
            raise AssertionError(f"no free UDP port on {ip} for {name}'s RTP")
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self.received = []  # (monotonic time, (ip, port), bytes)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while not self._stop.is_set():
            r, _, _ = select.select([self.sock], [], [], 0.05)
            if not r:
                continue
            try:
                data, addr = self.sock.recvfrom(2048)
            except OSError:  # e.g. ICMP port unreachable reported on the socket
                continue
            with self._lock:
                self.received.append((time.monotonic(), addr, data))

    def send(self, data, to):
        self.sock.sendto(data, to)
        self.sent += 1

    def packets(self):
        with self._lock:
            return list(self.received)

    def stop(self):
        self._stop.set()
        self._reader.join(timeout=5)

    def close(self):
        self.stop()
        with contextlib.suppress(OSError):
            self.sock.close()

    def describe(self):
        packets = self.packets()
        by_source = {}
        for _, addr, data in packets:
            pt = data[1] & 0x7F if len(data) >= 12 else None
            key = (f"{addr[0]}:{addr[1]}", pt)
            by_source[key] = by_source.get(key, 0) + 1
        sources = ", ".join(f"{n} from {src} (payload type {pt})"
                            for (src, pt), n in sorted(by_source.items())) or "nothing"
        return (f"{self.name} RTP socket {self.ip}:{self.port}: sent {self.sent} packets, "
                f"received {len(packets)}: {sources}")


def decode_pcmu(packets, source):
    """The PCMU (payload type 0) packets from source, in sequence order (unwrapped), decoded
    into one list of samples. Also returns what was left out, for the report."""
    rtp, other = [], 0
    for _, addr, data in packets:
        if addr != source or len(data) < 12 or data[0] >> 6 != 2 or data[1] & 0x7F != 0:
            other += 1
            continue
        cc = data[0] & 0x0F
        start = 12 + 4 * cc
        if data[0] & 0x10 and len(data) >= start + 4:  # header extension
            start += 4 + 4 * struct.unpack("!H", data[start + 2:start + 4])[0]
        end = len(data) - (data[-1] if data[0] & 0x20 else 0)  # padding
        rtp.append((struct.unpack("!H", data[2:4])[0], data[start:end]))
    ordered, last, ext = [], None, 0
    for seq, payload in rtp:  # unwrap the 16-bit sequence numbers (arrival is nearly in order)
        if last is not None:
            delta = (seq - last) & 0xFFFF
            if delta >= 0x8000:
                delta -= 0x10000
            ext += delta
        last = seq
        ordered.append((ext, payload))
    ordered.sort(key=lambda x: x[0])
    samples, seen = [], set()
    for n, payload in ordered:
        if n in seen:
            continue
        seen.add(n)
        samples += [ULAW_DECODE[b] for b in payload]
    return samples, len(rtp), other


class ReceivedTone:
    """What the caller received, judged per 100 ms window after SKIP_SECONDS: RMS and the
    powers at the callee's and the caller's frequency (the criteria of test_audio_call)."""

    def __init__(self, packets, source, want=CALLEE_HZ, own=CALLER_HZ):
        self.want, self.own = want, own
        self.samples, self.pcmu_packets, self.other_packets = decode_pcmu(packets, source)
        win = RATE // 10
        judged = self.samples[int(SKIP_SECONDS * RATE):]
        self.windows = []
        for i in range(0, len(judged) - win + 1, win):
            w = judged[i:i + win]
            self.windows.append((audio.rms(w), audio.goertzel_power(w, want, RATE),
                                 audio.goertzel_power(w, own, RATE)))
        self.tone = [w for w in self.windows if w[0] >= audio.MIN_RMS
                     and w[1] >= audio.DOMINANCE * max(w[2], 1e-9) and w[1] >= 0.2 * w[0] ** 2]

    def summary(self):
        text = (f"{self.pcmu_packets} PCMU packets from Switchboard "
                f"({len(self.samples) / RATE:.2f} s), {self.other_packets} other datagrams; "
                f"after the first {SKIP_SECONDS} s: {len(self.windows)} windows of 100 ms, "
                f"{len(self.tone)} dominated by {self.want} Hz "
                f"(>= {10 * math.log10(audio.DOMINANCE):.0f} dB above {self.own} Hz)")
        if self.windows:
            med = sorted(self.windows, key=lambda w: w[1])[len(self.windows) // 2]
            text += (f"; median window: RMS {med[0]:.0f}, {self.want} Hz vs {self.own} Hz "
                     f"{10 * math.log10(max(med[1], 1e-9) / max(med[2], 1e-9)):+.1f} dB")
        return text


# --------------------------------------------------------------------------------------------
# the NAT'd caller's SIP
# --------------------------------------------------------------------------------------------

class LoggingClient(h.SipClient):
    """SipClient that keeps a transcript of everything it sent and received."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.transcript = []

    def send(self, data):
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        self.transcript.append(("sent", time.monotonic(), text))
        super().send(data)

    def receive(self, timeout):
        m = super().receive(timeout)
        if m is not None:
            self.transcript.append(("received", time.monotonic(), str(m)))
        return m


class NatCaller:
    """Extension 1001 behind a NAT without an ALG: its SIP socket is on a loopback address,
    but its Via, Contact and SDP name PRIVATE_IP."""

    def __init__(self, server, ip, user, password, callee):
        self.server = server
        self.ip = ip
        self.user = user
        self.password = password
        self.client = LoggingClient(server, ip)
        self.host = server[0]
        self.ruri = f"sip:{callee}@{server[0]}:{server[1]}"
        self.from_hdr = f'"NAT phone" <sip:{user}@{self.host}>;tag={h.new_token(8)}'
        self.to_hdr = f"<sip:{callee}@{self.host}>"
        self.call_id = h.new_token(20) + "@" + PRIVATE_IP
        self.cseq = 0
        self.remote_target = None
        self.route = []

    def close(self):
        self.client.close()

    def transcript(self, chars=12000):
        t0 = self.client.transcript[0][1] if self.client.transcript else 0
        parts = [f"--- {d} at +{t - t0:.3f} s ---\n{text.rstrip()}"
                 for d, t, text in self.client.transcript]
        text = "\n".join(parts)
        if len(text) > chars:
            text = "...\n" + text[-chars:]
        return (f"--- caller 1001's SIP (socket {self.ip}:{self.client.local_port}) ---\n"
                f"{text or '(nothing)'}\n--- end of caller 1001's SIP ---")

    def _request(self, method, uri, cseq, branch, extra=(), body="", content_type=None):
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {PRIVATE_IP}:{PRIVATE_SIP_PORT};branch={branch};rport",
                 "Max-Forwards: 70"]
        lines += [f"Route: {r}" for r in self.route]  # empty outside the dialog
        lines += [f"From: {self.from_hdr}",
                  f"To: {self.to_hdr}",
                  f"Call-ID: {self.call_id}",
                  f"CSeq: {cseq} {method}",
                  f"Contact: <sip:{self.user}@{PRIVATE_IP}:{PRIVATE_SIP_PORT}>",
                  "User-Agent: switchboard-integration-test (NAT phone)"]
        lines += list(extra)
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines += [f"Content-Length: {len(body.encode())}", "", body]
        return "\r\n".join(lines)

    def invite(self, sdp, timeout=INVITE_WITHIN):
        """INVITE -> 407 -> ACK -> INVITE with Proxy-Authorization; returns the final response
        to the second INVITE (None if none came), ACKed if it was an error."""
        self.cseq += 1
        branch = "z9hG4bK" + h.new_token(16)
        text = self._request("INVITE", self.ruri, self.cseq, branch, body=sdp,
                             content_type="application/sdp")
        first = self.client.transact(text, branch, timeout)
        if first is None or first.status != 407:
            return first
        self._ack_error(first, branch)
        chal = next((c for c in first.challenges("proxy-authenticate")
                     if c.get("algorithm", "MD5").upper() == "MD5"), None)
        if chal is None:
            raise AssertionError(f"the 407 offers no MD5 challenge:\n{first}")
        auth = h.authorization(chal, self.user, self.password, "INVITE", self.ruri)
        self.cseq += 1
        branch = "z9hG4bK" + h.new_token(16)
        text = self._request("INVITE", self.ruri, self.cseq, branch,
                             [f"Proxy-Authorization: {auth}"], body=sdp,
                             content_type="application/sdp")
        final = self.client.transact(text, branch, timeout)
        if final is not None and final.status >= 300:
            self._ack_error(final, branch)
        return final

    def _ack_error(self, resp, branch):
        """ACK of a non-2xx final response: same branch and Request-URI (RFC 3261 17.1.1.3)."""
        saved = self.to_hdr
        self.to_hdr = resp.get("to")
        self.client.send(self._request("ACK", self.ruri, self.cseq, branch))
        self.to_hdr = saved

    def ack(self, ok):
        """ACK of the 200: a new transaction to the remote target (its Contact), with the route
        set of its Record-Route (reversed, RFC 3261 12.1.2)."""
        self.to_hdr = ok.get("to")
        contacts = ok.contacts()
        self.remote_target = contacts[0][0] if contacts else self.ruri
        self.route = list(reversed(ok.values("record-route")))
        self.client.send(self._request("ACK", self.remote_target, self.cseq,
                                       "z9hG4bK" + h.new_token(16)))

    def bye(self, timeout=BYE_WITHIN):
        """BYE in the dialog; answers a 401/407 with credentials once. The final response."""
        self.cseq += 1
        branch = "z9hG4bK" + h.new_token(16)
        final = self.client.transact(self._request("BYE", self.remote_target, self.cseq, branch),
                                     branch, timeout)
        if final is None or final.status not in (401, 407):
            return final
        header, field = (("proxy-authenticate", "Proxy-Authorization") if final.status == 407
                         else ("www-authenticate", "Authorization"))
        chal = next((c for c in final.challenges(header)
                     if c.get("algorithm", "MD5").upper() == "MD5"), None)
        if chal is None:
            return final
        auth = h.authorization(chal, self.user, self.password, "BYE", self.remote_target)
        self.cseq += 1
        branch = "z9hG4bK" + h.new_token(16)
        return self.client.transact(self._request("BYE", self.remote_target, self.cseq, branch,
                                                  [f"{field}: {auth}"]), branch, timeout)


def nat_offer():
    """The offer of a phone behind NAT without an ALG: only its private address."""
    return "\r\n".join([
        "v=0",
        f"o=natphone {random.getrandbits(31)} 1 IN IP4 {PRIVATE_IP}",
        "s=-",
        f"c=IN IP4 {PRIVATE_IP}",
        "t=0 0",
        f"m=audio {PRIVATE_RTP_PORT} RTP/AVP 0 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=ptime:20",
        "a=sendrecv",
        ""])


def answered_media(msg):
    """(address, port, payload types) of the first m=audio of an SDP body, or None."""
    lines = [l.strip() for l in msg.body.decode("utf-8", "replace").splitlines() if l.strip()]
    m = next((i for i, l in enumerate(lines) if l.startswith("m=audio ")), None)
    if m is None:
        return None
    parts = lines[m].split()
    c = [l for l in lines[m:] if l.startswith("c=")] or [l for l in lines[:m] if l.startswith("c=")]
    if not c or len(parts) < 4:
        return None
    return c[0].split()[2], int(parts[1]), parts[3:]


# --------------------------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------------------------

class NatMedia(unittest.TestCase):
    EXTENSIONS = {"1001": "nat-secret-1001", "1002": "nat-secret-1002"}

    @classmethod
    def setUpClass(cls):
        if not SWITCHBOARD:
            raise AssertionError("give the binary: --switchboard PATH (or SB_SWITCHBOARD)")
        h.require_tool("baresip")
        cls.work = tempfile.mkdtemp(prefix="sbnat", dir="/tmp")
        cls.callee_tone = os.path.join(cls.work, f"tone-{CALLEE_HZ}hz-{RATE}.wav")
        audio.write_tone(cls.callee_tone, CALLEE_HZ, rate=RATE, channels=1)
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
        self.callee = None
        self.caller = None
        self.sockets = []

    @property
    def server(self):
        return (self.sb.host, self.sb.port)

    # --- failure reports ------------------------------------------------------------------
    def context(self):
        parts = []
        if self.caller:
            parts.append(self.caller.transcript())
        parts += [s.describe() for s in self.sockets]
        if self.callee:
            parts.append(self.callee.report())
        parts.append(f"--- last lines of switchboard output ---\n{self.sb.output(last=60)}")
        return "\n".join(parts)

    def fail_with(self, what):
        self.fail(f"{what}\n{self.context()}")

    # --- the callee -----------------------------------------------------------------------
    def start_callee(self, n, probe_n):
        p = audio.Phone("callee", "1002", self.EXTENSIONS["1002"], self.server,
                        h.loopback(BLOCK, n), self.callee_tone, answer_auto=True, codec="pcmu")
        self.addCleanup(p.close)
        self.callee = p
        if not p.wait_output(audio.registered, REGISTER_WITHIN):
            state = (f"exited with {p.proc.returncode}" if p.proc.poll() is not None
                     else f"no 200 OK [1 binding] within {REGISTER_WITHIN} s")
            self.fail_with(f"baresip did not register as 1002 ({state})")
        deadline = time.monotonic() + 10
        while True:
            with h.UserAgent(self.server, "1002", self.EXTENSIONS["1002"],
                             local_ip=h.loopback(BLOCK, probe_n)) as ua:
                if any(f"@{p.contact_hostport}" in uri for uri, _ in ua.bindings()):
                    break
            if time.monotonic() > deadline:
                self.fail_with(f"the server lists no binding of 1002 to {p.contact_hostport} "
                               f"although baresip reported 200 OK")
            time.sleep(0.2)
        resp = p.connect(within=10).command("reginfo")
        if not resp or not resp.get("ok"):
            self.fail_with(f"ctrl_tcp 'reginfo' on the callee failed: {resp}")
        return p

    # --- the call -------------------------------------------------------------------------
    def rtp_socket(self, name, ip):
        s = RtpSocket(name, ip)
        self.addCleanup(s.close)
        self.sockets.append(s)
        return s

    def nat_call(self, n, stranger_n=None):
        """The whole call of the docstring; returns (caller's RtpSocket, Switchboard's media
        address, the stranger's RtpSocket or None). Checks the SIP on the way."""
        ip = h.loopback(BLOCK, n)
        self.mark = len(self.sb.output().splitlines())  # the server's lines of this call follow
        callee = self.start_callee(n + 1, n + 100)
        self.caller = NatCaller(self.server, ip, "1001", self.EXTENSIONS["1001"], "1002")
        self.addCleanup(self.caller.close)
        media = self.rtp_socket("caller", ip)
        stranger = (self.rtp_socket("stranger", h.loopback(BLOCK, stranger_n))
                    if stranger_n else None)

        ok = self.caller.invite(nat_offer())
        if ok is None or ok.status != 200:
            self.fail_with(f"the authenticated INVITE from behind NAT got "
                           f"{ok.start_line if ok else f'no final response in {INVITE_WITHIN} s'}"
                           f", not 200")
        self.caller.ack(ok)
        answer = answered_media(ok)
        if answer is None:
            self.fail_with("the 200 OK carries no SDP answer with an m=audio line and c= address")
        address, port, formats = answer
        if port == 0 or "0" not in formats:
            self.fail_with(f"the answer does not accept PCMU: m=audio {port} ... {formats}")
        target = (address, port)
        if not callee.ctrl.event("CALL_ESTABLISHED", ESTABLISH_WITHIN):
            self.fail_with(f"baresip (1002) reported no CALL_ESTABLISHED within "
                           f"{ESTABLISH_WITHIN} s of our ACK")

        if stranger:
            # Two consecutive packets of one stream: one short of what an unexpected source
            # needs to latch. On loopback they are queued on Switchboard's socket before the
            # caller's first packet is sent below.
            s = RtpStream()
            for payload in tone_payloads(STRANGER_HZ, 2):
                stranger.send(s.packet(payload), target)

        stream = RtpStream()
        payloads = tone_payloads(CALLER_HZ, int(round(SEND_SECONDS / PTIME)))
        burst_at = len(payloads) // 2 if stranger else None
        start = time.monotonic()
        for i, payload in enumerate(payloads):
            delay = start + i * PTIME - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            media.send(stream.packet(payload), target)
            if i == burst_at:
                # Mid-call, 10 consecutive packets: the caller's latch is on an expected IP
                # and the socket is connected to it, so these never get in.
                s = RtpStream()
                for p in tone_payloads(STRANGER_HZ, 10):
                    stranger.send(s.packet(p), target)
        time.sleep(TAIL_SECONDS)
        for sock in self.sockets:
            sock.stop()

        if callee.ctrl.event("CALL_CLOSED", 0):
            self.fail_with("the call ended on the callee's side before the caller hung up")
        bye = self.caller.bye()
        if bye is None or bye.status != 200:
            got = bye.start_line if bye else f"no final response in {BYE_WITHIN} s"
            self.fail_with(f"BYE got {got}, not 200")
        if not callee.ctrl.event("CALL_CLOSED", CLOSE_WITHIN):
            self.fail_with(f"baresip (1002) reported no CALL_CLOSED within {CLOSE_WITHIN} s of "
                           f"the caller's BYE")
        callee.stop()  # its recordings are complete once it has stopped
        for s in self.sockets:
            print(f"\n[nat] {s.describe()}", file=sys.stderr)
        print(f"[nat] Switchboard's media address for the caller: {address}:{port}",
              file=sys.stderr)
        return media, target, stranger

    # --- checks ---------------------------------------------------------------------------
    def check_caller_heard_callee(self, media, target):
        strangers = sorted({f"{a[0]}:{a[1]}" for _, a, _ in media.packets() if a != target})
        if strangers:
            self.fail_with(f"the caller received datagrams from {', '.join(strangers)}, not only "
                           f"from Switchboard's {target[0]}:{target[1]}")
        got = ReceivedTone(media.packets(), target)
        print(f"[nat] what the caller received: {got.summary()}", file=sys.stderr)
        if got.pcmu_packets == 0:
            self.fail_with(f"the caller received no PCMU RTP from {target[0]}:{target[1]}: the "
                           f"relay did not send the callee's audio to where the caller's RTP "
                           f"comes from ({media.ip}:{media.port})")
        if len(got.windows) < MIN_RECEIVED_WINDOWS:
            self.fail_with(f"the caller received only {len(got.samples) / RATE:.2f} s of audio "
                           f"(want >= {SKIP_SECONDS + MIN_RECEIVED_WINDOWS / 10:.1f} s): "
                           f"{got.summary()}")
        if len(got.tone) < MIN_TONE_SHARE * len(got.windows):
            self.fail_with(f"the callee's {CALLEE_HZ} Hz tone dominates only {len(got.tone)} of "
                           f"{len(got.windows)} windows of what the caller received (want >= "
                           f"{MIN_TONE_SHARE:.0%}): {got.summary()}")

    def check_callee_heard_caller(self, stranger=False):
        files = self.callee.recordings("dec")
        if not files:
            self.fail_with(f"no sndfile 'dec' recording in {self.callee.snd_dir}: the callee "
                           f"decoded no audio")
        try:
            a = audio.Analysis(files, CALLER_HZ, CALLEE_HZ)
        except ValueError as e:
            self.fail_with(f"the callee's recording is unreadable: {e}")
        print(f"[nat] what the callee received: {a.summary()}", file=sys.stderr)
        if a.rate != RATE:
            self.fail_with(f"the callee recorded at {a.rate} Hz, expected {RATE} Hz (PCMU)")
        if a.tone_seconds < MIN_CALLEE_TONE_SECONDS:
            self.fail_with(f"the caller's {CALLER_HZ} Hz tone dominates only "
                           f"{a.tone_seconds:.1f} s of the callee's recording (want >= "
                           f"{MIN_CALLEE_TONE_SECONDS} s of the {SEND_SECONDS} s sent): "
                           f"{a.summary()}")
        if stranger:
            b = audio.Analysis(files, STRANGER_HZ, CALLER_HZ)
            if b.tone:
                self.fail_with(f"the stranger's {STRANGER_HZ} Hz reached the callee: "
                               f"{b.summary()}")

    def call_line(self):
        """The server's [call] line of this test's call from 1001 to 1002, or None."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = [l for l in self.sb.output().splitlines()[self.mark:]
                     if "[call]" in l and "1001 -> 1002" in l]
            if lines:
                return lines[-1]
            time.sleep(0.2)
        return None

    def test_caller_behind_nat_hears_and_is_heard(self):
        """SDP names 10.0.0.99:40000; RTP comes from the SIP IP on another port. The call
        record says both, for whoever asks why a phone had no audio."""
        media, target, _ = self.nat_call(1)
        self.check_caller_heard_callee(media, target)
        self.check_callee_heard_caller()
        line = self.call_line()
        print(f"[nat] {line}", file=sys.stderr)
        want = f"; rtp caller: PCMU/8000 from {media.ip}:{media.port} (SDP 10.0.0.99:40000), "
        if not line or want not in line:
            self.fail_with(f"the call's [call] line does not say '{want}': {line}")

    def test_stranger_cannot_hijack_the_stream(self):
        """A stranger's 2 packets before the caller's, and 10 mid-call, change nothing."""
        media, target, stranger = self.nat_call(11, stranger_n=13)
        got = stranger.packets()
        if got:
            self.fail_with(f"the stranger ({stranger.ip}:{stranger.port}) received {len(got)} "
                           f"datagrams: its packets to {target[0]}:{target[1]} made the relay "
                           f"send it the call's media")
        self.check_caller_heard_callee(media, target)
        self.check_callee_heard_caller(stranger=True)


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
