"""Integration test harness for Switchboard (Python 3 standard library only).

What is here:
  * free_port(): a port free for both UDP and TCP on an address, chosen at run time.
  * Switchboard: context manager around `switchboard run` (temporary data dir, optional TOML
    config, start, wait for the "SIP listening" lines, restart(), stop by its own PID).
  * sipp(): runs SIPp with a scenario from scenarios/, always bounded in time, and returns its
    exit code, statistics, error log, <log> lines and message trace.
  * SipClient / UserAgent: a tiny SIP UAC for the few things SIPp cannot do (RFC 7616 SHA-256
    digest, reading stale=true, replaying an Authorization, checking that nothing answers).
  * require_tool(): the peers must be installed; a missing one is a failure, never a skip.

Every wait has a timeout; every process we start is stopped by its own PID.
"""

import atexit
import contextlib
import csv
import glob
import hashlib
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "scenarios")
DEPS_HINT = "install the test dependencies with scripts/deps.sh (it installs sip-tester, baresip, ...)"

# Set SB_IT_KEEP=1 to keep temporary directories (server output, SIPp traces) after a run.
KEEP = os.environ.get("SB_IT_KEEP") == "1"


def require_tool(name):
    """The absolute path of a required program; fails (not skips) when it is missing."""
    path = shutil.which(name)
    if not path:
        raise AssertionError(f"'{name}' is not installed (not on PATH): {DEPS_HINT}")
    return path


def require_file(path, what):
    if not path or not os.path.isfile(path):
        raise AssertionError(f"{what} not found at '{path}'")
    return path


# --------------------------------------------------------------------------------------------
# ports and addresses
# --------------------------------------------------------------------------------------------

_port_rng = random.Random(os.getpid() ^ int(time.time() * 1000))


def free_port(host="127.0.0.1", avoid=(5060, 5061)):
    """A port that is free for both UDP and TCP on host right now.

    Ports are drawn from 20000-32000, below Linux's ephemeral range (32768-60999), so that
    outgoing connections of other programs are unlikely to take the port before we bind it.
    The probe sockets do not set SO_REUSEADDR/SO_REUSEPORT, so any socket already bound
    there (even one with SO_REUSEPORT) makes the port count as busy.
    """
    for _ in range(500):
        port = _port_rng.randint(20000, 32000)
        if port in avoid:
            continue
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind((host, port))
            u.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError(f"no free UDP+TCP port found on {host}")


def free_media_port(host, sip_port):
    """A base for SIPp's -mp: SIPp binds base, base+2 (video) and their RTCP ports, so all four
    must be free and none may be the SIP port (errno 98 otherwise, seen in CI)."""
    for _ in range(500):
        base = free_port(host) & ~1
        if sip_port in range(base, base + 4):
            continue
        socks = []
        try:
            for p in range(base, base + 4):
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(u)
                u.bind((host, p))
            return base
        except OSError:
            continue
        finally:
            for u in socks:
                u.close()
    raise RuntimeError(f"no free media ports on {host}")


def loopback(block, n):
    """127.0.<block>.<n>: each test uses its own source address, so a ban cannot leak."""
    if not (0 < block < 255 and 0 < n < 255):
        raise ValueError("bad loopback address")
    return f"127.0.{block}.{n}"


# --------------------------------------------------------------------------------------------
# processes we started: stopped on exit, by PID only
# --------------------------------------------------------------------------------------------

_live = set()


def _cleanup_all():
    for obj in list(_live):
        with contextlib.suppress(Exception):
            obj.close()


atexit.register(_cleanup_all)


def install_signal_cleanup():
    """Turn SIGTERM/SIGINT (e.g. a ctest timeout) into SystemExit so atexit cleanup runs."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _stop_pid(proc, grace):
    """SIGTERM our own child, wait up to grace seconds, then SIGKILL it. Returns its exit code."""
    if proc.poll() is not None:
        return proc.returncode
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=30)


def _pg_ctl():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return found[-1] if found else shutil.which("pg_ctl")


def _stop_orphan_cluster(pgdata):
    """If `switchboard` died without stopping its embedded PostgreSQL, stop that cluster (ours:
    it lives in our temporary directory)."""
    if not os.path.exists(os.path.join(pgdata, "postmaster.pid")):
        return
    pg_ctl = _pg_ctl()
    if not pg_ctl:
        return
    cmd = [pg_ctl, "stop", "-D", pgdata, "-m", "immediate", "-w", "-t", "30"]
    if os.geteuid() == 0:
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        cmd = [runuser, "-u", "postgres", "--"] + cmd
    with contextlib.suppress(Exception):
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)


# --------------------------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------------------------

class SwitchboardError(AssertionError):
    pass


class Switchboard:
    """`switchboard run` on a fresh temporary data directory.

        with Switchboard(binary, config="[security]\\nnonce_lifetime = 2\\n") as sb:
            sb.ext_add("1001", "a-long-secret")
            ... sb.host, sb.port ...
            sb.restart()

    The data dir is a short mkdtemp under /tmp (PostgreSQL's socket path is limited to 107
    bytes), chmod 755 so that the postgres user can traverse it.
    """

    def __init__(self, binary, config=None, host="127.0.0.1", log_level=None, start_timeout=120,
                 stop_timeout=30, launcher=None):
        self.binary = require_file(binary, "switchboard binary")
        self.launcher = launcher
        self.config = config
        self.host = host
        self.log_level = log_level
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.port = None
        self.tmp = None
        self.proc = None
        self.lines = []  # every output line of every start, in order
        self._lock = threading.Lock()
        self._reader = None
        self._log = None
        self.last_exit_code = None
        self.starts = 0

    # paths
    @property
    def data_dir(self):
        return os.path.join(self.tmp, "d")

    @property
    def config_path(self):
        return os.path.join(self.tmp, "switchboard.toml")

    @property
    def uri(self):
        return f"sip:{self.host}:{self.port}"

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _prepare(self):
        if self.tmp:
            return
        self.tmp = tempfile.mkdtemp(prefix="sbit", dir="/tmp")
        os.chmod(self.tmp, 0o755)
        os.mkdir(self.data_dir, 0o755)
        os.chmod(self.data_dir, 0o755)
        if self.config is not None:
            with open(self.config_path, "w") as f:
                f.write(self.config)
            os.chmod(self.config_path, 0o644)
        self._log = open(os.path.join(self.tmp, "server.log"), "a", buffering=1)
        _live.add(self)

    def _command(self):
        # launcher: the README's `scripts/run` instead of `switchboard run` (same options; it
        # execs the binary, so the PID we stop is the server's).
        start = list(self.launcher) if self.launcher else [self.binary, "run"]
        cmd = start + ["--data-dir", self.data_dir, "--sip-listen", f"{self.host}:{self.port}"]
        if self.config is not None:
            cmd += ["--config", self.config_path]
        if self.log_level:
            cmd += ["--log-level", self.log_level]
        return cmd

    def _read(self, proc):
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self.lines.append(line)
            if self._log:
                with contextlib.suppress(ValueError):
                    self._log.write(line + "\n")

    def output(self, last=None):
        with self._lock:
            lines = list(self.lines)
        if last:
            lines = lines[-last:]
        return "\n".join(lines)

    def start(self):
        """Start `switchboard run` and wait until it listens on UDP and TCP."""
        if self.proc and self.proc.poll() is None:
            raise SwitchboardError("already running")
        self._prepare()
        # The first start picks a port (and another one if somebody takes it before the bind);
        # restarts keep it.
        attempts = 3 if self.starts == 0 else 1
        for attempt in range(attempts):
            if self.starts == 0:
                self.port = free_port(self.host)
            with self._lock:
                first_line = len(self.lines)
            self._run_first_line = first_line
            self.proc = subprocess.Popen(self._command(), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
            self._reader.start()
            want = (f"SIP listening on UDP {self.host}:{self.port}",
                    f"SIP listening on TCP {self.host}:{self.port}")
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                with self._lock:
                    new = self.lines[first_line:]
                if all(any(w in l for l in new) for w in want):
                    self.starts += 1
                    return self
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
            # not ready: died, or timed out
            if self.proc.poll() is not None:
                self._reader.join(timeout=5)
            out = self.output(last=40)
            if self.proc.poll() is None:
                self.stop()
                raise SwitchboardError(f"switchboard did not report listening within "
                                       f"{self.start_timeout} s; its output:\n{out}")
            self.last_exit_code = self.proc.returncode
            if "in use" in out and attempt + 1 < attempts:
                continue  # somebody took the port between the probe and the bind: try another
            raise SwitchboardError(f"switchboard run exited with {self.proc.returncode} before "
                                   f"listening; its output:\n{out}")
        raise SwitchboardError("switchboard could not start")

    def stop(self):
        """SIGTERM our process; after stop_timeout s SIGKILL it. Returns the exit code."""
        if not self.proc:
            return self.last_exit_code
        code = _stop_pid(self.proc, self.stop_timeout)
        if self._reader:
            self._reader.join(timeout=10)
        with contextlib.suppress(Exception):
            self.proc.stdout.close()
        self.last_exit_code = code
        with self._lock:
            run = self.lines[getattr(self, "_run_first_line", 0):]
        self.last_run_printed_stopped = bool(run) and run[-1] == "stopped"
        self.proc = None
        if code != 0 and self.tmp:
            _stop_orphan_cluster(os.path.join(self.data_dir, "pg"))
        return code

    def stopped_cleanly(self):
        """True when the last stop exited 0 after printing `stopped`."""
        return self.last_exit_code == 0 and getattr(self, "last_run_printed_stopped", False)

    def restart(self):
        """Stop (SIGTERM) and start again on the same data dir and port."""
        self.stop()
        return self.start()

    def close(self):
        try:
            self.stop()
        finally:
            if self.tmp:
                _stop_orphan_cluster(os.path.join(self.data_dir, "pg"))
                if self._log:
                    self._log.close()
                    self._log = None
                if KEEP:
                    print(f"[harness] kept {self.tmp}", file=sys.stderr)
                else:
                    shutil.rmtree(self.tmp, ignore_errors=True)
                self.tmp = None
            _live.discard(self)

    # --- switchboard ext ... on the same data dir -------------------------------------------
    def ext(self, *args, password=None, timeout=120):
        """Runs `switchboard ext ARGS --data-dir DIR`; the password goes through stdin."""
        cmd = [self.binary, "ext", *args]
        stdin = None
        if password is not None:
            cmd += ["--password", "-"]
            stdin = (password + "\n").encode()
        cmd += ["--data-dir", self.data_dir]
        if self.config is not None:
            cmd += ["--config", self.config_path]
        r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        out = r.stdout.decode("utf-8", "replace")
        if r.returncode != 0:
            raise SwitchboardError(f"{' '.join(cmd[1:])} failed ({r.returncode}):\n{out}")
        return out

    def ext_add(self, number, password, name=None):
        args = ["add", number]
        if name:
            args += ["--name", name]
        return self.ext(*args, password=password)

    def wait_registrable(self, number, password, within=10.0):
        """Wait until the running server accepts number's credentials (a query REGISTER gets
        200). `ext add` returns before the server has reloaded the extension (NOTIFY, then a
        database read): about 0.1 s on loopback. Each attempt comes from its own 127.0.250.n
        so that the failures cannot add up to a ban of an address a test uses. Returns the
        seconds it took."""
        start = time.monotonic()
        last = None
        while time.monotonic() - start < within:
            Switchboard._probe = getattr(Switchboard, "_probe", 0) % 254 + 1
            with UserAgent((self.host, self.port), number, password,
                           local_ip=loopback(250, Switchboard._probe)) as ua:
                _, last = ua.register(timeout=2.0)
            if last is not None and last.status == 200:
                return time.monotonic() - start
            time.sleep(0.05)
        raise SwitchboardError(f"extension {number} not accepted by the server {within} s after "
                               f"`ext add`; last answer:\n{describe(last)}")

    def ext_set(self, number, password=None, name=None, enable=None):
        args = ["set", number]
        if name:
            args += ["--name", name]
        if enable is True:
            args.append("--enable")
        elif enable is False:
            args.append("--disable")
        return self.ext(*args, password=password)

    def ext_del(self, number):
        return self.ext("del", number)


# --------------------------------------------------------------------------------------------
# SIPp
# --------------------------------------------------------------------------------------------

class SippResult:
    def __init__(self, cmd, returncode, stats, screen, errors, messages, logs, timed_out):
        self.cmd = cmd
        self.returncode = returncode
        self.stats = stats  # last row of the -trace_stat CSV, as a dict
        self.screen = screen
        self.errors = errors
        self.messages = messages
        self.logs = logs
        self.timed_out = timed_out

    def _count(self, name):
        with contextlib.suppress(KeyError, ValueError):
            return int(self.stats[name])
        return None

    @property
    def successful(self):
        return self._count("SuccessfulCall(C)")

    @property
    def failed(self):
        return self._count("FailedCall(C)")

    def log_values(self, prefix):
        """Values of the scenario's <log message="PREFIX..."/> lines, in order."""
        out = []
        for line in self.logs.splitlines():
            i = line.find(prefix)
            if i >= 0:
                out.append(line[i + len(prefix):].strip())
        return out

    def diagnosis(self):
        if "authentication must use MD5" in self.errors:
            return ("DIAGNOSIS: SIPp 3.6.1 takes the first algorithm= among the WWW-Authenticate "
                    "header fields and knows only MD5; the 401 lists SHA-256 first, so this "
                    "MD5-only peer cannot register (RFC 8760 2.4 wants a UAC to use the topmost "
                    "challenge it supports, but deployed MD5-only phones behave like SIPp).\n")
        return ""

    def describe(self, trace_chars=6000):
        msgs = self.messages
        if len(msgs) > trace_chars:
            msgs = "...\n" + msgs[-trace_chars:]
        return (f"{self.diagnosis()}sipp exit code {self.returncode}{' (killed: took too long)' if self.timed_out else ''}, "
                f"successful calls {self.successful}, failed calls {self.failed}\n"
                f"command: {' '.join(self.cmd)}\n"
                f"--- sipp errors ---\n{self.errors.strip() or '(none)'}\n"
                f"--- sipp message trace (last part) ---\n{msgs.strip() or '(none)'}")


def sipp(scenario, server, service, password=None, local_ip="127.0.0.1", transport="udp",
         rows=None, count=1, rate=10, timeout=20, extra=()):
    """Run SIPp as a UAC against server=(host, port) and wait for it (bounded in time).

    scenario: a file name in scenarios/ (or a path).
    service:  -s, the user part SIPp puts in [service]; also the digest user (-au).
    password: -ap, the digest password for [authentication].
    rows:     rows for the -inf CSV (SEQUENTIAL), e.g. [["sip:x@127.0.0.1:5999", "300"]].
    timeout:  SIPp's own -timeout (with -timeout_error); the process is killed 30 s later.

    SIPp 3.6.1 cannot nest [fieldN] inside [authentication username=... password=...]
    (its keyword parser stops at the inner '['), so the digest credentials come from
    -au/-ap and the CSV carries the rest (contacts, expiry).
    """
    exe = require_tool("sipp")
    path = scenario if os.path.isabs(scenario) else os.path.join(SCENARIOS, scenario)
    require_file(path, "SIPp scenario")
    work = tempfile.mkdtemp(prefix="sipp", dir="/tmp")
    try:
        stat = os.path.join(work, "stat.csv")
        err = os.path.join(work, "errors.log")
        msg = os.path.join(work, "messages.log")
        log = os.path.join(work, "logs.log")
        sip_port = free_port(local_ip)
        cmd = [exe, f"{server[0]}:{server[1]}", "-sf", path,
               "-s", service, "-au", service,
               "-i", local_ip, "-bind_local", "-p", str(sip_port),
               "-mp", str(free_media_port(local_ip, sip_port)),
               "-t", {"udp": "u1", "tcp": "t1"}[transport],
               "-m", str(count), "-r", str(rate), "-rp", "1000",
               "-timeout", f"{timeout}s", "-timeout_error",
               "-default_behaviors", "abortunexp",
               "-nostdin",
               "-trace_stat", "-stf", stat, "-fd", "1",
               "-trace_err", "-error_file", err,
               "-trace_msg", "-message_file", msg,
               "-trace_logs", "-log_file", log]
        if password is not None:
            cmd += ["-ap", password]
        if rows is not None:
            inf = os.path.join(work, "data.csv")
            with open(inf, "w") as f:
                f.write("SEQUENTIAL\n")
                for row in rows:
                    f.write(";".join(str(c) for c in row) + ";\n")
            cmd += ["-inf", inf]
        cmd += list(extra)
        timed_out = False
        try:
            r = subprocess.run(cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout + 30)
            code, screen = r.returncode, r.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as e:  # subprocess.run killed it (our own child)
            timed_out = True
            code, screen = None, (e.stdout or b"").decode("utf-8", "replace")

        def read(p):
            with contextlib.suppress(OSError):
                with open(p, encoding="utf-8", errors="replace") as f:
                    return f.read()
            return ""

        stats = {}
        text = read(stat)
        if text.strip():
            rows_ = list(csv.reader(text.strip().splitlines(), delimiter=";"))
            if len(rows_) >= 2:
                stats = dict(zip(rows_[0], rows_[-1]))
        return SippResult(cmd, code, stats, screen, read(err), read(msg), read(log), timed_out)
    finally:
        if KEEP:
            print(f"[harness] kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# a tiny SIP UAC
# --------------------------------------------------------------------------------------------

COMPACT = {"i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
           "c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to",
           "v": "via"}


def split_commas(value):
    """Split a header value at commas outside quotes and <...>."""
    out, cur, quoted, angle, i = [], [], False, False, 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\" and i + 1 < len(value):
                cur.append(value[i:i + 2])
                i += 2
                continue
            if ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            angle = True
        elif ch == ">":
            angle = False
        elif ch == "," and not angle:
            out.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def parse_params(text):
    """'a=1;b="x;y";c' -> {'a': '1', 'b': 'x;y', 'c': ''} (names lower-cased, quotes removed)."""
    params = {}
    for m in re.finditer(r'\s*([^=;\s]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?\s*(?:;|$)', text):
        v = (m.group(2) or "").strip()
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        params[m.group(1).lower()] = v
    return params


def parse_challenge(value):
    """'Digest realm="r", nonce="n", algorithm=MD5, qop="auth"' -> dict (+ 'scheme')."""
    scheme, _, rest = value.strip().partition(" ")
    out = {"scheme": scheme}
    for m in re.finditer(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?', rest):
        v = m.group(2)
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        out[m.group(1).lower()] = v
    return out


class SipMessage:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        text = re.sub(rb"\r\n[ \t]+", b" ", head).decode("utf-8", "replace")
        lines = text.split("\r\n")
        self.start_line = lines[0]
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            n = name.strip().lower()
            self.headers.append((COMPACT.get(n, n), value.strip()))
        parts = self.start_line.split(" ", 2)
        self.status = int(parts[1]) if parts[0] == "SIP/2.0" and len(parts) > 1 and parts[1].isdigit() else None
        self.reason = parts[2] if self.status is not None and len(parts) > 2 else ""

    def all(self, name):
        name = COMPACT.get(name.lower(), name.lower())
        return [v for n, v in self.headers if n == name]

    def get(self, name):
        v = self.all(name)
        return v[0] if v else None

    def values(self, name):
        """All comma-separated values of every header of that name."""
        out = []
        for v in self.all(name):
            out += split_commas(v)
        return out

    def contacts(self):
        """[(uri, params)] of the Contact header fields."""
        out = []
        for v in self.values("contact"):
            if v == "*":
                out.append(("*", {}))
                continue
            m = re.match(r'\s*(?:"(?:[^"\\]|\\.)*"\s*|[^<"]*)?<([^>]*)>\s*;?(.*)$', v)
            if m:
                out.append((m.group(1), parse_params(m.group(2))))
            else:
                uri, _, params = v.partition(";")
                out.append((uri.strip(), parse_params(params)))
        return out

    def challenges(self, header="www-authenticate"):
        return [parse_challenge(v) for v in self.all(header)]

    def __str__(self):
        return self.raw.decode("utf-8", "replace")


def digest_response(algorithm, username, realm, password, method, uri, nonce, nc, cnonce,
                    qop="auth"):
    """RFC 7616 3.4.1 response (qop=auth), for MD5 and SHA-256 (RFC 8760 for SIP)."""
    name = {"MD5": "md5", "SHA-256": "sha256"}[algorithm.upper()]

    def h(s):
        return hashlib.new(name, s.encode("utf-8")).hexdigest()

    ha1 = h(f"{username}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def authorization(challenge, username, password, method, uri, nc=1, cnonce=None):
    """An Authorization header value answering challenge (a dict from parse_challenge)."""
    algorithm = challenge.get("algorithm", "MD5")
    cnonce = cnonce or "%016x" % random.getrandbits(64)
    ncs = "%08x" % nc
    resp = digest_response(algorithm, username, challenge["realm"], password, method, uri,
                           challenge["nonce"], ncs, cnonce)
    v = (f'Digest username="{username}", realm="{challenge["realm"]}", '
         f'nonce="{challenge["nonce"]}", uri="{uri}", response="{resp}", '
         f'algorithm={algorithm}, cnonce="{cnonce}", qop=auth, nc={ncs}')
    if "opaque" in challenge:
        v += f', opaque="{challenge["opaque"]}"'
    return v


def new_token(n=12):
    return "%0*x" % (n, random.getrandbits(4 * n))


class SipClient:
    """One socket (UDP, or a TCP connection) from local_ip to the server."""

    def __init__(self, server, local_ip="127.0.0.1", transport="udp"):
        self.server = server
        self.transport = transport
        self.local_ip = local_ip
        self._buf = b""
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((local_ip, 0))
        elif transport == "tcp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind((local_ip, 0))
            self.sock.settimeout(5)
            self.sock.connect(server)
        else:
            raise ValueError(transport)
        self.local_port = self.sock.getsockname()[1]
        self.closed_by_peer = False

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def via_transport(self):
        return self.transport.upper()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def _frame(self):
        """One complete message from the TCP buffer, or None."""
        while self._buf.startswith(b"\r\n"):  # keep-alive CRLFs
            self._buf = self._buf[2:]
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self._buf[:end]
        m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
        length = int(m.group(1)) if m else 0
        total = end + 4 + length
        if len(self._buf) < total:
            return None
        msg, self._buf = self._buf[:total], self._buf[total:]
        return msg

    def receive(self, timeout):
        """The next message within timeout seconds, or None."""
        deadline = time.monotonic() + timeout
        while True:
            if self.transport == "tcp":
                m = self._frame()
                if m is not None:
                    return SipMessage(m)
                if self.closed_by_peer:
                    return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                if self.transport == "udp":
                    data, _ = self.sock.recvfrom(65535)
                    return SipMessage(data)
                data = self.sock.recv(65535)
            except (ConnectionError, OSError):
                self.closed_by_peer = True
                return None
            if not data:
                self.closed_by_peer = True
                continue
            self._buf += data

    def transact(self, data, branch, timeout=5.0):
        """Send a request and return its final response (or None if none came in timeout s).
        Over UDP the request is retransmitted like RFC 3261 timer E (500 ms doubling to 4 s)."""
        self.send(data)
        deadline = time.monotonic() + timeout
        interval = 0.5
        next_retransmit = time.monotonic() + interval
        while True:
            now = time.monotonic()
            if now >= deadline:
                return None
            wait = deadline - now
            if self.transport == "udp":
                wait = min(wait, max(0.0, next_retransmit - now))
            m = self.receive(wait)
            if m is None:
                if self.transport == "tcp" and self.closed_by_peer:
                    return None
                if self.transport == "udp" and time.monotonic() >= next_retransmit:
                    with contextlib.suppress(OSError):
                        self.send(data)
                    interval = min(interval * 2, 4.0)
                    next_retransmit = time.monotonic() + interval
                continue
            via = m.get("via") or ""
            if m.status is None or f"branch={branch}" not in via:
                continue  # a request, or an answer to something else
            if m.status >= 200:
                return m


class UserAgent:
    """A minimal UAC for one extension: builds requests, answers digest challenges."""

    def __init__(self, server, user, password, local_ip="127.0.0.1", transport="udp",
                 user_agent="switchboard-integration-test"):
        self.server = server
        self.user = user
        self.password = password
        self.user_agent = user_agent
        self.client = SipClient(server, local_ip, transport)
        self.call_id = new_token(20) + "@" + local_ip
        self.from_tag = new_token(8)
        self.cseq = 0
        self.last_request = None

    def close(self):
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def request_uri(self):
        return f"sip:{self.server[0]}:{self.server[1]}"

    def contact(self, tag="", expires=None):
        """A Contact value pointing at this client ('tag' makes distinct ones)."""
        user = self.user + (f"-{tag}" if tag else "")
        t = ";transport=tcp" if self.client.transport == "tcp" else ""
        v = f"<sip:{user}@{self.client.local_ip}:{self.client.local_port}{t}>"
        if expires is not None:
            v += f";expires={expires}"
        return v

    def build(self, method, headers=(), to_user=None, user_agent=None, new_call=False):
        """Request text and its branch. headers: [(name, value)] added as given."""
        if new_call:
            self.call_id = new_token(20) + "@" + self.client.local_ip
            self.from_tag = new_token(8)
        self.cseq += 1
        branch = "z9hG4bK" + new_token(16)
        host = self.server[0]
        to_user = to_user or self.user
        lines = [
            f"{method} {self.request_uri} SIP/2.0",
            f"Via: SIP/2.0/{self.client.via_transport} {self.client.local_ip}:{self.client.local_port};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.user}@{host}>;tag={self.from_tag}",
            f"To: <sip:{to_user}@{host}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} {method}",
            f"User-Agent: {user_agent or self.user_agent}",
        ]
        lines += [f"{n}: {v}" for n, v in headers]
        lines += ["Content-Length: 0", "", ""]
        text = "\r\n".join(lines)
        self.last_request = text
        return text, branch

    def request(self, method, headers=(), timeout=5.0, **kw):
        text, branch = self.build(method, headers, **kw)
        return self.client.transact(text, branch, timeout)

    def register(self, contacts=(), expires=None, algorithm="MD5", password=None, to_user=None,
                 user_agent=None, timeout=5.0):
        """REGISTER, answer the 401 with the given algorithm, return (401 response, final
        response). If the first response is not a 401, it is returned twice. The challenge
        and the Authorization sent are kept in last_challenge / last_authorization."""
        headers = [("Contact", c) for c in contacts]
        if expires is not None:
            headers.append(("Expires", str(expires)))
        first = self.request("REGISTER", headers, timeout, to_user=to_user, user_agent=user_agent)
        if first is None or first.status != 401:
            return first, first
        chal = next((c for c in first.challenges() if c.get("algorithm", "MD5").upper() == algorithm),
                    None)
        if chal is None:
            raise AssertionError(f"the 401 offers no {algorithm} challenge:\n{first}")
        self.last_challenge = chal
        self.last_authorization = authorization(chal, self.user, password or self.password,
                                                "REGISTER", self.request_uri)
        final = self.request("REGISTER", headers + [("Authorization", self.last_authorization)],
                             timeout, to_user=to_user, user_agent=user_agent)
        return first, final

    def bindings(self, algorithm="MD5"):
        """Query (REGISTER without Contact): the list of (uri, params) the 200 lists."""
        _, final = self.register(algorithm=algorithm)
        if final is None or final.status != 200:
            raise AssertionError(f"query REGISTER for {self.user} failed: "
                                 f"{final.start_line if final else 'no response'}")
        return final.contacts()


def describe(resp):
    return "no response" if resp is None else str(resp)


# --------------------------------------------------------------------------------------------
# calls: other `switchboard` commands, SIPp peers in the background, SIPp message traces, and
# a Python INVITE with proxy digest auth (added for test_calls.py)
# --------------------------------------------------------------------------------------------

def switchboard_cli(sb, *args, stdin=None, timeout=120):
    """Runs `switchboard ARGS --data-dir DIR [--config FILE]` on sb's data dir (like
    Switchboard.ext) and returns its output; a non-zero exit raises SwitchboardError."""
    cmd = [sb.binary, *args, "--data-dir", sb.data_dir]
    if sb.config is not None:
        cmd += ["--config", sb.config_path]
    r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    out = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0:
        raise SwitchboardError(f"{' '.join(cmd[1:])} failed ({r.returncode}):\n{out}")
    return out


def dialplan_load(sb, path):
    """`switchboard dialplan load PATH`: stores and activates a new version; returns its number
    ("version N" in what the command printed, or a line that is just a number)."""
    out = switchboard_cli(sb, "dialplan", "load", path)
    m = re.search(r"(?i)\bversion\s+(\d+)", out)  # "dialplan version 3 (office.lua) stored ..."
    numbers = [m.group(1)] if m else re.findall(r"(?m)^\s*(\d+)\s*$", out)
    if not numbers:
        raise SwitchboardError(f"`dialplan load {path}` printed no version number:\n{out}")
    return int(numbers[-1])


def dialplan_activate(sb, version):
    return switchboard_cli(sb, "dialplan", "activate", str(version))


def port_taken(host, port, transport="udp"):
    """True when something is bound to host:port (we cannot bind it without SO_REUSEADDR)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)
    try:
        s.bind((host, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


class TraceEntry:
    def __init__(self, direction, message, when=None):
        self.direction = direction  # "sent" or "received"
        self.message = message      # SipMessage
        self.when = when            # seconds since the epoch (SIPp's wall clock), or None

    def __repr__(self):
        return f"{self.direction}: {self.message.start_line}"


def parse_sipp_trace(text):
    """SIPp's -trace_msg file -> [TraceEntry] in order. Each entry there starts with a line of
    dashes and a timestamp, then 'UDP message sent (N bytes):' or 'UDP message received [N]
    bytes :', a blank line and the message (SIPp writes LF line ends)."""
    out = []
    parts = re.split(r"(?m)^-{20,} *([^\n]*)\n", text)
    for i in range(1, len(parts) - 1, 2):
        stamp, block = parts[i].strip(), parts[i + 1]
        m = re.match(r"\s*(?:\w+ )?message (sent|received)[^\n]*\n\n?", block)
        if not m:
            continue
        raw = block[m.end():].rstrip("\n")
        if not raw.strip():
            continue
        when = None
        with contextlib.suppress(ValueError):
            when = time.mktime(time.strptime(stamp[:19], "%Y-%m-%d %H:%M:%S")) + float("0" + stamp[19:])
        head, sep, body = raw.partition("\n\n")
        head = head.replace("\r\n", "\n").replace("\n", "\r\n")
        out.append(TraceEntry(m.group(1), SipMessage((head + "\r\n\r\n" + body).encode("utf-8")),
                              when))
    return out


def sipp_received(result):
    """The SIP messages a SIPp run received ([SipMessage]), from its message trace."""
    return [e.message for e in parse_sipp_trace(result.messages) if e.direction == "received"]


def sipp_sent(result):
    return [e.message for e in parse_sipp_trace(result.messages) if e.direction == "sent"]


def cseq_method(msg):
    return (msg.get("cseq") or " ").split()[-1].upper()


class SippPeer:
    """One SIPp process in the background, started now and waited for later.

    Client mode (remote=(host, port)): a UAC scenario. Server mode (remote=None): a UAS scenario
    (SIPp waits for the first request). local_port fixes the port (a callee phone listens where
    it registered from); keys: {name: value} passed as -key name value ([name] in the scenario).
    SIPp's own -timeout bounds it, and wait() kills it (by its PID) 30 s after that at the latest.
    """

    def __init__(self, scenario, remote=None, service="sipp", auth_user=None, password=None,
                 local_ip="127.0.0.1", local_port=None, transport="udp", keys=None, count=1,
                 timeout=20, extra=(), rows=None):
        exe = require_tool("sipp")
        self.path = scenario if os.path.isabs(scenario) else os.path.join(SCENARIOS, scenario)
        require_file(self.path, "SIPp scenario")
        self.timeout = timeout
        self.local_ip = local_ip
        self.local_port = local_port or free_port(local_ip)
        self.transport = transport
        self.work = tempfile.mkdtemp(prefix="sipp", dir="/tmp")
        self._stat = os.path.join(self.work, "stat.csv")
        self._err = os.path.join(self.work, "errors.log")
        self._msg = os.path.join(self.work, "messages.log")
        self._log = os.path.join(self.work, "logs.log")
        self._screen = os.path.join(self.work, "screen.txt")
        cmd = [exe]
        if remote is not None:
            cmd.append(f"{remote[0]}:{remote[1]}")
        cmd += ["-sf", self.path, "-s", service,
                "-i", local_ip, "-bind_local", "-p", str(self.local_port),
                "-mp", str(free_media_port(local_ip, self.local_port)),
                "-t", {"udp": "u1", "tcp": "t1"}[transport],
                "-m", str(count),
                "-timeout", f"{timeout}s", "-timeout_error",
                "-default_behaviors", "abortunexp",
                "-nostdin",
                "-trace_stat", "-stf", self._stat, "-fd", "1",
                "-trace_err", "-error_file", self._err,
                "-trace_msg", "-message_file", self._msg,
                "-trace_logs", "-log_file", self._log]
        if remote is not None:
            cmd += ["-r", "10", "-rp", "1000"]
        if auth_user is not None:
            cmd += ["-au", auth_user]
        if password is not None:
            cmd += ["-ap", password]
        for k, v in (keys or {}).items():
            cmd += ["-key", str(k), str(v)]
        if rows is not None:
            inf = os.path.join(self.work, "data.csv")
            with open(inf, "w") as f:
                f.write("SEQUENTIAL\n")
                for row in rows:
                    f.write(";".join(str(c) for c in row) + ";\n")
            cmd += ["-inf", inf]
        cmd += list(extra)
        self.cmd = cmd
        self._screen_f = open(self._screen, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.work, stdin=subprocess.DEVNULL,
                                     stdout=self._screen_f, stderr=subprocess.STDOUT)
        self.result = None
        _live.add(self)

    def wait_listening(self, within=10.0):
        """Wait until SIPp has bound its port (a server-mode peer is ready for requests)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"SIPp exited ({self.proc.returncode}) before listening:\n"
                                     f"{self.wait().describe()}")
            if port_taken(self.local_ip, self.local_port, self.transport):
                return self
            time.sleep(0.02)
        raise AssertionError(f"SIPp did not bind {self.local_ip}:{self.local_port} within {within} s")

    def running(self):
        return self.proc.poll() is None

    def wait(self, timeout=None):
        """Wait for SIPp to end (at most timeout s, default its own -timeout + 30 s; then it is
        killed) and return its SippResult."""
        if self.result is not None:
            return self.result
        timed_out = False
        try:
            self.proc.wait(timeout=self.timeout + 30 if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _stop_pid(self.proc, 2)
        return self._collect(timed_out)

    def stop(self):
        """End it now (SIGTERM, then SIGKILL: our own child) and return what it recorded."""
        if self.result is not None:
            return self.result
        _stop_pid(self.proc, 3)
        return self._collect(True)

    def _collect(self, timed_out):
        def read(p):
            with contextlib.suppress(OSError):
                with open(p, encoding="utf-8", errors="replace") as f:
                    return f.read()
            return ""

        with contextlib.suppress(Exception):
            self._screen_f.close()
        stats = {}
        text = read(self._stat)
        if text.strip():
            rows_ = list(csv.reader(text.strip().splitlines(), delimiter=";"))
            if len(rows_) >= 2:
                stats = dict(zip(rows_[0], rows_[-1]))
        self.result = SippResult(self.cmd, None if timed_out else self.proc.returncode, stats,
                                 read(self._screen), read(self._err), read(self._msg),
                                 read(self._log), timed_out)
        self.close()
        return self.result

    def close(self):
        if self.proc.poll() is None:
            _stop_pid(self.proc, 2)
        with contextlib.suppress(Exception):
            self._screen_f.close()
        if self.work:
            if KEEP:
                print(f"[harness] kept {self.work}", file=sys.stderr)
            else:
                shutil.rmtree(self.work, ignore_errors=True)
            self.work = None
        _live.discard(self)


def sip_register_at(server, ext, password, local_ip, local_port, expires=300, timeout=10):
    """REGISTER ext with the Contact sip:EXT@local_ip:local_port, sent by SIPp (register.xml)
    from that very address and port, so that a SIPp callee started there later receives the
    INVITEs. Returns the SippResult (returncode 0 and 1 successful call when it worked)."""
    contact = f"sip:{ext}@{local_ip}:{local_port}"
    peer = SippPeer("register.xml", remote=server, service=ext, auth_user=ext, password=password,
                    local_ip=local_ip, local_port=local_port, rows=[[contact, expires]],
                    timeout=timeout)
    return peer.wait()


def invite_status(server, caller, password, to_user, local_ip="127.0.0.1", timeout=5.0):
    """A quick authenticated INVITE without SDP that expects a failure: INVITE -> 407 -> ACK ->
    INVITE with Proxy-Authorization -> final response -> ACK (or, if it was a 2xx, ACK and BYE).
    Returns the final response to the authenticated INVITE (SipMessage) or None."""
    with SipClient(server, local_ip) as c:
        call_id = new_token(20) + "@" + local_ip
        tag = new_token(8)
        host = server[0]
        ruri = f"sip:{to_user}@{host}:{server[1]}"

        def invite(cseq, extra=()):
            branch = "z9hG4bK" + new_token(16)
            lines = [f"INVITE {ruri} SIP/2.0",
                     f"Via: SIP/2.0/UDP {local_ip}:{c.local_port};branch={branch};rport",
                     "Max-Forwards: 70",
                     f"From: <sip:{caller}@{host}>;tag={tag}",
                     f"To: <sip:{to_user}@{host}>",
                     f"Call-ID: {call_id}",
                     f"CSeq: {cseq} INVITE",
                     f"Contact: <sip:{caller}@{local_ip}:{c.local_port}>",
                     "User-Agent: switchboard-integration-test"]
            lines += list(extra)
            lines += ["Content-Length: 0", "", ""]
            return "\r\n".join(lines), branch

        def ack(resp, cseq, branch, uri=ruri):
            c.send("\r\n".join([
                f"ACK {uri} SIP/2.0",
                f"Via: SIP/2.0/UDP {local_ip}:{c.local_port};branch={branch};rport",
                "Max-Forwards: 70",
                f"From: <sip:{caller}@{host}>;tag={tag}",
                f"To: {resp.get('to')}",
                f"Call-ID: {call_id}",
                f"CSeq: {cseq} ACK",
                "Content-Length: 0", "", ""]))

        text, branch = invite(1)
        first = c.transact(text, branch, timeout)
        if first is None:
            return None
        ack(first, 1, branch)
        if first.status != 407:
            return first
        chal = next((ch for ch in first.challenges("proxy-authenticate")
                     if ch.get("algorithm", "MD5").upper() == "MD5"), None)
        if chal is None:
            raise AssertionError(f"the 407 offers no MD5 challenge:\n{first}")
        auth = authorization(chal, caller, password, "INVITE", ruri)
        text, branch = invite(2, [f"Proxy-Authorization: {auth}"])
        final = c.transact(text, branch, timeout)
        if final is None:
            return None
        if final.status >= 300:
            ack(final, 2, branch)
        else:  # unexpectedly answered: end the call
            contacts = final.contacts()
            uri = contacts[0][0] if contacts else ruri
            ack(final, 2, "z9hG4bK" + new_token(16), uri)
            c.send("\r\n".join([
                f"BYE {uri} SIP/2.0",
                f"Via: SIP/2.0/UDP {local_ip}:{c.local_port};branch=z9hG4bK{new_token(16)};rport",
                "Max-Forwards: 70",
                f"From: <sip:{caller}@{host}>;tag={tag}",
                f"To: {final.get('to')}",
                f"Call-ID: {call_id}",
                "CSeq: 3 BYE",
                "Content-Length: 0", "", ""]))
        return final
