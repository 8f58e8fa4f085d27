#!/usr/bin/python3
"""test_sm.py — parley-sm against the real router, with Python peers playing
c2s.1 and c2s.2: sessions started, refused for an unknown user, replaced
(SESSION_END replaced to the old session's c2s), ended, re-announced;
delivery to a full JID and to a bare JID by priority (negative priority and
no initial presence reach nobody: offline storage), a nonexistent user and a remote domain
bounced, errors never answered; ping, disco#info (server and account),
version, an unknown namespace; a c2s going away ending its sessions; the
sandbox (nobody, NoNewPrivs, seccomp, --sandbox-test); SIGTERM. Prints TAP."""
import os
import pwd
import signal
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import frames as F  # noqa: E402
from parley import TEST_USER, Suite, Tap, proc_status, wait_until  # noqa: E402
from authlib import HOST, Site  # noqa: E402
from routerlib import SECRET  # noqa: E402

C = "{jabber:client}"
STANZAS = "{urn:ietf:params:xml:ns:xmpp-stanzas}"
REPLACED, REFUSED = 2, 3

t = Tap()
suite = Suite("sm")
site = Site(suite, start=False)
for user in ("juliet", "romeo"):
    r = site.ctl("user", "add", f"{user}@{HOST}", "secret-" + user)
    t.eq(r.returncode, 0, f"parleyctl user add {user}")


def start_sm(name="sm", args=(), wait=True):
    p = suite.start(name, ["parley-sm", "-f", "-c", site.conf] + list(args))
    if wait:
        wait_until(lambda: not p.alive() or f"bound {HOST}" in p.log(), 10)
    return p


class FakeC2S:
    def __init__(self, name):
        self.name = name
        self.peer = F.connect(site.sock, name, SECRET, role="c2s")
        b = self.peer.bind(name)
        assert b is not None and b.type == F.BIND_OK, b

    def start(self, sid, jid, flags=0, stanza=None):
        attrs = [(F.FROM, self.name), (F.TO, HOST), (F.SESSION_ID, sid), (F.JID, jid)]
        if stanza is not None:
            attrs.append((F.STANZA, stanza.encode()))
        self.peer.send(F.SESSION_START, attrs, flags)
        return self.peer.wait(lambda f: f.type in (F.SESSION_STARTED, F.SESSION_ENDED) and
                              f.get(F.SESSION_ID) == sid, 5)

    def end(self, sid, jid, code=0):
        self.peer.send(F.SESSION_END, [(F.FROM, self.name), (F.TO, HOST), (F.SESSION_ID, sid),
                                       (F.JID, jid), (F.CODE, code)])
        return self.peer.wait(lambda f: f.type == F.SESSION_ENDED and
                              f.get(F.SESSION_ID) == sid, 5)

    def send(self, sid, jid, xml):
        """A stanza from a session, stamped as c2s stamps it."""
        el = ET.fromstring(xml)
        el.set("from", jid)
        ET.register_namespace("", "jabber:client")
        data = ET.tostring(el)
        return self.peer.route(self.name, HOST, data, key=jid.split("/")[0], sid=sid)

    def got(self, sid, tag=None, pred=None, timeout=3):
        """The next ROUTE for session sid (optionally a <tag/> for which
        pred holds), parsed; None if none came."""
        def match(f):
            if f.type != F.ROUTE or f.get(F.SESSION_ID) != sid:
                return False
            el = ET.fromstring(f.get(F.STANZA))
            return (tag is None or el.tag == C + tag) and (pred is None or pred(el))
        f = self.peer.wait(match, timeout)
        return None if f is None else ET.fromstring(f.get(F.STANZA))

    def nothing(self, sid, tag, timeout=0.5):
        return self.got(sid, tag, timeout=timeout) is None

    def close(self):
        self.peer.close()


def err_cond(el):
    e = el.find(C + "error")
    if e is None:
        return None
    for c in e:
        if c.tag.startswith(STANZAS) and c.tag != STANZAS + "text":
            return c.tag[len(STANZAS):]
    return None


sm = start_sm()
t.ok(sm.alive() and f"bound {HOST}" in sm.log(), "parley-sm starts and binds the hosted domain",
     sm.log())
nobody = pwd.getpwnam(TEST_USER)
st = proc_status(sm.pid)
t.eq(st.get("Uid", "").split(), [str(nobody.pw_uid)] * 4, f"sm runs as {TEST_USER}")
t.eq(st.get("NoNewPrivs"), "1", "NoNewPrivs: 1")
t.eq(st.get("Seccomp"), "2", "Seccomp: 2")
t.ok("sandbox: running as nobody:nogroup" in sm.log() and
     "system calls: stdio unix flock rpath wpath cpath" in sm.log(),
     "the sandbox it applied is logged", sm.log())

c1 = FakeC2S("c2s.1")
c2 = FakeC2S("c2s.2")
J1, J2, R1 = f"juliet@{HOST}/balcony", f"juliet@{HOST}/chamber", f"romeo@{HOST}/orchard"
JB, RB = f"juliet@{HOST}", f"romeo@{HOST}"

# --- sessions ----------------------------------------------------------------------------
f = c1.start("x1", f"tybalt@{HOST}/sword")
t.ok(f is not None and f.type == F.SESSION_ENDED and f.get(F.CODE) == REFUSED,
     "a session for an unknown user is refused (SESSION_ENDED refused)", f)
f = c1.start("x2", "juliet@elsewhere.test/x")
t.ok(f is not None and f.type == F.SESSION_ENDED and f.get(F.CODE) == REFUSED,
     "a session in a domain not hosted is refused", f)
f = c1.start("j1", J1)
t.ok(f is not None and f.type == F.SESSION_STARTED and f.get(F.JID) == J1,
     "SESSION_START for an existing user is answered SESSION_STARTED", f)
f = c1.start("j1", J1, flags=F.F_RESENT)
t.ok(f is not None and f.type == F.SESSION_STARTED, "a RESENT SESSION_START is answered again", f)
t.ok(c1.peer.wait(lambda f: f.type == F.SESSION_END, 0.5) is None,
     "and is no conflict with itself")

# The same full JID from c2s.2 replaces the session on c2s.1.
f = c2.start("j9", J1)
t.ok(f is not None and f.type == F.SESSION_STARTED, "the same full JID on c2s.2 is started", f)
f = c1.peer.wait(lambda f: f.type == F.SESSION_END, 3)
t.ok(f is not None and f.get(F.SESSION_ID) == "j1" and f.get(F.CODE) == REPLACED and
     f.get(F.TO) == "c2s.1", "the old session's c2s gets SESSION_END replaced", f)
c1.peer.send(F.SESSION_ENDED, [(F.FROM, "c2s.1"), (F.TO, HOST), (F.SESSION_ID, "j1"),
                               (F.JID, J1), (F.CODE, REPLACED)])

f = c1.start("j2", J2)
t.ok(f is not None and f.type == F.SESSION_STARTED, "a second resource of the same user", f)
f = c1.start("r1", R1)
t.ok(f is not None and f.type == F.SESSION_STARTED, "romeo's session", f)

# --- ROUTE is acknowledged ---------------------------------------------------------------
seq = c1.send("r1", R1, "<presence xmlns='jabber:client'/>")
f = c1.peer.wait(lambda f: f.type == F.ACK and seq in f.all(F.ACK_SEQ), 3)
t.ok(f is not None and f.get(F.TO) == "c2s.1", "sm acknowledges every ROUTE (ACK)", f)

c1.send("zz", R1, f"<message xmlns='jabber:client' to='{JB}' id='u0'><body>?</body></message>")
e = c1.got("zz", "message")
t.ok(e is not None and e.get("type") == "error" and err_cond(e) == "service-unavailable",
     "a stanza from a session sm does not know comes back as an error", e)

# A ROUTE sent again (RESENT, same seq) after it was handled is dropped,
# but acknowledged again.
body = (f"<message xmlns='jabber:client' from='{R1}' to='{J1}' type='chat'>"
        "<body>once</body></message>").encode()
attrs = [(F.FROM, "c2s.1"), (F.TO, HOST), (F.ROUTE_KEY, RB), (F.SESSION_ID, "r1"),
         (F.STANZA, body)]
seq = c1.peer.send(F.ROUTE, attrs, flags=F.F_KEPT)
t.ok(c2.got("j9", "message") is not None, "a ROUTE is delivered")
c1.peer.send(F.ROUTE, attrs, flags=F.F_KEPT | F.F_RESENT, seq=seq)
c1.peer.wait(lambda f: f.type == F.ACK and seq in f.all(F.ACK_SEQ), 3)  # the first one's
f = c1.peer.wait(lambda f: f.type == F.ACK and seq in f.all(F.ACK_SEQ), 3)
t.ok(f is not None, "the RESENT copy is acknowledged again", f)
t.ok(c2.nothing("j9", "message"), "but not delivered twice")

# --- delivery to a full JID ----------------------------------------------------------------
c1.send("r1", R1, f"<message xmlns='jabber:client' to='{J1}' type='chat' id='m1'>"
        "<body>hi</body></message>")
m = c2.got("j9", "message")
t.ok(m is not None and m.get("from") == R1 and m.findtext(C + "body") == "hi",
     "a message to a full JID reaches that session on its c2s", m)
c1.send("r1", R1, f"<presence xmlns='jabber:client' to='{J1}'/>")
p = c2.got("j9", "presence")
t.ok(p is not None and p.get("from") == R1, "directed presence to a full JID is delivered", p)

# --- delivery to the bare JID ---------------------------------------------------------------
c1.send("r1", R1, f"<message xmlns='jabber:client' to='{JB}' type='chat' id='m2'>"
        "<body>nobody home</body></message>")
t.ok(c1.nothing("r1", "message"),
     "no resource sent initial presence: the message is stored offline, no error")
t.ok(c2.nothing("j9", "message") and c1.nothing("j2", "message"),
     "and no resource without initial presence gets it")

c2.send("j9", J1, "<presence xmlns='jabber:client'><priority>1</priority></presence>")
m = c2.got("j9", "message")
t.ok(m is not None and m.findtext(C + "body") == "nobody home" and
     m.find("{urn:xmpp:delay}delay") is not None,
     "the first resource with a non-negative priority gets it, with a delay stamp", m)
c1.send("j2", J2, "<presence xmlns='jabber:client'><priority>5</priority></presence>")
p = c1.got("j2", "presence", lambda el: el.get("from") == J2)
t.ok(p is not None, "initial presence is echoed to the user's own resource", p)
p = c1.got("j2", "presence", lambda el: el.get("from") == J1)
t.ok(p is not None, "and reaches the user's other available resources", p)
c1.send("r1", R1, f"<message xmlns='jabber:client' to='{JB}' type='chat' id='m3'>"
        "<body>to the best</body></message>")
m = c1.got("j2", "message")
t.ok(m is not None and m.findtext(C + "body") == "to the best",
     "a message to the bare JID reaches the highest priority resource", m)
t.ok(c2.nothing("j9", "message"), "and not the lower one")

c1.send("r1", R1, f"<message xmlns='jabber:client' to='{JB}' type='headline'>"
        "<body>news</body></message>")
t.ok(c1.got("j2", "message") is not None and c2.got("j9", "message") is not None,
     "a headline to the bare JID reaches every non-negative resource")

c2.send("j9", J1, "<presence xmlns='jabber:client'><priority>-1</priority></presence>")
c1.send("j2", J2, "<presence xmlns='jabber:client'><priority>-3</priority></presence>")
c1.peer.drain(0.3)
c2.peer.drain(0.3)
c1.send("r1", R1, f"<message xmlns='jabber:client' to='{JB}' id='m4'>"
        "<body>negative</body></message>")
t.ok(c1.nothing("r1", "message"),
     "only negative priorities: a bare-JID message is stored offline, no error")
t.ok(c1.nothing("j2", "message") and c2.nothing("j9", "message"),
     "and no negative-priority resource got it")
c1.send("r1", R1, f"<message xmlns='jabber:client' to='{J2}' id='m5'>"
        "<body>full</body></message>")
t.ok(c1.got("j2", "message") is not None,
     "a negative-priority resource still gets messages to its full JID")
c1.send("r1", R1, f"<message xmlns='jabber:client' to='{JB}' type='groupchat'>"
        "<body>gc</body></message>")
e = c1.got("r1", "message")
t.ok(e is not None and err_cond(e) == "service-unavailable",
     "groupchat to a bare JID: service-unavailable", e)

c1.send("j2", J2, "<presence xmlns='jabber:client'><priority>2</priority></presence>")
c1.peer.drain(0.3)
c2.peer.drain(0.3)
c1.send("r1", R1, f"<message xmlns='jabber:client' to='{JB}/gone' type='chat'>"
        "<body>no such resource</body></message>")
m = c1.got("j2", "message")
t.ok(m is not None and m.findtext(C + "body") == "no such resource",
     "a chat message to a resource that is not online goes as to the bare JID", m)

# --- nonexistent user, remote domain, errors never answered ------------------------------------
c1.send("r1", R1, f"<message xmlns='jabber:client' to='mercutio@{HOST}' id='m6'>"
        "<body>?</body></message>")
e = c1.got("r1", "message")
t.ok(e is not None and e.get("type") == "error" and err_cond(e) == "service-unavailable" and
     e.get("from") == f"mercutio@{HOST}" and e.get("id") == "m6",
     "a message to a nonexistent user is bounced with service-unavailable", e)
c1.send("r1", R1, f"<iq xmlns='jabber:client' to='mercutio@{HOST}' type='get' id='q0'>"
        "<query xmlns='jabber:iq:version'/></iq>")
e = c1.got("r1", "iq")
t.ok(e is not None and err_cond(e) == "service-unavailable",
     "an iq to a nonexistent user too", e)
c1.send("r1", R1, f"<message xmlns='jabber:client' to='mercutio@{HOST}' type='error'>"
        "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        "</error></message>")
t.ok(c1.nothing("r1", "message"), "an error stanza is never answered with an error")
c1.send("r1", R1, f"<iq xmlns='jabber:client' to='mercutio@{HOST}/' type='get' id='q00'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>")
e = c1.got("r1", "iq")
t.ok(e is not None and err_cond(e) == "jid-malformed" and e.get("id") == "q00" and
     e.get("from") == HOST, "an iq to a malformed JID: jid-malformed, from the domain", e)
c1.send("r1", R1, "<message xmlns='jabber:client' to='someone@remote.example' id='m7'>"
        "<body>far</body></message>")
e = c1.got("r1", "message")
t.ok(e is not None and err_cond(e) == "remote-server-not-found",
     "a stanza to another domain: remote-server-not-found (no s2s yet)", e)

# --- iq: to a full JID, and the server's own services -----------------------------------------
c1.send("r1", R1, f"<iq xmlns='jabber:client' to='{J2}' type='get' id='q1'>"
        "<query xmlns='urn:example:x'/></iq>")
q = c1.got("j2", "iq")
t.ok(q is not None and q.get("id") == "q1" and q.get("from") == R1,
     "an iq to an online full JID reaches that session", q)
c1.send("r1", R1, f"<iq xmlns='jabber:client' to='{JB}/gone' type='get' id='q2'>"
        "<query xmlns='urn:example:x'/></iq>")
e = c1.got("r1", "iq")
t.ok(e is not None and err_cond(e) == "service-unavailable",
     "an iq to a full JID that is not online: service-unavailable", e)


def ask(to, payload, iq_id):
    to_attr = f" to='{to}'" if to else ""
    c1.send("r1", R1, f"<iq xmlns='jabber:client'{to_attr} type='get' id='{iq_id}'>{payload}</iq>")
    return c1.got("r1", "iq", lambda el: el.get("id") == iq_id)


r = ask(HOST, "<ping xmlns='urn:xmpp:ping'/>", "p1")
t.ok(r is not None and r.get("type") == "result" and r.get("from") == HOST,
     "XEP-0199 ping to the server: result", r)
r = ask(None, "<ping xmlns='urn:xmpp:ping'/>", "p2")
t.ok(r is not None and r.get("type") == "result", "ping without `to`: result", r)
r = ask(JB, "<ping xmlns='urn:xmpp:ping'/>", "p3")
t.ok(r is not None and r.get("type") == "result" and r.get("from") == JB,
     "ping to a user's bare JID: answered on the user's behalf", r)
DI = "{http://jabber.org/protocol/disco#info}"
r = ask(HOST, "<query xmlns='http://jabber.org/protocol/disco#info'/>", "d1")
ident = r.find(f"{DI}query/{DI}identity") if r is not None else None
feats = {x.get("var") for x in r.iter(DI + "feature")} if r is not None else set()
t.ok(ident is not None and ident.get("category") == "server" and ident.get("type") == "im",
     "disco#info of the server: identity server/im", r)
t.ok({"urn:xmpp:ping", "jabber:iq:version", "http://jabber.org/protocol/disco#info"} <= feats,
     "and the features of the modules", feats)
r = ask(RB, "<query xmlns='http://jabber.org/protocol/disco#info'/>", "d2")
ident = r.find(f"{DI}query/{DI}identity") if r is not None else None
t.ok(ident is not None and ident.get("category") == "account" and
     ident.get("type") == "registered", "disco#info of one's own account: account/registered",
     r)
r = ask(HOST, "<query xmlns='http://jabber.org/protocol/disco#items'/>", "d3")
t.ok(r is not None and r.get("type") == "result", "disco#items of the server: a result", r)
r = ask(HOST, "<query xmlns='jabber:iq:version'/>", "v1")
t.ok(r is not None and r.findtext("{jabber:iq:version}query/{jabber:iq:version}name") ==
     "Parley" and r.findtext("{jabber:iq:version}query/{jabber:iq:version}version"),
     "XEP-0092 version: Parley and its version", r)
r = ask(HOST, "<query xmlns='urn:example:unknown'/>", "u1")
t.ok(r is not None and r.get("type") == "error" and err_cond(r) == "service-unavailable",
     "an unknown namespace: service-unavailable", r)
r = ask(JB, "<query xmlns='urn:example:unknown'/>", "u2")
t.ok(r is not None and err_cond(r) == "service-unavailable",
     "an unknown namespace to a bare JID: service-unavailable", r)
c1.send("r1", R1, f"<iq xmlns='jabber:client' to='{HOST}' type='result' id='res'/>")
t.ok(c1.nothing("r1", "iq"), "an iq result to the server gets no answer")

# --- ending sessions -----------------------------------------------------------------------------
f = c1.end("j2", J2)
t.ok(f is not None and f.get(F.CODE) == 0, "SESSION_END from c2s is answered SESSION_ENDED", f)
p = c2.got("j9", "presence", lambda el: el.get("type") == "unavailable" and
           el.get("from") == J2)
t.ok(p is not None, "an ended available session is unavailable to the user's other resources", p)
c1.send("r1", R1, f"<iq xmlns='jabber:client' to='{J2}' type='get' id='q3'>"
        "<query xmlns='urn:example:x'/></iq>")
e = c1.got("r1", "iq")
t.ok(e is not None and err_cond(e) == "service-unavailable", "and the session is gone", e)

# c2s.2 goes away: its sessions end.
c2.close()
t.ok(wait_until(lambda: "c2s.2 went away: ending its 1 sessions" in sm.log(), 5),
     "PEER_DOWN of c2s.2 ends its sessions", sm.log())
c1.send("r1", R1, f"<message xmlns='jabber:client' to='{J1}' type='chat' id='m8'>"
        "<body>anyone?</body></message>")
t.ok(c1.nothing("r1", "message"),
     "nobody online for juliet any more: a chat to her full JID is stored offline, no error")

# --- sm restarts: c2s re-announces ------------------------------------------------------------------
sm.signal(signal.SIGTERM)
t.eq(sm.wait(10), 0, "SIGTERM: sm exits 0")
sm = start_sm("sm2")
c2 = FakeC2S("c2s.2")
f = c1.start("r1", R1, flags=F.F_REANNOUNCE,
             stanza="<presence xmlns='jabber:client'><priority>3</priority></presence>")
t.ok(f is not None and f.type == F.SESSION_STARTED, "a re-announced session is accepted", f)
f = c2.start("j5", J1)
c2.send("j5", J1, f"<message xmlns='jabber:client' to='{RB}' type='chat'>"
        "<body>back</body></message>")
m = c1.got("r1", "message")
t.ok(m is not None and m.findtext(C + "body") == "back",
     "its re-announced presence makes it available for bare-JID messages", m)

# --- kept frames: what c2s does not take comes back, and is delivered again -----------------------
DELAY = "{urn:xmpp:delay}delay"


def kept_route(peer, sid, body):
    return peer.wait(lambda f: f.type == F.ROUTE and f.get(F.SESSION_ID) == sid and
                     body.encode() in f.get(F.STANZA), 3)


c2.send("j5", J1, "<presence xmlns='jabber:client'><priority>1</priority></presence>")
c1.send("r1", R1, f"<message xmlns='jabber:client' to='{JB}' type='chat' id='k1'>"
        "<body>kept one</body></message>")
f = kept_route(c2.peer, "j5", "kept one")
t.ok(f is not None and f.flags & F.F_KEPT, "sm keeps what it sends to c2s (flag KEPT)", f)
c2.peer.send(F.ACK, [(F.FROM, "c2s.2"), (F.TO, HOST), (F.ACK_SEQ, f.seq)], flags=F.F_REJECTED)
t.ok(wait_until(lambda: "c2s.2 has no session j5" in sm.log(), 5),
     "an ACK with REJECTED (c2s does not have the session): sm ends its session too", sm.log())
t.ok(c1.nothing("r1", "message"), "and the sender hears no error")
f = c2.start("j6", J1)
c2.send("j6", J1, "<presence xmlns='jabber:client'><priority>1</priority></presence>")
f = kept_route(c2.peer, "j6", "kept one")
m = None if f is None else ET.fromstring(f.get(F.STANZA))
t.ok(m is not None and m.find(DELAY) is not None,
     "the rejected message went to offline storage: the next session gets it, delay-stamped", m)
if f is not None:  # written to the client: taken care of
    c2.peer.send(F.ACK, [(F.FROM, "c2s.2"), (F.TO, HOST), (F.ACK_SEQ, f.seq)])

c1.send("r1", R1, f"<message xmlns='jabber:client' to='{JB}' type='chat' id='k2'>"
        "<body>kept two</body></message>")
f = kept_route(c2.peer, "j6", "kept two")
t.ok(f is not None, "another message reaches c2s.2, which dies before acknowledging it", f)
c2.close()
t.ok(wait_until(lambda: "kept frame for c2s.2 given back" in sm.log() or
                "kept frames for c2s.2 given back" in sm.log(), 5),
     "at c2s.2's PEER_DOWN sm takes back what it never acknowledged", sm.log()[-3000:])
c2 = FakeC2S("c2s.2")
f = c2.start("j7", J1)
c2.send("j7", J1, "<presence xmlns='jabber:client'><priority>1</priority></presence>")
m = c2.got("j7", "message", lambda el: el.findtext(C + "body") == "kept two")
t.ok(m is not None and m.find(DELAY) is not None,
     "and delivers it again: offline storage, to the next session", m)
# Anything else c2s.2 never acknowledged comes again too (this fake c2s
# acknowledges only what the test says); "kept two" comes once.
again = c2.got("j7", "message", lambda el: el.findtext(C + "body") == "kept two", timeout=0.5)
t.ok(again is None, "once", None if again is None else ET.tostring(again))

# --- an external authreg backend: storage does not know every account ---------------------------
sm.signal(signal.SIGTERM)
t.eq(sm.wait(10), 0, "SIGTERM again: exits 0")
pipe_conf = suite.path("pipe.conf")
with open(site.conf) as src, open(pipe_conf, "w") as dst:
    dst.write(src.read().replace("auth = {", 'auth = {\nbackend = "pipe";\n'
                                 'pipe = { program = [ "/bin/true" ]; };', 1))
sm = suite.start("sm-pipe", ["parley-sm", "-f", "-c", pipe_conf])
wait_until(lambda: not sm.alive() or f"bound {HOST}" in sm.log(), 10)
f = c1.start("t1", f"tybalt@{HOST}/sword")
t.ok(f is not None and f.type == F.SESSION_STARTED,
     "with auth.backend pipe, a session for a user storage does not hold is accepted", f)

# --- --sandbox-test ---------------------------------------------------------------------------------
p = start_sm("sm-sandbox", ["--sandbox-test"], wait=False)
t.eq(p.wait(10), -signal.SIGSYS, "--sandbox-test: sm dies of SIGSYS")
t.ok("seccomp: system call execve" in p.log(), "and the violation is logged", p.log())

c1.close()
c2.close()
t.done()
