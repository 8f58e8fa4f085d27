#!/usr/bin/python3
"""test_router.py — parley-router with test peers speaking frames
(tests/integration/lib/frames.py): authentication, binding, routing,
PEER_UP/PEER_DOWN, errors back to the sender, malformed input, a peer that
stops reading, pings, and the socket's life cycle. Prints TAP."""
import grp
import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import frames as F  # noqa: E402
from parley import TEST_GROUP, Suite, Tap, free_port, port_open, proc_status, wait_until  # noqa: E402
from routerlib import SECRET, socket_answers, start_router  # noqa: E402

t = Tap()
suite = Suite("router")

proc, SOCK, CONF = start_router(suite, "router", 'socket_mode = 0666;\nallowed_users = [ "root" ];\n'
                                'hello_timeout = "700ms";\n')
if not t.ok(proc.alive() and socket_answers(SOCK), "the router starts and listens on its socket",
            proc.log()):
    t.done()


def peer(name, role=None):
    return F.connect(SOCK, name, SECRET, role)


def log_has(text, timeout=3.0):
    return wait_until(lambda: text in proc.log(), timeout)


# --- routing ------------------------------------------------------------------

c2s = peer("c2s.1")
sm = peer("sm")
t.eq(getattr(c2s.bind("c2s.1"), "type", None), F.BIND_OK, "a peer binds its instance name")
t.eq(getattr(sm.bind("example.test"), "type", None), F.BIND_OK, "sm binds a hosted domain")

sent = F.encode(F.ROUTE, [(F.FROM, "c2s.1"), (F.TO, "example.test"),
                          (F.ROUTE_KEY, "juliet@example.test"), (F.SESSION_ID, "s1"),
                          (F.STANZA, b"<message to='romeo@example.test'><body>hi</body></message>")],
                 seq=4242)
c2s.send_raw(sent)
got = sm.wait_type(F.ROUTE)
t.ok(got is not None and got.raw == sent,
     "a ROUTE frame reaches the binder of its `to` byte for byte, header included", repr(got))

back = F.encode(F.ROUTE, [(F.FROM, "example.test"), (F.TO, "c2s.1"), (F.SESSION_ID, "s1"),
                          (F.STANZA, b"<message from='romeo@example.test'/>")], flags=F.F_RESENT,
                seq=77)
sm.send_raw(back)
got = c2s.wait_type(F.ROUTE)
t.ok(got is not None and got.raw == back, "and one the other way (flags kept)", repr(got))
ack = F.encode(F.ACK, [(F.FROM, "c2s.1"), (F.TO, "example.test"), (F.ACK_SEQ, 77)], seq=5)
c2s.send_raw(ack)
got = sm.wait_type(F.ACK)
t.ok(got is not None and got.raw == ack and got.get(F.ACK_SEQ) == 77,
     "an ACK is routed like any frame that carries `to`", repr(got))

# --- PEER_UP / PEER_DOWN -----------------------------------------------------

watcher = peer("auth.1", "auth")
table = watcher.drain(0.3)
names = {f.get(F.NAME) for f in table if f.type == F.PEER_UP}
t.ok({"c2s.1", "example.test"} <= names, "a new peer gets a PEER_UP for every bound name",
     repr(table))
role_of = {f.get(F.NAME): f.get(F.ROLE) for f in table if f.type == F.PEER_UP}
t.eq(role_of.get("example.test"), "sm", "PEER_UP names the binder's role")

# Before any default route: a name nobody ever bound is no-route.
seq = c2s.route("c2s.1", "never.example", "<message to='x@never.example'/>", sid="s0")
err = c2s.wait(lambda f: f.type == F.ERROR and f.get(F.REF_SEQ) == seq)
t.ok(err is not None and err.get(F.CODE) == F.ERR_NO_ROUTE and err.get(F.REF_TO) == "never.example"
     and err.get(F.SESSION_ID) == "s0",
     "a frame for a name nobody bound, with no default route ever, comes back as ERROR no-route",
     repr(err))

s2s = peer("s2s")
s2s.bind("s2s", F.F_DEFAULT_ROUTE)
up = watcher.wait(lambda f: f.type == F.PEER_UP and f.get(F.NAME) == "s2s")
t.ok(up is not None and up.flags == F.F_DEFAULT_ROUTE,
     "a third peer hears PEER_UP (with the DEFAULT_ROUTE flag) when a name is bound", repr(up))

# --- the default route and unknown destinations -------------------------------

seq = c2s.route("c2s.1", "remote.example", "<message to='x@remote.example'/>",
                key="x@remote.example")
got = s2s.wait_type(F.ROUTE)
t.ok(got is not None and got.get(F.TO) == "remote.example" and got.seq == seq,
     "the default route takes frames for names nobody bound", repr(got))

# A hosted domain nobody has bound (sm restarting) never takes the default
# route: s2s would bounce it to that same absent domain and it would vanish.
sm.unbind("example.test")
watcher.wait(lambda f: f.type == F.PEER_DOWN and f.get(F.NAME) == "example.test")
seq = c2s.route("c2s.1", "example.test", "<message to='romeo@example.test'/>", sid="s1")
err = c2s.wait(lambda f: f.type == F.ERROR and f.get(F.REF_SEQ) == seq)
t.ok(err is not None and err.get(F.CODE) == F.ERR_AWAY and err.get(F.REF_TO) == "example.test",
     "a frame for a hosted domain nobody has bound comes back as ERROR away (its sender keeps "
     "it until the domain is bound again)", repr(err))
t.ok(not any(f.type == F.ROUTE for f in s2s.drain(0.3)),
     "... and does not take the default route to s2s")
t.eq(getattr(sm.bind("example.test"), "type", None), F.BIND_OK, "sm binds its domain again")

s2s.close()
down = watcher.wait(lambda f: f.type == F.PEER_DOWN and f.get(F.NAME) == "s2s")
t.ok(down is not None, "PEER_DOWN reaches the others when a peer disconnects")
c2s.wait(lambda f: f.type == F.PEER_DOWN and f.get(F.NAME) == "s2s")

stanza = "<message to='x@nowhere.example'><body>lost?</body></message>"
seq = c2s.route("c2s.1", "nowhere.example", stanza, sid="sess-9")
err = c2s.wait(lambda f: f.type == F.ERROR and f.get(F.REF_SEQ) == seq)
t.ok(err is not None and err.get(F.CODE) == F.ERR_AWAY and err.get(F.REF_TO) == "nowhere.example"
     and err.get(F.STANZA) == stanza.encode() and err.get(F.SESSION_ID) == "sess-9",
     "with the default route gone (s2s restarting), a frame for an unknown name comes back as "
     "ERROR away with ref-seq, ref-to, session-id and the stanza", repr(err))

seq = c2s.route("c2s.9", "example.test", "<message/>")
err = c2s.wait(lambda f: f.type == F.ERROR and f.get(F.REF_SEQ) == seq)
t.ok(err is not None and err.get(F.CODE) == F.ERR_NOT_ALLOWED,
     "a `from` the sender has not bound is refused with not-allowed", repr(err))
c2s.send(F.PING)
t.ok(c2s.wait_type(F.PONG) is not None, "and the peer stays connected (PING answered)")

# --- binding rules --------------------------------------------------------------

intruder = peer("sm.2", "sm")
seq_bind = intruder.send(F.BIND, [(F.NAME, "example.test")])
err = intruder.wait(lambda f: f.type == F.ERROR and f.get(F.REF_SEQ) == seq_bind)
t.ok(err is not None and err.get(F.CODE) == F.ERR_CONFLICT and "sm (uid 0" in err.get(F.TEXT, ""),
     "binding a taken name is refused with conflict, naming the holder", repr(err))
err = intruder.bind("auth")
t.ok(err is not None and err.type == F.ERROR and err.get(F.CODE) == F.ERR_NOT_ALLOWED,
     "a shared name bound without the SHARED flag is refused", repr(err))
intruder.unbind("example.test")
err = intruder.wait_type(F.ERROR)
t.ok(err is not None and err.get(F.CODE) == F.ERR_NOT_ALLOWED,
     "unbinding a name held by another peer is refused", repr(err))
intruder.close()

auth2 = peer("auth.2", "auth")
r1 = watcher.bind("auth", F.F_SHARED)
r2 = auth2.bind("auth", F.F_SHARED)
t.ok(getattr(r1, "type", None) == F.BIND_OK and getattr(r2, "type", None) == F.BIND_OK
     and r2.flags == F.F_SHARED, "two peers bind the shared name auth", f"{r1!r} {r2!r}")
c2s.wait(lambda f: f.type == F.PEER_UP and f.get(F.NAME) == "auth")
watcher.drain(0.1)
auth2.drain(0.1)

# An odd number of keys, in another order each round: taking turns would
# send some key to both binders.
keys = [f"user{i}@example.test" for i in range(41)]
for rnd in range(3):
    for k in (keys if rnd != 1 else keys[::-1]):
        c2s.route("c2s.1", "auth", f"<iq id='{rnd}'/>", key=k)
got = {}
deadline = time.monotonic() + 5
while sum(len(v) for v in got.values()) < 3 * len(keys) and time.monotonic() < deadline:
    for name, p in (("auth.1", watcher), ("auth.2", auth2)):
        f = p.recv(0.05)
        if f is not None and f.type == F.ROUTE:
            got.setdefault(name, []).append(f.get(F.ROUTE_KEY))
where = {}
for name, ks in got.items():
    for k in ks:
        where.setdefault(k, set()).add(name)
t.eq(sum(len(v) for v in got.values()), 3 * len(keys), "every frame for the shared name arrives")
t.ok(all(len(v) == 1 for v in where.values()),
     "every frame with one route key goes to the same binder", repr(where))
t.ok(len(got.get("auth.1", [])) > 0 and len(got.get("auth.2", [])) > 0,
     "over many keys both binders get some", {k: len(v) for k, v in got.items()})

auth2.send(F.UNBIND, [(F.NAME, "auth")])
c2s.route("c2s.1", "auth", "<iq/>", key="user1@example.test")
c2s.route("c2s.1", "auth", "<iq/>", key="user2@example.test")
t.ok(watcher.wait_type(F.ROUTE) is not None and watcher.wait_type(F.ROUTE) is not None,
     "after one binder unbinds, the other gets all its frames")
watcher.send(F.UNBIND, [(F.NAME, "auth")])
down = c2s.wait(lambda f: f.type == F.PEER_DOWN and f.get(F.NAME) == "auth")
t.ok(down is not None, "PEER_DOWN for a shared name when its last binder leaves")
auth2.close()

# --- authentication -------------------------------------------------------------

bad = F.Peer(SOCK)
answer = bad.hello("c2s.7", "not-the-secret-at-all")
t.ok(answer is not None and answer.type == F.ERROR and answer.get(F.CODE) == F.ERR_NOT_AUTHORIZED,
     "a wrong secret is refused with ERROR not-authorized", repr(answer))
t.ok(bad.closed_by_router(), "and the connection is closed")
t.ok(log_has('wrong secret in the HELLO of "c2s.7"') and
     any("wrong secret" in line and f"pid {os.getpid()}" in line for line in proc.log().splitlines()),
     "the refusal is logged with the peer's uid, pid and the name it claimed")

early = F.Peer(SOCK)
early.send(F.BIND, [(F.NAME, "example.org")])
err = early.wait_type(F.ERROR)
t.ok(err is not None and err.get(F.CODE) == F.ERR_NOT_AUTHORIZED and early.closed_by_router(),
     "a frame before HELLO is refused with not-authorized and the connection closed", repr(err))

early = F.Peer(SOCK)
early.route("c2s.1", "example.test", "<message/>")
err = early.wait_type(F.ERROR)
t.ok(err is not None and err.get(F.CODE) == F.ERR_NOT_AUTHORIZED and early.closed_by_router(),
     "a routed frame before HELLO is not forwarded", repr(err))
t.ok(not [f for f in sm.drain(0.2) if f.type == F.ROUTE], "(nothing reached sm)")

silent = F.Peer(SOCK)
t0 = time.monotonic()
err = silent.wait_type(F.ERROR, timeout=5)
took = time.monotonic() - t0
t.ok(err is not None and err.get(F.CODE) == F.ERR_NOT_AUTHORIZED and 0.4 < took < 3
     and silent.closed_by_router(),
     "a peer that says nothing is refused after router.hello_timeout", f"{err!r} after {took:.2f}s")

# A peer running as nobody, with allowed_users = [ "root" ].
rd, wr = os.pipe()
child = os.fork()
if child == 0:
    try:
        os.close(rd)
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
        p = F.Peer(SOCK)
        try:
            p.send(F.HELLO, [(F.NAME, "c2s.6"), (F.ROLE, "c2s"), (F.SECRET, SECRET.encode())])
        except BrokenPipeError:
            pass  # refused already: the answer is waiting to be read
        f = p.wait_type(F.ERROR)
        closed = p.closed_by_router()
        os.write(wr, f"{f.get(F.CODE) if f else None} {closed}".encode())
    except Exception as e:  # report, never fall through into the parent's code
        os.write(wr, f"exception {e!r}".encode())
    os._exit(0)
os.close(wr)
result = os.read(rd, 200).decode()
os.close(rd)
os.waitpid(child, 0)
t.eq(result, f"{F.ERR_NOT_AUTHORIZED} True",
     "a peer running as a uid not in router.allowed_users gets ERROR not-authorized and is closed")
t.ok(log_has(f"uid 65534 pid {child}: uid 65534 is not in router.allowed_users"),
     "the refused uid is logged with its pid")

# --- malformed input ---------------------------------------------------------------

def refused_with_protocol(data, name, before_hello=False):
    p = F.Peer(SOCK)
    if not before_hello:
        p.hello("bad.1", SECRET, "c2s")
    p.send_raw(data)
    err = p.wait_type(F.ERROR)
    ok = err is not None and err.get(F.CODE) == F.ERR_PROTOCOL and p.closed_by_router()
    t.ok(ok, name, repr(err))
    p.close()
    return err


err = refused_with_protocol(struct.pack(">I", 0x7FFFFFF0) + b"\x01",
                            "a frame announcing more than router.max_frame is refused "
                            "from its first bytes")
t.ok(err is not None and "exceeds" in err.get(F.TEXT, ""), "ERROR text says why", repr(err))
refused_with_protocol(F.encode(F.PING, version=3), "a bad protocol version is refused")
refused_with_protocol(F.encode(99), "an unknown frame type is refused, never ignored")
refused_with_protocol(F.encode(F.PING, length=5), "a length shorter than the header is refused")
refused_with_protocol(F.encode(F.BIND, [(F.NAME, "x.example")], flags=0x8000),
                      "a flag the type does not define is refused")
trunc = bytearray(F.encode(F.BIND, [(F.NAME, "x.example")]))
struct.pack_into(">I", trunc, 14, 200)
refused_with_protocol(bytes(trunc), "an attribute running past the frame is refused")
refused_with_protocol(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "garbage is refused", before_hello=True)
refused_with_protocol(struct.pack(">IBB", 100000, 1, F.HELLO),
                      "before HELLO, a frame larger than a HELLO can be is refused at once",
                      before_hello=True)
refused_with_protocol(F.encode(F.HELLO, [(F.NAME, "c2s.1"), (F.ROLE, "c2s"), (F.SECRET, b"x"),
                                         (F.STANZA, b"<x/>")]),
                      "a tag the type does not take is refused", before_hello=True)
refused_with_protocol(F.encode(F.HELLO, [(F.NAME, "c2s.1"), (F.ROLE, "c2s"),
                                         (F.SECRET, SECRET.encode())]),
                      "a second HELLO is a protocol error")

seq = c2s.route("c2s.1", "example.test", "<message>still here</message>")
got = sm.wait_type(F.ROUTE)
t.ok(got is not None and got.seq == seq and proc.alive(),
     "after all that the router still routes between the others", repr(got))

# --- the socket's life cycle -------------------------------------------------------

second = suite.start("router-2", ["parley-router", "-f", "-c", CONF])
status = second.wait(10)
t.ok(status not in (None, 0) and "another router is already listening on " + SOCK in second.log(),
     "a second router on the same socket refuses to start, saying why", second.log())
t.ok(socket_answers(SOCK) and proc.alive(), "and the first keeps its socket")

for p in (c2s, sm, watcher):
    p.close()
proc.signal(signal.SIGKILL)
proc.wait(5)
t.ok(os.path.exists(SOCK), "a killed router leaves its socket file behind")
proc = suite.start("router-again", ["parley-router", "-f", "-c", CONF])
t.ok(wait_until(lambda: "listening on" in proc.log() and socket_answers(SOCK), 10),
     "a new router removes the stale socket and listens", proc.log())
t.eq(oct(os.stat(SOCK).st_mode & 0o777), oct(0o666), "the socket has router.socket_mode")
t.eq(os.stat(SOCK).st_gid, grp.getgrnam(TEST_GROUP).gr_gid, "and router.socket_group")
a = peer("c2s.1")
t.eq(proc.stop(), 0, "SIGTERM stops the router cleanly (status 0)")
t.ok(a.closed_by_router(), "its peers are disconnected")
t.ok(not os.path.exists(SOCK), "and its socket is removed", proc.log())

# --- TCP with TLS, for peers on other hosts ---------------------------------------

cert = suite.path("router-cert.pem")
key = suite.path("router-key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=router.test",
                "-addext", "subjectAltName=DNS:router.test"],
               check=True, capture_output=True)
tcp_port = free_port()
proc, SOCK, _ = start_router(suite, "router-tcp",
                             f'tcp = {{ address = "127.0.0.1"; port = {tcp_port}; }};\n',
                             top=f'tls = {{ certificate = "{cert}"; key = "{key}"; }};\n')
t.ok(proc.alive() and wait_until(lambda: port_open(tcp_port), 5),
     "with router.tcp set, the router listens on TCP", proc.log())
t.ok("system calls: stdio unix inet" in proc.log(), "and its sandbox allows inet sockets")
remote = F.connect_tls("127.0.0.1", tcp_port, cert, "router.test")
ok = remote.hello("c2s.2", SECRET, "c2s", pid=4321)
t.ok(ok is not None and ok.type == F.HELLO_OK and ok.get(F.NAME) == "router",
     "a peer on TCP passes TLS (the router's certificate verified) and HELLO", repr(ok))
t.ok(log_has("c2s.2 (127.0.0.1:") and "pid 4321" in proc.log(),
     "it is logged by address, with the pid it gave")
remote.bind("c2s.2")
local = peer("sm")
local.bind("example.test")
remote.drain(0.1)
sent = F.encode(F.ROUTE, [(F.FROM, "c2s.2"), (F.TO, "example.test"), (F.STANZA, b"<presence/>")],
                seq=9)
remote.send_raw(sent)
got = local.wait_type(F.ROUTE)
t.ok(got is not None and got.raw == sent, "a frame from the TCP peer reaches a local one unchanged",
     repr(got))
seq = local.route("example.test", "c2s.2", "<presence type='probe'/>" + "x" * 200000)
got = remote.wait_type(F.ROUTE)
t.ok(got is not None and got.seq == seq and len(got.raw) > 200000,
     "and a large one comes back over TLS", repr(got)[:200])
remote.close()
local.close()
bad = F.connect_tls("127.0.0.1", tcp_port, cert, "router.test")
answer = bad.hello("c2s.3", "wrong-secret-wrong-secret")
t.ok(answer is not None and answer.get(F.CODE) == F.ERR_NOT_AUTHORIZED and bad.closed_by_router(),
     "a wrong secret over TCP is refused and the connection closed", repr(answer))
plain = socket.create_connection(("127.0.0.1", tcp_port), timeout=5)
plain.sendall(F.encode(F.HELLO, [(F.NAME, "c2s.4"), (F.ROLE, "c2s"), (F.SECRET, SECRET.encode())]))
try:
    reply = plain.recv(4096)
except ConnectionResetError:
    reply = b""
t.ok(F.HELLO_OK not in reply[5:6] and log_has("TLS handshake failed"),
     "a peer on TCP without TLS gets nowhere", reply)
plain.close()
proc.stop()

# --- pings -------------------------------------------------------------------------

proc, SOCK, _ = start_router(suite, "router-ping", 'ping_interval = "1s";\n')
quiet = peer("c2s.1")
quiet.auto_pong = False
lively = peer("c2s.2")
ping = quiet.wait_type(F.PING, timeout=4)
t.ok(ping is not None, "a quiet peer is pinged after router.ping_interval")
deadline = time.monotonic() + 6
while time.monotonic() < deadline and not quiet.eof:
    lively.drain(0.1)
    quiet.recv(0.1)
t.ok(quiet.eof, "a peer that does not answer is disconnected")
t.ok("did not answer a PING" in proc.log(), "and that is logged")
lively.send(F.PING)
t.ok(lively.wait_type(F.PONG) is not None, "a peer that answers PINGs stays")
lively.close()
proc.stop()

# --- a peer that stops reading -------------------------------------------------------

proc, SOCK, _ = start_router(suite, "router-slow", 'max_frame = "64K";\nmax_queue = "128K";\n')
hwm_before = int(proc_status(proc.pid).get("VmHWM", "0 kB").split()[0])
stuck = F.Peer(SOCK)
stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
stuck.hello("stuck", SECRET, "c2s")
stuck.bind("stuck")
# The flooder reads its answers (as big as its frames) after every frame it
# sends, and a small send buffer keeps what it has in flight small: it
# keeps up, so it is the peer that stops reading that is cut off.
flood = F.Peer(SOCK)
flood.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
flood.hello("flood", SECRET, "c2s")
flood.bind("flood")
a = peer("a")
a.bind("a")
b = peer("b")
b.bind("b")
for p in (flood, a, b):
    p.drain(0.1)

big = "<message><body>" + "x" * 8000 + "</body></message>"
errors = []
a_to_b = b_to_a = got_b = got_a = 0
after_first_error = 0
for i in range(1000):
    if errors:
        after_first_error += 1
        if after_first_error > 8:
            break
    flood.route("flood", "stuck", big)
    errors += [f.get(F.CODE) for f in flood.drain(0) if f.type == F.ERROR]
    if i % 4 == 0:
        a.route("a", "b", f"<message id='{i}'/>")
        b.route("b", "a", f"<message id='{i}'/>")
        a_to_b += 1
        b_to_a += 1
    got_b += sum(1 for f in b.drain(0) if f.type == F.ROUTE)
    got_a += sum(1 for f in a.drain(0) if f.type == F.ROUTE)
deadline = time.monotonic() + 5
while (got_a < b_to_a or got_b < a_to_b) and time.monotonic() < deadline:
    got_b += sum(1 for f in b.drain(0.05) if f.type == F.ROUTE)
    got_a += sum(1 for f in a.drain(0.05) if f.type == F.ROUTE)
errors += [f.get(F.CODE) for f in flood.drain(0.3) if f.type == F.ERROR]

t.ok("stuck (uid 0" in proc.log() and "cut off: it is not reading" in proc.log(),
     "a peer that stops reading is cut off, with a log line", proc.log()[-2000:])
t.ok(stuck.closed_by_router(5), "its connection is closed")
codes = set(errors)
t.ok(F.ERR_OVERLOADED in codes and F.ERR_AWAY in codes,
     "the sender gets ERROR overloaded, then away once the peer is gone (a name bound before)",
     repr(codes))
t.eq((got_a, got_b), (b_to_a, a_to_b), "meanwhile two other peers exchange every frame")
hwm_after = int(proc_status(proc.pid).get("VmHWM", "0 kB").split()[0])
t.ok(not flood.eof, "the flooder, which reads, is not cut off", proc.log()[-1500:])
t.ok(proc.alive() and hwm_after - hwm_before < 2 * 1024,
     "the router's memory stays bounded (its peak grew by less than 2 MiB)",
     f"VmHWM {hwm_before} kB -> {hwm_after} kB")

t.done()
