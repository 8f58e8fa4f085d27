#!/usr/bin/python3
# tests/run: early (one of the longest: started first so the others fill in beside it)
"""test_auth_ldap.py — parley-auth with the ldap backend against a private
OpenLDAP slapd (lib/ldapserver.py), with router, sm and c2s running and a
real client (python3-slixmpp, PLAIN over STARTTLS): the right password logs
in, a wrong one, an unknown user, an ambiguous filter and an empty password
(one SASLprep maps to nothing) are not-authorized; usernames that would
inject filter syntax ("al*", "alice)(|(uid=x"…) stay values; a non-ASCII
localpart is escaped and found; a directory that is down is
temporary-auth-failure and a restart of it costs nothing; a directory that
accepts and never answers is temporary-auth-failure within auth.ldap.timeout
while other logins go on; StartTLS and ldaps:// verify the directory against
auth.ldap.tls_ca; anonymous searches; a wrong bind_dn password; the sandbox
(threads, inet, and the resolver's files only for a host name). Prints
TAP."""
import os
import select
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import xmppraw as X  # noqa: E402
from c2slib import Site  # noqa: E402
from ldapserver import PEOPLE, LDAPServer  # noqa: E402
from parley import TEST_USER, Suite, Tap, proc_status, wait_until  # noqa: E402
from testca import TestCA  # noqa: E402

import pwd  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "example.test"
t = Tap()
suite = Suite("auth-ldap")

# --- the directory ---------------------------------------------------------------

ca = TestCA(suite.path("pki"))
cert = ca.server_cert(["localhost"], name="slapd", extra_sans=("IP.9 = 127.0.0.1",))
other_ca = TestCA(suite.path("pki-other"), name="Another CA")
d = LDAPServer(suite.path("ldap"), tls_cert=cert.cert, tls_key=cert.key)
d.add_user("alice", "wonderland")
d.add_user("bob", "builder")
d.add_user("josé", "olé olé")
d.add_user("dup", "twice")
d.add_user("dup", "twice", ou="staff")
d.add_user("slowpoke", "tortoise")
service_dn = d.add_service("parley", "s3cret")
try:
    d.start()
except RuntimeError as e:
    t.skip("slapd", f"cannot run here: {e}")
    t.done()
    sys.exit(0)
pwfile = suite.write("ldap-bind.pw", "s3cret\n", mode=0o600)
t.ok("uid=alice" in d.search(PEOPLE, "(uid=alice)", "dn"), "slapd runs with the test users")


class Proxy(threading.Thread):
    """A TCP relay in front of slapd that can misbehave: in "blackhole"
    mode it accepts and never answers (connections already open stop
    answering too); in any mode, a connection whose
    client sends `stall` is left hanging (nothing more goes either way)."""

    def __init__(self, upstream, stall=b"slowpoke"):
        super().__init__(daemon=True)
        self.upstream = upstream
        self.stall = stall
        self.mode = "forward"
        self.stalled = 0
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.stop_flag = False
        self.start()

    def run(self):
        while not self.stop_flag:
            r, _, _ = select.select([self.lsock], [], [], 0.1)
            if not r:
                continue
            c, _ = self.lsock.accept()
            threading.Thread(target=self.relay, args=(c, self.mode), daemon=True).start()

    def relay(self, c, mode):
        up = None
        if mode == "forward":
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream), timeout=2)
            except OSError:
                c.close()
                return
        stalled = mode != "forward"
        socks = [c] + ([up] if up else [])
        deadline = time.monotonic() + 120
        while not self.stop_flag and time.monotonic() < deadline:
            r, _, _ = select.select(socks, [], [], 0.1)
            for s in r:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    for x in socks:
                        x.close()
                    return
                if self.mode != "forward":
                    stalled = True   # a blackhole holds the open connections too
                if s is c and self.stall in data and not stalled:
                    stalled = True
                    self.stalled += 1
                if stalled:
                    continue
                (up if s is c else c).sendall(data)
        for x in socks:
            x.close()


proxy = Proxy(d.port)

# --- the site: router, auth (ldap), sm, c2s offering PLAIN only --------------------

LDAP_BASE = {
    "uri": d.uri, "base": "dc=example,dc=test", "scope": "sub",
    "filter": "(&(objectClass=inetOrgPerson)(uid=%u))",
    "bind_dn": service_dn, "bind_password_file": pwfile, "timeout": "2s",
}


def auth_block(**over):
    ldap = dict(LDAP_BASE, **over)
    body = "; ".join(f'{k} = {v}' if isinstance(v, bool) or k == "starttls"
                     else f'{k} = "{v}"' for k, v in ldap.items() if v is not None)
    return ('auth = { backend = "ldap"; registration = true; threads = 2;\n'
            '  failures = { free = 1000; };\n'
            f'  ldap = {{ {body}; }};\n}};\n')


MARK_A, MARK_B = "# ldap settings begin\n", "# ldap settings end\n"
site = Site(suite, c2s_settings='sasl_mechanisms = [ "PLAIN" ];\n',
            top=MARK_A + auth_block() + MARK_B)


def set_auth(**over):
    text = open(site.conf).read()
    a, b = text.index(MARK_A) + len(MARK_A), text.index(MARK_B)
    with open(site.conf, "w") as f:
        f.write(text[:a] + auth_block(**over) + text[b:])


n_auth = [0]


def start_auth(wait=True):
    n_auth[0] += 1
    ups = site.c2s.log().count("auth is up") if site.c2s else 0
    p = suite.start(f"auth{n_auth[0]}", ["parley-auth", "-f", "-c", site.conf])
    if wait:
        wait_until(lambda: not p.alive() or "bound auth" in p.log(), 10)
        if site.c2s:
            wait_until(lambda: site.c2s.log().count("auth is up") > ups, 5)
    return p


auth = start_auth()
sm = suite.start("sm", ["parley-sm", "-f", "-c", site.conf])
wait_until(lambda: not sm.alive() or f"bound {DOMAIN}" in sm.log(), 10)
site.start_c2s()
t.ok(auth.alive() and sm.alive() and site.c2s.alive(), "router, auth (ldap), sm and c2s run",
     auth.log()[-800:] + sm.log()[-300:])
if not auth.alive():
    t.done()
    sys.exit(1)

nobody = pwd.getpwnam(TEST_USER)
st = proc_status(auth.pid)
t.ok(st.get("Seccomp") == "2" and st.get("NoNewPrivs") == "1" and
     st.get("Uid", "").split()[0] == str(nobody.pw_uid), "auth is sandboxed", st)
t.ok("system calls: stdio unix thread inet" in auth.log() and "rpath" not in auth.log(),
     "its policy: threads and inet, no file reads with an address in the URI", auth.log()[-800:])


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
t.ok(out.startswith(OK_ALICE), "the right password: logged in (search as bind_dn, bind as "
     "the entry)", out + "\n" + auth.log()[-600:])
t.eq(slix("alice", "wrong"), NOT_AUTH, "a wrong password: not-authorized")
t.eq(slix("carol", "wonderland"), NOT_AUTH, "an unknown user: not-authorized")


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
out = slix("josé", "olé olé")
t.ok(out.startswith(f"OK josé@{DOMAIN}/"), "a non-ASCII localpart is escaped (\\c3\\a9) and "
     "found", out + "\n" + auth.log()[-400:])
t.eq(slix("zoë", "x"), NOT_AUTH, "an unknown non-ASCII localpart: not-authorized")
t.ok("(uid=zo\\c3\\ab))" in auth.log(), "the filter searched holds the escaped UTF-8 bytes",
     auth.log()[-600:])
t.eq(slix("dup", "twice"), NOT_AUTH, "two entries match: not-authorized")
t.ok("matches more than one entry" in auth.log(), "and the ambiguity is logged for the operator")

# Filter injection, each with alice's password: with the username pasted in unescaped,
# "al*" and "alice)(|(uid=x" would find alice's entry alone and bind as her.
for name in ("al*", "*", "alice)(|(uid=x", ")(uid=*", "bob)(|(uid=*"):
    out = slix(name, "wonderland")
    t.eq(out, NOT_AUTH, f"username {name!r} with alice's password: not-authorized")
t.ok("(uid=al\\2a))" in auth.log() and "(uid=alice\\29\\28|\\28uid=x))" in auth.log(),
     "the filter syntax reached the directory as escaped values", auth.log()[-1500:])
t.ok("Bad search filter" not in auth.log(), "no filter the directory could not parse")

# Empty passwords: a PLAIN message without one is refused by the SASL layer; "\u00ad" is
# a password SASLprep maps to nothing, so the backend gets "" and must not bind with it
# (an empty simple bind is an unauthenticated bind, which slapd answers "success").
for label, pw in (("no password", ""), ("a password SASLprep maps to nothing", "\u00ad")):
    c = X.Client(site.port)
    c.open_stream()
    c.starttls()
    c.open_stream()
    m = c.plain("alice", pw)
    t.ok(m is not None and m.group(1) == "failure", f"{label}: refused",
         (m and m.group(0)) or c.rest())
    c.close()
t.ok("login of alice@example.test: empty password refused" in auth.log(),
     "the backend refuses the empty password before asking the directory", auth.log()[-600:])

c = X.Client(site.port)
c.open_stream()
c.starttls()
f = c.open_stream()
t.ok(f is not None and "<mechanism>PLAIN</mechanism>" in f.group(0) and "SCRAM" not in f.group(0),
     "only PLAIN is offered (c2s.sasl_mechanisms)", f and f.group(0))
c.close()

# Registration: exists() searches (alice: conflict); creation is not the backend's.
c, jid, _ = X.login(site.port, "bob", "builder", "r")
t.eq(jid, f"bob@{DOMAIN}/r", "a raw PLAIN client logs in too")
c.close()
c = X.Client(site.port)
c.open_stream()
c.starttls()
c.open_stream()
c.send("<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>alice</username>"
       "<password>x</password></query></iq>")
m = c.expect(r"<iq[^>]*id=['\"]reg1['\"].*?</iq>", 10)
t.ok(m is not None and "<conflict" in m.group(0), "registering an existing entry: conflict "
     "(exists finds it)", m and m.group(0))
c.send("<iq type='set' id='reg2'><query xmlns='jabber:iq:register'><username>newbie</username>"
       "<password>x</password></query></iq>")
m = c.expect(r"<iq[^>]*id=['\"]reg2['\"].*?</iq>", 10)
t.ok(m is not None and "<not-allowed" in m.group(0), "registering a new name: not-allowed "
     "(the directory is not ours to write)", m and m.group(0))
c.close()

# Several logins at once, on the two worker threads: each gets its own answer.
res = {}
threads = [threading.Thread(target=timed_slix, args=("alice", "wonderland" if i % 2 == 0
                                                       else "nope", res, i)) for i in range(6)]
for th in threads:
    th.start()
for th in threads:
    th.join(60)
got = [res.get(i, ("none",))[0] for i in range(6)]
t.ok(all(got[i].startswith(OK_ALICE) if i % 2 == 0 else got[i] == NOT_AUTH for i in range(6)),
     "six logins at once each get their own answer", got)

# The directory goes down, then comes back.
d.stop()
start = time.monotonic()
out = slix("alice", "wonderland")
t.ok(out == TEMP and time.monotonic() - start < 10,
     "the directory is down: temporary-auth-failure, not not-authorized", out)
t.ok("Can't contact LDAP server" in auth.log(), "logged with libldap's reason", auth.log()[-500:])
d.start()
out = slix("alice", "wonderland")
t.ok(out.startswith(OK_ALICE), "the directory is back: the next login works (new connections)",
     out + "\n" + auth.log()[-500:])
d.stop()
d.start()
out = slix("bob", "builder")
t.ok(out.startswith(f"OK bob@{DOMAIN}/"), "a restart between two logins costs nothing (a "
     "connection found dead is made again once)", out + "\n" + auth.log()[-500:])
t.eq(auth.stop(), 0, "SIGTERM: auth stops cleanly with its workers")

# --- a directory that does not answer (through the relay, by host name) -----------------

# 3 s: long enough that the other login, slowed by a busy machine, is
# still answered before the stuck search times out.
set_auth(uri=f"ldap://localhost:{proxy.port}/", timeout="3s")
auth = start_auth()
t.ok(auth.alive() and "rpath dns" in auth.log(),
     "with a host name in the URI the resolver's files are allowed (rpath dns)",
     auth.log()[-600:])
out = slix("alice", "wonderland")
t.ok(out.startswith(OK_ALICE), "\"localhost\" resolves inside the sandbox",
     out + "\n" + auth.log()[-600:])

res = {}
slow = threading.Thread(target=timed_slix, args=("slowpoke", "tortoise", res, "slow"))
slow.start()
time.sleep(0.3)
timed_slix("alice", "wonderland", res, "alice")
slow.join(30)
r_slow, s0, s1 = res.get("slow", ("none", 0, 99))
r_alice, a0, a1 = res.get("alice", ("none", 0, 99))
t.ok(proxy.stalled >= 1, "the relay held the slow user's search", proxy.stalled)
t.ok(r_slow == TEMP and s1 - s0 < 9, "a search the directory never answers: "
     "temporary-auth-failure after auth.ldap.timeout", (r_slow, s1 - s0))
t.ok(r_alice.startswith(OK_ALICE) and a1 < s1, "meanwhile another login is served on the "
     "other worker and answered first", (r_alice, a1 - s0, s1 - s0))
# The loop's timer and libldap's own timeout are both auth.ldap.timeout:
# whichever fires first logs it.
t.ok("no answer from the directory within 3000 ms" in auth.log()
     or "login of slowpoke@example.test: search: Timed out" in auth.log(), "the timeout is logged",
     auth.log()[-800:])
time.sleep(3.2)  # the stuck worker's own libldap timeout frees it
out = slix("alice", "wonderland")
t.ok(out.startswith(OK_ALICE), "and logins go on afterwards", out)

proxy.mode = "blackhole"
start = time.monotonic()
out = slix("alice", "wonderland")
took = time.monotonic() - start
t.ok(out == TEMP and took < 10, "a directory that accepts and never answers: "
     "temporary-auth-failure", (out, took))
proxy.mode = "forward"
out = None
for _ in range(5):  # the workers are free again once libldap's timeouts pass
    time.sleep(1.0)
    out = slix("alice", "wonderland")
    if out.startswith(OK_ALICE):
        break
t.ok(out and out.startswith(OK_ALICE), "it answers again: logins work", out)
t.eq(auth.stop(), 0, "auth stops cleanly")

# --- TLS: StartTLS and ldaps://, checked against tls_ca -------------------------------

set_auth(starttls=True, tls_ca=ca.cert)
auth = start_auth()
out = slix("alice", "wonderland")
t.ok(out.startswith(OK_ALICE), "StartTLS with the directory's CA: logged in",
     out + "\n" + auth.log()[-600:])
t.ok(auth.alive() and "rpath" not in auth.log(), "the CA file was read before the sandbox "
     "(auth has no file rights and still lives)", auth.log()[-400:])
auth.stop()
set_auth(starttls=True, tls_ca=other_ca.cert)
auth = start_auth()
out = slix("alice", "wonderland")
t.eq(out, TEMP, "StartTLS with a CA that did not sign the directory's certificate: "
     "temporary-auth-failure")
t.ok("StartTLS" in auth.log(), "logged", auth.log()[-600:])
auth.stop()
set_auth(uri=d.ldaps_uri, tls_ca=ca.cert)
auth = start_auth()
out = slix("alice", "wonderland")
t.ok(out.startswith(OK_ALICE), "ldaps:// with the directory's CA: logged in",
     out + "\n" + auth.log()[-600:])
t.eq(slix("alice", "wrong"), NOT_AUTH, "and a wrong password still fails")
auth.stop()

# --- how auth searches ------------------------------------------------------------------

set_auth(bind_dn=None, bind_password_file=None)
auth = start_auth()
out = slix("alice", "wonderland")
t.ok(out.startswith(OK_ALICE) and "searching anonymously" in auth.log(),
     "anonymous searches (no bind_dn)", out + "\n" + auth.log()[-400:])
auth.stop()
set_auth(bind_password_file=None, bind_password="not-the-password")
auth = start_auth()
out = slix("alice", "wonderland")
t.eq(out, TEMP, "bind_dn refused by the directory: temporary-auth-failure for everyone")
t.ok("binding as cn=parley" in auth.log() and "Invalid credentials" in auth.log(),
     "and the operator is told why", auth.log()[-500:])
auth.stop()

# --- settings auth refuses at start ---------------------------------------------------

for over, key in (({"base": ""}, "auth.ldap.base"), ({"filter": "(uid=alice)"}, "auth.ldap.filter"),
                  ({"filter": "(uid=%s)"}, "auth.ldap.filter"),
                  ({"uri": "ldapi:///run/x"}, "auth.ldap.uri"),
                  ({"uri": d.ldaps_uri, "starttls": True}, "auth.ldap.starttls")):
    set_auth(**over)
    p = start_auth(wait=False)
    rc = p.wait(10)
    t.ok(rc not in (None, 0) and key in p.log(), f"{over}: auth refuses to start, naming {key}",
         p.log()[-300:])

logs = "".join(suite_log for suite_log in
               (open(suite.path(f"auth{i}.log"), errors="replace").read()
                for i in range(1, n_auth[0] + 1)))
t.ok(all(p not in logs for p in ("wonderland", "builder", "s3cret", "not-the-password")),
     "no password appears in auth's logs")

site.c2s.stop()
sm.stop()
proxy.stop_flag = True
d.stop()
t.done()
