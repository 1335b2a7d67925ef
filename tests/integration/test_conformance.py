#!/usr/bin/env python3
"""RFC 4475 / RFC 5118 torture messages against a fresh `switchboard run`, over UDP and TCP.

    python3 test_conformance.py --switchboard build/app/switchboard \
        --runner ../shared/conformance/run-rfc4475.py

Passes only if the runner's last line reads "N passed, 0 failed" (and it exits 0). The runner
binds 127.0.0.x:5060 to receive the replies, so the server listens on a random port instead.
"""

import argparse
import os
import re
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SWITCHBOARD = os.environ.get("SB_SWITCHBOARD")
RUNNER = os.environ.get("SB_RFC4475_RUNNER")
RUNNER_TIMEOUT = 420  # 61 cases, 2 s window each at worst, plus liveness probes


class Rfc4475(unittest.TestCase):
    def run_transport(self, transport):
        h.require_file(SWITCHBOARD, "switchboard binary (--switchboard)")
        h.require_file(RUNNER, "RFC 4475 runner (--runner)")
        with h.Switchboard(SWITCHBOARD) as sb:
            cmd = [sys.executable, RUNNER, sb.host, str(sb.port), "--transport", transport]
            try:
                r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=RUNNER_TIMEOUT)
                out, code = r.stdout.decode("utf-8", "replace"), r.returncode
            except subprocess.TimeoutExpired as e:
                out = (e.stdout or b"").decode("utf-8", "replace")
                code = None
            alive = sb.proc is not None and sb.proc.poll() is None
            server_tail = sb.output(last=30)
        lines = out.strip().splitlines()
        last = lines[-1] if lines else ""
        m = re.fullmatch(r"(\d+) passed, (\d+) failed", last.strip())
        failed = [l for l in lines if l.startswith("FAIL")]
        report = (f"{' '.join(cmd)} -> exit code {code}\n"
                  f"failed cases:\n  " + "\n  ".join(failed or ["(none listed)"]) +
                  f"\n--- runner output ---\n{out}\n--- switchboard output (last lines) ---\n"
                  f"{server_tail}")
        print(f"\n[{transport}] {last}", file=sys.stderr)
        self.assertTrue(alive, "switchboard exited during the torture run\n" + report)
        self.assertIsNotNone(m, "the runner did not end with 'N passed, N failed'\n" + report)
        self.assertEqual(m.group(2), "0", report)
        self.assertGreater(int(m.group(1)), 0, report)
        self.assertEqual(code, 0, report)

    def test_udp(self):
        self.run_transport("udp")

    def test_tcp(self):
        self.run_transport("tcp")


def main():
    global SWITCHBOARD, RUNNER
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--switchboard", default=SWITCHBOARD, help="the switchboard binary")
    ap.add_argument("--runner", default=RUNNER, help="path of run-rfc4475.py")
    args, rest = ap.parse_known_args()
    SWITCHBOARD = os.path.abspath(args.switchboard) if args.switchboard else None
    RUNNER = os.path.abspath(args.runner) if args.runner else None
    h.install_signal_cleanup()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
