#!/usr/bin/env python3
"""Two baresip phones call each other through Switchboard and each hears the other, with the
same codec (relayed) and with codecs they do not share (Opus and PCMU, G.722 and PCMA:
transcoded).

    python3 test_audio_call.py --switchboard build/app/switchboard

Setup: `switchboard run` on a fresh data dir (embedded PostgreSQL), extensions 1001 and 1002
created with `switchboard ext add`. Each extension is a baresip 1.0 (Debian) process, headless:

  * audio_source aufile,<tone.wav>: 1001 sends a 440 Hz sine, 1002 a 1000 Hz sine (8 kHz mono
    16-bit WAVs of 10 s, generated at run time in a temporary dir);
  * audio_player alsa,null: ALSA's null PCM (no sound card needed);
  * the sndfile module (an audio filter) writes what each phone sends (dump-*-enc.wav) and what
    it receives and decodes (dump-*-dec.wav) to snd_path: the recordings checked here;
  * one codec per phone (account audio_codecs=pcmu, opus, g722 or pcma, and its module), the
    tone written at that codec's rate; SIP on the phone's own 127.0.44.n
    and so is its SDP address (net_interface 127.0.44.n: baresip 1.0 finds no address for the
    interface name "lo"; it binds RTP to the wildcard address, so the packets come from
    127.0.0.1); SIP, RTP and control ports chosen at run time;
  * ctrl_tcp (JSON over netstrings on a loopback port chosen at run time) to dial and hang up;
    the callee answers by itself (account answermode=auto).

The call: both phones registered (polled from baresip's log and from the server's bindings),
1001 dials sip:1002@<switchboard>, both report CALL_ESTABLISHED, the call stays up HOLD s,
1001 hangs up, both report CALL_CLOSED. Then each phone's received recording must contain the
OTHER side's tone: not silence, energy at the other tone's frequency (Goertzel) far above the
energy at its own tone's, in most 100 ms windows of a stretch of several seconds. Failures
show both baresip logs (with their SIP traces) and the tail of switchboard's output.
"""

import argparse
import contextlib
import glob
import json
import math
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import wave

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SWITCHBOARD = os.environ.get("SB_SWITCHBOARD")
BLOCK = 44  # SIP addresses 127.0.44.n
MODULES = "/usr/lib/baresip/modules"
NEEDED_MODULES = ("account.so", "g711.so", "g722.so", "opus.so", "aufile.so", "alsa.so",
                  "sndfile.so", "menu.so", "ctrl_tcp.so")
# baresip's name for a codec -> (its module, the PCM rate it encodes and decodes at,
# and channels: baresip 1.0 runs Opus as opus/48000/2, and its aufile source must match)
CODECS = {"pcmu": ("g711.so", 8000, 1), "pcma": ("g711.so", 8000, 1),
          "g722": ("g722.so", 16000, 1), "opus": ("opus.so", 48000, 2)}

RATE = 8000
TONE_SECONDS = 10
HOLD = 6.0             # seconds the call stays connected
REGISTER_WITHIN = 30   # seconds (a loaded 2-core machine: generous, but bounded)
ESTABLISH_WITHIN = 30
CLOSE_WITHIN = 20
LIFETIME = 240         # baresip's own -t: it quits by itself after this, whatever happens

MUSIC_HZ = 850         # the test's music on hold
MIN_TONE_SECONDS = 2.5  # the other side's tone must dominate at least this much of a recording
MIN_RMS = 500          # a window quieter than this (of 32767) counts as silence
DOMINANCE = 100.0      # power(other tone) / power(own tone) in a window: 20 dB


# --------------------------------------------------------------------------------------------
# audio: generate, read, analyse (standard library only)
# --------------------------------------------------------------------------------------------

def write_tone(path, freq, seconds=TONE_SECONDS, rate=RATE, amplitude=0.5, channels=1):
    n = int(seconds * rate)
    peak = int(32767 * amplitude)
    samples = [int(round(peak * math.sin(2 * math.pi * freq * i / rate))) for i in range(n)]
    if channels == 2:
        samples = [x for x in samples for _ in range(2)]
    frames = struct.pack(f"<{len(samples)}h", *samples)
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def read_wav(path):
    """(rate, channels, [int16 samples of channel 0]) of a 16-bit PCM WAV. Reads the chunks
    by hand and takes the data chunk up to the end of the file, so that a file whose header
    sizes were never updated (a writer that did not close it) still reads."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a RIFF/WAVE file ({len(data)} bytes)")
    pos, rate, channels, bits, pcm = 12, None, None, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = pos + 8
        if cid == b"fmt ":
            fmt, channels, rate = struct.unpack("<HHI", data[body:body + 8])
            bits = struct.unpack("<H", data[body + 14:body + 16])[0]
            if fmt not in (1, 0xFFFE):
                raise ValueError(f"{path}: WAV format {fmt} is not PCM")
        elif cid == b"data":
            end = body + size if 0 < size and body + size <= len(data) else len(data)
            pcm = data[body:end]
            break
        pos = body + size + (size & 1)
    if rate is None or pcm is None:
        raise ValueError(f"{path}: no fmt or data chunk")
    if bits != 16:
        raise ValueError(f"{path}: {bits}-bit samples, expected 16")
    n = len(pcm) // (2 * channels)
    samples = struct.unpack(f"<{n * channels}h", pcm[:n * channels * 2])
    return rate, channels, list(samples[::channels])


def goertzel_power(samples, freq, rate):
    """Power of samples at freq (Goertzel), normalised by the window length."""
    k = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - k * s1 * s2) / (len(samples) ** 2)


def rms(samples):
    return math.sqrt(sum(x * x for x in samples) / len(samples)) if samples else 0.0


class Analysis:
    """Per 100 ms window: RMS and the powers at the wanted and the unwanted frequency. Several
    files (a call whose audio restarted) are read one after the other."""

    def __init__(self, paths, want, other):
        self.paths = [paths] if isinstance(paths, str) else list(paths)
        self.want = want
        self.other = other
        samples, formats = [], set()
        for path in self.paths:
            rate, channels, part = read_wav(path)
            formats.add((rate, channels))
            samples += part
        if len(formats) != 1:
            raise ValueError(f"{self.names()}: different formats {sorted(formats)}")
        self.rate, self.channels = formats.pop()
        self.seconds = len(samples) / self.rate if self.rate else 0.0
        win = self.rate // 10
        self.windows = []  # (rms, power at want, power at other)
        for i in range(0, len(samples) - win + 1, win):
            w = samples[i:i + win]
            self.windows.append((rms(w), goertzel_power(w, want, self.rate),
                                 goertzel_power(w, other, self.rate)))
        self.loud = [w for w in self.windows if w[0] >= MIN_RMS]
        self.tone = [w for w in self.loud if w[1] >= DOMINANCE * max(w[2], 1e-9)
                     and w[1] >= 0.2 * w[0] ** 2]  # the tone carries most of the window's energy
        self.tone_seconds = len(self.tone) * win / self.rate if self.rate else 0.0
        self.overall_rms = rms(samples)

    def names(self):
        return " + ".join(os.path.basename(p) for p in self.paths)

    def summary(self):
        def db(a, b):
            return 10 * math.log10(max(a, 1e-9) / max(b, 1e-9))

        med = sorted(self.loud, key=lambda w: w[1])[len(self.loud) // 2] if self.loud else None
        text = (f"{self.names()}: {self.rate} Hz, {self.channels} channel(s), "
                f"{self.seconds:.2f} s, RMS {self.overall_rms:.0f}; {len(self.windows)} windows "
                f"of 100 ms, {len(self.loud)} not silent (RMS >= {MIN_RMS}), {len(self.tone)} "
                f"dominated by {self.want} Hz ({self.tone_seconds:.1f} s)")
        if med:
            text += (f"; median loud window: RMS {med[0]:.0f}, {self.want} Hz vs {self.other} Hz "
                     f"{db(med[1], med[2]):+.1f} dB, {self.want} Hz share of energy "
                     f"{med[1] / max(med[0] ** 2, 1e-9) * 2:.2f}")
        return text


# --------------------------------------------------------------------------------------------
# baresip
# --------------------------------------------------------------------------------------------

class Ctrl:
    """A ctrl_tcp connection: JSON messages framed as netstrings ("LEN:JSON,"). Responses and
    events are collected by a reader thread."""

    def __init__(self, host, port, within):
        deadline = time.monotonic() + within
        last = None
        while True:
            try:
                self.sock = socket.create_connection((host, port), timeout=2)
                break
            except OSError as e:
                last = e
                if time.monotonic() >= deadline:
                    raise AssertionError(f"cannot connect to baresip's ctrl_tcp at {host}:{port} "
                                         f"within {within} s: {last}")
                time.sleep(0.1)
        self.sock.settimeout(None)
        self.messages = []
        self.cond = threading.Condition()
        self.closed = False
        self._token = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        buf = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while True:
                    colon = buf.find(b":")
                    if colon <= 0 or not buf[:colon].isdigit():
                        break
                    n = int(buf[:colon])
                    if len(buf) < colon + 1 + n + 1:
                        break
                    payload = buf[colon + 1:colon + 1 + n]
                    buf = buf[colon + 1 + n + 1:]
                    with contextlib.suppress(ValueError):
                        msg = json.loads(payload.decode("utf-8", "replace"))
                        with self.cond:
                            self.messages.append(msg)
                            self.cond.notify_all()
        except OSError:
            pass
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def command(self, command, params="", within=10):
        """Send a command; return its response message ({"response": true, "ok": ...})."""
        self._token += 1
        token = f"t{self._token}"
        payload = json.dumps({"command": command, "params": params, "token": token}).encode()
        self.sock.sendall(str(len(payload)).encode() + b":" + payload + b",")
        return self.wait(lambda m: m.get("response") and m.get("token") == token, within)

    def wait(self, predicate, within):
        deadline = time.monotonic() + within
        with self.cond:
            while True:
                for m in self.messages:
                    if predicate(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cond.wait(min(left, 0.5))

    def event(self, kind, within):
        return self.wait(lambda m: m.get("event") and m.get("type") == kind, within)

    def events(self):
        with self.cond:
            return [m.get("type") for m in self.messages if m.get("event")]

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()
        self._reader.join(timeout=5)


class Phone:
    """One baresip process for one extension, with its own temporary config dir."""

    def __init__(self, name, ext, password, server, ip, tone, answer_auto, codec="pcmu"):
        self.exe = h.require_tool("baresip")
        for m in NEEDED_MODULES:
            if not os.path.isfile(os.path.join(MODULES, m)):
                raise AssertionError(f"{MODULES}/{m} missing: {h.DEPS_HINT}")
        self.name = name
        self.ext = ext
        self.ip = ip
        self.codec = codec
        self.rate = CODECS[codec][1]
        self.sip_port = h.free_port(ip)
        self.ctrl_port = h.free_port("127.0.0.1")
        rtp = h.free_port("127.0.0.1") & ~1
        self.rtp_range = (rtp, rtp + 60)  # where its RTP socket is (baresip's rtp_ports)
        self.dir = tempfile.mkdtemp(prefix="baresip", dir="/tmp")
        self.snd_dir = os.path.join(self.dir, "snd")
        os.mkdir(self.snd_dir)
        account = (f"<sip:{ext}@{server[0]}:{server[1]};transport=udp>;auth_pass={password}"
                   f";regint=300;audio_codecs={codec}"
                   f";answermode={'auto' if answer_auto else 'manual'}")
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(account + "\n")
        config = {
            "poll_method": "epoll",
            "sip_listen": f"{ip}:{self.sip_port}",
            "net_interface": ip,  # media on the phone's own loopback address
            "rtp_ports": f"{rtp}-{rtp + 60}",
            "rtcp_mux": "no",
            "audio_source": f"aufile,{tone}",
            "audio_player": "alsa,null",
            "audio_alert": "alsa,null",
            # no ring/ringback tones: none in this dir (baresip logs "play: ...ringback.wav:
            # No such file or directory", harmless)
            "audio_path": self.dir,
            "snd_path": self.snd_dir,
            "call_local_timeout": "60",
            "module_path": MODULES,
            "ctrl_tcp_listen": f"127.0.0.1:{self.ctrl_port}",
        }
        lines = [f"{k}\t{v}" for k, v in config.items()]
        lines += [f"module\t{m}" for m in (CODECS[codec][0], "aufile.so", "alsa.so", "sndfile.so")]
        lines += ["module_tmp\taccount.so", "module_app\tmenu.so", "module_app\tctrl_tcp.so"]
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("\n".join(lines) + "\n")
        # -s: SIP trace in the output (for failure reports); -t: quit after LIFETIME s anyway
        self.proc = subprocess.Popen([self.exe, "-f", self.dir, "-s", "-t", str(LIFETIME)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        self._lines = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.ctrl = None
        h._live.add(self)

    @property
    def contact_hostport(self):
        return f"{self.ip}:{self.sip_port}"

    def _read(self):
        with open(os.path.join(self.dir, "baresip.log"), "w") as log:
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self._lock:
                    self._lines.append(line)
                with contextlib.suppress(ValueError, OSError):
                    log.write(line + "\n")

    def output(self):
        with self._lock:
            return "\n".join(self._lines)

    def connect(self, within):
        self.ctrl = Ctrl("127.0.0.1", self.ctrl_port, within)
        return self.ctrl

    def wait_output(self, predicate, within):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if predicate(self.output()):
                return True
            if self.proc.poll() is not None:
                time.sleep(0.2)
                return predicate(self.output())
            time.sleep(0.1)
        return False

    def recordings(self, kind):
        """The sndfile dumps of this phone: kind 'dec' (received) or 'enc' (sent)."""
        return sorted(glob.glob(os.path.join(self.snd_dir, f"dump-*-{kind}.wav")))

    def report(self, chars=16000):
        # without menu's call status line ("[0:00:03] audio=0/0 (bit/s)" every second) and
        # the colour escapes
        out = re.sub(r"\[\d+:\d\d:\d\d\] audio=\S+ \(bit/s\)\s*", "", self.output())
        out = re.sub(r"\x1b\[[0-9;]*m", "", out)
        if len(out) > chars:
            out = "...\n" + out[-chars:]
        files = ", ".join(f"{os.path.basename(p)} ({os.path.getsize(p)} bytes)"
                          for p in sorted(glob.glob(os.path.join(self.snd_dir, "*")))) or "none"
        events = self.ctrl.events() if self.ctrl else []
        return (f"--- baresip {self.name} (ext {self.ext}, SIP {self.contact_hostport}, exit code "
                f"{self.proc.poll()}) ---\nctrl_tcp events: {events}\nrecordings: {files}\n"
                f"{out}\n--- end of baresip {self.name} ---")

    def stop(self):
        code = h._stop_pid(self.proc, 15)  # SIGTERM (baresip unregisters), SIGKILL after 15 s
        if self.ctrl:
            self.ctrl.close()
        self._reader.join(timeout=5)
        with contextlib.suppress(Exception):
            self.proc.stdout.close()
        return code

    def close(self):
        try:
            self.stop()
        finally:
            if h.KEEP:
                print(f"[harness] kept {self.dir}", file=sys.stderr)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
            h._live.discard(self)


def registered(text):
    return "200 OK" in text and "[1 binding]" in text


# --------------------------------------------------------------------------------------------
# the test
# --------------------------------------------------------------------------------------------

class AudioCall(unittest.TestCase):
    EXTENSIONS = {"1001": "audio-secret-1001", "1002": "audio-secret-1002",
                  "1003": "audio-secret-1003"}
    TONES = {"1001": 440, "1002": 1000, "1003": 1600}

    @classmethod
    def setUpClass(cls):
        if not SWITCHBOARD:
            raise AssertionError("give the binary: --switchboard PATH (or SB_SWITCHBOARD)")
        h.require_tool("baresip")
        cls.work = tempfile.mkdtemp(prefix="sbaudio", dir="/tmp")
        cls.tone_files = {}  # (ext, rate, channels): each phone's tone as its codec takes it
        for ext, freq in cls.TONES.items():
            for _, rate, channels in CODECS.values():
                path = os.path.join(cls.work, f"tone-{ext}-{freq}hz-{rate}-{channels}.wav")
                write_tone(path, freq, rate=rate, channels=channels)
                cls.tone_files[(ext, rate, channels)] = path
        # a busy destination: 3 s of busy tone before the 486 (test_busy_callee_...); prompts
        # of our own (test_dialplan_plays_a_prompt)
        cls.prompts = os.path.join(cls.work, "prompts")
        os.mkdir(cls.prompts)
        write_tone(os.path.join(cls.prompts, "tone700.wav"), 700, seconds=2.0, rate=16000)
        # music on hold ([calls] music_on_hold = "moh", the default): a tone of its own
        write_tone(os.path.join(cls.prompts, "moh.wav"), MUSIC_HZ, seconds=3.0, rate=16000)
        # the conference's alone prompt (call:conference's default "conf-alone"): 700 Hz, 1 s
        write_tone(os.path.join(cls.prompts, "conf-alone.wav"), 700, seconds=1.0, rate=16000)
        cls.sb = h.Switchboard(SWITCHBOARD, config=(
            "[calls]\nbusy_tone_seconds = 3\n"
            f"[media]\nprompts = \"{cls.prompts}\"\n"
            f"recordings = \"{os.path.join(cls.work, 'recordings')}\"\n"))
        try:
            cls.sb.__enter__()
            # 2700 plays the prompt, then rings 1002; other numbers ring that extension
            script = os.path.join(cls.work, "audio.lua")
            with open(script, "w") as f:
                f.write('function route(call)\n'
                        '  if call.to == "2700" then\n'
                        '    if not call:playback("tone700") then call:hangup(500) end\n'
                        '    call:bridge("1002")\n'
                        '  elseif call.to == "2701" then\n'
                        '    local keys = call:play_and_collect("tone700", {max = 2, timeout = 3})\n'
                        '    if keys == "42" then call:bridge("1002") else call:hangup(486) end\n'
                        '  elseif call.to == "3000" then\n'
                        '    if not call:conference("standup") then call:hangup(500) end\n'
                        '  elseif call.to == "2900" then\n'
                        '    call:bridge{"1002", media = "direct"}\n'
                        '  elseif call.to == "2800" then\n'
                        '    if not call:record() then call:hangup(500) end\n'
                        '    call:bridge("1002")\n'
                        '  else\n'
                        '    call:bridge(call.to)\n'
                        '  end\n'
                        'end\n')
            h.dialplan_load(cls.sb, script)
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

    @property
    def server(self):
        return (self.sb.host, self.sb.port)

    def phone(self, name, ext, n, answer_auto, codec="pcmu"):
        p = Phone(name, ext, self.EXTENSIONS[ext], self.server, h.loopback(BLOCK, n),
                  self.tone_files[(ext, *CODECS[codec][1:])], answer_auto, codec)
        self.addCleanup(p.close)
        self.phones.append(p)
        return p

    def context(self):
        parts = [p.report() for p in self.phones]
        parts.append(f"--- last lines of switchboard output ---\n{self.sb.output(last=60)}")
        return "\n".join(parts)

    def fail_with(self, what):
        self.fail(f"{what}\n{self.context()}")

    def bound(self, ext, phone, probe_n):
        with h.UserAgent(self.server, ext, self.EXTENSIONS[ext],
                         local_ip=h.loopback(BLOCK, probe_n)) as ua:
            return any(f"@{phone.contact_hostport}" in uri for uri, _ in ua.bindings())

    def wait_registered(self, phone, probe_n):
        if not phone.wait_output(registered, REGISTER_WITHIN):
            state = (f"exited with {phone.proc.returncode}" if phone.proc.poll() is not None
                     else f"no 200 OK [1 binding] within {REGISTER_WITHIN} s")
            self.fail_with(f"baresip {phone.name} did not register as {phone.ext} ({state})")
        deadline = time.monotonic() + 10
        while not self.bound(phone.ext, phone, probe_n):
            if time.monotonic() > deadline:
                self.fail_with(f"the server lists no binding of {phone.ext} to "
                               f"{phone.contact_hostport} although baresip reported 200 OK")
            time.sleep(0.2)

    def newest_call_record_id(self):
        """The id of the newest call record in PostgreSQL (`switchboard calls list`), 0 if none."""
        out = h.switchboard_cli(self.sb, "calls", "list", "--limit", "1", "--log-level", "warn")
        m = re.search(r"(?m)^(\d+) ", out)
        return int(m.group(1)) if m else 0

    def call_record_after(self, known_id, caller, callee):
        """`switchboard calls show` of the first call record newer than known_id, once the
        server has written it to PostgreSQL (through its spool, within a moment of the call's end)."""
        deadline = time.monotonic() + 15
        while True:
            out = h.switchboard_cli(self.sb, "calls", "list", "--number", callee, "--limit", "5",
                                    "--log-level", "warn")
            ids = [int(i) for i in re.findall(rf"(?m)^(\d+) +\S+ \S+ +{caller} +{callee} ", out)]
            newer = sorted(i for i in ids if i > known_id)
            if newer:
                return h.switchboard_cli(self.sb, "calls", "show", str(newer[0]), "--log-level", "warn")
            if time.monotonic() > deadline:
                self.fail_with(f"no call record {caller} -> {callee} newer than {known_id} in "
                               f"PostgreSQL:\n{out}")
            time.sleep(0.3)

    def test_each_phone_hears_the_other(self):
        """Both phones PCMU: relayed untouched. The call record keeps each leg's RTP figures,
        in the log's [call] line and in PostgreSQL (`switchboard calls show`)."""
        known = self.newest_call_record_id()
        summary, caller, callee = self.call_and_listen("pcmu", "pcmu")
        # "; rtp caller: PCMU/8000 from 127.0.0.1:20004 (SDP 127.0.44.1:20004), first at 0.05 s,
        # rx 301 lost 0 (0.0 %) jitter 0.4 ms, tx 298, ..." and one for 1002 (baresip's SDP
        # names the address it binds, its packets leave from 127.0.0.1): both phones sent for
        # HOLD seconds at 50 packets/s, so well over 2 s of packets each, from their own RTP
        # ports.
        for leg, phone in (("caller", caller), ("1002", callee)):
            m = re.search(rf"; rtp {leg}: PCMU/8000 from [0-9.]+:(\d+)(?: \(SDP [0-9.:]+\))?, "
                          rf"first at [0-9.]+ s, rx (\d+) lost (\d+) "
                          rf"\([0-9.]+ %\) jitter [0-9.]+ ms, tx (\d+)", summary or "")
            if not m:
                self.fail_with(f"the [call] line has no RTP figures for the {leg} leg: {summary}")
            port, received, lost, sent = (int(g) for g in m.groups())
            low, high = phone.rtp_range
            if not low <= port <= high:
                self.fail_with(f"the {leg} leg's RTP source port {port} is not one of "
                               f"{phone.name}'s RTP ports ({low}-{high}): {summary}")
            if received < 100 or sent < 100 or lost > received // 10:
                self.fail_with(f"implausible RTP figures for the {leg} leg (received {received}, "
                               f"lost {lost}, sent {sent}): {summary}")
        # The same record in the database: who, the outcome, and each leg's RTP from the
        # phone's own port.
        shown = self.call_record_after(known, "1001", "1002")
        print(f"[audio] switchboard calls show:\n{shown}", file=sys.stderr)
        if not re.search(r"(?m)^  result: +200, caller hung up$", shown) or \
                not re.search(r"(?m)^  leg 1002: 200 .*\(sip:1002", shown) or \
                not re.search(r"(?m)^  answered: .*\(after [0-9.]+ s\)$", shown):
            self.fail_with(f"the stored call record does not say 200, answered, caller hung up, "
                           f"leg 1002 200:\n{shown}")
        for label, phone in (("  caller RTP", caller), ("    RTP", callee)):
            m = re.search(rf"(?m)^{label}: PCMU/8000 from [0-9.]+:(\d+).*, received (\d+), lost",
                          shown)
            low, high = phone.rtp_range
            if not m or not low <= int(m.group(1)) <= high or int(m.group(2)) < 100:
                self.fail_with(f"the stored call record's RTP for {phone.name} is not from its "
                               f"RTP ports {low}-{high} with 100+ packets:\n{shown}")

    def test_opus_phone_and_pcmu_phone_hear_each_other(self):
        """The caller speaks only Opus (48 kHz), the callee only PCMU: transcoded both ways."""
        self.call_and_listen("opus", "pcmu")

    def test_a_direct_media_bridge_sends_rtp_between_the_phones(self):
        """2900 bridges to 1002 with media = "direct": the phones hear each other, the call
        record says so, and each phone's RTP comes from the other phone, not the relay."""
        summary, caller, callee = self.call_and_listen("pcmu", "pcmu", number="2900")
        if not summary or "media: direct" not in summary:
            self.fail_with(f"the call's [call] line does not say 'media: direct': {summary}")
        for phone, peer in ((caller, callee), (callee, caller)):
            line = next((l for l in phone.output().splitlines() if "incoming rtp" in l), "")
            source = re.search(r"receiving from [0-9.]+:(\d+)", line)
            low, high = peer.rtp_range
            if not source or not low <= int(source.group(1)) <= high:
                self.fail_with(f"{phone.name}'s RTP does not come from {peer.name}'s RTP ports "
                               f"({low}-{high}), so not direct: {line!r}")

    def test_g722_phone_and_pcma_phone_hear_each_other(self):
        """The caller speaks only G.722 (16 kHz), the callee only PCMA: transcoded, resampled."""
        self.call_and_listen("g722", "pcma")

    def register_pair(self, callee_answers):
        self.phones = []
        caller = self.phone("caller", "1001", 1, answer_auto=False)
        callee = self.phone("callee", "1002", 2, answer_auto=callee_answers)
        for phone, probe in ((caller, 101), (callee, 102)):
            self.wait_registered(phone, probe)
            resp = phone.connect(within=10).command("reginfo")
            if not resp or not resp.get("ok"):
                self.fail_with(f"ctrl_tcp 'reginfo' on {phone.name} failed: {resp}")
        return caller, callee

    def dial(self, caller, callee, number="1002", ringing=True):
        target = f"sip:{number}@{self.sb.host}:{self.sb.port}"
        resp = caller.ctrl.command("dial", target)
        if not resp or not resp.get("ok"):
            self.fail_with(f"ctrl_tcp 'dial {target}' failed: {resp}")
        # (baresip reports CALL_INCOMING only when it does not answer by itself)
        if ringing and not callee.ctrl.event("CALL_INCOMING", ESTABLISH_WITHIN):
            self.fail_with(f"the callee reported no CALL_INCOMING within {ESTABLISH_WITHIN} s")

    def windows(self, phone, kind="dec"):
        """Per 100 ms window of what `phone` decoded: (rms, {freq: share of the energy})."""
        files = phone.recordings(kind)
        if not files:
            self.fail_with(f"no sndfile '{kind}' recording of {phone.name}")
        samples, rate = [], None
        for path in files:
            rate, _, part = read_wav(path)
            samples += part
        win = rate // 10
        out = []
        for i in range(0, len(samples) - win + 1, win):
            w = samples[i:i + win]
            energy = max(rms(w) ** 2, 1e-9)
            shares = {f: 2 * goertzel_power(w, f, rate) / energy
                      for f in (400, 440, 450, 480, 620, 700, MUSIC_HZ, 1000, 1600)}
            out.append((rms(w), shares))
        return out

    @staticmethod
    def runs(labels):
        """[(label, length)] of consecutive equal labels."""
        result = []
        for label in labels:
            if result and result[-1][0] == label:
                result[-1] = (label, result[-1][1] + 1)
            else:
                result.append((label, 1))
        return result

    def test_caller_hears_ringback_then_the_callee(self):
        """While the callee rings, the caller hears Switchboard's ringback (US: 440 + 480 Hz,
        2 s on, 4 s off) as early media; when the callee answers, the callee's tone."""
        caller, callee = self.register_pair(callee_answers=False)
        self.dial(caller, callee)
        time.sleep(7.5)  # ringback: on 2 s, off 4 s, on again
        resp = callee.ctrl.command("accept")
        if not resp or not resp.get("ok"):
            self.fail_with(f"ctrl_tcp 'accept' on the callee failed: {resp}")
        for phone in (caller, callee):
            if not phone.ctrl.event("CALL_ESTABLISHED", ESTABLISH_WITHIN):
                self.fail_with(f"{phone.name} reported no CALL_ESTABLISHED after the accept")
        time.sleep(2.5)
        caller.ctrl.command("hangup")
        for phone in (caller, callee):
            phone.ctrl.event("CALL_CLOSED", CLOSE_WITHIN)
            phone.stop()
        labels = []
        for level, shares in self.windows(caller):
            if level < MIN_RMS:
                labels.append("silence")
            elif shares[440] + shares[480] > 0.8:
                labels.append("ringback")
            elif shares[1000] > 0.8:
                labels.append("callee")
            else:
                labels.append("other")
        runs = self.runs(labels)
        print(f"[audio] ringback, what the caller heard (100 ms windows): {runs}", file=sys.stderr)
        ring = [n for label, n in runs if label == "ringback"]
        quiet = [n for label, n in runs if label == "silence"]
        if not ring or not 15 <= ring[0] <= 25:
            self.fail_with(f"no ringback burst of about 2 s first: {runs}")
        if not any(35 <= n <= 45 for n in quiet):
            self.fail_with(f"no ringback pause of about 4 s: {runs}")
        if len(ring) < 2:
            self.fail_with(f"ringback did not come back after its pause: {runs}")
        if sum(n for label, n in runs if label == "callee") < 10:
            self.fail_with(f"the callee's tone did not follow the answer: {runs}")
        first_callee = next(i for i, (label, _) in enumerate(runs) if label == "callee")
        if any(label == "ringback" for label, _ in runs[first_callee:]):
            self.fail_with(f"ringback went on after the answer: {runs}")

    def test_an_extension_hears_the_ringback_of_its_own_country(self):
        """Extension 1003 is set to the UK's tones (`ext set 1003 --tones GB`; the system's are
        the US's): calling 1002, it hears UK ringback (400 + 450 Hz, 0.4 s on, 0.2 off, 0.4 on,
        2 s off), never the US one (440 + 480 Hz)."""
        self.sb.ext("set", "1003", "--tones", "GB")
        time.sleep(0.5)  # the server reloads the extension on the database's NOTIFY
        self.phones = []
        caller = self.phone("uk-caller", "1003", 3, answer_auto=False)
        callee = self.phone("callee", "1002", 2, answer_auto=False)
        try:
            for phone, probe in ((caller, 103), (callee, 102)):
                self.wait_registered(phone, probe)
                resp = phone.connect(within=10).command("reginfo")
                if not resp or not resp.get("ok"):
                    self.fail_with(f"ctrl_tcp 'reginfo' on {phone.name} failed: {resp}")
            self.dial(caller, callee)
            time.sleep(4.0)  # one cadence of UK ringback and the start of the next
            caller.ctrl.command("hangup")
            for phone in (caller, callee):
                phone.ctrl.event("CALL_CLOSED", CLOSE_WITHIN)
                phone.stop()
            windows = self.windows(caller)
        finally:
            self.sb.ext("set", "1003", "--tones", "system")
        uk = sum(1 for level, sh in windows if level >= MIN_RMS and sh[400] + sh[450] > 0.8)
        us = sum(1 for level, sh in windows if level >= MIN_RMS and sh[440] + sh[480] > 0.8)
        labels = ["silence" if level < MIN_RMS else "uk" if sh[400] + sh[450] > 0.8
                  else "us" if sh[440] + sh[480] > 0.8 else "other" for level, sh in windows]
        runs = self.runs(labels)
        print(f"[audio] UK ringback, what 1003 heard (100 ms windows): {runs}", file=sys.stderr)
        if uk < 8:
            self.fail_with(f"the UK caller heard no UK ringback (400 + 450 Hz): {runs}")
        if us:
            self.fail_with(f"the UK caller heard the system's US ringback: {runs}")
        # The cadence: bursts of about 0.4 s (3 to 5 windows), never the US's 2 s.
        bursts = [n for label, n in runs if label == "uk"]
        if max(bursts) > 6:
            self.fail_with(f"UK ringback bursts are 0.4 s, not {max(bursts) / 10} s: {runs}")

    def test_dialplan_records_the_call_caller_left_callee_right(self):
        """The dialplan records the call (call:record()) and rings 1002: after the call a
        stereo 8 kHz WAV in the recordings directory holds the caller's 440 Hz on the left and
        the callee's 1000 Hz on the right, for about as long as the call lasted."""
        recordings = os.path.join(self.work, "recordings")
        before = set(glob.glob(os.path.join(recordings, "**", "*.wav"), recursive=True))
        known = self.newest_call_record_id()
        caller, callee = self.register_pair(callee_answers=True)
        self.dial(caller, callee, number="2800", ringing=False)
        for phone in (caller, callee):
            if not phone.ctrl.event("CALL_ESTABLISHED", ESTABLISH_WITHIN):
                self.fail_with(f"{phone.name} reported no CALL_ESTABLISHED")
        time.sleep(4.0)
        caller.ctrl.command("hangup")
        for phone in (caller, callee):
            phone.ctrl.event("CALL_CLOSED", CLOSE_WITHIN)
            phone.stop()
        time.sleep(0.5)  # the recorder completes the file within a tick or two
        files = sorted(set(glob.glob(os.path.join(recordings, "**", "*.wav"),
                                     recursive=True)) - before)
        if len(files) != 1:
            self.fail_with(f"expected one new recording in {recordings}, found {files}")
        path = files[0]
        if "-1001-2800-" not in os.path.basename(path):
            self.fail_with(f"the recording's name does not say who called whom: {path}")
        # the call record in PostgreSQL names the file
        shown = self.call_record_after(known, "1001", "2800")
        recorded = re.search(r"(?m)^  recording: (.+)$", shown)
        if not recorded or os.path.realpath(recorded.group(1)) != os.path.realpath(path):
            self.fail_with(f"the stored call record does not name the recording {path}:\n{shown}")
        with wave.open(path, "rb") as w:
            channels, rate, frames = w.getnchannels(), w.getframerate(), w.getnframes()
            data = w.readframes(frames)
        if (channels, rate) != (2, 8000):
            self.fail_with(f"{path}: {channels} channels at {rate} Hz, expected 2 at 8000")
        samples = struct.unpack(f"<{len(data) // 2}h", data)
        left, right = list(samples[0::2]), list(samples[1::2])
        seconds = len(left) / rate
        print(f"[audio] recording {os.path.basename(path)}: {seconds:.1f} s", file=sys.stderr)
        if not 3.0 <= seconds <= 8.0:
            self.fail_with(f"{path}: {seconds:.1f} s recorded of a call of about 4 s")
        mid_l, mid_r = left[rate:rate * 3], right[rate:rate * 3]
        for name, chan, want, other in (("left", mid_l, 440, 1000), ("right", mid_r, 1000, 440)):
            energy = max(rms(chan) ** 2, 1e-9)
            share = 2 * goertzel_power(chan, want, rate) / energy
            leak = 2 * goertzel_power(chan, other, rate) / energy
            if rms(chan) < MIN_RMS or share < 0.8 or leak > 0.05:
                self.fail_with(f"{path}: the {name} channel should be {want} Hz alone: rms "
                               f"{rms(chan):.0f}, {want} Hz {share:.2f}, {other} Hz {leak:.2f}")

    def test_busy_callee_gives_busy_tone_then_486(self):
        """The callee rejects the call (baresip answers 486); with busy_tone_seconds = 3 the
        caller hears the US busy tone (480 + 620 Hz, 0.5 s on, 0.5 s off), then gets 486."""
        caller, callee = self.register_pair(callee_answers=False)
        self.dial(caller, callee)
        resp = callee.ctrl.command("hangup")
        if not resp or not resp.get("ok"):
            self.fail_with(f"ctrl_tcp 'hangup' on the callee failed: {resp}")
        closed = caller.ctrl.event("CALL_CLOSED", CLOSE_WITHIN)
        if not closed:
            self.fail_with("the caller's call did not end after the busy tone")
        for phone in (caller, callee):
            phone.stop()
        if "486" not in json.dumps(closed):
            self.fail_with(f"the caller's call ended without 486: {closed}")
        labels = []
        for level, shares in self.windows(caller):
            if level < MIN_RMS:
                labels.append("silence")
            elif shares[480] + shares[620] > 0.8:
                labels.append("busy")
            else:
                labels.append("other")
        runs = self.runs(labels)
        print(f"[audio] busy, what the caller heard (100 ms windows): {runs}", file=sys.stderr)
        bursts = [n for label, n in runs if label == "busy"]
        if len(bursts) < 2 or not all(3 <= n <= 7 for n in bursts[:2]):
            self.fail_with(f"no busy cadence (bursts of about 0.5 s): {runs}")

    def test_dialplan_plays_a_prompt(self):
        """The dialplan plays a prompt (a 2 s, 700 Hz, 16 kHz WAV of the test's own, resampled
        for the PCMU caller) before it rings 1002: the caller hears the prompt, then the
        callee."""
        caller, callee = self.register_pair(callee_answers=True)
        self.dial(caller, callee, number="2700", ringing=False)
        for phone in (caller, callee):
            if not phone.ctrl.event("CALL_ESTABLISHED", ESTABLISH_WITHIN):
                self.fail_with(f"{phone.name} reported no CALL_ESTABLISHED after the prompt")
        time.sleep(2.0)
        caller.ctrl.command("hangup")
        for phone in (caller, callee):
            phone.ctrl.event("CALL_CLOSED", CLOSE_WITHIN)
            phone.stop()
        labels = []
        for level, shares in self.windows(caller):
            if level < MIN_RMS:
                labels.append("silence")
            elif shares[700] > 0.8:
                labels.append("prompt")
            elif shares[1000] > 0.8:
                labels.append("callee")
            else:
                labels.append("other")
        runs = self.runs(labels)
        print(f"[audio] prompt, what the caller heard (100 ms windows): {runs}", file=sys.stderr)
        prompt = sum(n for label, n in runs if label == "prompt")
        if not 15 <= prompt <= 25:
            self.fail_with(f"the 2 s prompt was not heard as such: {runs}")
        if sum(n for label, n in runs if label == "callee") < 10:
            self.fail_with(f"the callee was not heard after the prompt: {runs}")
        first_callee = next(i for i, (label, _) in enumerate(runs) if label == "callee")
        if any(label == "prompt" for label, _ in runs[first_callee:]):
            self.fail_with(f"the prompt went on after the callee answered: {runs}")

    def test_keys_pressed_during_a_prompt_choose_the_destination(self):
        """2701 plays the 2 s prompt as early media and collects two keys (play_and_collect):
        the caller presses 4 during the prompt, which stops it, then 2 (RFC 4733, baresip's
        sndcode); "42" rings 1002, which answers. The caller hears the prompt for less than its
        2 s, then the callee."""
        caller, callee = self.register_pair(callee_answers=True)
        self.dial(caller, callee, number="2701", ringing=False)
        if not caller.ctrl.event("CALL_PROGRESS", ESTABLISH_WITHIN):
            self.fail_with("the caller reported no CALL_PROGRESS (183 with the prompt)")
        time.sleep(0.8)  # some of the prompt
        for key in "42":
            resp = caller.ctrl.command("sndcode", key)
            if not resp or not resp.get("ok"):
                self.fail_with(f"ctrl_tcp 'sndcode {key}' on the caller failed: {resp}")
            time.sleep(0.4)
        for phone in (caller, callee):
            if not phone.ctrl.event("CALL_ESTABLISHED", ESTABLISH_WITHIN):
                self.fail_with(f"{phone.name} reported no CALL_ESTABLISHED: the keys did not "
                               f"lead to the bridge")
        time.sleep(2.0)
        caller.ctrl.command("hangup")
        for phone in (caller, callee):
            phone.ctrl.event("CALL_CLOSED", CLOSE_WITHIN)
            phone.stop()
        labels = []
        for level, shares in self.windows(caller):
            if level < MIN_RMS:
                labels.append("silence")
            elif shares[700] > 0.8:
                labels.append("prompt")
            elif shares[1000] > 0.8:
                labels.append("callee")
            else:
                labels.append("other")
        runs = self.runs(labels)
        print(f"[audio] play_and_collect, what the caller heard (100 ms windows): {runs}",
              file=sys.stderr)
        prompt = sum(n for label, n in runs if label == "prompt")
        if not 3 <= prompt <= 16:
            self.fail_with(f"the prompt was not heard, or not stopped by the first key (heard "
                           f"{prompt / 10:.1f} s of the 2 s prompt): {runs}")
        if sum(n for label, n in runs if label == "callee") < 10:
            self.fail_with(f"the callee was not heard after the keys: {runs}")

    def received_packets(self, phone):
        """RTP packets the phone has received in its call (ctrl_tcp 'audio_debug': the RTCP
        member's rcvd=)."""
        resp = phone.ctrl.command("audio_debug")
        found = re.findall(r"rcvd=(\d+)", (resp or {}).get("data") or "")
        if not found:
            self.fail_with(f"ctrl_tcp 'audio_debug' on {phone.name} shows no rcvd= count: {resp}")
        return int(found[-1])

    def test_held_phone_hears_music_until_resume(self):
        """The caller puts the callee on hold (baresip's ctrl_tcp 'hold': a sendonly re-INVITE)
        and resumes it. Switchboard answers both itself: the callee is never re-INVITEd, hears
        the music on hold (an 850 Hz moh.wav of the test's own) instead of the caller while
        held, and the caller again after the resume; the caller receives nothing while it holds
        (it said sendonly) and the callee's audio again after the resume.

        The caller's own recording stops at its hold: baresip 1.0 rebuilds its receive
        pipeline without the sndfile filter when a re-INVITE changes the stream (with the hold
        relayed to a baresip callee, both recordings stop there). So what the caller receives
        after the resume is counted in RTP packets (ctrl_tcp 'audio_debug') instead."""
        caller, callee = self.register_pair(callee_answers=True)
        self.dial(caller, callee, ringing=False)
        for phone in (caller, callee):
            if not phone.ctrl.event("CALL_ESTABLISHED", ESTABLISH_WITHIN):
                self.fail_with(f"{phone.name} reported no CALL_ESTABLISHED")
        time.sleep(2.5)
        received = {}  # what the caller had received, at points of the call
        for command in ("hold", "resume"):
            resp = caller.ctrl.command(command)
            if not resp or not resp.get("ok"):
                self.fail_with(f"ctrl_tcp '{command}' on the caller failed: {resp}")
            time.sleep(1.0)
            received[command] = self.received_packets(caller)
            time.sleep(2.5)
            received[command + " + 2.5 s"] = self.received_packets(caller)
        for phone in (caller, callee):
            if phone.ctrl.event("CALL_CLOSED", 0):
                self.fail_with(f"the call ended on {phone.name}'s side during hold and resume")
        caller.ctrl.command("hangup")
        for phone in (caller, callee):
            phone.ctrl.event("CALL_CLOSED", CLOSE_WITHIN)
            phone.stop()
        trace = re.sub(r"\x1b\[[0-9;]*m", "", callee.output())
        invites = len(re.findall(r"(?m)^INVITE sip:", trace))
        if invites != 1:
            self.fail_with(f"the callee received {invites} INVITEs, not just the call's: the "
                           f"hold reached it as a re-INVITE")

        def label(level, shares):
            if level < MIN_RMS:
                return "silence"
            for name, freq in (("caller", 440), ("callee", 1000), ("music", MUSIC_HZ)):
                if shares[freq] > 0.8:
                    return name
            return "other"

        heard = {p.name: self.runs([label(*w) for w in self.windows(p)])
                 for p in (caller, callee)}
        for name, runs in heard.items():
            print(f"[audio] hold, what the {name} heard (100 ms windows): {runs}",
                  file=sys.stderr)
        print(f"[audio] hold, RTP packets the caller had received: {received}", file=sys.stderr)
        # the held callee: the caller, then the music (most of the 3.5 s), then the caller again
        held = [(l, n) for l, n in heard["callee"] if l != "silence" and n >= 3]
        music = [i for i, (l, _) in enumerate(held) if l == "music"]
        if not music or sum(n for l, n in held if l == "music") < 25:
            self.fail_with(f"the held callee did not hear the music on hold: {heard['callee']}")
        before, after = held[:music[0]], held[music[-1] + 1:]
        if sum(n for l, n in before if l == "caller") < 10:
            self.fail_with(f"the callee did not hear the caller before the hold: "
                           f"{heard['callee']}")
        if sum(n for l, n in after if l == "caller") < 15:
            self.fail_with(f"the callee did not hear the caller again after the resume: "
                           f"{heard['callee']}")
        if any(l == "caller" for l, _ in held[music[0]:music[-1] + 1]):
            self.fail_with(f"the callee heard the caller while on hold: {heard['callee']}")
        # the caller: the callee before the hold, never the music; nothing while it held, the
        # callee's stream again after the resume (2.5 s: 125 packets of 20 ms)
        if any(l == "music" for l, _ in heard["caller"]):
            self.fail_with(f"the caller (holding) heard the music: {heard['caller']}")
        if sum(n for l, n in heard["caller"] if l == "callee") < 15:
            self.fail_with(f"the caller did not hear the callee before the hold: "
                           f"{heard['caller']}")
        if received["hold + 2.5 s"] != received["hold"]:
            self.fail_with(f"the caller received RTP while it held the call (it offered "
                           f"sendonly): {received}")
        if received["resume + 2.5 s"] - received["resume"] < 100:
            self.fail_with(f"the caller did not receive the callee's stream again after the "
                           f"resume: {received}")

    def test_three_phones_in_a_conference_each_hear_the_other_two(self):
        """1001 (Opus), 1002 (PCMU) and 1003 (G.722) dial 3000, which the dialplan sends into
        conference room "standup": each phone must hear the other two phones' tones at once
        and never its own (mix-minus), across three codecs; the first one, alone in the room,
        hears the alone prompt first, and the others do not."""
        self.phones = []
        people = [self.phone("opus-phone", "1001", 1, answer_auto=False, codec="opus"),
                  self.phone("pcmu-phone", "1002", 2, answer_auto=False, codec="pcmu"),
                  self.phone("g722-phone", "1003", 3, answer_auto=False, codec="g722")]
        for n, phone in enumerate(people):
            self.wait_registered(phone, 101 + n)
            resp = phone.connect(within=10).command("reginfo")
            if not resp or not resp.get("ok"):
                self.fail_with(f"ctrl_tcp 'reginfo' on {phone.name} failed: {resp}")
        target = f"sip:3000@{self.sb.host}:{self.sb.port}"
        for phone in people:
            resp = phone.ctrl.command("dial", target)
            if not resp or not resp.get("ok"):
                self.fail_with(f"ctrl_tcp 'dial {target}' on {phone.name} failed: {resp}")
            if not phone.ctrl.event("CALL_ESTABLISHED", ESTABLISH_WITHIN):
                self.fail_with(f"{phone.name} reported no CALL_ESTABLISHED: the conference "
                               f"did not answer")
        time.sleep(HOLD)  # all three in the room
        for phone in people:
            if phone.ctrl.event("CALL_CLOSED", 0):
                self.fail_with(f"{phone.name} left the conference before hanging up")
            phone.ctrl.command("hangup")
        for phone in people:
            if not phone.ctrl.event("CALL_CLOSED", CLOSE_WITHIN):
                self.fail_with(f"{phone.name} reported no CALL_CLOSED after its hangup")
            phone.stop()
        for phone in people:
            own = self.TONES[phone.ext]
            others = [self.TONES[p.ext] for p in people if p is not phone]
            windows = self.windows(phone)
            both = sum(1 for level, shares in windows
                       if level >= MIN_RMS and all(shares[f] > 0.2 for f in others))
            echo = sum(1 for level, shares in windows if level >= MIN_RMS and shares[own] > 0.05)
            print(f"[audio] conference: {phone.name} ({phone.codec}) heard {others} together "
                  f"in {both} of {len(windows)} windows, its own {own} Hz in {echo}",
                  file=sys.stderr)
            # The last phone to join is in the full room for HOLD s: most of it must carry both.
            if both < 10 * (HOLD - 2):
                self.fail_with(f"{phone.name} heard the other two ({others} Hz) together in "
                               f"only {both} windows of 100 ms")
            if echo > 3:
                self.fail_with(f"{phone.name} heard its own tone ({own} Hz) in {echo} windows: "
                               "the room sends a participant its own voice")
            alone = sum(1 for level, shares in windows if level >= MIN_RMS and shares[700] > 0.2)
            print(f"[audio] conference: {phone.name} heard the alone prompt (700 Hz) in {alone} "
                  f"windows", file=sys.stderr)
            if phone is people[0] and not 5 <= alone <= 13:
                self.fail_with(f"{phone.name}, first in the room, heard the 1 s alone prompt in "
                               f"{alone} windows of 100 ms")
            if phone is not people[0] and alone > 1:
                self.fail_with(f"{phone.name} joined a room with someone in it and heard the "
                               f"alone prompt in {alone} windows")

    def call_and_listen(self, caller_codec, callee_codec, number="1002"):
        self.phones = []
        # the server's lines from here on: its [call] line of this call is among them, not an
        # earlier test's call between the same extensions
        mark = len(self.sb.output().splitlines())
        caller = self.phone("caller", "1001", 1, answer_auto=False, codec=caller_codec)
        callee = self.phone("callee", "1002", 2, answer_auto=True, codec=callee_codec)
        t0 = time.monotonic()
        for phone, probe in ((caller, 101), (callee, 102)):
            self.wait_registered(phone, probe)
            # a command answered on the connection: baresip has accepted it, so the events of
            # the call below reach us
            resp = phone.connect(within=10).command("reginfo")
            if not resp or not resp.get("ok"):
                self.fail_with(f"ctrl_tcp 'reginfo' on {phone.name} failed: {resp}")
        t_reg = time.monotonic() - t0

        target = f"sip:{number}@{self.sb.host}:{self.sb.port}"
        resp = caller.ctrl.command("dial", target)
        if not resp or not resp.get("ok"):
            self.fail_with(f"ctrl_tcp 'dial {target}' failed: {resp}")
        for phone in (caller, callee):
            if not phone.ctrl.event("CALL_ESTABLISHED", ESTABLISH_WITHIN):
                self.fail_with(f"baresip {phone.name} reported no CALL_ESTABLISHED within "
                               f"{ESTABLISH_WITHIN} s of the dial")
        t_up = time.monotonic()
        time.sleep(HOLD)
        for phone in (caller, callee):
            if phone.ctrl.event("CALL_CLOSED", 0):
                self.fail_with(f"the call ended on {phone.name}'s side before the caller hung up "
                               f"(held {time.monotonic() - t_up:.1f} of {HOLD} s)")
        resp = caller.ctrl.command("hangup")
        if not resp or not resp.get("ok"):
            self.fail_with(f"ctrl_tcp 'hangup' failed: {resp}")
        for phone in (caller, callee):
            if not phone.ctrl.event("CALL_CLOSED", CLOSE_WITHIN):
                self.fail_with(f"baresip {phone.name} reported no CALL_CLOSED within "
                               f"{CLOSE_WITHIN} s of the hangup")
        t_call = time.monotonic() - t_up
        # the server's summary line of this call (some tests check parts of it)
        summary = None
        deadline = time.monotonic() + 10
        while summary is None and time.monotonic() < deadline:
            summary = next((l for l in self.sb.output().splitlines()[mark:]
                            if "[call]" in l and f"1001 -> {number}" in l), None)
            time.sleep(0.2)

        # the recordings are closed with the call; stop the phones so that nothing is written
        for phone in (caller, callee):
            phone.stop()
        print(f"\n[audio] registered after {t_reg:.1f} s, call up for {t_call:.1f} s; "
              f"switchboard: {summary or '(no [call] line)'}", file=sys.stderr)
        for phone in (caller, callee):
            rtp = [l.strip() for l in phone.output().splitlines() if "incoming rtp" in l]
            print(f"[audio] {phone.name}: {'; '.join(rtp) or 'no incoming rtp line'}",
                  file=sys.stderr)

        for phone, peer in ((caller, callee), (callee, caller)):
            want, own = self.TONES[peer.ext], self.TONES[phone.ext]
            self.check_recording(phone, want, own, "dec", f"what {phone.name} ({phone.ext}) "
                                 f"received from {peer.name} ({peer.ext})")
        return summary, caller, callee

    def check_recording(self, phone, want, own, kind, what):
        files = phone.recordings(kind)
        if not files:
            self.fail_with(f"{what}: no sndfile '{kind}' recording (dump-*-{kind}.wav) in "
                           f"{phone.snd_dir}: baresip decoded no audio")
        try:
            a = Analysis(files, want, own)
        except ValueError as e:
            self.fail_with(f"{what}: unreadable recording: {e}")
        sent = []  # what each phone sent (its own tone, unless aufile failed), for the report
        for p in self.phones:
            mine = self.TONES[p.ext]
            other = next(f for e, f in self.TONES.items() if e != p.ext)
            with contextlib.suppress(ValueError):
                if p.recordings("enc"):
                    sent.append(f"{p.name} sent: "
                                + Analysis(p.recordings("enc"), mine, other).summary())
        detail = f"{a.summary()}\n" + "\n".join(sent)
        print(f"[audio] {what}: {a.summary()}", file=sys.stderr)
        if a.rate != phone.rate:
            self.fail_with(f"{what}: recorded at {a.rate} Hz, expected {phone.rate} Hz "
                           f"({phone.codec})\n{detail}")
        if not a.loud:
            self.fail_with(f"{what}: the recording is silence\n{detail}")
        if a.tone_seconds < MIN_TONE_SECONDS:
            self.fail_with(f"{what}: the {want} Hz tone dominates only {a.tone_seconds:.1f} s of "
                           f"the recording (want >= {MIN_TONE_SECONDS} s, {want} Hz at least "
                           f"{10 * math.log10(DOMINANCE):.0f} dB above {own} Hz)\n{detail}")


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
