#!/usr/bin/env python3
"""Authenticated registrations per second: Switchboard against SIPp's own ceiling, in one run.

For each target, a SIPp UAC sends REGISTER -> 401 -> REGISTER with MD5 digest -> 200 for
distinct users (one new Call-ID per registration), and the highest rate with zero failed
registrations is searched: double from --start while trials pass, then bisect to 10 %.
  reference:   SIPp UAC -> SIPp UAS (uas-register.xml: 401 then 200, checks nothing)
  switchboard: SIPp UAC -> `switchboard run` holding --extensions extensions (real digest check,
               bindings written to its embedded PostgreSQL)
A trial at rate R sends R*DUR registrations and passes iff every registration succeeded and
the rate SIPp achieved (its CallRate(C)) is at least 95 % of R. CPU per registration (user+sys from
/proc) is recorded for the target and the UAC, so the ratio target/UAC can be compared too.
Loopback only; every process started here is stopped by its PID.
"""
import argparse
import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLK = os.sysconf("SC_CLK_TCK")


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


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK
    except OSError:
        return 0.0


def last_stats(stat_file):
    with open(stat_file) as f:
        rows = list(csv.reader(f, delimiter=";"))
    head, last = rows[0], rows[-1]
    return {k: v for k, v in zip(head, last)}


def trial(target, rate, dur, users_csv, workdir, target_pid):
    calls = rate * dur
    tdir = tempfile.mkdtemp(prefix=f"trial-{rate}-", dir=workdir)
    stat = os.path.join(tdir, "stat.csv")
    cmd = ["sipp", target, "-sf", os.path.join(HERE, "uac-register.xml"), "-inf", users_csv,
           "-i", "127.0.0.1", "-p", str(free_port()), "-r", str(rate), "-m", str(calls),
           "-l", str(max(rate * 4, 100)), "-timeout", f"{dur * 3 + 20}s", "-timeout_error",
           "-buff_size", "4194304", "-trace_stat", "-stf", stat, "-trace_err", "-fd", "1", "-nostdin", "-bg"]
    # -bg forks: the UAC's PID is read from its pid line.
    t0 = time.time()
    target_cpu0 = cpu_seconds(target_pid) if target_pid else 0.0
    p = subprocess.Popen(cmd, cwd=tdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = p.communicate(timeout=30)
    m = re.search(r"PID=\[(\d+)\]", out)
    uac_pid = int(m.group(1)) if m else None
    uac_cpu0 = cpu_seconds(uac_pid) if uac_pid else 0.0
    uac_cpu = uac_cpu0
    deadline = t0 + dur * 3 + 30
    while uac_pid and os.path.exists(f"/proc/{uac_pid}") and time.time() < deadline:
        uac_cpu = cpu_seconds(uac_pid) or uac_cpu
        time.sleep(0.2)
    if uac_pid and os.path.exists(f"/proc/{uac_pid}"):
        os.kill(uac_pid, signal.SIGKILL)
    elapsed = time.time() - t0
    target_cpu = (cpu_seconds(target_pid) - target_cpu0) if target_pid else 0.0
    try:
        st = last_stats(stat)
        ok = int(st.get("SuccessfulCall(C)", 0))
        failed = int(st.get("FailedCall(C)", 0))
        retrans = int(st.get("Retransmissions(C)", 0))
        achieved = float(st.get("CallRate(C)", 0))  # SIPp's own: registrations started per second
    except (OSError, IndexError, ValueError):
        ok, failed, retrans, achieved = 0, calls, 0, 0.0
    passed = failed == 0 and ok == calls and achieved >= 0.95 * rate
    return {"rate": rate, "ok": ok, "failed": failed, "retrans": retrans, "elapsed": elapsed,
            "passed": passed, "target_cpu_us": 1e6 * target_cpu / max(ok, 1),
            "uac_cpu_us": 1e6 * (uac_cpu - 0) / max(ok, 1)}


def search(label, target, args, users_csv, workdir, target_pid):
    lo, hi, rate, best = 0, None, args.start, None
    while True:
        r = trial(target, rate, args.dur, users_csv, workdir, target_pid)
        print(f"  {label}: {rate}/s ok={r['ok']} failed={r['failed']} retrans={r['retrans']} "
              f"{'PASS' if r['passed'] else 'fail'} elapsed={r['elapsed']:.1f}s target_cpu={r['target_cpu_us']:.1f}us/reg "
              f"uac_cpu={r['uac_cpu_us']:.1f}us/reg", file=sys.stderr, flush=True)
        if r["passed"]:
            lo, best = rate, r
            if hi is None:
                rate = min(rate * 2, args.max)
                if rate == lo:
                    break
                time.sleep(2)
                continue
        else:
            hi = rate
            if lo == 0 and rate <= args.min:
                break
            time.sleep(5)
        if hi is not None and (lo == 0 or hi - lo > 0.1 * max(lo, 1)):
            rate = (lo + hi) // 2 if lo else max(rate // 2, args.min)
            if rate in (lo, hi):
                break
            continue
        break
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--switchboard", required=True)
    ap.add_argument("--extensions", type=int, default=10000)
    ap.add_argument("--dur", type=int, default=10)
    ap.add_argument("--start", type=int, default=500)
    ap.add_argument("--min", type=int, default=50)
    ap.add_argument("--max", type=int, default=40000)
    ap.add_argument("--shards", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the work directory (SIPp error logs)")
    ap.add_argument("--only-switchboard", action="store_true", help="skip the SIPp-only reference")
    args = ap.parse_args()
    if not shutil.which("sipp"):
        sys.exit("sipp is missing: run scripts/deps.sh bench")

    work = tempfile.mkdtemp(prefix="sb-regload-", dir="/tmp")
    os.chmod(work, 0o755)
    procs = []
    try:
        pw = "bench-pass-"
        users = os.path.join(work, "users.csv")
        ext_csv = os.path.join(work, "extensions.csv")
        with open(users, "w") as u, open(ext_csv, "w") as e:
            u.write("SEQUENTIAL\n")
            for i in range(args.extensions):
                n = 100000 + i
                u.write(f"{n};[authentication username={n} password={pw}{n}]\n")
                e.write(f"{n},{pw}{n}\n")

        # Reference: SIPp UAS.
        uas_port = free_port()
        uas = subprocess.Popen(["sipp", "-sf", os.path.join(HERE, "uas-register.xml"), "-i", "127.0.0.1",
                                "-p", str(uas_port), "-buff_size", "4194304", "-nostdin", "-bg"],
                               cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out, _ = uas.communicate(timeout=30)
        m = re.search(r"PID=\[(\d+)\]", out)
        if not m:
            sys.exit("sipp UAS did not start: " + out)
        uas_pid = int(m.group(1))
        procs.append(uas_pid)
        print(f"reference: SIPp UAC -> SIPp UAS (401 then 200) on 127.0.0.1:{uas_port}", file=sys.stderr)
        ref = None if args.only_switchboard else search("sipp-uas", f"127.0.0.1:{uas_port}", args, users, work, uas_pid)
        os.kill(uas_pid, signal.SIGTERM)

        # Switchboard with its embedded PostgreSQL.
        data = os.path.join(work, "d")
        os.makedirs(data)
        os.chmod(data, 0o755)
        cfg = os.path.join(work, "switchboard.toml")
        with open(cfg, "w") as f:
            f.write('log_level = "warn"\n[security]\ndigest_algorithms = ["MD5"]\nban_max_failures = 1000000\n')
            if args.shards:
                f.write(f"[sip]\nshards = {args.shards}\n")
        t = time.time()
        r = subprocess.run([args.switchboard, "ext", "import", ext_csv, "--data-dir", data, "--config", cfg],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("ext import failed: " + r.stdout + r.stderr)
        print(f"imported {args.extensions} extensions in {time.time() - t:.1f} s", file=sys.stderr)
        sb_port = free_port()
        sb = subprocess.Popen([args.switchboard, "run", "--data-dir", data, "--config", cfg,
                               "--sip-listen", f"127.0.0.1:{sb_port}"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
        procs.append(sb.pid)
        deadline = time.time() + 60
        while time.time() < deadline:
            line = sb.stdout.readline()
            if "SIP listening on UDP" in line or not line:
                break
        print(f"switchboard on 127.0.0.1:{sb_port} (pid {sb.pid})", file=sys.stderr)
        res = search("switchboard", f"127.0.0.1:{sb_port}", args, users, work, sb.pid)
        sb.send_signal(signal.SIGTERM)
        sb.wait(timeout=60)
        procs.remove(sb.pid)

        print("\n| target | max registrations/s (zero failures) | target CPU us/registration | SIPp UAC CPU us/registration |")
        print("|---|---|---|---|")
        for name, b in (("SIPp UAC -> SIPp UAS (ceiling)", ref), ("SIPp UAC -> Switchboard", res)):
            if b:
                print(f"| {name} | {b['rate']} | {b['target_cpu_us']:.1f} | {b['uac_cpu_us']:.1f} |")
            else:
                print(f"| {name} | none passed | | |")
        if ref and res:
            print(f"\nSwitchboard / ceiling = {100.0 * res['rate'] / ref['rate']:.0f} % (target: at least 80 %)")
    finally:
        for pid in procs:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if args.keep:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
