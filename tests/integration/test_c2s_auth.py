#!/usr/bin/python3
"""test_c2s_auth.py — parley-c2s with the real parley-auth (internal
backend, users made by `parleyctl user add`) and real clients:
python3-slixmpp logs in with SCRAM-SHA-1/-256 and their -PLUS variants
(channel binding tls-unique on TLS 1.2, which is what slixmpp 1.8.3
does), a wrong password fails, a client that claims the server has no
channel binding while -PLUS was offered is refused (downgrade), in-band
registration goes through c2s to auth, and a login while auth is down
gets temporary-auth-failure and works once auth is back. Prints TAP."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import xmppraw as X  # noqa: E402
from c2slib import FakeSM, Site  # noqa: E402
from parley import BUILD, Suite, Tap, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
t = Tap()
suite = Suite("c2s-auth")
AUTH = 'auth = { registration = true; failures = { free = 1000; }; };\n'


def site_with(name, c2s_settings=""):
    s = Site(suite, c2s_settings=c2s_settings, top=AUTH, name=name)
    s.sm = FakeSM(s.sock, name=f"sm-{name}")
    r = subprocess.run([os.path.join(BUILD, "parleyctl"), "-c", s.conf, "user", "add",
                        "alice@example.test", "wonderland"], capture_output=True, text=True)
    s.useradd = r
    s.auth = suite.start(f"{name}-auth", ["parley-auth", "-f", "-c", s.conf])
    s.start_c2s(instance=1)
    wait_until(lambda: "auth is up" in s.c2s.log(), 10)
    return s


def slix(site, mech, *flags, jid="alice@example.test", password="wonderland"):
    port = site.dport if "direct" in flags else site.port
    r = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "lib", "slixlogin.py"), str(port),
                        jid, password, mech] + list(flags), capture_output=True, text=True,
                       timeout=40)
    return r.stdout.strip() or r.stderr[-300:]


a = site_with("a")
if a.useradd.returncode != 0 or not a.auth.alive():
    t.skip("parley-auth with the internal backend", f"not usable here: {a.useradd.stderr} "
           f"{a.auth.log()[-300:]}")
    t.done()
t.ok("auth is up" in a.c2s.log(), "c2s sees the real auth bound", a.c2s.log())

for mech in ("SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"):
    out = slix(a, mech, "tls12")
    t.ok(out.startswith("OK alice@example.test/"), f"slixmpp {mech} (tls-unique, TLS 1.2): success",
         out + "\n" + a.auth.log()[-500:])
# On TLS 1.3 slixmpp (Python's ssl) still sends p=tls-unique with its own Finished message;
# c2s.sasl_tls13_unique_compat (on by default) lets it log in, with whatever it picks.
out = slix(a, "auto")
t.ok(out.startswith("OK alice@example.test/"), "slixmpp with its own choice of mechanism "
     "(TLS 1.3): success", out + "\n" + a.auth.log()[-500:])
out = slix(a, "SCRAM-SHA-256-PLUS")
t.ok(out.startswith("OK alice@example.test/"), "slixmpp SCRAM-SHA-256-PLUS on TLS 1.3 "
     "(legacy tls-unique): success", out + "\n" + a.auth.log()[-500:])
out = slix(a, "SCRAM-SHA-256-PLUS", "tls12", "direct")
t.ok(out.startswith("OK alice@example.test/"), "and over direct TLS", out)
out = slix(a, "SCRAM-SHA-1-PLUS", "tls12", password="wrong")
t.ok(out.startswith("FAIL"), "a wrong password fails", out)
out = slix(a, "SCRAM-SHA-1")
t.ok(out.startswith("FAIL") and "lacks channel binding" in a.auth.log(),
     "SCRAM without -PLUS from a client that could bind, while -PLUS was offered: refused "
     "(RFC 5802 downgrade check)", out)

# Strict RFC 9266: no tls-unique on TLS 1.3, so slixmpp's -PLUS fails there.
strict = site_with("strict", "sasl_tls13_unique_compat = false;\n")
out = slix(strict, "SCRAM-SHA-256-PLUS")
t.ok(out.startswith("FAIL"), "with sasl_tls13_unique_compat off, tls-unique on TLS 1.3 is "
     "refused", out)
out = slix(strict, "SCRAM-SHA-256-PLUS", "tls12")
t.ok(out.startswith("OK alice@example.test/"), "and TLS 1.2 still binds with tls-unique", out)

# A site that offers no -PLUS: plain SCRAM then succeeds.
b = site_with("b", 'sasl_mechanisms = [ "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN" ];\n')
feats = X.Client(b.port)
feats.open_stream()
feats.starttls()
f = feats.open_stream()
t.ok(f and "-PLUS" not in f.group(0) and "SCRAM-SHA-256" in f.group(0),
     "c2s.sasl_mechanisms decides what is offered", f and f.group(0))
feats.close()
# slixmpp 1.8.3 sends the GS2 flag "y" (it could bind) with plain SCRAM. Auth serves the
# mechanisms c2s offers, so with no -PLUS offered "y" is no downgrade and must pass.
out = slix(b, "SCRAM-SHA-1")
t.ok(out.startswith("OK alice@example.test/"), "slixmpp SCRAM-SHA-1 with no -PLUS offered "
     "(flag y): success", out + "\n" + b.auth.log()[-500:])
for h in ("sha1", "sha256"):
    c = X.Client(a.port)
    c.open_stream()
    c.starttls()
    c.open_stream()
    m = c.scram("alice", "wonderland", h)
    t.ok(m is not None and m.group(1) == "success" and getattr(c, "server_verified", False),
         f"SCRAM-{h.upper()} (flag n, a raw client): success with the server's signature in "
         "<success/>", c.text[-400:])
    c.close()
c = X.Client(a.port)
c.open_stream()
c.starttls()
c.open_stream()
m = c.scram("alice", "nope", "sha256")
t.ok(m is not None and m.group(1) == "failure" and "not-authorized" in m.group(0),
     "SCRAM with a wrong password: not-authorized", c.text[-300:])
c.close()
c, jid, log = X.login(a.port, "alice", "wonderland", "raw")
t.eq(jid, "alice@example.test/raw", "PLAIN through the real auth (site a)")
c.close()
c, jid, log = X.login(b.port, "alice", "wonderland", "raw")
t.eq(jid, "alice@example.test/raw", "PLAIN through the real auth")
c.close()

# Registration through c2s to the real auth.
c = X.Client(b.port)
c.open_stream()
c.starttls()
c.open_stream()
c.send("<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>dora</username>"
       "<password>explorer</password></query></iq>")
m = c.expect(r"<iq[^>]*id=['\"]reg1['\"][^>]*>", 10)
t.ok(m and "result" in m.group(0), "XEP-0077: an account is registered through c2s", c.rest())
r = c.plain("dora", "explorer")
t.ok(r is not None and r.group(1) == "success", "and logs in", c.rest())
c.close()

# auth down, then back.
b.auth.stop()
wait_until(lambda: "auth is down" in b.c2s.log())
c, jid, log = X.login(b.port, "alice", "wonderland")
t.ok(jid is None and "temporary-auth-failure" in str(log), "auth down: temporary-auth-failure",
     repr(log))
c.close()
b.auth = suite.start("b-auth2", ["parley-auth", "-f", "-c", b.conf])
wait_until(lambda: b.c2s.log().count("auth is up") >= 2, 10)
c, jid, log = X.login(b.port, "alice", "wonderland", "back")
t.eq(jid, "alice@example.test/back", "auth back: the login succeeds")
c.close()
t.done()
