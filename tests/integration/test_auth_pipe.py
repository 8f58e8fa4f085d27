#!/usr/bin/python3
"""test_auth_pipe.py — parley-auth with the pipe backend: an external
program speaking ejabberd's extauth protocol (tests/auth/extauth.py) checks
PLAIN logins; SCRAM is refused (the program keeps no secrets); a program
that hangs costs temporary-auth-failure and is restarted; one that dies
is restarted; registration, password change and cancel go to the program;
the program runs as the unprivileged user, outside auth's sandbox, and
auth inside it. Prints TAP."""
import os
import pwd
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import frames as F  # noqa: E402
from parley import SRC, TEST_USER, Suite, Tap, proc_status, wait_until  # noqa: E402
from authlib import (CB_EXPORTER, HOST, INVALID_MECHANISM, NOT_AUTHORIZED, OK,  # noqa: E402
                           TEMPORARY_AUTH_FAILURE, Scram, Site, plain, status)

t = Tap()
suite = Suite("auth-pipe")
nobody = pwd.getpwnam(TEST_USER)
cbs = [("tls-exporter", CB_EXPORTER)]
users_dir = suite.mkdir("extauth", owner="test")
users = os.path.join(users_dir, "users")
with open(users, "w") as f:
    f.write(f"alice@{HOST}:wonder:land\n")
os.chown(users, nobody.pw_uid, nobody.pw_gid)
script = os.path.join(SRC, "tests", "auth", "extauth.py")

site = Site(suite, auth=f'backend = "pipe";\nregistration = true;\n'
                        f'pipe = {{ program = [ "{script}", "{users}" ]; timeout = "1s"; }};')
auth = site.auths[0]
t.ok(auth.alive() and "backend pipe" in auth.log(), "auth starts with the pipe backend", auth.log())
st = proc_status(auth.pid)
t.ok(st.get("Seccomp") == "2" and st.get("NoNewPrivs") == "1" and
     st.get("Uid", "").split()[0] == str(nobody.pw_uid), "auth itself is sandboxed")
t.ok("system calls: stdio unix" in auth.log() and "flock" not in auth.log(),
     "without the file rights the store would need", auth.log())


def extauth_pids():
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if script.encode() in f.read():
                        out.append(int(pid))
            except OSError:
                pass
    return out


pids = wait_until(extauth_pids, 5)
t.ok(pids and all(proc_status(p).get("Uid", "").split()[0] == str(nobody.pw_uid) for p in pids),
     f"the program runs as {TEST_USER}", pids)
t.ok(pids and all(proc_status(p).get("Seccomp") == "0" for p in pids),
     "outside auth's seccomp filter (started by the launcher)")

c2s = site.c2s()


def login(sid, user, password, **kw):
    c2s.start(sid, "PLAIN", plain(user, password), cbs=cbs, **kw)
    return status(c2s.answer(sid, timeout=15))


t.eq(login("p1", "alice", "wonder:land"), (F.SASL_RESULT, OK),
     "PLAIN checked by the program: success (a password with a colon)")
t.eq(login("p2", "alice", "wonder"), (F.SASL_RESULT, NOT_AUTHORIZED), "a wrong password")
t.eq(login("p3", "bob", "x", addr="192.0.2.1:1"), (F.SASL_RESULT, NOT_AUTHORIZED),
     "an unknown user")
c2s.start("s1", "SCRAM-SHA-256", Scram("SCRAM-SHA-256", "alice", "x").first(), cbs=cbs)
t.eq(status(c2s.answer("s1")), (F.SASL_RESULT, INVALID_MECHANISM),
     "SCRAM with the pipe backend: invalid-mechanism")

# Several at once, answered in order, none lost.
for i in range(6):
    c2s.start(f"q{i}", "PLAIN", plain("alice", "wonder:land" if i % 2 == 0 else "no"), cbs=cbs,
              addr=f"192.0.2.{10 + i}:1")
got = [status(c2s.answer(f"q{i}", timeout=15)) for i in range(6)]
t.eq(got, [(F.SASL_RESULT, OK if i % 2 == 0 else NOT_AUTHORIZED) for i in range(6)],
     "six logins in flight at once each get their own answer")

# A program that hangs: temporary-auth-failure after auth.pipe.timeout, and the loop
# goes on meanwhile.
start = time.monotonic()
c2s.start("h1", "PLAIN", plain("hang", "x"), cbs=cbs)
r = status(c2s.answer("h1", timeout=15))
took = time.monotonic() - start
t.ok(r == (F.SASL_RESULT, TEMPORARY_AUTH_FAILURE) and 0.8 < took < 5,
     "a program that does not answer: temporary-auth-failure after the timeout", (r, took))
t.ok("did not answer within 1000 ms: restarting it" in auth.log(), "logged", auth.log())
t.eq(login("h2", "alice", "wonder:land"), (F.SASL_RESULT, OK),
     "the next login works (the program was restarted)")
t.eq(login("d1", "die", "x"), (F.SASL_RESULT, TEMPORARY_AUTH_FAILURE),
     "a program that dies mid-request: temporary-auth-failure")
t.eq(login("d2", "alice", "wonder:land"), (F.SASL_RESULT, OK), "and it is restarted")

# Registration and account management go to the program.
NS = "jabber:iq:register"


def ask(sid, typ, body, to=HOST, frm=None):
    attrs = f" type='{typ}' id='i'" + (f" to='{to}'" if to else "") + (f" from='{frm}'" if frm else "")
    c2s.route(sid, f"<iq xmlns='jabber:client'{attrs}><query xmlns='{NS}'>{body}</query></iq>")
    f = c2s.routed(sid, timeout=15)
    return f.get(F.STANZA).decode() if f else ""


def err(xml):
    m = re.search(r"<error type=['\"](\w+)['\"]><([\w-]+)", xml)
    return m.group(2) if m else None


t.ok(err(ask("r1", "set", "<username>carol</username><password>c1</password>")) is None,
     "registration creates the account through tryregister")
t.eq(login("r2", "carol", "c1"), (F.SASL_RESULT, OK), "which can log in")
t.eq(err(ask("r3", "set", "<username>alice</username><password>x</password>")), "conflict",
     "an existing name: conflict (isuser first)")
t.ok(err(ask("r4", "set", "<username>carol</username><password>c2</password>", to=None,
             frm=f"carol@{HOST}/x")) is None, "password change through setpass")
t.eq(login("r5", "carol", "c2"), (F.SASL_RESULT, OK), "the new password works")
t.ok(err(ask("r6", "set", "<remove/>", to=None, frm=f"carol@{HOST}/x")) is None,
     "cancel through removeuser")
t.eq(login("r7", "carol", "c2", addr="192.0.2.99:1"), (F.SASL_RESULT, NOT_AUTHORIZED),
     "and the account is gone")

c2s.close()
t.eq(auth.stop(), 0, "SIGTERM: auth stops cleanly")
t.ok(wait_until(lambda: not extauth_pids(), 5), "and the program goes with it")
t.done()
