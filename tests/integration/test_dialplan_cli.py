#!/usr/bin/env python3
"""`switchboard dialplan load/list/show/activate/simulate` against a throwaway database, and a
running `switchboard run` following activations at once.

    python3 test_dialplan_cli.py --switchboard build/app/switchboard

The database is the embedded PostgreSQL in a temporary data directory (each command starts it
and stops it again, or shares the cluster of the running PBX).
"""

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SWITCHBOARD = os.environ.get("SB_SWITCHBOARD")

V1 = """-- office v1: everyone rings
function route(call)
  call:bridge{call.to, timeout = 25}
end
"""

V2 = """-- office v2: 2000 is the reception group
function route(call)
  if call.to == "2000" then
    call:bridge{"1001", "1002", timeout = 20}
  else
    call:bridge{call.to, timeout = 25}
  end
end
"""

# `end` is missing: Lua reports it where the file ends (line 6, after the last newline).
BROKEN = """-- broken: the function is never closed
function route(call)
  if call.to == "2000" then
    call:bridge("1001")
end
"""


def require_binary():
    if not SWITCHBOARD:
        raise AssertionError("give the binary: --switchboard PATH (or SB_SWITCHBOARD)")
    return h.require_file(SWITCHBOARD, "switchboard binary")


class Cli:
    """Runs `switchboard dialplan ...` on one data directory; returns (exit code, stdout, stderr)."""

    def __init__(self, binary, data_dir):
        self.binary = binary
        self.data_dir = data_dir

    def __call__(self, *args, timeout=120):
        cmd = [self.binary, "dialplan", *args, "--data-dir", self.data_dir]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")

    def ok(self, *args):
        code, out, err = self(*args)
        if code != 0:
            raise AssertionError(f"dialplan {' '.join(args)} failed ({code}):\n{out}\n{err}")
        return out


def list_rows(text):
    """`dialplan list` output as {version: (active, name)}."""
    rows = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if not parts or not parts[0].isdigit():
            continue
        active = parts[1] == "*"
        name = parts[5] if active else parts[4]
        rows[int(parts[0])] = (active, name)
    return rows


def write(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class DialplanCommands(unittest.TestCase):
    """load/list/show/activate on a fresh database, with no PBX running."""

    @classmethod
    def setUpClass(cls):
        binary = require_binary()
        cls.tmp = tempfile.mkdtemp(prefix="sbdp", dir="/tmp")  # short: the socket path is bounded
        os.chmod(cls.tmp, 0o755)
        cls.data = os.path.join(cls.tmp, "d")
        os.mkdir(cls.data, 0o755)
        cls.files = os.path.join(cls.tmp, "files")
        os.mkdir(cls.files)
        os.mkdir(os.path.join(cls.files, "v2"))
        cls.cli = Cli(binary, cls.data)

    @classmethod
    def tearDownClass(cls):
        h._stop_orphan_cluster(os.path.join(cls.data, "pg"))
        if not h.KEEP:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_versions(self):
        cli = self.cli
        # A script with errors is refused with its line, and nothing is stored.
        code, out, err = cli("load", write(self.files, "bad.lua", BROKEN))
        self.assertEqual(code, 1, out + err)
        self.assertRegex(err, r"bad\.lua:6: 'end' expected")
        self.assertIn("not stored", err)
        self.assertEqual(list_rows(cli.ok("list")), {})
        code, out, err = cli("show")
        self.assertEqual(code, 1)
        self.assertIn("no dialplan is active", err)

        # Two good versions: each load stores a new version and activates it.
        v1 = write(self.files, "office.lua", V1)
        v2 = write(os.path.join(self.files, "v2"), "office.lua", V2)
        self.assertIn("dialplan version 1 (office.lua) stored and active", cli.ok("load", v1))
        self.assertIn("dialplan version 2 (office.lua) stored and active",
                      cli.ok("load", v2, "--comment", "reception group"))
        listing = cli.ok("list")
        self.assertEqual(list_rows(listing), {1: (False, "office.lua"), 2: (True, "office.lua")},
                         listing)
        self.assertIn("(reception group)", listing)
        self.assertIn(f" {len(V1.encode())} ", listing)

        # show: a given version, or the active one by default.
        self.assertEqual(cli.ok("show", "1"), V1)
        self.assertEqual(cli.ok("show"), V2)

        # simulate runs the active version unless told otherwise.
        out = cli.ok("simulate", "--to", "2000", "--outcome", "busy", "--outcome", "noanswer")
        self.assertIn("dialplan version 2 (office.lua), active", out)
        self.assertIn("bridge 1001,1002 timeout=20 simultaneous -> busy", out)
        self.assertIn("-> call ends: 486 Busy Here", out)
        out = cli.ok("simulate", "--version", "1", "--to", "2000", "--outcome", "answered")
        self.assertIn("bridge 2000 timeout=25 simultaneous -> answered", out)

        # Rollback.
        self.assertIn("dialplan version 1 (office.lua) active", cli.ok("activate", "1"))
        self.assertEqual(list_rows(cli.ok("list")), {1: (True, "office.lua"), 2: (False, "office.lua")})
        self.assertEqual(cli.ok("show"), V1)

        # An unknown version is refused clearly and changes nothing.
        code, out, err = cli("activate", "99")
        self.assertEqual(code, 1, out + err)
        self.assertIn("dialplan version 99 does not exist", err)
        code, out, err = cli("show", "99")
        self.assertEqual(code, 1)
        self.assertIn("dialplan version 99 does not exist", err)
        self.assertEqual(list_rows(cli.ok("list")), {1: (True, "office.lua"), 2: (False, "office.lua")})

        # A file too large to store is refused before anything runs.
        big = write(self.files, "big.lua", "-- " + "x" * (256 * 1024) + "\nfunction route(call) end\n")
        code, out, err = cli("load", big)
        self.assertEqual(code, 1)
        self.assertIn("too large", err)


class RunningPbxFollowsActivation(unittest.TestCase):
    """`switchboard run` activates the shipped default on first start and swaps dialplans on
    NOTIFY; a version that does not compile is refused by the running PBX too."""

    @classmethod
    def setUpClass(cls):
        cls.sb = h.Switchboard(require_binary())
        cls.sb.start()
        cls.cli = Cli(cls.sb.binary, cls.sb.data_dir)

    @classmethod
    def tearDownClass(cls):
        cls.sb.close()

    def wait_output(self, text, within=20.0):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if text in self.sb.output():
                return
            time.sleep(0.1)
        self.fail(f"'{text}' not in the server's output within {within} s:\n{self.sb.output(last=30)}")

    def psql(self, sql):
        """SQL straight into the embedded database, as an administrator could (bypasses checks)."""
        psql = h.require_tool("psql")
        user = "postgres" if os.geteuid() == 0 else None
        cmd = [psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h",
               os.path.join(self.sb.data_dir, "pg-run"), "-d", "switchboard", "-c", sql]
        if user:
            cmd += ["-U", user]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        out = r.stdout.decode("utf-8", "replace")
        if r.returncode != 0:
            raise AssertionError(f"psql failed: {out}")
        return out.strip()

    def test_first_start_then_follow(self):
        self.assertIn("Dialplan: version 1 (default.lua)", self.sb.output())
        self.assertEqual(list_rows(self.cli.ok("list")), {1: (True, "default.lua")})
        self.assertIn("function route(call)", self.cli.ok("show"))

        tmp = tempfile.mkdtemp(prefix="sbdpf", dir="/tmp")
        try:
            self.assertIn("version 2 (office.lua) stored and active",
                          self.cli.ok("load", write(tmp, "office.lua", V1)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.wait_output("version 2 (office.lua) is now active (was version 1)")

        self.assertIn("version 1 (default.lua) active", self.cli.ok("activate", "1"))
        self.wait_output("version 1 (default.lua) is now active (was version 2)")

        # A broken version activated behind the CLI's back: logged, and the previous one stays.
        version = self.psql("insert into dialplans (name, source, sha256) values ('broken.lua', "
                            "'function route(call', repeat('0', 64)) returning version")
        self.psql(f"update dialplan_active set version = {int(version)}")
        self.wait_output(f"version {int(version)} (broken.lua) was activated but does not compile, "
                         f"version 1 stays in use")
        # ... and `dialplan activate` refuses it.
        code, out, err = self.cli("activate", version)
        self.assertEqual(code, 1)
        self.assertIn("does not compile", err)

        # A restart loads what is active (the broken one falls back to the shipped default).
        self.psql("update dialplan_active set version = 2")
        self.wait_output("version 2 (office.lua) is now active")
        self.sb.restart()
        run = self.sb.output().split("stopped")[-1]
        self.assertIn("Dialplan: version 2 (office.lua)", run)


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
