#!/usr/bin/python3
"""test_auth_pam.py — parley-auth with the pam backend, with router, sm and
c2s running and a real client (python3-slixmpp, PLAIN over STARTTLS),
against a PAM service the test writes to /etc/pam.d/parley-test-RANDOM
(removed at the end): pam_userdb checks passwords from a Berkeley DB made
with db_load; pam_exec runs a gate that hangs for the user "hang", and an
account check that refuses "locked" (pam_acct_mgmt runs after
pam_authenticate). Right, wrong, unknown, locked, empty; a conversation that
hangs is temporary-auth-failure within auth.pam.timeout while another login
goes through, and what it started is killed; auth.pam.username; the helper
runs outside auth's sandbox with root, auth inside it without threads or
network; a helper that is killed takes auth down (to be restarted). Prints
TAP."""
import atexit
import os
import pwd
import re
import secrets
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import xmppraw as X  # noqa: E402
from c2slib import Site  # noqa: E402
from parley import TEST_USER, Suite, Tap, proc_status, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "example.test"
t = Tap()
suite = Suite("auth-pam")

if os.geteuid() != 0 or not os.path.isdir("/etc/pam.d") or \
        not os.path.exists("/usr/lib/x86_64-linux-gnu/security/pam_userdb.so") and \
        not os.path.exists("/lib/x86_64-linux-gnu/security/pam_userdb.so"):
    t.skip("pam backend", "needs root, /etc/pam.d and pam_userdb")
    t.done()
    sys.exit(0)

# --- the PAM service ----------------------------------------------------------------

pamdir = suite.mkdir("pam")
users = {"alice": "wonderland", "bob": "builder", "locked": "locked-pw", "hang": "x",
         f"carol@{DOMAIN}": "c-pw"}
src = os.path.join(pamdir, "users.txt")
with open(src, "w") as f:
    for u, p in users.items():
        f.write(f"{u}\n{p}\n")
db = os.path.join(pamdir, "users")
r = subprocess.run(["db_load", "-T", "-t", "hash", "-f", src, db + ".db"], capture_output=True,
                   text=True, timeout=30)
os.remove(src)
if r.returncode != 0:
    t.skip("pam backend", f"db_load failed: {r.stderr}")
    t.done()
    sys.exit(0)
os.chmod(db + ".db", 0o600)

hang_pid = os.path.join(pamdir, "hang.pid")
gate = suite.write("pam/gate.sh", "#!/bin/sh\n"
                   f'if [ "$PAM_USER" = hang ]; then echo $$ > {hang_pid}; exec sleep 600; fi\n'
                   "exit 0\n", mode=0o755)
acct = suite.write("pam/acct.sh", "#!/bin/sh\n[ \"$PAM_USER\" = locked ] && exit 1\nexit 0\n",
                   mode=0o755)
service = f"parley-test-{secrets.token_hex(4)}"
service_file = os.path.join("/etc/pam.d", service)


def remove_service():
    try:
        os.remove(service_file)
    except FileNotFoundError:
        pass


atexit.register(remove_service)
with open(service_file, "w") as f:
    f.write(f"""# written by Parley's test_auth_pam.py; removed when it ends
auth     [success=ok default=die] pam_exec.so quiet {gate}
auth     required pam_userdb.so db={db}
account  [success=1 default=ignore] pam_exec.so quiet {acct}
account  requisite pam_deny.so
account  required pam_userdb.so db={db}
""")

# --- the site -------------------------------------------------------------------------

MARK_A, MARK_B = "# pam settings begin\n", "# pam settings end\n"


def auth_block(username="%u", timeout="1s"):
    return ('auth = { backend = "pam"; registration = true; threads = 2;\n'
            '  failures = { free = 1000; };\n'
            f'  pam = {{ service = "{service}"; username = "{username}"; '
            f'timeout = "{timeout}"; }};\n}};\n')


site = Site(suite, c2s_settings='sasl_mechanisms = [ "PLAIN" ];\n',
            top=MARK_A + auth_block() + MARK_B)


def set_auth(**kw):
    text = open(site.conf).read()
    a, b = text.index(MARK_A) + len(MARK_A), text.index(MARK_B)
    with open(site.conf, "w") as f:
        f.write(text[:a] + auth_block(**kw) + text[b:])


n_auth = [0]


def start_auth():
    n_auth[0] += 1
    ups = site.c2s.log().count("auth is up") if site.c2s else 0
    p = suite.start(f"auth{n_auth[0]}", ["parley-auth", "-f", "-c", site.conf])
    wait_until(lambda: not p.alive() or "bound auth" in p.log(), 10)
    if site.c2s:
        wait_until(lambda: site.c2s.log().count("auth is up") > ups, 5)
    return p


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


auth = start_auth()
sm = suite.start("sm", ["parley-sm", "-f", "-c", site.conf])
wait_until(lambda: not sm.alive() or f"bound {DOMAIN}" in sm.log(), 10)
site.start_c2s()
t.ok(auth.alive() and sm.alive() and site.c2s.alive(), "router, auth (pam), sm and c2s run",
     auth.log()[-800:])
if not auth.alive():
    t.done()
    sys.exit(1)

nobody = pwd.getpwnam(TEST_USER)
st = proc_status(auth.pid)
t.ok(st.get("Seccomp") == "2" and st.get("Uid", "").split()[0] == str(nobody.pw_uid),
     "auth is sandboxed and unprivileged", st.get("Uid"))
t.ok(re.search(r"system calls: stdio unix$", auth.log(), re.M) is not None,
     "its policy: stdio unix (no threads, no network, no files)", auth.log()[-600:])
helpers = children(auth.pid)
hst = proc_status(helpers[0]) if helpers else {}
t.ok(len(helpers) == 1 and hst.get("Uid", "").split()[0] == "0" and hst.get("Seccomp") == "0",
     "the PAM helper is auth's child, keeps root and has no seccomp filter", (helpers, hst))


def slix(user, password, timeout=40):
    r = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "lib", "slixlogin.py"),
                        str(site.port), f"{user}@{DOMAIN}", password, "PLAIN"],
                       capture_output=True, text=True, timeout=timeout)
    return r.stdout.strip() or r.stderr[-300:]


def timed_slix(user, password, out, key):
    start = time.monotonic()
    r = slix(user, password)
    out[key] = (r, start, time.monotonic())


OK_ALICE = f"OK alice@{DOMAIN}/"
NOT_AUTH = "FAIL auth not-authorized"
TEMP = "FAIL auth temporary-auth-failure"

out = slix("alice", "wonderland")
t.ok(out.startswith(OK_ALICE), "the right password: logged in (pam_userdb)",
     out + "\n" + auth.log()[-600:])
t.eq(slix("alice", "wrong"), NOT_AUTH, "a wrong password: not-authorized")
t.eq(slix("nobody-here", "x"), NOT_AUTH, "an unknown user: not-authorized")


def user_check(jid, password):
    from parley import BUILD
    return subprocess.run([os.path.join(BUILD, "parleyctl"), "-c", site.conf, "user", "check",
                           jid], input=password + "\n", capture_output=True, text=True,
                          timeout=60)


r = user_check(f"alice@{DOMAIN}", "wonderland")
t.ok(r.returncode == 0 and r.stdout.strip() == f"ok alice@{DOMAIN}",
     "parleyctl user check with the right password: ok, exit 0", r)
r = user_check(f"alice@{DOMAIN}", "wrong")
t.ok(r.returncode == 1 and r.stdout.strip() == f"failed alice@{DOMAIN}",
     "parleyctl user check with a wrong password: failed, exit 1", r)
t.eq(slix("locked", "locked-pw"), NOT_AUTH, "the right password for an account the "
     "account stack refuses: not-authorized (pam_acct_mgmt)")
t.ok("pam_acct_mgmt" in auth.log(), "and the log says which step refused", auth.log()[-500:])

c = X.Client(site.port)
c.open_stream()
c.starttls()
c.open_stream()
m = c.plain("alice", "\u00ad")   # SASLprep maps it to nothing
t.ok(m is not None and m.group(1) == "failure", "a password SASLprep maps to nothing: refused",
     (m and m.group(0)) or c.rest())
c.close()
t.ok("login of alice@example.test: empty password refused" in auth.log(),
     "by the backend, before PAM is asked", auth.log()[-400:])

# A conversation that hangs (the gate script sleeps): temporary-auth-failure after
# auth.pam.timeout, while a login started after it is answered first; then the
# helper kills the hung conversation with what it started.
res = {}
th = threading.Thread(target=timed_slix, args=("hang", "x", res, "hang"))
th.start()
time.sleep(0.3)
timed_slix("alice", "wonderland", res, "alice")
th.join(30)
r_hang, h0, h1 = res.get("hang", ("none", 0, 99))
r_alice, a0, a1 = res.get("alice", ("none", 0, 99))
t.ok(r_hang == TEMP and h1 - h0 < 5, "a PAM stack that hangs: temporary-auth-failure after "
     "auth.pam.timeout", (r_hang, h1 - h0))
t.ok(r_alice.startswith(OK_ALICE) and a1 < h1, "meanwhile another login goes through, "
     "answered first", (r_alice, a1 - h0, h1 - h0))
t.ok("no answer from the PAM stack" in auth.log(), "the timeout is logged", auth.log()[-500:])
pid = None
try:
    pid = int(open(hang_pid).read())
except (OSError, ValueError):
    pass
t.ok(pid is not None and wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 5),
     "the program the hung module started is killed too", pid)
t.ok(wait_until(lambda: len(children(helpers[0])) == 0, 5) if helpers else False,
     "and no conversation is left running", children(helpers[0]) if helpers else None)

# More logins at once than auth.threads (2): they wait their turn, each answered.
res = {}
ths = [threading.Thread(target=timed_slix, args=("alice" if i % 2 == 0 else "bob",
                                                  "wonderland" if i % 2 == 0 else "wrong",
                                                  res, i)) for i in range(6)]
for x in ths:
    x.start()
for x in ths:
    x.join(60)
got = [res.get(i, ("none",))[0] for i in range(6)]
t.ok(all(got[i].startswith(OK_ALICE) if i % 2 == 0 else got[i] == NOT_AUTH for i in range(6)),
     "six logins at once, two conversations at a time: each gets its own answer", got)

# Registration: PAM cannot create accounts.
c = X.Client(site.port)
c.open_stream()
c.starttls()
c.open_stream()
c.send("<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>newbie</username>"
       "<password>x</password></query></iq>")
m = c.expect(r"<iq[^>]*id=['\"]reg1['\"].*?</iq>", 10)
t.ok(m is not None and "<not-allowed" in m.group(0), "registration: not-allowed",
     m and m.group(0))
c.close()

logs = auth.log()
t.ok(all(p not in logs for p in ("wonderland", "locked-pw", "builder")),
     "no password appears in auth's log")
t.eq(auth.stop(), 0, "SIGTERM: auth stops cleanly")
t.ok(wait_until(lambda: not os.path.exists(f"/proc/{helpers[0]}"), 5) if helpers else False,
     "and its helper goes with it")

# auth.pam.username: the name PAM sees.
set_auth(username="%u@%d")
auth = start_auth()
out = slix("carol", "c-pw")
t.ok(out.startswith(f"OK carol@{DOMAIN}/"), "username \"%u@%d\": carol@example.test is asked",
     out + "\n" + auth.log()[-400:])
t.eq(slix("alice", "wonderland"), NOT_AUTH, "and plain \"alice\" is no longer a PAM user")

# A helper that dies cannot be replaced from inside the sandbox: auth exits (parleyd
# starts it again, with a new helper).
helpers = children(auth.pid)
if helpers:
    os.kill(helpers[0], signal.SIGKILL)
rc = auth.wait(10)
t.ok(rc not in (None, 0) and "PAM helper" in auth.log(), "the helper killed: auth logs it and "
     "exits non-zero", (rc, auth.log()[-300:]))
set_auth()
auth = start_auth()
t.ok(auth.alive() and slix("alice", "wonderland").startswith(OK_ALICE),
     "started again, it works", auth.log()[-300:])

set_auth(username="%x")
p = suite.start("auth-bad", ["parley-auth", "-f", "-c", site.conf])
rc = p.wait(10)
t.ok(rc not in (None, 0) and "auth.pam.username" in p.log(),
     "a username template with an unknown %-sequence: auth refuses to start", p.log()[-300:])

auth.stop()
site.c2s.stop()
sm.stop()
remove_service()
t.ok(not os.path.exists(service_file), "the test's PAM service is removed")
t.done()
