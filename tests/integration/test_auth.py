#!/usr/bin/python3
"""test_auth.py — parley-auth against the real router, with a Python peer
playing c2s: every mechanism succeeding and failing (SCRAM-SHA-1/-256 with
and without -PLUS channel binding, PLAIN, wrong password, unknown user,
unknown mechanism, unpaired channel bindings, abort), the growing delay
after repeated failures, the sandbox (nobody, NoNewPrivs, seccomp,
--sandbox-test), the salt secret file, an exchange dropped when its c2s
goes away, and SIGTERM failing what is in progress. Prints TAP."""
import os
import pwd
import signal
import stat
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import frames as F  # noqa: E402
from parley import TEST_USER, Suite, Tap, proc_status, wait_until  # noqa: E402
from authlib import (ABORTED, CB_EXPORTER, ENCRYPTION_REQUIRED, HOST,  # noqa: E402
                           INVALID_AUTHZID, INVALID_MECHANISM, MALFORMED_REQUEST,
                           NOT_AUTHORIZED, OK, TEMPORARY_AUTH_FAILURE, Scram, Site, plain,
                           scram_login, status)

t = Tap()
suite = Suite("auth")
nobody = pwd.getpwnam(TEST_USER)
site = Site(suite, auth='failures = { free = 3; delay = "1s"; delay_max = "2s"; };',
            start=False)
r = site.ctl("user", "add", f"juliet@{HOST}", "r0m30&wherefore")
t.eq(r.returncode, 0, "parleyctl user add creates the account the tests use")
auth = site.start_auth(1)
t.ok(auth.alive() and "bound auth" in auth.log(), "parley-auth starts and binds auth",
     auth.log())

st = proc_status(auth.pid)
t.eq(st.get("Uid", "").split(), [str(nobody.pw_uid)] * 4, f"auth runs as {TEST_USER}")
t.eq(st.get("NoNewPrivs"), "1", "NoNewPrivs: 1")
t.eq(st.get("Seccomp"), "2", "Seccomp: 2")
t.ok("sandbox: running as nobody:nogroup" in auth.log() and
     "system calls: stdio unix flock rpath wpath cpath" in auth.log(),
     "the sandbox it applied is logged", auth.log())
salt = os.path.join(site.data, "auth-salt.secret")
t.ok(os.path.exists(salt) and stat.S_IMODE(os.stat(salt).st_mode) == 0o600 and
     os.path.getsize(salt) == 32, "the salt secret is created, 0600, 32 random bytes")

c2s = site.c2s()
cbs = [("tls-exporter", CB_EXPORTER), ("tls-unique", b"\x01" * 12)]

# --- SCRAM, each hash, with and without channel binding -----------------------------
n = 0
for mech, cb_type in [("SCRAM-SHA-1", None), ("SCRAM-SHA-256", None),
                      ("SCRAM-SHA-1-PLUS", "tls-exporter"),
                      ("SCRAM-SHA-256-PLUS", "tls-exporter"),
                      ("SCRAM-SHA-256-PLUS", "tls-unique")]:
    n += 1
    sid = f"s{n}"
    data = CB_EXPORTER if cb_type == "tls-exporter" else b"\x01" * 12
    f, s, steps = scram_login(c2s, sid, mech, "juliet", "r0m30&wherefore",
                              cbs=cbs if cb_type else (), cb_type=cb_type, cb_data=data)
    t.eq(status(f), (F.SASL_RESULT, OK), f"{mech}{' ' + cb_type if cb_type else ''}: success")
    t.ok(f is not None and s.verify(f.get(F.SASL_DATA, b"")),
         f"{mech}: the server-final message proves the server knows the secret")
    t.eq(f.get(F.JID) if f else None, f"juliet@{HOST}", f"{mech}: the result names the bare JID")

# Non-PLUS SCRAM over TLS with bindings offered: a client that could bind
# says "y" (it thinks we cannot) — a downgrade, refused.
s = Scram("SCRAM-SHA-256", "juliet", "r0m30&wherefore", gs2="y,,")
c2s.start("down", "SCRAM-SHA-256", s.first(), cbs=cbs)
f = c2s.answer("down")
if f is not None and f.type == F.SASL_STEP:
    c2s.step("down", s.final(f.get(F.SASL_DATA)))
    f = c2s.answer("down")
t.ok(f is not None and f.type == F.SASL_RESULT and f.get(F.STATUS) != OK,
     "a 'y' channel-binding flag while -PLUS was offered is refused", f)

# -PLUS with the wrong channel-binding bytes (a man in the middle).
f, s, _ = scram_login(c2s, "mitm", "SCRAM-SHA-256-PLUS", "juliet", "r0m30&wherefore",
                      cbs=cbs, cb_type="tls-exporter", cb_data=b"\xff" * 32)
t.eq(status(f), (F.SASL_RESULT, NOT_AUTHORIZED), "-PLUS with other channel-binding bytes fails")

f, s, _ = scram_login(c2s, "wrong", "SCRAM-SHA-1", "juliet", "wrong")
t.eq(status(f), (F.SASL_RESULT, NOT_AUTHORIZED), "SCRAM with a wrong password: not-authorized")

f, s, steps = scram_login(c2s, "ghost", "SCRAM-SHA-256", "ghost", "boo", addr="192.0.2.50:1")
t.ok(steps == 1 and status(f) == (F.SASL_RESULT, NOT_AUTHORIZED),
     "an unknown user goes through the whole exchange and fails at the end", f)
t.eq(getattr(s, "iterations", None), 4096, "and is told the same iteration count")
f, s2, _ = scram_login(c2s, "ghost2", "SCRAM-SHA-256", "ghost", "boo", addr="192.0.2.51:1")
t.ok(s.server_first.split(",")[1] == s2.server_first.split(",")[1],
     "with the same salt every time (derived from the salt secret)")

# --- PLAIN -----------------------------------------------------------------------------
c2s.start("p1", "PLAIN", plain("juliet", "r0m30&wherefore"), cbs=cbs)
f = c2s.answer("p1")
t.eq(status(f), (F.SASL_RESULT, OK), "PLAIN over TLS: success")
t.eq(f.get(F.JID) if f else None, f"juliet@{HOST}", "PLAIN: the bare JID")
c2s.start("p2", "PLAIN", plain("Juliet", "r0m30&wherefore"), cbs=cbs)
f = c2s.answer("p2")
t.eq(f.get(F.JID) if f else None, f"juliet@{HOST}", "the username is nodeprepped (Juliet)")
c2s.start("p3", "PLAIN", plain("juliet", "nope"), cbs=cbs, addr="192.0.2.60:1")
t.eq(status(c2s.answer("p3")), (F.SASL_RESULT, NOT_AUTHORIZED), "PLAIN, wrong password")
c2s.start("p4", "PLAIN", plain("juliet", "r0m30&wherefore"))
t.eq(status(c2s.answer("p4")), (F.SASL_RESULT, ENCRYPTION_REQUIRED),
     "PLAIN without TLS (no channel bindings): encryption-required")
c2s.start("p5", "PLAIN", plain("juliet", "r0m30&wherefore", f"romeo@{HOST}"), cbs=cbs,
          addr="192.0.2.61:1")
t.eq(status(c2s.answer("p5")), (F.SASL_RESULT, INVALID_AUTHZID),
     "PLAIN acting as someone else: invalid-authzid")
c2s.start("p6", "PLAIN", None, cbs=cbs)
f = c2s.answer("p6")
t.ok(f is not None and f.type == F.SASL_STEP and f.get(F.SASL_DATA) == b"",
     "PLAIN without an initial response gets an empty challenge", f)
c2s.step("p6", plain("juliet", "r0m30&wherefore"))
t.eq(status(c2s.answer("p6")), (F.SASL_RESULT, OK), "and succeeds with the response")

# --- refusals ------------------------------------------------------------------------------
c2s.start("m1", "DIGEST-MD5", b"")
t.eq(status(c2s.answer("m1")), (F.SASL_RESULT, INVALID_MECHANISM),
     "an unknown mechanism: invalid-mechanism")
c2s.start("m2", "SCRAM-SHA-256-PLUS", b"x")
t.eq(status(c2s.answer("m2")), (F.SASL_RESULT, INVALID_MECHANISM),
     "-PLUS without channel-binding data: invalid-mechanism")
c2s.start("m3", "SCRAM-SHA-256", Scram("SCRAM-SHA-256", "juliet", "x").first(),
          extra=[(F.CB_TYPE, "tls-exporter")])
t.eq(status(c2s.answer("m3")), (F.SASL_RESULT, MALFORMED_REQUEST),
     "cb-type and cb-data counts differ: malformed-request")
c2s.start("m4", "SCRAM-SHA-256", Scram("SCRAM-SHA-256", "juliet", "x").first())
f = c2s.answer("m4")
c2s.step("m4", None, abort=True)
t.eq(status(c2s.answer("m4")), (F.SASL_RESULT, ABORTED), "an abort: aborted")
c2s.step("m5", b"whatever")
t.eq(status(c2s.answer("m5")), (F.SASL_RESULT, TEMPORARY_AUTH_FAILURE),
     "a step for an exchange auth does not have: temporary-auth-failure")
c2s.start("m6", "SCRAM-SHA-1", b"garbage")
t.eq(status(c2s.answer("m6")), (F.SASL_RESULT, MALFORMED_REQUEST),
     "a malformed client-first: malformed-request")
log = auth.log()
t.ok("authentication failed: SCRAM-SHA-1 from 127.0.0.1:40000 for juliet@example.test"
     in log, "a failure is logged with the address and the username", log)

# --- the failure delay ------------------------------------------------------------------------
addr = "198.51.100.9:4000"
times = []
for i in range(5):
    start = time.monotonic()
    c2s.start(f"d{i}", "PLAIN", plain("juliet", f"bad{i}"), cbs=cbs, addr=addr)
    f = c2s.answer(f"d{i}", timeout=15)
    times.append(time.monotonic() - start)
# "At once" is below 0.8 s: the first hold is 1 s, and a busy machine (the
# sanitizers, test programs side by side) adds to every answer.
t.ok(all(x < 0.8 for x in times[:3]), "the first three failures from an address are answered "
     "at once", times)
t.ok(0.9 <= times[3] < 1.8 and 1.9 <= times[4] < 3.0,
     "then the answer is held 1 s, then 2 s (the cap)", times)
start = time.monotonic()
c2s.start("d-other", "PLAIN", plain("juliet", "bad"), cbs=cbs, addr="198.51.100.10:4000")
c2s.answer("d-other")
t.ok(time.monotonic() - start < 0.8, "another address is not slowed down")
start = time.monotonic()
c2s.start("d-ok", "PLAIN", plain("juliet", "r0m30&wherefore"), cbs=cbs, addr=addr)
f = c2s.answer("d-ok")
t.ok(status(f) == (F.SASL_RESULT, OK) and time.monotonic() - start < 0.8,
     "a success from the slowed address is not delayed")
# While a failure is held, the rest of the process is not.
c2s.start("d-held", "PLAIN", plain("juliet", "bad"), cbs=cbs, addr=addr)
start = time.monotonic()
c2s.start("d-fast", "PLAIN", plain("juliet", "r0m30&wherefore"), cbs=cbs,
          addr="203.0.113.1:1")
f = c2s.answer("d-fast")
t.ok(status(f) == (F.SASL_RESULT, OK) and time.monotonic() - start < 0.8,
     "a held failure does not hold anybody else")
c2s.answer("d-held", timeout=5)

# --- c2s going away; SIGTERM ---------------------------------------------------------------------
c2s2 = site.c2s("c2s.2")
c2s2.start("gone", "SCRAM-SHA-256", Scram("SCRAM-SHA-256", "juliet", "x").first())
t.ok(c2s2.answer("gone") is not None, "an exchange of c2s.2 is under way")
c2s2.close()
t.ok(wait_until(lambda: "c2s.2 went away: dropping its 1 SASL exchange" in auth.log()),
     "c2s.2 goes down: its exchange is dropped", auth.log())

c2s.start("term", "SCRAM-SHA-256", Scram("SCRAM-SHA-256", "juliet", "x").first())
t.ok(c2s.answer("term") is not None, "an exchange is under way at SIGTERM")
auth.signal(signal.SIGTERM)
t.eq(status(c2s.answer("term")), (F.SASL_RESULT, TEMPORARY_AUTH_FAILURE),
     "SIGTERM answers it temporary-auth-failure")
t.eq(auth.wait(10), 0, "and auth exits 0")
t.ok("stopped" in auth.log(), "after saying so")

# --- --sandbox-test ------------------------------------------------------------------------------
p = site.start_auth(9, ["--sandbox-test"], wait=False)
t.eq(p.wait(10), -signal.SIGSYS, "--sandbox-test: auth dies of SIGSYS")
t.ok("seccomp: system call execve" in p.log(), "and the violation is logged", p.log())

c2s.close()
t.done()
