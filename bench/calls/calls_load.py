#!/usr/bin/env python3
"""Calls per second and memory per call: Switchboard beside SIPp's ceiling and Kamailio, in one run.

Rate searches, one after the other, all with the anchors' lib/find-max-cps.sh and lib/uac-rr.xml
unchanged (../shared/anchors/sip-load, or $SB_ANCHORS): a SIPp UAC on 127.0.0.1:5070 places
INVITE/200/ACK/BYE calls (no hold) through the target to a SIPp UAS on 127.0.0.1:5080; a trial at
R calls/s sends R*DUR calls and passes only if every call succeeded at (at least 95 % of) R; the
search doubles from the start rate while trials pass, then bisects to REL_RES (10 %). After a
failed trial the search waits COOLDOWN_FAIL = 40 s (find-max-cps.sh's own default is 8 s), for
all three targets alike: a B2BUA retransmits every 2xx whose ACK was lost for 64*T1 = 32 s, so
with 8 s the overload of one trial spills into the next and fails rates that pass on their own.
  ceiling:     SIPp UAC -> SIPp UAS directly (the anchors' sipp-ceiling.sh)
  kamailio:    a transaction-stateful record-routing proxy (the anchors' anchor-kamailio.sh,
               SKIP_HOLD=1: only the search without hold)
  switchboard: `switchboard run` on its embedded PostgreSQL, [calls] trusted_peers = the UAC's
               address (no digest, no calling extension), and a dialplan loaded with
               `switchboard dialplan load` that bridges every call to the SIPp UAS: the B2BUA runs
               the Lua dialplan for every call and keeps two dialogs per call. [media] mode =
               "direct": SIP only, as through the proxy.
  switchboard-anchored: the same with every call's RTP anchored on Switchboard's relay (the
               default mode: four sockets per call, SDP rewritten both ways), which no proxy does.
find-max-cps.sh samples the CPU of the target's process tree (MONITOR_PID), of the UAC and of the
UAS over each trial's load window; CPU per call is CPU% / rate, and the figure to compare is the
target's CPU per call divided by the UAC's in the same trial (the anchors' summarize.py).

Memory per concurrent call: a fresh `switchboard run` holds --mem-calls calls at once (the same
UAC with -d HOLD, -l N -m N at --mem-rate calls/s, the UAS answering); its RSS and PSS
(/proc/PID/status, /proc/PID/smaps_rollup) are sampled idle before the load, when the last call
is up, at the plateau --mem-settle (35) s later, once the transactions of the setups have ended
(Timer L/M, 64*T1 = 32 s) and only the calls remain, and after all calls have ended;
(plateau - idle) / calls is the figure.
--mem-waves 2 repeats the wave on the same process: a second plateau well above the first means
memory is not reused (a leak). Kamailio is not measured here: the anchor's configuration keeps no
state for an established call once the INVITE transaction has ended (no dialog module), so there
is nothing per call to set beside a B2BUA's two dialogs.

Loopback only; bounded in time (find-max-cps.sh bounds each trial, every phase has a deadline);
every process started here is stopped by its PID (Switchboard by SIGTERM, which stops its
embedded PostgreSQL), and the Switchboard data directory is removed. Trial folders (SIPp's
statistics, screens and output) are kept under the printed results directory.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] calls: {msg}", file=sys.stderr, flush=True)


# --- anchors ---------------------------------------------------------------------------------------

def find_anchors(arg):
    """The sip-load folder: $SB_ANCHORS (the sip-load folder itself or the anchors root)."""
    cands = [arg] if arg else [os.path.join(ROOT, "..", "shared", "anchors", "sip-load")]
    for c in cands:
        for d in (c, os.path.join(c, "sip-load")):
            if os.path.isfile(os.path.join(d, "lib", "find-max-cps.sh")):
                return os.path.abspath(d)
    sys.exit(f"anchors not found (need lib/find-max-cps.sh under {cands[0]}): set SB_ANCHORS")


# --- processes and ports -----------------------------------------------------------------------------

def udp_busy(port):
    r = subprocess.run(["ss", "-Hlun", f"sport = :{port}"], capture_output=True, text=True)
    return bool(r.stdout.strip())


def wait_udp_free(ports, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        busy = [p for p in ports if udp_busy(p)]
        if not busy:
            return True
        time.sleep(0.5)
    log(f"UDP port(s) {busy} still in use after {secs} s (another load test on this machine?)")
    return False


def free_port():
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                t.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def alive(pid):
    return pid is not None and os.path.exists(f"/proc/{pid}")


def stop_pid(pid, sig=signal.SIGTERM, wait_s=30, popen=None):
    """Signal one process we started and wait for it; SIGKILL after wait_s."""
    if pid is None:
        return
    try:
        os.kill(pid, sig)
    except OSError:
        return
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if popen is not None:
            if popen.poll() is not None:
                return
        elif not alive(pid):
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    if popen is not None:
        popen.wait()


def run_bounded(cmd, env, secs, stdout_path):
    """Runs an anchor script (progress on our stderr); on its deadline, SIGTERM it (its trap stops
    the SIPp processes it started). Returns its stdout."""
    with open(stdout_path, "w") as out:
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=sys.stderr)
        try:
            p.wait(timeout=secs)
        except subprocess.TimeoutExpired:
            log(f"{os.path.basename(cmd[0])} still running after {secs} s: stopping it (pid {p.pid})")
            stop_pid(p.pid, wait_s=60, popen=p)
    with open(stdout_path) as f:
        return f.read()


def child_pids(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def pg_cpu_s(data_dir):
    """CPU seconds the embedded PostgreSQL has used: its postmaster (with the children it has
    reaped) and its live children (the backends of the PBX's connections, the writers). None
    when it is not running."""
    try:
        with open(os.path.join(data_dir, "pg", "postmaster.pid")) as f:
            pm = int(f.readline())
    except (OSError, ValueError):
        return None

    def ticks(pid, with_reaped):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0
        # fields[11:15] are utime, stime, cutime, cstime (proc(5) fields 14 to 17)
        return sum(int(x) for x in fields[11:15 if with_reaped else 13])

    total = ticks(pm, True) + sum(ticks(c, False) for c in child_pids(pm))
    return total / os.sysconf("SC_CLK_TCK")


def stored_call_records(sb):
    """How many call records the PBX has stored: the newest id (ids count up from 1)."""
    r = subprocess.run([sb.binary, "calls", "list", "--limit", "1", "--data-dir", sb.data,
                        "--config", sb.cfg, "--log-level", "warn"],
                       capture_output=True, text=True, timeout=120)
    m = re.search(r"(?m)^(\d+) ", r.stdout)
    return int(m.group(1)) if m else 0


def mem_kb(pid):
    """(VmRSS, Pss) in KiB of one process."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def anchor_env(**kv):
    env = {k: v for k, v in os.environ.items() if k not in (
        "MONITOR_PID", "OUT_DIR", "LABEL", "HOLD_MS", "START_CPS", "UAS_PORT", "UAC_PORT",
        "START_UAS", "RES_BASE", "SKIP_HOLD", "DUR", "REL_RES")}
    env.update({k: str(v) for k, v in kv.items()})
    return env


# --- switchboard ---------------------------------------------------------------------------------

class Switchboard:
    """`switchboard run` under coreutils timeout (a hard bound); .pid is switchboard's own PID."""

    def __init__(self, binary, work, uac_port, uas_port, port, limit_s, media="direct"):
        self.binary, self.port = binary, port
        self.work = work = os.path.join(work, media)
        os.makedirs(work, exist_ok=True)
        self.data = os.path.join(work, "data")
        self.cfg = os.path.join(work, "switchboard.toml")
        self.lua = os.path.join(work, "bench-route.lua")
        self.limit_s = limit_s
        self.wrapper = self.pid = None
        self.logf = None
        if not os.path.isdir(self.data):
            os.makedirs(self.data)
            os.chmod(work, 0o755)       # PostgreSQL runs as the postgres user when we are root
            os.chmod(self.data, 0o755)
            with open(self.cfg, "w") as f:
                f.write('log_level = "warn"\n[calls]\n'
                        f'trusted_peers = ["127.0.0.1:{uac_port}"]\n'
                        f'[media]\nmode = "{media}"\n')
            with open(self.lua, "w") as f:
                f.write("-- scripts/bench calls: every call to the SIPp UAS\n"
                        "function route(call)\n"
                        f'  call:bridge{{"sip:" .. call.to .. "@127.0.0.1:{uas_port}", timeout = 10}}\n'
                        "end\n")
            r = subprocess.run([binary, "dialplan", "load", self.lua, "--data-dir", self.data,
                                "--config", self.cfg, "--comment", "scripts/bench calls"],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                sys.exit("switchboard dialplan load failed:\n" + r.stdout + r.stderr)
            log(r.stdout.strip())

    def start(self, log_path):
        self.logf = open(log_path, "w")
        self.wrapper = subprocess.Popen(
            ["timeout", "-k", "10", str(self.limit_s), self.binary, "run", "--data-dir", self.data,
             "--config", self.cfg, "--sip-listen", f"127.0.0.1:{self.port}", "--log-level", "warn"],
            stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.pid is None:
                kids = child_pids(self.wrapper.pid)
                self.pid = kids[0] if kids else None
            with open(log_path, errors="replace") as f:
                text = f.read()
            if "SIP listening on UDP" in text and "Dialplan:" in text and self.pid:
                time.sleep(1)
                return
            if self.wrapper.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        sys.exit(f"switchboard did not start: see {log_path}")

    def stop(self):
        """SIGTERM (timeout forwards it): switchboard stops its embedded PostgreSQL."""
        if self.wrapper is None:
            return
        pg = os.path.join(self.data, "pg", "postmaster.pid")
        stop_pid(self.wrapper.pid, signal.SIGTERM, 90, self.wrapper)
        self.wrapper = self.pid = None
        if self.logf:
            self.logf.close()
            self.logf = None
        # Only if switchboard had to be killed: its PostgreSQL (our child's child) is left running.
        try:
            with open(pg) as f:
                pm = int(f.readline())
            if alive(pm):
                log(f"embedded PostgreSQL {pm} still running after switchboard stopped: SIGINT")
                stop_pid(pm, signal.SIGINT, 30)
        except (OSError, ValueError):
            pass


# --- results --------------------------------------------------------------------------------------

def read_search(d):
    """result.txt + trials.tsv of one find-max-cps.sh search."""
    r = {"dir": d}
    try:
        for line in open(os.path.join(d, "result.txt")):
            for kv in line.replace("at_max:", "").split():
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    r[k] = v
    except OSError:
        return None
    rows = []
    try:
        lines = open(os.path.join(d, "trials.tsv")).read().splitlines()
        head = lines[0].split("\t")
        rows = [dict(zip(head, l.split("\t"))) for l in lines[1:] if l.strip()]
    except (OSError, IndexError):
        pass
    r["rows"] = rows
    return r


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def per_call_us(cpu_pct, rate):
    c, r = num(cpu_pct), num(rate)
    return None if c is None or not r else c / 100.0 / r * 1e6


def search_figures(r, tgt_key):
    """max, first fail, target and UAC µs per call at max, their ratio, ratio over passing trials."""
    mx = r.get("max_cps")
    t = per_call_us(r.get(tgt_key + "_pct"), mx)
    u = per_call_us(r.get("uac_cpu_pct"), mx)
    col = {"target_cpu": "tgt_cpu", "uas_cpu": "uas_cpu"}[tgt_key]
    ratios = []
    for row in r["rows"]:
        a, b = num(row.get(col)), num(row.get("uac_cpu"))
        if row.get("pass") == "PASS" and a is not None and b:
            ratios.append(a / b)
    return {"max": int(num(mx) or 0), "fail": r.get("first_fail_cps", "?"),
            "cpu_pct": r.get(tgt_key + "_pct", "NA"), "tgt_us": t, "uac_us": u,
            "ratio": (t / u) if (t is not None and u) else None, "ratios": ratios,
            "pss_kb": num(r.get("target_pss_kb")), "trials": len(r["rows"])}


def fmt(v, spec=".0f"):
    return "NA" if v is None else format(v, spec)


def print_table(rows):
    print("\n| target | highest zero-failure calls/s | first failing | CPU % at max (100 = 1 core) "
          "| CPU µs/call | SIPp UAC CPU µs/call | CPU per call / UAC's (at max) "
          "| same, all passing trials: median (min..max) | trials |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for name, f in rows:
        if f is None:
            print(f"| {name} | not measured | | | | | | | |")
            continue
        rs = f["ratios"]
        spread = (f"{statistics.median(rs):.2f} ({min(rs):.2f}..{max(rs):.2f})" if rs else "NA")
        print(f"| {name} | {f['max']:,} | {f['fail']} | {f['cpu_pct']} | {fmt(f['tgt_us'])} "
              f"| {fmt(f['uac_us'])} | {fmt(f['ratio'], '.2f')} | {spread} | {f['trials']} |")


# --- memory per concurrent call -----------------------------------------------------------------------

def sipp_stats(path):
    """The last line of a SIPp -trace_stat file as a dict (None while empty)."""
    try:
        lines = [l for l in open(path, errors="replace").read().splitlines() if l.strip()]
    except OSError:
        return None
    if len(lines) < 2:
        return None
    return dict(zip(lines[0].split(";"), lines[-1].split(";")))


def ival(st, key):
    try:
        return int(st.get(key, "0"))
    except (AttributeError, ValueError):
        return 0


def memory_wave(args, anchors, sb, wdir, wave):
    """One wave of args.mem_calls calls held at once; returns the samples (KiB) or None."""
    n, rate, hold = args.mem_calls, args.mem_rate, args.mem_hold_ms
    ramp = n / rate
    limit = int(ramp + hold / 1000 + 60)
    os.makedirs(wdir, exist_ok=True)
    if not wait_udp_free([args.uac_port, args.uas_port], 60):
        return None
    idle = mem_kb(sb.pid)
    uas = subprocess.Popen(["timeout", "-k", "3", str(limit + 20), "sipp", "-sn", "uas", "-i", "127.0.0.1",
                            "-p", str(args.uas_port), "-nostdin", "-buff_size", "4194304",
                            "-trace_stat", "-stf", os.path.join(wdir, "uas.csv"), "-fd", "1",
                            "-trace_err"], cwd=wdir, stdout=open(os.path.join(wdir, "uas.out"), "w"),
                           stderr=subprocess.STDOUT)
    uac = None
    res = {"wave": wave, "idle": idle}
    try:
        t0 = time.time()
        while not udp_busy(args.uas_port) and time.time() - t0 < 5:
            time.sleep(0.1)
        uac = subprocess.Popen(["timeout", "-k", "3", str(limit + 10), "sipp", f"127.0.0.1:{sb.port}",
                                "-sf", os.path.join(anchors, "lib", "uac-rr.xml"), "-i", "127.0.0.1",
                                "-p", str(args.uac_port), "-r", str(rate), "-rp", "1000", "-m", str(n),
                                "-l", str(n), "-d", str(hold), "-recv_timeout", "5000",
                                "-timeout", f"{limit}s", "-nostdin", "-buff_size", "4194304",
                                "-trace_stat", "-stf", os.path.join(wdir, "uac.csv"), "-fd", "1",
                                "-trace_err", "-trace_screen", "-screen_file",
                                os.path.join(wdir, "uac-screen.log")],
                               cwd=wdir, stdout=open(os.path.join(wdir, "uac.out"), "w"),
                               stderr=subprocess.STDOUT)
        t0 = time.time()
        # The plateau: every call placed, the UAC and the UAS both hold n calls, none failed.
        # (A call whose 200 did not come within 5 s would have failed: -recv_timeout 5000.)
        plateau_by = t0 + hold / 1000.0 - 3
        up = False
        while time.time() < plateau_by and uac.poll() is None:
            a, b = sipp_stats(os.path.join(wdir, "uac.csv")), sipp_stats(os.path.join(wdir, "uas.csv"))
            if a and b and ival(a, "FailedCall(C)") > 0:
                break
            if (a and b and ival(a, "OutgoingCall(C)") >= n and ival(a, "CurrentCall") >= n
                    and ival(b, "CurrentCall") >= n and time.time() - t0 >= ramp + 5):
                up = True
                break
            time.sleep(0.5)
        res["setup_s"] = time.time() - t0
        if up:
            res["early"] = mem_kb(sb.pid)   # transactions of the setups still in Timer L/M/K
            settle_until = min(time.time() + args.mem_settle, t0 + hold / 1000.0 - 8)
            res["settled_s"] = settle_until - time.time()
            while time.time() < settle_until and uac.poll() is None:
                time.sleep(0.5)
            samples = []
            for _ in range(5):
                samples.append(mem_kb(sb.pid))
                time.sleep(1)
            a, b = sipp_stats(os.path.join(wdir, "uac.csv")), sipp_stats(os.path.join(wdir, "uas.csv"))
            res["plateau"] = max(samples)
            res["still_up"] = min(ival(a, "CurrentCall"), ival(b, "CurrentCall"))
            res["failed_at_plateau"] = ival(a, "FailedCall(C)")
        else:
            res["plateau"] = None
            log(f"memory wave {wave}: {n} calls never all up by {plateau_by - t0:.0f} s: see {wdir}")
        uac.wait(timeout=limit + 20)
        time.sleep(3)
        res["after"] = mem_kb(sb.pid)
        st = sipp_stats(os.path.join(wdir, "uac.csv")) or {}
        res["ok"], res["failed"] = ival(st, "SuccessfulCall(C)"), ival(st, "FailedCall(C)")
        res["retrans"] = ival(st, "Retransmissions(C)")
        res["uac_rc"] = uac.returncode
    finally:
        if uac is not None and uac.poll() is None:
            stop_pid(uac.pid, popen=uac)
        stop_pid(uas.pid, popen=uas, wait_s=10)
    return res


def memory_phase(args, anchors, sb, out):
    log(f"memory: fresh switchboard, {args.mem_waves} wave(s) of {args.mem_calls} calls held "
        f"{args.mem_hold_ms / 1000:.0f} s, set up at {args.mem_rate}/s")
    sb.start(os.path.join(out, "switchboard-memory.log"))
    waves = []
    try:
        time.sleep(2)
        for w in range(1, args.mem_waves + 1):
            r = memory_wave(args, anchors, sb, os.path.join(out, f"memory-wave{w}"), w)
            if r is None:
                break
            waves.append(r)
            log(f"memory wave {w}: (rss, pss) KiB idle {r['idle']}, all up after {r['setup_s']:.0f} s "
                f"{r.get('early')}, {r.get('settled_s', 0):.0f} s later {r['plateau']} with "
                f"{r.get('still_up')} calls up; after {r['after']}; ok={r['ok']} failed={r['failed']} "
                f"retrans={r['retrans']} sipp rc={r['uac_rc']}")
            time.sleep(2)
    finally:
        sb.stop()
    return waves


def print_memory(args, waves):
    n = args.mem_calls
    print(f"\nmemory per concurrent call: Switchboard holding {n:,} calls (SIPp UAC -d {args.mem_hold_ms}, "
          f"-r {args.mem_rate}, -l/-m {n}), KiB of the switchboard process (its PostgreSQL excluded)")
    print(f"plateau = {args.mem_settle} s after the last call was up"
          + (" (the setups' transactions, 64*T1 = 32 s, gone)" if args.mem_settle > 32 else "")
          + "; 'all up' = the moment the last call was up")
    print("\n| wave | RSS idle | RSS all up | RSS plateau | RSS after all ended | PSS idle | PSS plateau "
          "| (RSS plateau - idle) / call | (PSS plateau - idle) / call | (RSS all up - idle) / call "
          "| calls up at plateau | calls ok / failed |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    first_idle = waves[0]["idle"] if waves else None
    for r in waves:
        i, p, a, e = r["idle"], r["plateau"], r["after"], r.get("early")
        if p:
            dr, dp, de = (p[0] - i[0]) / n, (p[1] - i[1]) / n, (e[0] - i[0]) / n
            print(f"| {r['wave']} | {i[0]:,} | {e[0]:,} | {p[0]:,} | {a[0]:,} | {i[1]:,} | {p[1]:,} "
                  f"| {dr:.1f} | {dp:.1f} | {de:.1f} | {r['still_up']:,} | {r['ok']:,} / {r['failed']:,} |")
        else:
            print(f"| {r['wave']} | {i[0]:,} | not reached | | {a[0]:,} | {i[1]:,} | | | | | | "
                  f"{r['ok']:,} / {r['failed']:,} |")
    if waves and waves[0]["plateau"]:
        w1 = waves[0]
        per = (w1["plateau"][0] - w1["idle"][0]) / n
        print(f"\nmemory per call (wave 1, RSS): {per:.1f} KiB (target: at most 16 KiB) "
              f"{'met' if per <= 16 else 'NOT met'}")
        for r in waves[1:]:
            if r["plateau"]:
                print(f"wave {r['wave']} plateau - wave 1 plateau: {r['plateau'][0] - w1['plateau'][0]:+,} KiB RSS "
                      f"({(r['plateau'][0] - w1['plateau'][0]) / n:+.1f} KiB per call; near 0 = memory reused)")
        last = waves[-1]["after"]
        print(f"after the last wave ended: RSS {last[0]:,} KiB ({last[0] - first_idle[0]:+,} against the first idle)")


# --- main ---------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--switchboard", default=os.environ.get("SB_SWITCHBOARD"),
                    help="the switchboard binary (or $SB_SWITCHBOARD)")
    ap.add_argument("--anchors", default=os.environ.get("SB_ANCHORS"),
                    help="../shared/anchors/sip-load (or $SB_ANCHORS)")
    ap.add_argument("--dur", type=int, default=10, help="seconds of load per trial (DUR)")
    ap.add_argument("--rel-res", default="0.1", help="search resolution (REL_RES)")
    ap.add_argument("--ceiling-start", type=int, default=2000, help="START_CPS of the SIPp-only search")
    ap.add_argument("--kamailio-start", type=int, default=400)
    ap.add_argument("--switchboard-start", type=int, default=300)
    ap.add_argument("--uac-port", type=int, default=5070, help="find-max-cps.sh UAC_PORT (switchboard "
                    "search and memory; the anchors' scripts always use 5070)")
    ap.add_argument("--uas-port", type=int, default=5080, help="UAS_PORT, as above (5080)")
    ap.add_argument("--cooldown-fail", type=int, default=int(os.environ.get("COOLDOWN_FAIL", 40)),
                    help="find-max-cps.sh COOLDOWN_FAIL for all three searches (s; its default: 8)")
    ap.add_argument("--mem-calls", type=int, default=10000)
    ap.add_argument("--mem-rate", type=int, default=1000)
    ap.add_argument("--mem-hold-ms", type=int, default=60000)
    ap.add_argument("--mem-settle", type=int, default=35,
                    help="seconds between the last call up and the plateau sample (Timer L/M: 32 s)")
    ap.add_argument("--mem-waves", type=int, default=2)
    ap.add_argument("--only", default="ceiling,kamailio,switchboard,switchboard-anchored,memory",
                    help="comma-separated subset of ceiling,kamailio,switchboard,switchboard-anchored,memory")
    ap.add_argument("--out", help="results directory (default: a new /tmp/sb-calls-* directory, kept)")
    args = ap.parse_args()
    if not args.switchboard or not os.access(args.switchboard, os.X_OK):
        sys.exit("give the switchboard binary: --switchboard PATH or SB_SWITCHBOARD")
    args.switchboard = os.path.abspath(args.switchboard)
    for tool in ("sipp", "ss", "timeout"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/deps.sh bench")
    if args.mem_calls / args.mem_rate + args.mem_settle + 15 > args.mem_hold_ms / 1000:
        sys.exit("--mem-hold-ms must exceed the ramp (mem-calls / mem-rate) + --mem-settle by 15 s")
    phases = set(args.only.split(","))
    anchors = find_anchors(args.anchors)
    out = args.out or tempfile.mkdtemp(prefix=f"sb-calls-{time.strftime('%Y%m%d-%H%M%S')}-", dir="/tmp")
    os.makedirs(out, exist_ok=True)
    os.chmod(out, 0o755)
    work = tempfile.mkdtemp(prefix="sb-calls-data-", dir="/tmp")
    os.chmod(work, 0o755)
    # A private copy, so that a rebuild during the run cannot change the binary between phases.
    binary = os.path.join(work, "switchboard")
    shutil.copy2(args.switchboard, binary)
    print(f"# anchors: {anchors} (find-max-cps.sh sha256 "
          f"{subprocess.run(['sha256sum', os.path.join(anchors, 'lib', 'find-max-cps.sh')], capture_output=True, text=True).stdout[:12]}, "
          f"uac-rr.xml sha256 {subprocess.run(['sha256sum', os.path.join(anchors, 'lib', 'uac-rr.xml')], capture_output=True, text=True).stdout[:12]})")
    print(f"# switchboard: {args.switchboard} (modified {time.strftime('%Y-%m-%d %H:%M', time.localtime(os.path.getmtime(args.switchboard)))}, "
          f"sha256 {subprocess.run(['sha256sum', args.switchboard], capture_output=True, text=True).stdout[:12]}; run from a copy)")
    print(f"# sipp: {(subprocess.run(['sipp', '-v'], capture_output=True, text=True).stdout.split() or ['?'])[1]}")
    print(f"# DUR={args.dur} s per trial, REL_RES={args.rel_res}, COOLDOWN_FAIL={args.cooldown_fail} s; results (trial folders): {out}", flush=True)
    # Rough time bound per search: up to 16 trials of DUR + setup + cooldown.
    search_limit = 16 * (args.dur + 30 + args.cooldown_fail) + 120
    sb = None
    found = {}
    try:
        if "ceiling" in phases:
            log("1/4 SIPp ceiling (sipp-ceiling.sh)")
            wait_udp_free([5070, 5080], 120)
            d = os.path.join(out, "sipp-direct")
            o = run_bounded([os.path.join(anchors, "sipp-ceiling.sh")],
                            anchor_env(OUT_DIR=d, DUR=args.dur, START_CPS=args.ceiling_start,
                                       REL_RES=args.rel_res, COOLDOWN_FAIL=args.cooldown_fail),
                            search_limit, os.path.join(out, "sipp-ceiling.out"))
            print("# " + (o.strip().splitlines() or ["sipp-ceiling: no output"])[-1], flush=True)
            found["ceiling"] = d
        if "kamailio" in phases:
            log("2/4 Kamailio (anchor-kamailio.sh, SKIP_HOLD=1)")
            wait_udp_free([5070, 5080], 120)
            d = os.path.join(out, "kamailio")
            o = run_bounded([os.path.join(anchors, "anchor-kamailio.sh")],
                            anchor_env(RES_BASE=d, SKIP_HOLD=1, DUR=args.dur, START_CPS=args.kamailio_start,
                                       REL_RES=args.rel_res, COOLDOWN_FAIL=args.cooldown_fail),
                            search_limit + 300, os.path.join(out, "kamailio.out"))
            print("# " + (o.strip().splitlines() or ["anchor-kamailio: no output"])[-1], flush=True)
            found["kamailio"] = os.path.join(d, "hold0")
        # Switchboard twice: SIP only ([media] mode = "direct": SDP passes through, as through
        # Kamailio, which touches no media), and with every call's RTP anchored on its relay (the
        # default: four sockets per call, SDP rewritten), which a proxy never does.
        for key, media, label in (("switchboard", "direct", "3/4 Switchboard, SIP only"),
                                  ("switchboard-anchored", "anchor", "3/4 Switchboard, RTP anchored")):
            if key not in phases:
                continue
            log(f"{label} (find-max-cps.sh, MONITOR_PID = switchboard)")
            wait_udp_free([args.uac_port, args.uas_port], 120)
            one = Switchboard(binary, work, args.uac_port, args.uas_port, free_port(),
                              search_limit + 600, media=media)
            one.start(os.path.join(out, f"{key}-search.log"))
            d = os.path.join(out, key)
            try:
                idle = mem_kb(one.pid)
                pg0 = pg_cpu_s(one.data)
                o = run_bounded([os.path.join(anchors, "lib", "find-max-cps.sh"), f"127.0.0.1:{one.port}"],
                                anchor_env(OUT_DIR=d, LABEL=key, MONITOR_PID=one.pid, DUR=args.dur,
                                           START_CPS=args.switchboard_start, REL_RES=args.rel_res,
                                           COOLDOWN_FAIL=args.cooldown_fail,
                                           UAC_PORT=args.uac_port, UAS_PORT=args.uas_port),
                                search_limit, os.path.join(out, f"{key}-search.out"))
                end = mem_kb(one.pid)
                print(f"# {key} {(o.strip().splitlines() or ['max_cps=?'])[-1]}; its RSS before the "
                      f"search {idle[0]:,} KiB, after {end[0]:,} KiB (pid {one.pid})", flush=True)
                # Every call's record goes to PostgreSQL (batched, through the spool): not in the
                # search's CPU figures (PostgreSQL is not switchboard's child), so said here.
                time.sleep(2)  # the last batch
                pg1, records = pg_cpu_s(one.data), stored_call_records(one)
                if pg0 is not None and pg1 is not None and records:
                    print(f"# {key}: PostgreSQL during the search: {pg1 - pg0:.1f} CPU-s for "
                          f"{records:,} call records stored, {1e6 * (pg1 - pg0) / records:.0f} µs per "
                          f"call", flush=True)
            finally:
                one.stop()
            found[key] = d
        waves = []
        if "memory" in phases:
            # SIP state per call (direct media: 10,000 anchored calls would need 40,000 RTP ports)
            sb = Switchboard(binary, work, args.uac_port, args.uas_port, free_port(),
                             search_limit + 600, media="direct")
            log("4/4 memory per concurrent call")
            waves = memory_phase(args, anchors, sb, out)
    finally:
        if sb is not None:
            sb.stop()
        shutil.rmtree(work, ignore_errors=True)

    if found:
        print("\nsummarize.py (the anchors' summary of each search; us/call = CPU% / max_cps):")
        sys.stdout.flush()
        subprocess.run([os.path.join(anchors, "summarize.py")] +
                       [found[k] for k in ("ceiling", "kamailio", "switchboard", "switchboard-anchored")
                        if k in found])
        names = {"ceiling": ("SIPp UAC → SIPp UAS (ceiling; CPU is the UAS's)", "uas_cpu"),
                 "kamailio": ("SIPp UAC → Kamailio (stateful proxy, children=2) → SIPp UAS", "target_cpu"),
                 "switchboard": ("SIPp UAC → Switchboard (B2BUA + Lua dialplan, SIP only) → SIPp UAS", "target_cpu"),
                 "switchboard-anchored": ("SIPp UAC → Switchboard (the same, RTP anchored) → SIPp UAS",
                                          "target_cpu")}
        figs = {}
        rows = []
        for k in ("ceiling", "kamailio", "switchboard", "switchboard-anchored"):
            if k in found:
                r = read_search(found[k])
                figs[k] = search_figures(r, names[k][1]) if r else None
                rows.append((names[k][0], figs[k]))
        print_table(rows)
        kf, cf = figs.get("kamailio"), figs.get("ceiling")
        print()
        for key, what in (("switchboard", "SIP only"), ("switchboard-anchored", "RTP anchored")):
            sbf = figs.get(key)
            if sbf and cf and cf["max"]:
                print(f"Switchboard ({what})'s rate / SIPp ceiling: {100.0 * sbf['max'] / cf['max']:.0f} %")
            if sbf and kf and kf["max"]:
                print(f"Switchboard ({what})'s rate / Kamailio's: {sbf['max'] / kf['max']:.2f}")
            if sbf and kf and sbf["ratio"] and kf["ratio"]:
                print(f"Switchboard ({what})'s CPU per call / Kamailio's (each against the UAC of its "
                      f"own trial): {sbf['ratio'] / kf['ratio']:.2f}")
    if waves:
        print_memory(args, waves)
    print(f"\nresults (trial folders, SIPp output): {out}")


if __name__ == "__main__":
    main()
