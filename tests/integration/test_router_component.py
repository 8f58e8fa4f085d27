#!/usr/bin/python3
"""test_router_component.py — the router's XEP-0114 edge: a real component
(python3-slixmpp's ComponentXMPP, tests/integration/lib/xep0114_component.py)
connects with the right secret and is refused with a wrong one, and
exchanges stanzas with a test peer that binds the hosted domain as sm will;
raw sockets check the handshake's edge cases and bad input. Prints TAP."""
import hashlib
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import frames as F  # noqa: E402
from parley import Suite, Tap, free_port, port_open, wait_until  # noqa: E402
from routerlib import SECRET, socket_answers, start_router  # noqa: E402

COMPONENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "xep0114_component.py")
DOMAIN = "muc.example.test"
COMP_SECRET = "the-muc-secret"

t = Tap()
suite = Suite("router-component")
port = free_port()
proc, SOCK, _ = start_router(suite, "router", f"""
component_address = "127.0.0.1";
component_port = {port};
components = ( {{ domain = "{DOMAIN}"; secret = "{COMP_SECRET}"; }},
               {{ domain = "irc.example.test"; secret = "another-secret"; }} );
""")
if not t.ok(proc.alive() and socket_answers(SOCK) and wait_until(lambda: port_open(port), 5),
            "the router listens on its socket and its component port", proc.log()):
    t.done()


def component(name, secret, *extra, domain=DOMAIN):
    return suite.start(name, ["/usr/bin/python3", COMPONENT, domain, secret, str(port)] + list(extra))


def said(p, text, timeout=10):
    return wait_until(lambda: text in p.log(), timeout)


# sm's stand-in: it binds the hosted domain.
sm = F.connect(SOCK, "sm", SECRET)
t.eq(getattr(sm.bind("example.test"), "type", None), F.BIND_OK, "a test peer binds example.test")

# --- the right secret ------------------------------------------------------------

comp = component("component", COMP_SECRET, "--send-to", "juliet@example.test")
t.ok(said(comp, "SESSION_START"), "slixmpp's component completes the handshake", comp.log())
up = sm.wait(lambda f: f.type == F.PEER_UP and f.get(F.NAME) == DOMAIN)
t.ok(up is not None and up.get(F.ROLE) == "component",
     "the peers hear PEER_UP for the component's domain", repr(up))
t.ok("component muc.example.test (127.0.0.1:" in proc.log() and "authenticated" in proc.log(),
     "the router logs the component's arrival")

got = sm.wait_type(F.ROUTE)
stanza = got.get(F.STANZA).decode() if got else ""
t.ok(got is not None and got.get(F.FROM) == DOMAIN and got.get(F.TO) == "example.test"
     and got.get(F.ROUTE_KEY) == "juliet@example.test",
     "the component's stanza arrives as a ROUTE frame: from its domain, to the domain of "
     "the stanza's `to`, keyed by the bare `to`", repr(got))
t.ok("hello from the component" in stanza and "from=\"bot@muc.example.test\"" in stanza
     and stanza.startswith("<message xmlns=\"jabber:client\""),
     "carrying the stanza, standing alone with its namespace", stanza)

msg = ("<message xmlns='jabber:client' from='juliet@example.test/balcony' "
       "to='room@muc.example.test' type='chat' id='m1'><body>echo wherefore</body></message>")
seq = sm.route("example.test", DOMAIN, msg, key="room@muc.example.test", sid="s1")
t.ok(said(comp, "MESSAGE from=juliet@example.test/balcony to=room@muc.example.test "
                "type=chat body=echo wherefore"),
     "a ROUTE frame for the component's domain reaches it as a stanza", comp.log())
ack = sm.wait_type(F.ACK)
t.ok(ack is not None and ack.get(F.ACK_SEQ) == seq and ack.get(F.FROM) == DOMAIN
     and ack.get(F.TO) == "example.test",
     "the router, as the final receiver, acknowledges the frame to its sender", repr(ack))
reply = sm.wait_type(F.ROUTE)
t.ok(reply is not None and b"reply: wherefore" in reply.get(F.STANZA, b"")
     and reply.get(F.ROUTE_KEY) == "juliet@example.test",
     "and the component's answer comes back through the router", repr(reply))

# From here on nobody serves example.test: sm goes away; a c2s watches.
sm.close()
t.ok(wait_until(lambda: "example.test is down" in proc.log(), 5), "sm goes away")
sm2 = F.connect(SOCK, "c2s.1", SECRET)
sm2.bind("c2s.1")

# --- the wrong secret ---------------------------------------------------------------

bad = component("component-bad", "wrong-secret", "--seconds", "8", domain="irc.example.test")
t.ok(said(bad, "DISCONNECTED") and "SESSION_START" not in bad.log(),
     "slixmpp's component with a wrong secret is refused", bad.log())
t.ok(said(proc, "for component irc.example.test: refused: wrong handshake")
     and "<not-authorized/>" in proc.log(),
     "the refusal is logged with a not-authorized stream error")
bad.wait(10)

# --- raw sockets: the handshake's edge cases -----------------------------------------


class Raw:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.data = b""

    def send(self, text):
        self.s.sendall(text.encode())

    def read_until(self, pattern, timeout=5):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.data.decode(errors="replace")):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                return None
            if not chunk:
                return None
            self.data += chunk
        return re.search(pattern, self.data.decode(errors="replace"))

    def closed(self, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.s.settimeout(deadline - time.monotonic())
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.data += chunk
        return False

    def open(self, domain, ns="jabber:component:accept"):
        self.send(f"<?xml version='1.0'?><stream:stream xmlns='{ns}' "
                  f"xmlns:stream='http://etherx.jabber.org/streams' to='{domain}'>")
        return self.read_until(r"id=['\"]([0-9a-f]+)['\"]")

    def handshake(self, stream_id, secret):
        digest = hashlib.sha1((stream_id + secret).encode()).hexdigest()
        self.send(f"<handshake>{digest}</handshake>")


r = Raw()
m = r.open("nothing.example.test")
t.ok(r.read_until(r"<host-unknown") is not None and r.closed(),
     "a component domain not in router.components gets host-unknown", r.data)

r = Raw()
m = r.open("irc.example.test")
t.ok(m is not None and "from='irc.example.test'" in r.data.decode().replace('"', "'"),
     "the router answers the stream header with its id, from the component's domain", r.data)
r.handshake(m.group(1), "another-secret".upper())
t.ok(r.read_until(r"<not-authorized") is not None and r.closed(),
     "a handshake over the wrong secret gets not-authorized and the stream closes", r.data)

r = Raw()
m = r.open("irc.example.test", ns="jabber:client")
t.ok(r.read_until(r"<invalid-namespace") is not None and r.closed(),
     "a stream in another namespace gets invalid-namespace", r.data)

r = Raw()
m = r.open("irc.example.test")
r.send("<message to='x@example.test' from='irc.example.test'/>")
t.ok(r.read_until(r"<not-authorized") is not None and r.closed(),
     "a stanza before the handshake gets not-authorized", r.data)

r = Raw()
m = r.open("irc.example.test")
r.handshake(m.group(1).upper(), "another-secret")  # the digest of another id: wrong
t.ok(r.read_until(r"<not-authorized") is not None, "the handshake is bound to the stream id")

r = Raw()
m = r.open("irc.example.test")
r.handshake(m.group(1), "another-secret")
t.ok(r.read_until(r"<handshake\s*/>") is not None, "the right handshake is answered <handshake/>",
     r.data)
up = sm2.wait(lambda f: f.type == F.PEER_UP and f.get(F.NAME) == "irc.example.test")
t.ok(up is not None, "and the component's domain comes up for the peers")

r.send("<message to='someone@far.example' from='bot@irc.example.test' id='x1'><body>hi</body></message>")
t.ok(r.read_until(r"<message[^>]*type=['\"]error['\"][^>]*>.*remote-server-not-found") is not None,
     "a stanza for a domain nobody serves (no default route) bounces remote-server-not-found",
     r.data)
r.send("<message to='romeo@example.test' from='bot@irc.example.test' id='x2'><body>hi</body></message>")
t.ok(r.read_until(r"id=['\"]x2['\"].*service-unavailable|service-unavailable.*id=['\"]x2") is not None,
     "a stanza for a hosted domain nobody has bound bounces service-unavailable", r.data)
r.send("<message to='room@muc.example.test' from='bot@irc.example.test' id='x3'>"
       "<body>echo across</body></message>")
t.ok(said(comp, "MESSAGE from=bot@irc.example.test to=room@muc.example.test type=normal "
                "body=echo across"),
     "one component reaches another through the router", comp.log())
t.ok(r.read_until(r"reply: across") is not None, "and gets its answer", r.data)

r.send("<presence from='bot@muc.example.test' to='x@example.test'/>")
t.ok(r.read_until(r"<invalid-from") is not None and r.closed(),
     "a stanza from outside the component's domain gets invalid-from", r.data)
down = sm2.wait(lambda f: f.type == F.PEER_DOWN and f.get(F.NAME) == "irc.example.test")
t.ok(down is not None, "and PEER_DOWN goes out when the component is gone")

r = Raw()
m = r.open("irc.example.test")
r.handshake(m.group(1), "another-secret")
r.read_until(r"<handshake\s*/>")
r.send("<message to='x@example.test' from='irc.example.test'><body>&unknown;</body></message>")
t.ok(r.read_until(r"<(not-well-formed|restricted-xml)") is not None and r.closed(),
     "bad XML gets a stream error", r.data)

r = Raw()
m = r.open(DOMAIN)
r.handshake(m.group(1), COMP_SECRET)
t.ok(r.read_until(r"<conflict") is not None and r.closed(),
     "a second connection for a component already connected gets conflict", r.data)

t.ok(proc.alive() and comp.alive(), "the router and the first component are still up")

# --- the component goes away -------------------------------------------------------

comp.stop()
down = sm2.wait(lambda f: f.type == F.PEER_DOWN and f.get(F.NAME) == DOMAIN)
t.ok(down is not None, "PEER_DOWN for the component's domain when it disconnects")
seq = sm2.route("c2s.1", DOMAIN, "<message xmlns='jabber:client' to='room@muc.example.test'/>")
err = sm2.wait(lambda f: f.type == F.ERROR and f.get(F.REF_SEQ) == seq)
t.ok(err is not None and err.get(F.CODE) == F.ERR_AWAY,
     "and frames for it come back as ERROR away (a configured component: it may come back)",
     repr(err))
sm2.close()

t.done()
