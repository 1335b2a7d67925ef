#!/usr/bin/env python3
"""Registrar integration tests: the real `switchboard run` (embedded PostgreSQL in a temporary
data dir), SIPp 3.6.1 as the MD5 peer, and harness.UserAgent (a minimal Python UAC) where SIPp
cannot do the job: RFC 7616/8760 SHA-256 digest (neither SIPp 3.6.1 nor baresip 1.0 has it),
reading stale=true, replaying an Authorization, and checking that nothing answers at all.

    python3 test_registrar.py --switchboard build/app/switchboard [unittest args, e.g. -k stale]

Each test class runs its own server on a random port; each test sends from its own
127.0.<block>.<n> address so a ban cannot leak from one test into another.
"""

import argparse
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SWITCHBOARD = os.environ.get("SB_SWITCHBOARD")


class ServerCase(unittest.TestCase):
    """One `switchboard run` per class, with CONFIG (TOML text or None) and EXTENSIONS added."""

    CONFIG = None
    EXTENSIONS = {}  # number -> password
    BLOCK = 1  # source addresses are 127.0.BLOCK.n

    @classmethod
    def setUpClass(cls):
        if not SWITCHBOARD:
            raise AssertionError("give the binary: --switchboard PATH (or SB_SWITCHBOARD)")
        h.require_tool("sipp")
        cls.sb = h.Switchboard(SWITCHBOARD, config=cls.CONFIG)
        cls.sb.__enter__()
        try:
            for number, password in cls.EXTENSIONS.items():
                cls.sb.ext_add(number, password)
            for number, password in cls.EXTENSIONS.items():
                cls.sb.wait_registrable(number, password)
        except BaseException:
            cls.sb.close()
            raise

    @classmethod
    def tearDownClass(cls):
        tail = cls.sb.output(last=40)
        cls.sb.close()
        print(f"\n--- last lines of switchboard output ({cls.__name__}) ---\n{tail}\n",
              file=sys.stderr)

    # helpers
    @property
    def server(self):
        return (self.sb.host, self.sb.port)

    def ip(self, n):
        return h.loopback(self.BLOCK, n)

    def ua(self, ext, n, password=None, transport="udp", **kw):
        ua = h.UserAgent(self.server, ext, password or self.EXTENSIONS.get(ext, "x"),
                         local_ip=self.ip(n), transport=transport, **kw)
        self.addCleanup(ua.close)
        return ua

    def sipp(self, scenario, ext, password, n, **kw):
        return h.sipp(scenario, self.server, ext, password, local_ip=self.ip(n), **kw)

    def assertSippOk(self, r, calls=1):
        msg = r.describe()
        self.assertEqual(r.returncode, 0, msg)
        self.assertEqual(r.successful, calls, msg)
        self.assertEqual(r.failed, 0, msg)

    def assertStatus(self, resp, status, what=""):
        self.assertIsNotNone(resp, f"{what}: no response (expected {status})")
        self.assertEqual(resp.status, status, f"{what}: expected {status}, got:\n{resp}")

    def bindings(self, ext, n, algorithm="MD5"):
        """{contact URI: params} as a query REGISTER by ext from 127.0.BLOCK.n sees them."""
        with h.UserAgent(self.server, ext, self.EXTENSIONS[ext], local_ip=self.ip(n)) as ua:
            return {uri: params for uri, params in ua.bindings(algorithm)}

    def contact_uri(self, ext, n, tag, port=5999):
        return f"sip:{ext}-{tag}@{self.ip(n)}:{port}"


class RegistrarDefaults(ServerCase):
    """The default configuration (no config file): realm switchboard, min_expires 60, ..."""

    BLOCK = 1
    EXTENSIONS = {
        "2001": "md5-udp-secret",
        "2002": "md5-tcp-secret",
        "2003": "sha256-secret",
        "2004": "right-secret-2004",
        "2005": "replay-secret",
        "2006": "unregister-secret",
        "2007": "three-at-once",
        "2008": "three-separately",
        "2009": "python-contacts",
        "2011": "disabled-secret",
        "2012": "min-expires-secret",
        "2013": "own-aor-secret",
        "2014": "old-password-2014",
        "2015": "nonce-count-secret",
    }

    # --- MD5 with SIPp ---------------------------------------------------------------------
    def test_md5_register_sipp_udp(self):
        """SIPp answers the 401 with MD5 digest; the 200 lists its contact; a query sees it."""
        contact = self.contact_uri("2001", 1, "sipp")
        r = self.sipp("register.xml", "2001", self.EXTENSIONS["2001"], 1, rows=[[contact, 300]])
        self.assertSippOk(r)
        self.assertIn(f"<{contact}>;expires=", " ".join(r.log_values("binding:")))
        b = self.bindings("2001", 2)
        self.assertEqual(set(b), {contact})
        self.assertTrue(0 < int(b[contact]["expires"]) <= 300, b)

    def test_md5_register_sipp_tcp(self):
        contact = self.contact_uri("2002", 3, "sipp")  # no ;params: ';' separates CSV fields
        r = self.sipp("register.xml", "2002", self.EXTENSIONS["2002"], 3, rows=[[contact, 300]],
                      transport="tcp")
        self.assertSippOk(r)
        self.assertEqual(set(self.bindings("2002", 4)), {contact})

    def test_wrong_password_sipp_gets_403(self):
        contact = self.contact_uri("2004", 5, "sipp")
        r = self.sipp("register_wrong_password.xml", "2004", "wrong-password-2004", 5,
                      rows=[[contact, 300]])
        self.assertSippOk(r)
        self.assertEqual(self.bindings("2004", 6), {}, "a rejected REGISTER created a binding")

    def test_unregister_sipp(self):
        """Register a contact, then remove it with ;expires=0: the 200 lists nothing."""
        contact = self.contact_uri("2006", 7, "sipp")
        pw = self.EXTENSIONS["2006"]
        self.assertSippOk(self.sipp("register.xml", "2006", pw, 7, rows=[[contact, 600]]))
        self.assertEqual(set(self.bindings("2006", 8)), {contact})
        self.assertSippOk(self.sipp("unregister.xml", "2006", pw, 7, rows=[[contact]]))
        self.assertEqual(self.bindings("2006", 8), {})

    def test_three_contacts_in_one_register_sipp(self):
        """One REGISTER with three Contact header fields: the 200 lists exactly three
        (checked by the scenario); then Contact: * with Expires: 0 removes them all."""
        contacts = [self.contact_uri("2007", 9, t) for t in ("a", "b", "c")]
        pw = self.EXTENSIONS["2007"]
        r = self.sipp("register_three_contacts.xml", "2007", pw, 9, rows=[contacts + [900]])
        self.assertSippOk(r)
        b = self.bindings("2007", 10)
        self.assertEqual(set(b), set(contacts))
        self.assertEqual(b[contacts[1]].get("q"), "0.5", b)
        self.assertSippOk(self.sipp("unregister_all.xml", "2007", pw, 9))
        self.assertEqual(self.bindings("2007", 10), {})

    def test_three_contacts_in_separate_registers_sipp(self):
        """Three REGISTERs (three SIPp calls, each its own Call-ID) add up to three bindings,
        which SIPp's query scenario then reads back."""
        contacts = [self.contact_uri("2008", 11, t) for t in ("x", "y", "z")]
        pw = self.EXTENSIONS["2008"]
        r = self.sipp("register.xml", "2008", pw, 11, rows=[[c, 900] for c in contacts], count=3)
        self.assertSippOk(r, calls=3)
        q = self.sipp("query.xml", "2008", pw, 11)
        self.assertSippOk(q)
        listed = [v for v in q.log_values("binding:") if v]
        self.assertEqual(sorted(v.split(">")[0].lstrip("<") for v in listed), sorted(contacts),
                         q.describe())

    def test_default_challenge_is_md5_only(self):
        """By default only MD5 is offered: the packaged MD5-only peers (SIPp 3.6, baresip 1.0) and
        many desk phones fail on a 401 whose first challenge is SHA-256."""
        ua = self.ua("2003", 12)
        resp = ua.request("REGISTER", [("Contact", ua.contact())])
        self.assertStatus(resp, 401, "REGISTER without credentials")
        self.assertEqual([c.get("algorithm") for c in resp.challenges()], ["MD5"], str(resp))

    # --- digest details -----------------------------------------------------------------
    def test_replayed_authorization_is_challenged(self):
        """The same Authorization (same nonce and nc) in a new transaction gets a fresh 401."""
        ua = self.ua("2005", 16)
        contact = ua.contact()
        first, final = ua.register([contact], expires=600)
        self.assertStatus(final, 200, "first use of the credentials")
        replay = ua.request("REGISTER", [("Contact", contact), ("Expires", "600"),
                                         ("Authorization", ua.last_authorization)])
        self.assertStatus(replay, 401, "replayed Authorization")
        nonces = [c.get("nonce") for c in replay.challenges()]
        self.assertTrue(nonces and all(nonces), str(replay))
        self.assertNotIn(ua.last_challenge["nonce"], nonces, "the replayed nonce was offered again")

    def test_nonce_reused_with_higher_nc_is_accepted(self):
        """RFC 7616 3.4.5: a client may reuse a nonce with an increasing nonce-count."""
        ua = self.ua("2015", 17)
        first, final = ua.register([ua.contact()], expires=600)
        self.assertStatus(final, 200)
        auth = h.authorization(ua.last_challenge, "2015", self.EXTENSIONS["2015"], "REGISTER",
                               ua.request_uri, nc=2)
        again = ua.request("REGISTER", [("Contact", ua.contact()), ("Expires", "600"),
                                        ("Authorization", auth)])
        self.assertStatus(again, 200, "same nonce, nc=00000002")

    def test_unknown_user_gets_403(self):
        ua = self.ua("2999", 18, password="no-such-user-pw")
        first, final = ua.register([ua.contact()])
        self.assertStatus(first, 401)
        self.assertStatus(final, 403, "unknown user")

    def test_may_register_only_own_aor(self):
        ua = self.ua("2013", 19)
        first, final = ua.register([ua.contact()], to_user="2001")
        self.assertStatus(final, 403, "2013's credentials for To: 2001")
        self.assertNotIn(ua.contact()[1:-1], self.bindings("2001", 20))

    def test_expires_below_minimum_gets_423(self):
        ua = self.ua("2012", 21)
        first, final = ua.register([ua.contact()], expires=30)
        self.assertStatus(final, 423, "Expires: 30 with min_expires 60")
        self.assertEqual(final.get("min-expires"), "60", str(final))
        self.assertEqual(self.bindings("2012", 22), {})

    # --- contacts with the Python UAC ----------------------------------------------------
    def test_contacts_add_remove_python(self):
        """Two contacts in one REGISTER, a third in another, removal of one by expires=0,
        then Contact: * (which needs Expires: 0: 400 without it) removes the rest."""
        ua = self.ua("2009", 23)
        a, b, c = (ua.contact(t) for t in ("a", "b", "c"))
        _, r1 = ua.register([a, b + ";q=0.7"], expires=600)
        self.assertStatus(r1, 200)
        self.assertEqual({u for u, _ in r1.contacts()}, {a[1:-1], b[1:-1]}, str(r1))
        other = self.ua("2009", 24)  # another phone: another Call-ID
        _, r2 = other.register([c], expires=300)
        self.assertStatus(r2, 200)
        listed = dict(r2.contacts())
        self.assertEqual(set(listed), {a[1:-1], b[1:-1], c[1:-1]}, str(r2))
        self.assertEqual(listed[b[1:-1]].get("q"), "0.7", str(r2))
        self.assertTrue(290 <= int(listed[c[1:-1]]["expires"]) <= 300, str(r2))
        _, r3 = ua.register([a + ";expires=0"])
        self.assertStatus(r3, 200)
        self.assertEqual({u for u, _ in r3.contacts()}, {b[1:-1], c[1:-1]}, str(r3))
        _, bad = ua.register(["*"])
        self.assertStatus(bad, 400, "Contact: * without Expires: 0")
        _, r4 = ua.register(["*"], expires=0)
        self.assertStatus(r4, 200)
        self.assertEqual(r4.contacts(), [], str(r4))
        self.assertEqual(self.bindings("2009", 25), {})

    # --- other methods, scanners -------------------------------------------------------------
    def test_options_200(self):
        for n, transport in ((26, "udp"), (27, "tcp")):
            ua = self.ua("2001", n, transport=transport)
            resp = ua.request("OPTIONS")
            self.assertStatus(resp, 200, f"OPTIONS over {transport}")
            allow = {m.strip() for m in resp.values("allow")}
            self.assertTrue({"REGISTER", "OPTIONS", "INVITE", "ACK", "BYE", "CANCEL"} <= allow,
                            str(resp))
            self.assertIsNotNone(resp.get("accept"), str(resp))
            self.assertIsNotNone(resp.get("supported"), str(resp))

    def test_scanner_user_agent_dropped_and_banned(self):
        scanner = self.ua("2001", 28, user_agent="friendly-scanner")
        self.assertIsNone(scanner.request("OPTIONS", timeout=3), "friendly-scanner was answered")
        # banned at once: the same address with an ordinary User-Agent is dropped too
        same_ip = self.ua("2001", 28)
        self.assertIsNone(same_ip.request("OPTIONS", timeout=3), "scanner's address not banned")
        sv = self.ua("2001", 29, user_agent="SIPVicious 0.3.4")
        first, _ = sv.register([sv.contact()])
        self.assertIsNone(first, "a sipvicious REGISTER was answered")
        control = self.ua("2001", 30)
        self.assertStatus(control.request("OPTIONS"), 200, "another address")

    # --- extensions changed while running (LISTEN/NOTIFY) --------------------------------------
    def _poll_register(self, ext, password, first_n, want, within=3.0):
        """Register from a fresh address per attempt (failures must not add up to a ban)
        until the final status is `want`; returns (response, seconds)."""
        start = time.monotonic()
        n = first_n
        while True:
            with h.UserAgent(self.server, ext, password, local_ip=self.ip(n)) as ua:
                _, final = ua.register([ua.contact()], expires=600)
            took = time.monotonic() - start
            if (final is not None and final.status == want) or took > within:
                return final, took
            n += 1
            time.sleep(0.25)

    def test_extension_added_while_running_registers(self):
        self.sb.ext_add("2010", "added-while-running")
        final, took = self._poll_register("2010", "added-while-running", 31, 200)
        self.assertStatus(final, 200, f"new extension, {took:.2f} s after `ext add` returned")

    def test_disabled_extension_cannot_register(self):
        pw = self.EXTENSIONS["2011"]
        final, _ = self._poll_register("2011", pw, 41, 200)
        self.assertStatus(final, 200, "before --disable")
        self.sb.ext_set("2011", enable=False)
        final, took = self._poll_register("2011", pw, 45, 403)
        self.assertStatus(final, 403, f"disabled extension, {took:.2f} s after `ext set --disable`")
        self.sb.ext_set("2011", enable=True)
        final, took = self._poll_register("2011", pw, 51, 200)
        self.assertStatus(final, 200, f"re-enabled extension, {took:.2f} s after --enable")

    def test_password_changed_while_running(self):
        self.sb.ext_set("2014", password="new-password-2014")
        final, took = self._poll_register("2014", "new-password-2014", 61, 200)
        self.assertStatus(final, 200, f"new password, {took:.2f} s after `ext set --password`")
        with h.UserAgent(self.server, "2014", "old-password-2014", local_ip=self.ip(70)) as ua:
            _, old = ua.register([ua.contact()])
        self.assertStatus(old, 403, "old password after the change")


class RegistrarSha256(ServerCase):
    """digest_algorithms = ["SHA-256", "MD5"]: RFC 8760 challenges, preferred first."""

    BLOCK = 4
    CONFIG = """
[security]
digest_algorithms = ["SHA-256", "MD5"]
"""
    EXTENSIONS = {"2003": "sha256-secret"}

    # SHA-256 with the Python UAC (no packaged peer speaks RFC 8760)
    def test_challenge_offers_sha256_then_md5(self):
        ua = self.ua("2003", 12)
        resp = ua.request("REGISTER", [("Contact", ua.contact())])
        self.assertStatus(resp, 401, "REGISTER without credentials")
        raw = resp.all("www-authenticate")
        self.assertEqual(len(raw), 2, f"expected two WWW-Authenticate:\n{resp}")
        chals = resp.challenges()
        self.assertEqual([c.get("algorithm") for c in chals], ["SHA-256", "MD5"], str(resp))
        for c, text in zip(chals, raw):
            self.assertEqual(c["scheme"], "Digest")
            self.assertEqual(c.get("realm"), "switchboard")
            self.assertTrue(c.get("nonce"))
            self.assertIn('qop="auth"', text)
            self.assertNotIn("stale", c)

    def test_sha256_register_python_udp(self):
        # SIPp 3.6.1 and baresip 1.0 only know MD5, hence a hand-written RFC 7616 UAC.
        ua = self.ua("2003", 13)
        first, final = ua.register([ua.contact("udp")], expires=600, algorithm="SHA-256")
        self.assertStatus(first, 401)
        self.assertStatus(final, 200, "SHA-256 REGISTER")
        listed = dict(final.contacts())
        uri = ua.contact("udp")[1:-1]
        self.assertIn(uri, listed, str(final))
        self.assertTrue(590 <= int(listed[uri]["expires"]) <= 600, str(final))
        self.assertIn(uri, self.bindings("2003", 14, algorithm="SHA-256"))

    def test_sha256_register_python_tcp(self):
        ua = self.ua("2003", 15, transport="tcp")
        first, final = ua.register([ua.contact("tcp")], expires=600, algorithm="SHA-256")
        self.assertStatus(final, 200, "SHA-256 REGISTER over TCP")
        self.assertIn(ua.contact("tcp")[1:-1], dict(final.contacts()))


class RegistrarShortTimers(ServerCase):
    """nonce_lifetime 2 s, min_expires 1 s, ban after 3 failures."""

    BLOCK = 2
    CONFIG = """
[registrar]
min_expires = 1

[security]
nonce_lifetime = 2
ban_max_failures = 3
ban_window = 60
ban_time = 600
"""
    EXTENSIONS = {
        "2101": "stale-nonce-secret",
        "2102": "expiry-secret",
        "2103": "ban-me-secret",
    }

    def test_stale_nonce_gets_stale_true(self):
        ua = self.ua("2101", 1)
        contact = ua.contact()
        first = ua.request("REGISTER", [("Contact", contact)])
        self.assertStatus(first, 401)
        chal = next(c for c in first.challenges() if c.get("algorithm") == "MD5")
        time.sleep(3)  # nonce_lifetime is 2 s
        auth = h.authorization(chal, "2101", self.EXTENSIONS["2101"], "REGISTER", ua.request_uri)
        stale = ua.request("REGISTER", [("Contact", contact), ("Authorization", auth)])
        self.assertStatus(stale, 401, "correct digest over an expired nonce")
        chals = stale.challenges()
        self.assertTrue(chals, str(stale))
        for c in chals:
            self.assertEqual(c.get("stale", "").lower(), "true", str(stale))
            self.assertNotEqual(c.get("nonce"), chal["nonce"], str(stale))
        # the fresh nonce works
        chal2 = next(c for c in chals if c.get("algorithm") == "MD5")
        auth2 = h.authorization(chal2, "2101", self.EXTENSIONS["2101"], "REGISTER", ua.request_uri)
        ok = ua.request("REGISTER", [("Contact", contact), ("Authorization", auth2)])
        self.assertStatus(ok, 200, "answer to the stale=true challenge")

    def test_stale_nonce_with_wrong_password_is_not_stale(self):
        """RFC 7616 3.3: stale=true only when the digest is valid for that (expired) nonce;
        a wrong password over an expired nonce must not be invited to retry silently."""
        ua = self.ua("2101", 2)
        first = ua.request("REGISTER", [("Contact", ua.contact())])
        self.assertStatus(first, 401)
        chal = next(c for c in first.challenges() if c.get("algorithm") == "MD5")
        time.sleep(3)
        auth = h.authorization(chal, "2101", "not-the-password", "REGISTER", ua.request_uri)
        resp = ua.request("REGISTER", [("Contact", ua.contact()), ("Authorization", auth)])
        self.assertIsNotNone(resp, "no response")
        self.assertIn(resp.status, (401, 403), str(resp))
        for c in resp.challenges():
            self.assertNotEqual(c.get("stale", "").lower(), "true",
                                f"stale=true for a wrong password; request:\n{ua.last_request}"
                                f"response:\n{resp}")

    def test_binding_expires(self):
        ua = self.ua("2102", 3)
        _, final = ua.register([ua.contact()], expires=2)
        self.assertStatus(final, 200, "Expires: 2 with min_expires 1")
        listed = dict(final.contacts())
        self.assertIn(ua.contact()[1:-1], listed, str(final))
        self.assertTrue(1 <= int(listed[ua.contact()[1:-1]]["expires"]) <= 2, str(final))
        time.sleep(3.5)
        self.assertEqual(self.bindings("2102", 4), {}, "the binding outlived its expiry")

    def test_ban_after_repeated_failures(self):
        bad = self.ua("2103", 5, password="wrong-password-2103")
        for i in range(3):
            first, final = bad.register([bad.contact()])
            self.assertStatus(first, 401, f"attempt {i + 1}: challenge")
            self.assertStatus(final, 403, f"attempt {i + 1}: wrong password")
        # banned: nothing from 127.0.2.5 is answered, not even the right password or OPTIONS
        good = self.ua("2103", 5)
        first, _ = good.register([good.contact()])
        self.assertIsNone(first, f"banned address answered:\n{h.describe(first)}")
        self.assertIsNone(good.request("OPTIONS", timeout=3), "banned address got an OPTIONS answer")
        try:
            tcp = self.ua("2103", 5, transport="tcp")
        except OSError:
            tcp = None  # refusing the connection is as good as not answering
        if tcp is not None:
            self.assertIsNone(tcp.request("OPTIONS", timeout=3), "banned address answered over TCP")
        # another address is not affected
        other = self.ua("2103", 6)
        _, final = other.register([other.contact()])
        self.assertStatus(final, 200, "right password from another address")


class RegistrarRestart(ServerCase):
    BLOCK = 3
    EXTENSIONS = {"2201": "survives-restart"}

    def test_bindings_survive_restart(self):
        ua = self.ua("2201", 1)
        a, b = ua.contact("a"), ua.contact("b")
        _, r1 = ua.register([a + ";expires=600", b + ";expires=1200"])
        self.assertStatus(r1, 200)
        registered_at = time.monotonic()
        self.sb.restart()
        self.assertTrue(self.sb.stopped_cleanly(),
                        f"SIGTERM: exit code {self.sb.last_exit_code}, output:\n{self.sb.output(last=15)}")
        elapsed = time.monotonic() - registered_at
        b_after = self.bindings("2201", 2)
        self.assertEqual(set(b_after), {a[1:-1], b[1:-1]}, "bindings after the restart")
        for uri, full in ((a[1:-1], 600), (b[1:-1], 1200)):
            left = int(b_after[uri]["expires"])
            self.assertTrue(full - elapsed - 3 <= left <= full, f"{uri}: expires={left} after "
                            f"{elapsed:.1f} s (registered for {full})")


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
