#!/usr/bin/python3
# tests/run: alone (measures byte rates and timeouts)
"""test_c2s_limits.py — parley-c2s's other settings and edges: in-band
registration relayed to auth when on, the byte rate (a fast sender is
slowed down, not cut), connections per address, sm refusing or not
answering a session, sm ending one (kicked), the idle ping, stanzas
pipelined right behind the bind, --sandbox-test. Prints TAP."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import frames as F  # noqa: E402
import xmppraw as X  # noqa: E402
from c2slib import FakeAuth, FakeSM, Site  # noqa: E402
from parley import Suite, Tap, wait_until  # noqa: E402

t = Tap()
suite = Suite("c2s-limits")
site = Site(suite, c2s_settings='rate_limit = "4K";\n'
            'max_connections_per_address = 4;\nbind_timeout = "1s";\nidle_timeout = "2s";\n'
            'sasl_timeout = "2s";\n',
            top="auth = { registration = true; };\n", address="::",
            router_settings='hold = "2s";\n')
sm = FakeSM(site.sock)
auth = FakeAuth(site.sock, {"alice": "secret"})
c2s = site.start_c2s()
t.ok(c2s.alive(), "parley-c2s starts", c2s.log())

# --- "::" is dual-stack; a second instance shares the ports -------------------
t.ok(re.search(r"listening on \[::\]:\d+", c2s.log()), "it listens on [::]", c2s.log())
c = X.Client(site.port, host="::1")
t.ok(c.open_stream() is not None, "a client connects over IPv6", c.text)
c.close()
c2 = site.start_c2s(instance=2)
t.ok(c2.alive() and "router link up" in c2.log(), "a second instance (-i 2) opens the same ports "
     "(SO_REUSEPORT) and joins the router", c2.log())
t.ok(wait_until(lambda: "bound c2s.2" in c2.log()), "as c2s.2")
c2.stop()
c2s.signal(signal.SIGHUP)
t.ok(wait_until(lambda: "log reopened" in c2s.log()) and c2s.alive(), "SIGHUP reopens the log")

# --- registration on ----------------------------------------------------------
c = X.Client(site.port)
f = c.open_stream()
t.ok(f and "iq-register" not in f.group(0), "registration is not advertised before TLS")
c.send("<iq type='get' id='r0'><query xmlns='jabber:iq:register'/></iq>")
m = c.expect(r"<iq[^>]*>.*?</iq>")
t.ok(m and "service-unavailable" in m.group(0), "nor served before TLS", c.rest())
c.starttls()
f = c.open_stream()
t.ok(f and "http://jabber.org/features/iq-register" in f.group(0), "after TLS it is advertised",
     f and f.group(0))
c.send("<iq type='get' id='r1'><query xmlns='jabber:iq:register'/></iq>")
m = c.expect(r"<iq[^>]*id=['\"]r1['\"].*?</iq>")
t.ok(m and "<username/>" in m.group(0), "a registration get is relayed to auth and answered",
     c.rest())
fr = auth.wait(lambda x: x.type == F.ROUTE and b"r1" in x.get(F.STANZA))
t.ok(fr is not None and fr.get(F.TO) == "auth" and fr.get(F.ROUTE_KEY) == fr.get(F.SESSION_ID)
     and b"from=" not in fr.get(F.STANZA), "as a ROUTE to auth keyed by session, with no from",
     repr(fr))
c.send("<iq type='set' id='r2'><query xmlns='jabber:iq:register'><username>carol</username>"
       "<password>pw</password></query></iq>")
t.ok(c.expect(r"<iq[^>]*id=['\"]r2['\"]"), "a registration set is answered", c.rest())
r = c.plain("carol", "pw")
t.ok(r and r.group(1) == "success", "the new account logs in on the same stream", c.rest())
c.open_stream()
jid = c.bind("r")
t.eq(jid, "carol@example.test/r", "and binds")
c.send("<iq type='set' id='cx'><query xmlns='jabber:iq:register'><remove/></query></iq>")
fr = auth.wait(lambda x: x.type == F.ROUTE and b"cx" in x.get(F.STANZA))
t.ok(fr is not None and b'from="carol@example.test/r"' in fr.get(F.STANZA),
     "after login, a cancel goes to auth stamped with the full JID", repr(fr))
t.ok(c.expect(r"<iq[^>]*id=['\"]cx['\"]") and c.closed(),
     "its result is delivered and the stream closed", c.rest())
c.close()

# --- pipelining right behind the bind ----------------------------------------
c, jid, log = X.login(site.port, "alice", "secret", "pipe")
t.eq(jid, "alice@example.test/pipe", "login")
c.close()
c = X.Client(site.port)
c.open_stream()
c.starttls()
c.open_stream()
c.plain("alice", "secret")
c.open_stream()
c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
       "<resource>fast</resource></bind></iq><presence/><message to='x@example.test' id='p2'/>")
t.ok(c.expect(r"<jid>alice@example.test/fast</jid>"), "bind answered", c.rest())
fr = sm.wait(lambda x: x.type == F.ROUTE and b"p2" in x.get(F.STANZA))
pres = sm.wait(lambda x: x.type == F.ROUTE and b"<presence" in x.get(F.STANZA) and
               b"alice@example.test/fast" in x.get(F.STANZA))
t.ok(fr is not None and pres is not None,
     "stanzas sent right behind the bind are routed once the session starts", repr(sm.frames[-4:]))

# --- idle: the server pings, a silent client is cut --------------------------
t.ok(c.expect(r"<iq[^>]*type=['\"]get['\"][^>]*>.*?urn:xmpp:ping", 5),
     "an idle session is pinged (XEP-0199)", c.rest())
t.ok(c.expect(r"connection-timeout", 6) and c.closed(), "and cut when it does not answer",
     c.rest())
c.close()

# --- rate limit: throttled, not cut ------------------------------------------
c, jid, log = X.login(site.port, "alice", "secret", "rate")
t0 = time.monotonic()
body = "y" * 1000
for i in range(12):
    c.send(f"<message to='bob@example.test' id='rate{i}'><body>{body}</body></message>")
last = sm.wait(lambda x: x.type == F.ROUTE and b"rate11" in x.get(F.STANZA), 15)
took = time.monotonic() - t0
t.ok(last is not None and took >= 1.5, f"12 KB at 4 KB/s arrive, slowed down ({took:.1f}s)",
     repr(sm.frames[-2:]))
c.send("<message to='bob@example.test' id='still'/>")
t.ok(sm.wait(lambda x: x.type == F.ROUTE and b"still" in x.get(F.STANZA), 5),
     "and the connection is still up")
c.close()

# --- connections per address -------------------------------------------------
conns = [X.Client(site.port) for _ in range(4)]
extra = X.Client(site.port)
t.ok(extra.closed(3), "a fifth connection from one address is closed at once")
for x in conns:
    x.close()
extra.close()
time.sleep(0.3)
c, jid, log = X.login(site.port, "alice", "secret", "again")
t.eq(jid, "alice@example.test/again", "once they are gone, a login works")

# --- sm ends a session: kicked -----------------------------------------------
sid = wait_until(lambda: sm.sid_of("alice@example.test/again"))
sm.end(sid, 5)
t.ok(c.expect(r"<stream:error>.*policy-violation.*</stream:error>") and c.closed(),
     "SESSION_END kicked: policy-violation", c.rest())
c.close()

# --- sm refuses, or does not answer ------------------------------------------
sm.refuse = True
c, jid, log = X.login(site.port, "alice", "secret", "refused")
t.ok(jid is not None and "not-allowed" in jid and "cancel" in jid,
     "sm refuses the session: the bind gets not-allowed (cancel)", repr(log))
c.close()
sm.refuse = False
sm.silent = True
c, jid, log = X.login(site.port, "alice", "secret", "slow")
t.ok(jid is not None and "internal-server-error" in jid and "wait" in jid,
     "sm does not answer within c2s.bind_timeout: internal-server-error (wait)", repr(log))
c.close()
sm.silent = False

# --- auth silent: temporary-auth-failure after c2s.sasl_timeout (2s here) -----
auth.silent = True
site2 = None
c = X.Client(site.port)
c.open_stream()
c.starttls()
c.open_stream()
t0 = time.monotonic()
r = c.plain("alice", "secret")
t.ok(r and "temporary-auth-failure" in r.group(0) or
     (c.expect("temporary-auth-failure", 5) is not None),
     "auth silent: temporary-auth-failure after c2s.sasl_timeout", c.rest())
c.close()
auth.silent = False

# --- a bad resource; sm gone -------------------------------------------------
c, jid, log = X.login(site.port, "alice", "secret", "r" * 1100)  # over 1023 bytes
t.ok(jid is not None and "bad-request" in jid, "a resource Resourceprep refuses (too long): bad-request",
     repr(log))
jid = c.bind("good", iq_id="bind2")
t.eq(jid, "alice@example.test/good", "and another bind on the same stream works")
sm.close()
t0 = time.monotonic()
c.send("<message to='bob@example.test' id='nosm'><body>x</body></message>")
m = c.expect(r"<message[^>]*>.*?</message>", 10)
waited = time.monotonic() - t0
t.ok(m is not None and "nosm" in m.group(0) and "service-unavailable" in m.group(0) and
     "type='wait'" in m.group(0).replace('"', "'"),
     "sm gone: c2s keeps the stanza for router.hold, then it becomes service-unavailable (wait)",
     c.rest())
t.ok(1.5 <= waited < 8, f"... after router.hold (2s here): {waited:.1f}s")
t.ok(c2s.alive() and not c.eof, "and the client stays connected")
c.close()

c2s.stop()

# --- --sandbox-test -----------------------------------------------------------
p = site.start_c2s(["--sandbox-test"], wait=False, instance=2)
t.eq(p.wait(10), -signal.SIGSYS, "--sandbox-test: c2s dies of SIGSYS")
t.ok("seccomp: system call execve" in p.log(), "and the violation is logged", p.log())
t.done()
