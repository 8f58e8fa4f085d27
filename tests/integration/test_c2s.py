#!/usr/bin/python3
# tests/run: early (one of the longest: started first so the others fill in beside it)
"""test_c2s.py — parley-c2s against the real router, with fake sm and auth
peers: STARTTLS and direct TLS, no SASL before TLS, stream header errors,
SASL PLAIN relayed to auth (success, failure, too many failures, auth
down), binding (chosen and generated resources, conflict), stanzas
stamped and routed both ways, bad input answered with its stream error
while the next login works, limits, registration, the sandbox. Prints TAP."""
import os
import pwd
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import frames as F  # noqa: E402
import xmppraw as X  # noqa: E402
from c2slib import HOST, FakeAuth, FakeSM, Site  # noqa: E402
from parley import TEST_USER, Suite, Tap, proc_status, wait_until  # noqa: E402

t = Tap()
suite = Suite("c2s")
site = Site(suite, c2s_settings="preauth_timeout = \"3s\";\nmax_stanza_size = \"20000\";\n"
            "max_auth_failures = 2;\n", router_settings='max_frame = "64K";\n')
t.ok(site.router.alive(), "the router runs", site.router.log())
sm = FakeSM(site.sock)
auth = FakeAuth(site.sock, {"alice": "secret", "bob": "hunter2"})
c2s = site.start_c2s()
t.ok(c2s.alive() and "router link up" in c2s.log(), "parley-c2s starts and joins the router",
     c2s.log())

# --- the process --------------------------------------------------------------
st = proc_status(c2s.pid)
t.eq(st.get("Uid", "").split()[:1], [str(pwd.getpwnam(TEST_USER).pw_uid)], "it runs as nobody")
t.eq(st.get("NoNewPrivs"), "1", "NoNewPrivs: 1")
t.eq(st.get("Seccomp"), "2", "Seccomp: 2")
t.ok("system calls: stdio unix inet" in c2s.log(), "its policy is stdio unix inet", c2s.log())


def good_login(name, resource=None, direct=False):
    c, jid, log = X.login(site.port if not direct else site.dport, "alice", "secret",
                          resource, direct)
    return c, jid, log


# --- STARTTLS on 5222 -----------------------------------------------------------
c = X.Client(site.port)
f = c.open_stream()
hdr = re.search(r"<stream:stream[^>]*>", c.text)
t.ok(f is not None and hdr is not None, "a stream header and features come back", c.text)
h = hdr.group(0) if hdr else ""
t.ok(re.search(r"from=['\"]example.test['\"]", h) and re.search(r"version=['\"]1.0['\"]", h)
     and re.search(r"id=['\"][0-9a-f]{32}['\"]", h) and "xml:lang" in h,
     "the header has from, version 1.0, a 128-bit random id and xml:lang", h)
feats = f.group(0) if f else ""
t.ok("<starttls" in feats and "<required/>" in feats, "STARTTLS is offered, required", feats)
t.ok("mechanisms" not in feats, "no SASL before TLS", feats)
PLAIN_ALICE = X.base64.b64encode(b"\0alice\0secret").decode()
c.send(f"<auth xmlns='{X.NS_SASL}' mechanism='PLAIN'>{PLAIN_ALICE}</auth>")
m = c.expect(r"<failure[^>]*>.*?</failure>")
t.ok(m and "encryption-required" in m.group(0), "PLAIN before TLS: encryption-required",
     c.rest())
t.ok(c.starttls(), "STARTTLS: proceed, then the TLS handshake", c.rest())
f = c.open_stream()
feats = f.group(0) if f else ""
t.ok("<mechanism>PLAIN</mechanism>" in feats and "SCRAM-SHA-1" in feats,
     "after TLS: SASL mechanisms, PLAIN among them", feats)
t.ok("-PLUS" in feats and "sasl-channel-binding" in feats and "tls-exporter" in feats,
     "-PLUS offered with the XEP-0440 channel bindings", feats)
t.ok("<starttls" not in feats, "and STARTTLS no longer", feats)
r = c.plain("alice", "secret")
t.ok(r is not None and r.group(1) == "success", "PLAIN success", c.text[-400:])
start = auth.wait(lambda fr: fr.type == F.SASL_START)
t.ok(start is not None and start.get(F.HOST) == HOST and start.get(F.MECHANISM) == "PLAIN"
     and start.get(F.CLIENT_ADDR, "").startswith("127.0.0.1:"),
     "auth got SASL_START with host, mechanism and client address", repr(start))
cbt = start.all(F.CB_TYPE) if start else []
t.ok("tls-exporter" in cbt and len(cbt) == len(start.all(F.CB_DATA)),
     "with every channel binding of the connection", repr(start))
f = c.open_stream()
feats = f.group(0) if f else ""
t.ok("<bind" in feats and "<session" in feats and "<optional/>" in feats,
     "after SASL: bind, and session marked optional", feats)
jid = c.bind("laptop")
t.eq(jid, "alice@example.test/laptop", "a chosen resource is bound")
ss = sm.wait(lambda fr: fr.type == F.SESSION_START)
t.ok(ss is not None and ss.get(F.JID) == "alice@example.test/laptop" and ss.get(F.TO) == HOST,
     "sm got SESSION_START for the full JID", repr(ss))
sid = ss.get(F.SESSION_ID) if ss else None
c.send("<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
t.ok(c.expect(r"<iq[^>]*id=['\"]s1['\"][^>]*type=['\"]result|<iq[^>]*type=['\"]result['\"][^>]*id=['\"]s1"),
     "the legacy session iq gets a result", c.rest())
c.send("<message to='bob@example.test' id='m1'><body>hi</body></message>")
rt = sm.wait(lambda fr: fr.type == F.ROUTE and b"m1" in fr.get(F.STANZA))
stz = rt.get(F.STANZA).decode() if rt else ""
t.ok(rt is not None and 'from="alice@example.test/laptop"' in stz and rt.get(F.ROUTE_KEY) ==
     "alice@example.test" and rt.get(F.SESSION_ID) == sid and 'xmlns="jabber:client"' in stz,
     "a message is stamped with the full JID and routed to the domain", repr(rt))
c.send("<message from='alice@example.test' to='bob@example.test' id='m2'><body>x</body></message>")
rt = sm.wait(lambda fr: fr.type == F.ROUTE and b"m2" in fr.get(F.STANZA))
t.ok(rt is not None and b'from="alice@example.test/laptop"' in rt.get(F.STANZA),
     "the bare JID as from is accepted and made full", repr(rt))
sm.deliver(sid, "<message xmlns='jabber:client' from='bob@example.test/x' "
           "to='alice@example.test/laptop' id='in1'><body>hello &amp; welcome</body></message>")
m = c.expect(r"<message[^>]*id=['\"]in1['\"].*?</message>")
t.ok(m is not None and "hello &amp; welcome" in m.group(0), "a stanza from sm reaches the client",
     c.rest())
ack = sm.wait(lambda fr: fr.type == F.ACK)
t.ok(ack is not None, "and c2s acknowledges it", repr(sm.frames[-3:]))
time.sleep(2.5)  # idle: c2s gives the parser back (idle.c) and rebuilds it on the next byte
c.send("<message to='bob@example.test' id='m3'><body>after a pause</body>"
       "<x:data xmlns:x='urn:example:x'>1</x:data></message>")
rt = sm.wait(lambda fr: fr.type == F.ROUTE and b"m3" in fr.get(F.STANZA))
stz = rt.get(F.STANZA).decode() if rt else ""
t.ok(rt is not None and 'from="alice@example.test/laptop"' in stz and "after a pause" in stz
     and "urn:example:x" in stz, "after an idle pause, stanzas still parse and route", stz)
sm.deliver("c2s.1-999-deadbeef", "<iq xmlns='jabber:client' type='get' id='gone1' "
           "from='bob@example.test/x' to='alice@example.test/old'><ping xmlns='urn:xmpp:ping'/></iq>")
b = sm.wait(lambda fr: fr.type == F.ROUTE and b"gone1" in fr.get(F.STANZA) and
            b"service-unavailable" in fr.get(F.STANZA))
t.ok(b is not None and b'to="bob@example.test/x"' in b.get(F.STANZA),
     "an iq for an unknown session is bounced with service-unavailable", repr(sm.frames[-3:]))
# Whitespace keepalives are fine; a stanza that would not fit a frame once escaped is refused.
c.send("  \n  ")
c.send("<message to='bob@example.test' id='big' a=\"" + "'" * 11000 + "\"/>")  # 6x escaped
m = c.expect(r"<message[^>]*>.*?</message>")
t.ok(m is not None and "policy-violation" in m.group(0) and "modify" in m.group(0),
     "a stanza whose frame would exceed router.max_frame: policy-violation (modify)",
     c.rest()[:300])
c.send("<message to='bob@example.test' id='m4'/>")
t.ok(sm.wait(lambda fr: fr.type == F.ROUTE and b"m4" in fr.get(F.STANZA)),
     "whitespace keepalives and that refusal leave the stream working")
# What RFC 6120 asks of every stanza, answered by c2s (nothing reaches sm).
BAD = [
    ("<iq type='get' id='j1' to='bob@example.test/'><ping xmlns='urn:xmpp:ping'/></iq>",
     "j1", "jid-malformed", "an iq to a malformed JID (empty resourcepart): jid-malformed"),
    ("<message to='bob@exa mple.test' id='j2'><body>x</body></message>", "j2",
     "jid-malformed", "a message to a malformed domain: jid-malformed"),
    ("<iq id='t1' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>", "t1", "bad-request",
     "an iq without a type: bad-request"),
    ("<iq type='fetch' id='t2' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>", "t2",
     "bad-request", "an iq with an unknown type: bad-request"),
    ("<iq type='get' id='z0' to='example.test'/>", "z0", "bad-request",
     "an iq get without a payload: bad-request"),
    ("<iq type='get' id='z2' to='example.test'><ping xmlns='urn:xmpp:ping'/>"
     "<query xmlns='jabber:iq:version'/></iq>", "z2", "bad-request",
     "an iq get with two payloads: bad-request"),
]
for xml, sid_, cond, name in BAD:
    c.send(xml)
    m = c.expect(rf"<(iq|message)[^>]*id=['\"]{sid_}['\"].*?</(iq|message)>")
    got = m.group(0) if m else ""
    t.ok(m is not None and "type=\"error\"" in got.replace("'", '"') and cond in got and
         'from="example.test"' in got.replace("'", '"'), name, c.rest()[:400])
c.send("<iq type='set' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>")
m = c.expect(r"<iq[^>]*>.*?</iq>")
t.ok(m is not None and "bad-request" in m.group(0), "an iq set without an id: bad-request",
     c.rest()[:400])
c.send("<message to='bob@example.test' id='m5'/>")
t.ok(sm.wait(lambda fr: fr.type == F.ROUTE and b"m5" in fr.get(F.STANZA)) and
     not any(fr.type == F.ROUTE and any(x.encode() in fr.get(F.STANZA)
                                        for x in ("j1", "j2", "t1", "t2", "z0", "z2"))
             for fr in sm.frames),
     "none of them reached sm, and the stream goes on")
c.send("<message from='mallory@example.test' to='bob@example.test'><body>x</body></message>")
t.ok(c.expect(r"<stream:error>.*invalid-from.*</stream:error>") and c.closed(),
     "a foreign from: invalid-from, and the stream is closed", c.rest())
end = sm.wait(lambda fr: fr.type == F.SESSION_END and fr.get(F.SESSION_ID) == sid)
t.ok(end is not None, "sm hears SESSION_END when the client is gone", repr(sm.frames[-3:]))
c.close()

# --- direct TLS on 5223, a generated resource, conflict -----------------------
c1, jid1, log = good_login("alice", "phone", direct=True)
t.eq(jid1, "alice@example.test/phone", "direct TLS (XEP-0368): login and bind")
c3, jid3, log = good_login("alice")
t.ok(jid3 is not None and re.match(r"alice@example\.test/.+", jid3) and jid3 != jid1,
     "an empty bind gets a generated resource", repr(log))
c2, jid2, log = good_login("alice", "phone")
t.eq(jid2, "alice@example.test/phone", "a second session with the same full JID binds")
t.ok(c1.expect(r"<stream:error>.*conflict.*</stream:error>") and c1.closed(),
     "and the old one gets a conflict stream error", c1.rest())
sid2 = wait_until(lambda: sm.sid_of("alice@example.test/phone") and
                  [s for s, (_, j) in sm.sessions.items() if j == "alice@example.test/phone"][-1])
# sm ends a session: account removed → not-authorized.
sm.end(sm.sid_of(jid3), 4)
t.ok(c3.expect(r"<stream:error>.*not-authorized.*</stream:error>") and c3.closed(),
     "SESSION_END account-removed: not-authorized stream error", c3.rest())
t.ok(sm.wait(lambda fr: fr.type == F.SESSION_ENDED and fr.get(F.CODE) == 4),
     "and c2s answers SESSION_ENDED")
for cl in (c1, c2, c3):
    cl.close()

# --- stream header errors -------------------------------------------------------
for name, data, cond in [
        ("an unknown host", X.header("nowhere.test"), "host-unknown"),
        ("no to", X.header(None), "host-unknown"),
        ("a bad content namespace", X.header(ns="jabber:server"), "invalid-namespace"),
        ("a wrong stream namespace", "<stream:stream xmlns='jabber:client' xmlns:stream='urn:x' "
         "to='example.test' version='1.0'>", "invalid-namespace"),
        ("version 2.0", X.header(version="2.0"), "unsupported-version"),
        ("no version", X.header(version=None), "unsupported-version"),
        ("not XML", "<<<>>>", "not-well-formed"),
        ("a DTD", "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]>" + X.header(),
         "restricted-xml"),
        ("a comment", X.header() + "<!-- hi -->", "restricted-xml"),
        ("a processing instruction", X.header() + "<?foo bar?>", "restricted-xml"),
        ("a stanza before auth", X.header() + "<message to='a@b'><body>x</body></message>",
         "not-authorized"),
        ("an unknown element", X.header() + "<foo xmlns='urn:foo'/>", "unsupported-stanza-type"),
        ("the stream namespace as the default", "<stream xmlns='http://etherx.jabber.org/streams' "
         "to='example.test' version='1.0'>", "bad-namespace-prefix"),
        ("XML nested too deep", X.header() + "<iq>" + "<a>" * 40, "policy-violation"),
]:
    c = X.Client(site.port)
    c.send(data)
    m = c.expect(r"<stream:error>.*?</stream:error>")
    got = m.group(0) if m else c.rest()
    t.ok(m is not None and cond in got and re.search(r"<stream:stream[^>]*>", c.text),
         f"{name}: a stream header, then {cond}", c.text)
    t.ok("</stream:stream>" in c.rest() or c.expect("</stream:stream>") or c.closed(),
         f"{name}: the stream is closed", c.text)
    c.close()
    c, jid, log = good_login("alice", "after")
    t.eq(jid, "alice@example.test/after", f"after {name}, a new login works")
    c.close()

# --- SASL failures -----------------------------------------------------------
c = X.Client(site.port)
c.open_stream()
c.starttls()
c.open_stream()
r = c.plain("alice", "wrong")
t.ok(r is not None and r.group(1) == "failure" and "not-authorized" in r.group(0),
     "a wrong password: not-authorized", c.text[-300:])
c.send(f"<auth xmlns='{X.NS_SASL}' mechanism='PLAIN'>!!notbase64</auth>")
m = c.expect(r"<failure.*?</failure>")
t.ok(m and "incorrect-encoding" in m.group(0), "bad base64: incorrect-encoding", c.rest())
r = c.plain("alice", "wrong2")
t.ok(c.expect(r"policy-violation") and c.closed(), "too many failures: policy-violation, closed",
     c.rest())
c.close()
c = X.Client(site.port)
c.open_stream()
c.starttls()
c.open_stream()
c.send(f"<auth xmlns='{X.NS_SASL}' mechanism='X-NOPE'/>")
m = c.expect(r"<failure.*?</failure>")
t.ok(m and "invalid-mechanism" in m.group(0), "an unknown mechanism: invalid-mechanism", c.rest())
c.send(f"<auth xmlns='{X.NS_SASL}' mechanism='PLAIN'/>")
t.ok(c.expect(r"<challenge[^>]*>=</challenge>"), "no initial response: an empty challenge (=)",
     c.rest())
c.send(f"<abort xmlns='{X.NS_SASL}'/>")
m = c.expect(r"<failure.*?</failure>")
t.ok(m and "aborted" in m.group(0), "<abort/>: aborted", c.rest())
ab = auth.wait(lambda fr: fr.type == F.SASL_STEP and fr.flags & F.F_ABORT)
t.ok(ab is not None, "auth got SASL_STEP with ABORT")
c.close()

for user, why in (("nojid", "names no JID"), ("elsewhere", "names another domain")):
    c, jid, log = X.login(site.port, user, "x")
    t.ok(jid is None and "temporary-auth-failure" in str(log),
         f"a success from auth that {why}: temporary-auth-failure", repr(log))
    c.close()

# auth down: temporary-auth-failure; back: success.
auth.close()
t.ok(wait_until(lambda: "auth is down" in c2s.log()), "c2s sees auth go down", c2s.log())
c, jid, log = X.login(site.port, "alice", "secret")
t.ok(jid is None and "temporary-auth-failure" in str(log), "auth down: temporary-auth-failure",
     repr(log))
c.close()
auth = FakeAuth(site.sock, {"alice": "secret"}, name="auth.2")
wait_until(lambda: c2s.log().count("auth is up") >= 2)
c, jid, log = X.login(site.port, "alice", "secret", "back")
t.eq(jid, "alice@example.test/back", "auth back: the login succeeds")
c.close()
# auth silent: the timeout.
# (covered by sasl_timeout; 10s by default is too long for this test)

# --- limits -------------------------------------------------------------------
c, jid, log = X.login(site.port, "alice", "secret", "big")
c.send("<message to='bob@example.test'><body>" + "x" * 30000 + "</body></message>")
t.ok(c.expect(r"<stream:error>.*policy-violation.*</stream:error>") and c.closed(),
     "a stanza over c2s.max_stanza_size: policy-violation, closed", c.rest()[:300])
c.close()
c = X.Client(site.port)
c.send(X.header()[:40])
t0 = time.monotonic()
while time.monotonic() - t0 < 5 and not c.eof:
    try:
        c.send(" ")
    except OSError:
        break
    c._fill(0.3)
t.ok(c.eof and time.monotonic() - t0 < 4.9, "a trickling client is cut at the pre-auth deadline",
     c.text)
c.close()
c = X.Client(site.dport)  # direct TLS, and no ClientHello
t.ok(c.closed(5), "a client that never finishes the TLS handshake is cut at the deadline too")
c.close()
c, jid, log = X.login(site.port, "alice", "secret", "after-trickle")
t.eq(jid, "alice@example.test/after-trickle", "and a new login works right after")
c.close()

# --- registration off ---------------------------------------------------------
c = X.Client(site.port)
c.open_stream()
c.starttls()
f = c.open_stream()
t.ok(f and "iq-register" not in f.group(0), "registration off: not advertised")
c.send("<iq type='get' id='r1'><query xmlns='jabber:iq:register'/></iq>")
m = c.expect(r"<iq[^>]*>.*?</iq>")
t.ok(m and "service-unavailable" in m.group(0) and "cancel" in m.group(0),
     "registration off: service-unavailable (cancel)", c.rest())
c.close()

# --- SIGTERM ------------------------------------------------------------------
c, jid, log = X.login(site.port, "alice", "secret", "stay")
sid = wait_until(lambda: sm.sid_of("alice@example.test/stay"))
c2s.signal(signal.SIGTERM)
t.ok(c.expect(r"<stream:error>.*system-shutdown.*</stream:error>") and c.closed(),
     "SIGTERM: system-shutdown to every client", c.rest())
t.ok(sm.wait(lambda fr: fr.type == F.SESSION_END and fr.get(F.SESSION_ID) == sid and
             fr.get(F.CODE) == 6), "and SESSION_END shutdown to sm")
t.eq(c2s.wait(5), 0, "c2s exits 0")
c.close()
t.done()
