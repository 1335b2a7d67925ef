#!/usr/bin/env python3
"""Call integration tests: the real `switchboard run` (embedded PostgreSQL in a temporary data
dir) as a B2BUA between SIPp phones registered as extensions.

    python3 test_calls.py --switchboard build/app/switchboard [unittest args, e.g. -k busy]

Phones. A caller is one SIPp process in client mode (scenarios/call_uac*.xml): INVITE without
credentials -> 407 (Proxy-Authenticate) -> ACK -> INVITE with Proxy-Authorization (MD5, CSeq 2)
-> whatever the test expects. A callee phone is two SIPp runs on the same address and port:
register.xml REGISTERs the extension with Contact sip:EXT@IP:PORT from IP:PORT and ends, then a
SIPp in server mode (scenarios/call_uas*.xml) listens on IP:PORT for the B-leg INVITE. (SIPp
maps incoming requests to its calls by Call-ID, so one client-mode process cannot REGISTER and
then take an INVITE with a new Call-ID; from the PBX's side the two runs are one phone.)

Each side's SIPp message trace tells what it received; the tests check those (the SDP bodies,
the CANCEL, the BYE ...), so a failure shows both sides' traces and the server's last lines.

Two servers: CallsDefaultDialplan runs on the shipped default dialplan (a dialled extension
rings for 30 s, unknown numbers get 404); CallsCustomDialplan loads its scripts with
`switchboard dialplan load FILE` and waits for each to be live with a probe call to 9999 (every
script hangs that up with a code of its own), since the server reloads on NOTIFY, shortly after
the command returns.
"""

import argparse
import os
import subprocess
import shutil
import re
import json
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SWITCHBOARD = os.environ.get("SB_SWITCHBOARD")

CALLER_TIMEOUT = 20  # SIPp's -timeout for a caller (s)
CALLEE_TIMEOUT = 30  # ... and for a callee, which starts first
SETTLE = 10          # once the caller is done, how long a callee may take to finish


def sdp_lines(msg):
    """The SDP body as a list of non-empty lines (line ends normalized)."""
    body = msg.body.decode("utf-8", "replace") if isinstance(msg.body, bytes) else msg.body
    return [l.strip() for l in body.splitlines() if l.strip()]


def sdp_line(msg, prefix):
    return next((l for l in sdp_lines(msg) if l.startswith(prefix)), None)


class Media:
    """The first m=audio line of an SDP body and the address it is sent to."""
    def __init__(self, msg):
        lines = sdp_lines(msg)
        m = next(l for l in lines if l.startswith("m=audio "))
        parts = m.split()
        self.port, self.formats = int(parts[1]), parts[3:]
        c = [l for l in lines[lines.index(m):] if l.startswith("c=")] or \
            [l for l in lines if l.startswith("c=")]
        self.address = c[0].split()[2] if c else None


def media_of(msg):
    return Media(msg)


def uri_user(value):
    """'<sip:1001@host>;tag=x' -> '1001'."""
    v = value or ""
    i = v.find("sip:")
    if i < 0:
        return None
    rest = v[i + 4:]
    return rest.split("@", 1)[0] if "@" in rest.split(">", 1)[0] else None


def tag_of(value):
    for part in (value or "").split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "tag":
            return v
    return None


class CallCase(unittest.TestCase):
    """One `switchboard run` per class with EXTENSIONS; SCRIPT (Lua text or None) is loaded with
    `dialplan load` before the first test of the class."""

    EXTENSIONS = {
        "1001": "caller-secret-1001",
        "1002": "callee-secret-1002",
        "1003": "callee-secret-1003",
        "1004": "caller-secret-1004",
    }
    CALLEES = ("1002", "1003")
    BLOCK = 30

    @classmethod
    def setUpClass(cls):
        if not SWITCHBOARD:
            raise AssertionError("give the binary: --switchboard PATH (or SB_SWITCHBOARD)")
        h.require_tool("sipp")
        # Music on hold off: test_hold_and_resume checks the hold relayed to the callee (with
        # music, test_audio_call's test_held_phone_hears_music_until_resume: answered by us).
        cls.sb = h.Switchboard(SWITCHBOARD, config="[calls]\nmusic_on_hold = \"\"\n")
        cls.sb.__enter__()
        cls._next_ip = 0
        cls._probe_ip = 0
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

    def setUp(self):
        # A binding left by an earlier test would be rung too (and never answer): start clean.
        for ext in self.CALLEES:
            with h.UserAgent(self.server, ext, self.EXTENSIONS[ext], local_ip=self.ip(253)) as ua:
                _, final = ua.register(["*"], expires=0)
            self.assertStatus(final, 200, f"removing the bindings of {ext} (Contact: *)")

    # --- addresses ------------------------------------------------------------------------
    @property
    def server(self):
        return (self.sb.host, self.sb.port)

    def ip(self, n):
        return h.loopback(self.BLOCK, n)

    def fresh_ip(self):
        """A source address no other test of this class used (so that a ban cannot leak)."""
        cls = type(self)
        cls._next_ip = cls._next_ip % 240 + 1
        return self.ip(cls._next_ip)

    # --- phones ---------------------------------------------------------------------------
    def callee(self, ext, scenario, ip=None, port=None, register=True, token=None):
        """A callee phone: REGISTER ext from ip:port (Contact sip:EXT@ip:port), then a SIPp in
        server mode running scenario on that address. Returns the SippPeer (listening), with
        .contact, .ext and .token set."""
        ip = ip or self.fresh_ip()
        port = port or h.free_port(ip)
        if register:
            r = h.sip_register_at(self.server, ext, self.EXTENSIONS[ext], ip, port)
            self.assertSippOk(r, f"REGISTER of {ext} from {ip}:{port}")
        token = token or h.new_token(10)
        peer = h.SippPeer(scenario, service=ext, local_ip=ip, local_port=port,
                          keys={"token": token}, timeout=CALLEE_TIMEOUT)
        self.addCleanup(peer.close)
        peer.wait_listening()
        peer.contact = f"sip:{ext}@{ip}:{port}"
        peer.ext = ext
        peer.token = token
        return peer

    def caller(self, scenario, dialled, ext="1001", password=None, ip=None, token=None):
        """Run a caller (SIPp client mode) to the end and return (SippResult, token)."""
        ip = ip or self.fresh_ip()
        token = token or h.new_token(10)
        host, port = self.server
        peer = h.SippPeer(scenario, remote=self.server, service=dialled, auth_user=ext,
                          password=password or self.EXTENSIONS[ext], local_ip=ip,
                          keys={"caller": ext, "token": token}, timeout=CALLER_TIMEOUT,
                          # SIPp's digest uri would be sip:HOST:PORT; the PBX wants the
                          # Request-URI (RFC 7616 3.4.6). SIPp puts "sip:" in front itself.
                          extra=["-auth_uri", f"{dialled}@{host}:{port}"])
        self.addCleanup(peer.close)
        r = peer.wait()
        r.token = token
        r.label = f"caller {ext} -> {dialled} ({os.path.basename(scenario)})"
        return r

    def finish(self, peer, caller_ok=True):
        """The callee's SippResult: it should end on its own soon after the caller did; if the
        caller failed, there is no point waiting long."""
        r = peer.wait(timeout=SETTLE if caller_ok else 2)
        r.label = f"callee {peer.ext} at {peer.contact} ({os.path.basename(peer.path)})"
        return r

    def silent(self, peer):
        """Stop a callee that must not have been called and return its SippResult."""
        time.sleep(0.3)  # a late INVITE would show in its trace
        r = peer.stop()
        r.label = f"callee {peer.ext} at {peer.contact} (must receive nothing)"
        return r

    # --- diagnostics ----------------------------------------------------------------------
    def explain(self, *results):
        out = []
        for r in results:
            label = getattr(r, "label", "sipp")
            out.append(f"===== {label} =====\n{r.describe(trace_chars=8000)}")
        out.append(f"===== last lines of switchboard output =====\n{self.sb.output(last=30)}")
        return "\n".join(out)

    def assertSippOk(self, r, what="", context=()):
        ok = r.returncode == 0 and r.successful == 1 and not r.failed
        if not ok:
            self.fail(f"{what or getattr(r, 'label', 'sipp')}: the scenario did not complete\n"
                      + self.explain(r, *[c for c in context if c is not r]))

    def assertStatus(self, resp, status, what=""):
        self.assertIsNotNone(resp, f"{what}: no response (expected {status})\n"
                                   f"{self.sb.output(last=20)}")
        self.assertEqual(resp.status, status, f"{what}: expected {status}, got:\n{resp}\n"
                                              f"{self.sb.output(last=20)}")

    # --- what a side received -------------------------------------------------------------
    @staticmethod
    def requests(r, method):
        return [m for m in h.sipp_received(r) if m.status is None
                and m.start_line.split(" ", 1)[0] == method]

    @staticmethod
    def responses(r, method=None, status=None):
        return [m for m in h.sipp_received(r) if m.status is not None
                and (method is None or h.cseq_method(m) == method)
                and (status is None or m.status == status)]

    @staticmethod
    def sent(r, first_word):
        return [m for m in h.sipp_sent(r) if m.start_line.split(" ", 1)[0] == first_word
                or (m.status is not None and str(m.status) == first_word)]

    def final_status(self, r):
        """The final response the caller got to its authenticated INVITE (CSeq 2)."""
        finals = [m for m in self.responses(r, "INVITE")
                  if m.status >= 200 and (m.get("cseq") or "").split()[0] == "2"]
        return finals[-1] if finals else None

    def assertFinal(self, r, status, *context):
        f = self.final_status(r)
        if f is None or f.status != status:
            got = "no final response to the authenticated INVITE" if f is None else f.start_line
            self.fail(f"{r.label}: expected {status}, got {got}\n" + self.explain(r, *context))
        return f

    def assertInvited(self, callee, ra, *context):
        """callee received exactly one INVITE (its B-leg) and it went to its contact."""
        invites = self.requests(callee.result, "INVITE")
        self.assertTrue(invites, f"{callee.result.label}: no INVITE arrived\n"
                        + self.explain(callee.result, ra, *context))
        inv = invites[0]
        ruri = inv.start_line.split(" ")[1]
        self.assertTrue(ruri == callee.contact or ruri.startswith(callee.contact + ";"),
                        f"B-leg Request-URI {ruri!r} is not the registered contact "
                        f"{callee.contact!r}\n{inv}")
        return inv

    def assertNothing(self, r, *context):
        got = h.sipp_received(r)
        if got:
            self.fail(f"{r.label}: received {[m.start_line for m in got]}\n"
                      + self.explain(r, *context))

    def basic_call_checks(self, ra, callee):
        """The checks every answered call makes: the B-leg INVITE is a new dialog to the
        contact, the SDP offer and the SDP answer pass through unchanged."""
        rb = callee.result
        inv_b = self.assertInvited(callee, ra)
        a_invites = [m for m in h.sipp_sent(ra) if m.start_line.startswith("INVITE ")
                     and (m.get("cseq") or "").split()[0] == "2"]
        self.assertTrue(a_invites, self.explain(ra, rb))
        inv_a = a_invites[0]
        self.assertNotEqual(inv_b.get("call-id"), inv_a.get("call-id"),
                            "the B-leg must have its own Call-ID")
        self.assertNotEqual(tag_of(inv_b.get("from")), tag_of(inv_a.get("from")),
                            "the B-leg must have its own From tag")
        self.assertEqual(uri_user(inv_b.get("from")), ra.caller_ext,
                         f"the callee should see the calling extension in From:\n{inv_b}")
        self.assertNotIn("proxy-authorization", [n for n, _ in inv_b.headers],
                         "the caller's credentials must not be forwarded to the callee")
        # offer: anchored on Switchboard (RFC 3264): B gets our address and a port of ours, A's
        # codecs with A's payload types (then those we can transcode to), and our own o= line
        a_m, b_m = media_of(inv_a), media_of(inv_b)
        self.assertEqual(b_m.formats[:len(a_m.formats)], a_m.formats,
                         f"A's codecs first:\nA sent:\n{inv_a}\nB got:\n{inv_b}")
        self.assertNotEqual(b_m.port, a_m.port, f"the offer to B must name our port:\n{inv_b}")
        self.assertEqual(b_m.address, self.server[0], f"B must send to the PBX:\n{inv_b}")
        self.assertTrue(sdp_line(inv_b, "o=").startswith("o=switchboard "), str(inv_b))
        # answer: B's choice reaches A, again with our address and another port of ours
        b_200 = [m for m in h.sipp_sent(rb) if m.status == 200 and h.cseq_method(m) == "INVITE"]
        a_200 = self.responses(ra, "INVITE", 200)
        self.assertTrue(b_200 and a_200, self.explain(ra, rb))
        a_ans, b_ans = media_of(a_200[0]), media_of(b_200[0])
        self.assertEqual(a_ans.formats, b_ans.formats, f"B sent:\n{b_200[0]}\nA got:\n{a_200[0]}")
        self.assertNotIn(a_ans.port, (b_ans.port, b_m.port, 0), str(a_200[0]))
        self.assertEqual(a_ans.address, self.server[0], str(a_200[0]))
        self.assertTrue(sdp_line(a_200[0], "o=").startswith("o=switchboard "), str(a_200[0]))
        self.assertIn("application/sdp", (a_200[0].get("content-type") or "").lower())
        # 100 Trying for the authenticated INVITE; the callee's 180 relayed
        self.assertTrue([m for m in self.responses(ra, "INVITE", 100)
                         if (m.get("cseq") or "").split()[0] == "2"],
                        "no 100 Trying for the authenticated INVITE\n" + self.explain(ra))
        self.assertTrue(self.responses(ra, "INVITE", 180), "the callee's 180 did not reach "
                        "the caller\n" + self.explain(ra, rb))
        # ACK reached B
        self.assertTrue(self.requests(rb, "ACK"), "no ACK reached the callee\n"
                        + self.explain(ra, rb))

    def run_caller(self, scenario, dialled, callees=(), silent=(), **kw):
        """Place a call and collect every side: returns ra; each callee's result is in
        callee.result (also for silent ones, which are stopped and must have received
        nothing)."""
        ra = self.caller(scenario, dialled, **kw)
        ra.caller_ext = kw.get("ext", "1001")
        ok = ra.returncode == 0
        for c in callees:
            c.result = self.finish(c, ok)
        for c in silent:
            c.result = self.silent(c)
        return ra


def inv_a_ip(inv):
    """The caller's address as its Via says (its SDP uses the same one)."""
    via = inv.get("via") or ""
    return via.split()[1].split(":")[0] if len(via.split()) > 1 else ""


class CallsDefaultDialplan(CallCase):
    """The shipped default dialplan: a dialled extension rings (all its phones, 30 s)."""

    BLOCK = 30

    def test_basic_call_caller_hangs_up(self):
        """A calls B, B rings (180) and answers with SDP; A's offer reaches B unchanged and
        B's answer reaches A unchanged; A hangs up: the BYE reaches B, 200 both ways."""
        b = self.callee("1002", "call_uas_answer.xml")
        ra = self.run_caller("call_uac.xml", "1002", [b])
        self.assertSippOk(ra, context=[b.result])
        self.assertSippOk(b.result, context=[ra])
        self.basic_call_checks(ra, b)
        self.assertTrue(self.requests(b.result, "BYE"), self.explain(ra, b.result))
        self.assertTrue(self.responses(ra, "BYE", 200), self.explain(ra, b.result))

    def test_callee_hangs_up(self):
        """B answers, then sends BYE: it reaches A (who answers 200), and B gets its 200."""
        b = self.callee("1002", "call_uas_answer_bye.xml")
        ra = self.run_caller("call_uac_wait_bye.xml", "1002", [b])
        self.assertSippOk(ra, context=[b.result])
        self.assertSippOk(b.result, context=[ra])
        self.basic_call_checks(ra, b)
        byes = self.requests(ra, "BYE")
        self.assertEqual(len({m.get("cseq") for m in byes}), 1, self.explain(ra, b.result))
        # the BYE to A is in A's dialog: A's Call-ID and tags
        a_inv = [m for m in h.sipp_sent(ra) if m.start_line.startswith("INVITE ")][-1]
        self.assertEqual(byes[0].get("call-id"), a_inv.get("call-id"))
        self.assertEqual(tag_of(byes[0].get("to")), tag_of(a_inv.get("from")),
                         f"the BYE to the caller must carry the caller's tag in To:\n{byes[0]}")
        self.assertTrue(self.responses(b.result, "BYE", 200), self.explain(ra, b.result))

    def test_busy(self):
        """B answers 486: A gets 486 (and its ACK is taken); B gets its ACK."""
        b = self.callee("1002", "call_uas_busy.xml")
        ra = self.run_caller("call_uac_fail.xml", "1002", [b])
        self.assertSippOk(ra, context=[b.result])
        self.assertFinal(ra, 486, b.result)
        self.assertSippOk(b.result, "the busy callee (486, then ACK)", context=[ra])

    def test_caller_cancels_while_ringing(self):
        """A cancels after the 180: A gets 200 for the CANCEL and 487 for the INVITE; B gets a
        CANCEL, answers 200 and 487, and gets the ACK."""
        b = self.callee("1002", "call_uas_noanswer.xml")
        ra = self.run_caller("call_uac_cancel.xml", "1002", [b])
        self.assertSippOk(ra, "caller: INVITE, 180, CANCEL -> 200 (CANCEL), 487", context=[b.result])
        self.assertSippOk(b.result, "callee: INVITE, 180, CANCEL -> 200, 487, ACK", context=[ra])
        self.assertTrue(self.requests(b.result, "CANCEL"), self.explain(ra, b.result))
        self.assertFalse(self.responses(ra, "INVITE", 200), "the caller got a 200 for its INVITE")

    def test_hold_and_resume(self):
        """A re-INVITEs with a=sendonly: B gets it (a=sendonly), answers a=recvonly, which A
        gets; then a=sendrecv both ways; then BYE. (Music on hold is off for this class: with
        it, Switchboard answers the hold itself.)"""
        b = self.callee("1002", "call_uas_hold.xml")
        ra = self.run_caller("call_uac_hold.xml", "1002", [b])
        self.assertSippOk(ra, "caller: call, hold, resume, BYE", context=[b.result])
        self.assertSippOk(b.result, "callee: call, held, resumed, BYE", context=[ra])
        self.basic_call_checks(ra, b)
        b_invites = self.requests(b.result, "INVITE")
        self.assertEqual(len(b_invites), 3, self.explain(ra, b.result))
        self.assertIn("a=sendonly", sdp_lines(b_invites[1]), str(b_invites[1]))
        self.assertIn("a=sendrecv", sdp_lines(b_invites[2]), str(b_invites[2]))
        self.assertEqual(b_invites[1].get("call-id"), b_invites[0].get("call-id"),
                         "the re-INVITE must be in the B-leg's dialog")
        a_200 = self.responses(ra, "INVITE", 200)
        self.assertEqual(len(a_200), 3, self.explain(ra, b.result))
        self.assertIn("a=recvonly", sdp_lines(a_200[1]), str(a_200[1]))
        self.assertIn("a=sendrecv", sdp_lines(a_200[2]), str(a_200[2]))
        # our ports stay for the whole call; each re-offer is a new version of our SDP
        self.assertEqual(media_of(b_invites[1]).port, media_of(b_invites[0]).port)
        self.assertEqual(media_of(a_200[1]).port, media_of(a_200[0]).port)
        versions = [int(sdp_line(m, "o=").split()[2]) for m in b_invites]
        self.assertEqual(versions, sorted(set(versions)), f"o= versions {versions}")

    def test_two_phones_ring_both_first_answer_wins(self):
        """1003 registered from two phones: both get the INVITE; the one that answers gets the
        call, the other gets CANCEL (200, 487, ACK)."""
        ip = self.fresh_ip()
        winner = self.callee("1003", "call_uas_answer.xml", ip=ip)
        loser = self.callee("1003", "call_uas_noanswer.xml", ip=ip)
        ra = self.run_caller("call_uac.xml", "1003", [winner, loser])
        self.assertSippOk(ra, context=[winner.result, loser.result])
        self.assertSippOk(winner.result, "the phone that answers", context=[ra, loser.result])
        self.assertSippOk(loser.result, "the phone that only rings (must get CANCEL)",
                          context=[ra, winner.result])
        self.basic_call_checks(ra, winner)
        self.assertInvited(loser, ra)
        self.assertTrue(self.requests(loser.result, "CANCEL"), self.explain(loser.result))
        self.assertNotEqual(self.requests(winner.result, "INVITE")[0].get("call-id"),
                            self.requests(loser.result, "INVITE")[0].get("call-id"),
                            "two B-legs, two Call-IDs")

    def test_unknown_number_404(self):
        """The default dialplan answers a number that is no extension with 404."""
        ra = self.run_caller("call_uac_fail.xml", "7777")
        self.assertSippOk(ra)
        self.assertFinal(ra, 404)

    def test_offer_without_a_codec_we_take_is_488(self):
        """An offer of G.729 only (no codec Switchboard relays or transcodes) gets 488 Not
        Acceptable Here, which tells the phone to offer something else, and rings nobody."""
        b = self.callee("1002", "call_uas_answer.xml")
        ra = self.run_caller("call_uac_g729.xml", "1002", silent=[b])
        self.assertSippOk(ra, context=[b.result])
        self.assertFinal(ra, 488, b.result)
        self.assertNothing(b.result, ra)

    def test_unauthenticated_invite_is_challenged(self):
        """An INVITE without credentials gets 407 with a Digest Proxy-Authenticate and rings
        nobody: the callee receives nothing."""
        b = self.callee("1002", "call_uas_answer.xml")
        ra = self.run_caller("call_uac_noauth.xml", "1002", silent=[b])
        self.assertSippOk(ra, "INVITE without credentials -> 407 with Proxy-Authenticate",
                          context=[b.result])
        chal = self.responses(ra, "INVITE", 407)[0]
        self.assertTrue(any(c.get("scheme", "").lower() == "digest" and c.get("realm") and
                            c.get("nonce") for c in chal.challenges("proxy-authenticate")),
                        str(chal))
        self.assertNothing(b.result, ra)

    def test_wrong_password_403(self):
        """Credentials with a wrong password get 403, and the callee receives nothing."""
        b = self.callee("1002", "call_uas_answer.xml")
        ra = self.run_caller("call_uac_fail.xml", "1002", silent=[b], ext="1004",
                             password="not-the-password")
        self.assertSippOk(ra, context=[b.result])
        self.assertFinal(ra, 403, b.result)
        self.assertNothing(b.result, ra)


ROUTING = """-- test_calls.py: routing for the custom dialplan tests
function route(call)
  if call.to == "9999" then call:hangup(@PROBE@, "probe @TOKEN@") end
  if call.to == "2000" then
    call:bridge{"1002", "1003", timeout = 10}
  elseif call.to == "2001" then
    call:bridge{"1002", "1003", timeout = 2, sequential = true}
  elseif call.to == "2002" then
    call:bridge{"1002", timeout = 2}
  elseif call.to == "3000" then
    error("deliberate script error (test_calls.py)")
  elseif call.to == "3001" then
    while true do end
  elseif call.to:match("^1%d%d%d$") then
    call:bridge{call.to, timeout = 30}
  else
    call:hangup(404, "No such number")
  end
end
"""

ONLY_2000_TO = """-- test_calls.py: 2000 rings @EXT@ only
function route(call)
  if call.to == "9999" then call:hangup(@PROBE@, "probe @TOKEN@") end
  if call.to == "2000" then
    call:bridge{"@EXT@", timeout = 10}
  else
    call:hangup(404, "No such number")
  end
end
"""

PROBE_CODES = (600, 603, 604, 606)


class CallsCustomDialplan(CallCase):
    """Dialplans loaded with `switchboard dialplan load`: ring groups, timeouts, script errors
    and budgets, activating an older version."""

    BLOCK = 31
    _loads = 0
    _active = None  # ("routing", version) or other marker

    # --- dialplans ------------------------------------------------------------------------
    def write_script(self, template, **subst):
        cls = type(self)
        cls._loads += 1
        code = PROBE_CODES[cls._loads % len(PROBE_CODES)]
        token = h.new_token(8)
        text = template.replace("@PROBE@", str(code)).replace("@TOKEN@", token)
        for k, v in subst.items():
            text = text.replace(f"@{k}@", v)
        path = os.path.join(self.sb.tmp, f"dialplan-{cls._loads}.lua")
        with open(path, "w") as f:
            f.write(text)
        return path, (code, token)

    def probe(self):
        cls = type(self)
        cls._probe_ip = cls._probe_ip % 10 + 1
        return h.invite_status(self.server, "1004", self.EXTENSIONS["1004"], "9999",
                               local_ip=self.ip(240 + cls._probe_ip), timeout=3.0)

    def wait_live(self, marker, what, within=10.0):
        """Probe calls to 9999 until the active script's hangup (marker: (code, token))
        answers: the server has the version live. Returns the seconds it took."""
        code, token = marker
        start = time.monotonic()
        last = None
        while time.monotonic() - start < within:
            last = self.probe()
            if last is not None and (last.status == code or token in last.reason):
                return time.monotonic() - start
            time.sleep(0.05)
        self.fail(f"{what}: not live {within} s later (a call to 9999 should get {code} "
                  f"'probe {token}'); last answer:\n{h.describe(last)}\n{self.sb.output(last=30)}")

    def load(self, template, what, **subst):
        path, marker = self.write_script(template, **subst)
        version = h.dialplan_load(self.sb, path)
        self.wait_live(marker, f"dialplan load ({what}) -> version {version}")
        return version, marker

    def use_routing(self):
        cls = type(self)
        if cls._active is None or cls._active[0] != "routing":
            version, _ = self.load(ROUTING, "the routing script")
            cls._active = ("routing", version)

    # --- tests ----------------------------------------------------------------------------
    def test_no_answer_bridge_timeout(self):
        """call:bridge{"1002", timeout = 2}: 1002 rings, gets CANCEL after the timeout (answers
        200 and 487, gets ACK); the caller gets 480."""
        self.use_routing()
        b = self.callee("1002", "call_uas_noanswer.xml")
        ra = self.run_caller("call_uac_fail.xml", "2002", [b])
        self.assertSippOk(ra, context=[b.result])
        self.assertFinal(ra, 480, b.result)
        self.assertSippOk(b.result, "the callee that never answers (must get CANCEL)",
                          context=[ra])
        self.assertTrue(self.requests(b.result, "CANCEL"), self.explain(b.result))

    def test_ring_group_simultaneous(self):
        """call:bridge{"1002", "1003", timeout = 10}: both ring at once; 1003 answers, 1002 gets
        CANCEL."""
        self.use_routing()
        b2 = self.callee("1002", "call_uas_noanswer.xml")
        b3 = self.callee("1003", "call_uas_answer.xml")
        ra = self.run_caller("call_uac.xml", "2000", [b2, b3])
        self.assertSippOk(ra, context=[b2.result, b3.result])
        self.assertSippOk(b3.result, "1003 answers", context=[ra, b2.result])
        self.assertSippOk(b2.result, "1002 rings and must get CANCEL", context=[ra, b3.result])
        self.basic_call_checks(ra, b3)
        self.assertInvited(b2, ra)
        t2 = h.parse_sipp_trace(b2.result.messages)
        t3 = h.parse_sipp_trace(b3.result.messages)
        inv2 = next(e for e in t2 if e.direction == "received" and e.message.start_line.startswith("INVITE"))
        ok3 = next(e for e in t3 if e.direction == "sent" and e.message.status == 200)
        if inv2.when and ok3.when:
            self.assertLess(inv2.when, ok3.when, "1002 must ring before 1003 answers "
                            "(simultaneous ringing)")

    def test_ring_group_sequential(self):
        """call:bridge{"1002", "1003", timeout = 2, sequential = true}: 1002 rings for 2 s and
        gets CANCEL, only then 1003 rings, and answers."""
        self.use_routing()
        b2 = self.callee("1002", "call_uas_noanswer.xml")
        b3 = self.callee("1003", "call_uas_answer.xml")
        ra = self.run_caller("call_uac.xml", "2001", [b2, b3])
        self.assertSippOk(ra, context=[b2.result, b3.result])
        self.assertSippOk(b2.result, "1002 rings first and must get CANCEL", context=[ra, b3.result])
        self.assertSippOk(b3.result, "1003 rings second and answers", context=[ra, b2.result])
        self.basic_call_checks(ra, b3)
        t2 = h.parse_sipp_trace(b2.result.messages)
        t3 = h.parse_sipp_trace(b3.result.messages)
        cancel2 = next(e for e in t2 if e.direction == "received" and e.message.start_line.startswith("CANCEL"))
        inv3 = next(e for e in t3 if e.direction == "received" and e.message.start_line.startswith("INVITE"))
        if cancel2.when and inv3.when:
            self.assertLessEqual(cancel2.when, inv3.when + 0.05,
                                 "sequential: 1003 must not ring before 1002 was cancelled")

    def _next_call_works(self, what):
        b = self.callee("1002", "call_uas_answer.xml")
        ra = self.run_caller("call_uac.xml", "1002", [b])
        self.assertSippOk(ra, f"the call after {what}: the PBX must keep serving",
                          context=[b.result])
        self.assertSippOk(b.result, f"the callee of the call after {what}", context=[ra])
        self.basic_call_checks(ra, b)

    def test_script_error_500_then_next_call_works(self):
        """A script error (error(...) in route) ends the call with 500; the next call works."""
        self.use_routing()
        ra = self.run_caller("call_uac_fail.xml", "3000")
        self.assertSippOk(ra)
        self.assertFinal(ra, 500)
        self._next_call_works("a script error")

    def test_script_endless_loop_stopped_by_budget(self):
        """`while true do end` is stopped by the instruction budget: 500; the next call works."""
        self.use_routing()
        ra = self.run_caller("call_uac_fail.xml", "3001")
        self.assertSippOk(ra)
        self.assertFinal(ra, 500)
        self._next_call_works("an endless loop")

    def test_activate_older_version(self):
        """v1 routes 2000 to 1002, v2 routes 2000 to 1003. After loading v2 a call to 2000
        reaches 1003; after `dialplan activate v1` the next call reaches 1002."""
        cls = type(self)
        cls._active = None  # whatever happens, the next test loads its routing again
        v1, marker1 = self.load(ONLY_2000_TO, "v1: 2000 -> 1002", EXT="1002")
        v2, _ = self.load(ONLY_2000_TO, "v2: 2000 -> 1003", EXT="1003")
        self.assertNotEqual(v1, v2, "two loads, one version number")
        ip2, ip3 = self.fresh_ip(), self.fresh_ip()
        p2, p3 = h.free_port(ip2), h.free_port(ip3)

        # v2 is active: 1003 answers, 1002 hears nothing
        b2 = self.callee("1002", "call_uas_answer.xml", ip=ip2, port=p2)
        b3 = self.callee("1003", "call_uas_answer.xml", ip=ip3, port=p3)
        ra = self.run_caller("call_uac.xml", "2000", [b3], silent=[b2])
        self.assertSippOk(ra, f"call to 2000 with v{v2} active (must reach 1003)",
                          context=[b3.result, b2.result])
        self.assertSippOk(b3.result, f"1003 with v{v2} active", context=[ra, b2.result])
        self.assertNothing(b2.result, ra)

        # activate v1 (its probe code tells when it is live): 1002 answers, 1003 hears nothing
        h.dialplan_activate(self.sb, v1)
        self.wait_live(marker1, f"dialplan activate {v1}")
        b2 = self.callee("1002", "call_uas_answer.xml", ip=ip2, port=p2, register=False)
        b3 = self.callee("1003", "call_uas_answer.xml", ip=ip3, port=p3, register=False)
        ra = self.run_caller("call_uac.xml", "2000", [b2], silent=[b3])
        self.assertSippOk(ra, f"call to 2000 after activating v{v1} (must reach 1002)",
                          context=[b2.result, b3.result])
        self.assertSippOk(b2.result, f"1002 after activating v{v1}", context=[ra, b3.result])
        self.assertNothing(b3.result, ra)


class CallRecordsThroughADatabaseOutage(CallCase):
    """PostgreSQL stops under a running PBX: calls go on (credentials and registrations are in
    memory), each call's record waits in the spool on disk, and once PostgreSQL is back the
    records are in it, in order, and the spool is empty (DESIGN.md: nothing is lost)."""

    BLOCK = 32

    def cluster(self, action):
        """pg_ctl start|stop on the PBX's embedded cluster, as the postgres user when root."""
        pgdata = os.path.join(self.sb.data_dir, "pg")
        cmd = [h._pg_ctl(), action, "-D", pgdata, "-w", "-t", "60"]
        cmd += ["-m", "fast"] if action == "stop" else ["-l", os.path.join(pgdata, "log", "restart.log")]
        if os.geteuid() == 0:
            cmd = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--"] + cmd
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90)
        self.assertEqual(r.returncode, 0, f"pg_ctl {action}: {r.stdout.decode(errors='replace')}")

    def records_to(self, callee):
        """Call ids (as `calls list` shows them) of the stored records to callee, oldest first."""
        out = h.switchboard_cli(self.sb, "calls", "list", "--number", callee, "--log-level", "warn")
        return sorted(int(i) for i in re.findall(rf"(?m)^(\d+) +\S+ \S+ +1001 +{callee} ", out))

    def call(self):
        b = self.callee("1002", "call_uas_answer.xml")
        ra = self.run_caller("call_uac.xml", "1002", [b])
        self.assertSippOk(ra, "a call to 1002", context=[b.result])
        self.assertSippOk(b.result, "1002", context=[ra])

    def wait_for(self, what, check, within, detail=lambda: ""):
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                self.fail(f"{what} within {within} s; {detail()}\n{self.sb.output(last=30)}")
            time.sleep(0.5)

    def test_records_wait_in_the_spool_and_reach_the_database_when_it_is_back(self):
        spool = os.path.join(self.sb.data_dir, "call-records.spool")
        self.call()
        self.wait_for("the first call's record in PostgreSQL", lambda: len(self.records_to("1002")) == 1, 20)
        before = self.records_to("1002")

        self.cluster("stop")
        try:
            mark = len(self.sb.output().splitlines())
            self.call()  # the PBX needs no database for a call
            self.call()
            def spooled():
                if not os.path.exists(spool):
                    return []
                with open(spool) as f:
                    return [json.loads(l) for l in f if l.strip()]
            # a call's record comes once the call is gone (its transactions ended)
            self.wait_for("both calls' records in the spool", lambda: len(spooled()) == 2, 60,
                          lambda: f"spool {spool}: {spooled()}")
            lines = spooled()
            self.assertEqual([(l["caller"], l["callee"], l["status"]) for l in lines],
                             [("1001", "1002", 200)] * 2, lines)
            self.assertTrue(any("call records:" in l and "keeping them in" in l and spool in l
                                for l in self.sb.output().splitlines()[mark:]),
                            f"no warning that the records wait in {spool}:\n{self.sb.output(last=30)}")
        finally:
            self.cluster("start")
        # the store retries with backoff (1 s doubling, 30 s at most)
        self.wait_for("the two spooled records in PostgreSQL",
                      lambda: len(self.records_to("1002")) == 3, 60)
        after = self.records_to("1002")
        self.assertEqual(after[0], before[0])
        self.wait_for("an empty spool", lambda: os.path.getsize(spool) == 0, 10)
        self.assertTrue(any("the database is back; 2 records written from the spool" in l
                            for l in self.sb.output().splitlines()),
                        self.sb.output(last=30))


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
