#!/usr/bin/python3
# tests/run: alone (measures byte rates and timeouts)
"""test_s2s_limits.py — parley-s2s's whitespace keepalives and per-
connection byte rate, against raw s2s peers. A Parley site a.test
(s2s.keepalive = 1s, s2s.rate_limit = 4K) routes x.test to a raw server
of the test's own, which takes Parley's outgoing stream through STARTTLS
and dialback and answers Parley's <db:verify/> valid; a raw peer claiming
x.test connects to a.test and is verified by that dialback. Then: both
idle streams, incoming and outgoing, receive a single space about every
second and nothing else; ~16 KB of iqs sent at once on the incoming
stream are read slowed down to 4 KB/s (all answered, on the outgoing
stream, after about 3 s) and the connection stays up. Prints TAP."""
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from parley import Tap  # noqa: E402
from s2slib import NS_TLS, FedSite, RawS2S, make_server_cert  # noqa: E402

KEEPALIVE = 1.0
RATE = 4096
WINDOW = 4.0  # at least 2 keepalives: the first within 2 x keepalive, then 1 s apart
t = Tap()


class RemoteServer(threading.Thread):
    """x.test's server as Parley's outgoing stream meets it: STARTTLS,
    dialback offered, our <db:result/> answered valid without a second
    thought, every <db:verify/> valid. Once both are done, `ready` is set
    and the stream (a RawS2S) is left to the test in `raw`."""

    def __init__(self):
        super().__init__(daemon=True)
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.raw = None
        self.ready = threading.Event()
        self.error = None
        self.cert = self.key = None

    def run(self):
        try:
            self.lsock.settimeout(30)
            sock, _ = self.lsock.accept()
            r = RawS2S(sock)
            if not r.expect(r"<stream:stream[^>]*>", 10):
                raise RuntimeError("no stream header from a.test")
            r.header("x.test", "a.test", "xs-1")
            r.send(f"<stream:features><starttls xmlns='{NS_TLS}'><required/></starttls>"
                   "</stream:features>")
            if not r.expect(r"<starttls"):
                raise RuntimeError("a.test did not start TLS")
            r.send(f"<proceed xmlns='{NS_TLS}'/>")
            r.starttls_server(self.cert, self.key)
            if not r.expect(r"<stream:stream[^>]*>"):
                raise RuntimeError("no stream header after TLS")
            r.header("x.test", "a.test", "xs-2")
            r.send("<stream:features><dialback xmlns='urn:xmpp:features:dialback'/>"
                   "</stream:features>")
            result = verify = False
            deadline = time.monotonic() + 15
            while not (result and verify) and time.monotonic() < deadline:
                m = r.expect(r"<db:(result|verify)\b([^>]*?)(?:/>|>[^<]*</db:\1>)", 1)
                if not m:
                    continue
                attrs = dict(re.findall(r"(\w+)=['\"]([^'\"]*)['\"]", m.group(2)))
                if m.group(1) == "result":
                    r.send("<db:result from='x.test' to='a.test' type='valid'/>")
                    result = True
                else:
                    r.send(f"<db:verify from='x.test' to='a.test' id='{attrs.get('id')}' "
                           "type='valid'/>")
                    verify = True
            if not (result and verify):
                raise RuntimeError(f"dialback incomplete (result {result}, verify {verify}): "
                                   + r.data[-400:])
            self.raw = r
            self.ready.set()
        except Exception as e:  # noqa: BLE001 — reported by the test
            self.error = repr(e)
            self.ready.set()


def verified_x(port):
    """A raw stream to a.test claiming x.test: TLS on, dialback answered
    valid (a.test asks RemoteServer, which says valid)."""
    r = RawS2S.connect(port)
    r.header("x.test", "a.test")
    if not r.expect(r"<starttls[^>]*>"):
        return r, False
    r.send(f"<starttls xmlns='{NS_TLS}'/>")
    if not r.expect(r"<proceed"):
        return r, False
    r.starttls_client("a.test")
    r.header("x.test", "a.test")
    if not r.expect(r"urn:xmpp:features:dialback"):
        return r, False
    r.send("<db:result from='x.test' to='a.test'>key-0123456789abcdef</db:result>")
    return r, bool(r.expect(r"<db:result[^>]*type=['\"]valid['\"][^>]*>", 15))


def collect(r, secs):
    """Everything read on r for secs seconds: [(seconds since start, text)],
    and whether the peer closed."""
    out = []
    start = time.monotonic()
    if r.pos < len(r.data):
        out.append((0.0, r.data[r.pos:]))
        r.pos = len(r.data)
    while time.monotonic() - start < secs:
        try:
            chunk = r.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        except OSError as e:
            return out, f"closed: {e!r}"
        if not chunk:
            return out, "closed"
        text = chunk.decode(errors="replace")
        r.data += text
        r.pos = len(r.data)
        out.append((time.monotonic() - start, text))
    return out, None


def check_keepalives(what, got):
    reads, closed = got
    text = "".join(s for _, s in reads)
    spaces = [at for at, s in reads for ch in s if ch == " "]
    gaps = [b - a for a, b in zip(spaces, spaces[1:])]
    diag = f"reads {reads!r}, closed {closed!r}\n{A.logs()}"
    t.ok(closed is None and text.strip() == "" and 2 <= len(spaces) <= 5,
         f"{what}: an idle stream receives whitespace keepalives "
         f"(got {len(spaces)} in {WINDOW:.0f} s) and nothing else", diag)
    t.ok(len(spaces) >= 2 and spaces[0] <= 2 * KEEPALIVE + 0.2 and
         all(KEEPALIVE - 0.3 <= g <= 2 * KEEPALIVE + 0.3 for g in gaps),
         f"{what}: one single space about every s2s.keepalive ({KEEPALIVE:.0f}s; "
         f"at {', '.join(f'{s:.2f}' for s in spaces)} s)", diag)


remote = RemoteServer()
A = FedSite(t, "a.test", [], routes={"x.test": remote.port},
            s2s_settings=f'keepalive = "{int(KEEPALIVE)}s";\nrate_limit = "4K";\n')
remote.cert, remote.key = make_server_cert(A, "x.test")
remote.start()

try:
    peer, ok = verified_x(A.s2s_port)
except OSError as e:
    peer, ok = None, False
    remote.error = f"cannot connect to a.test's s2s: {e!r}"
remote.ready.wait(20 if ok else 0)
t.ok(ok and remote.raw is not None,
     "a raw peer claiming x.test is verified by dialback, a.test's outgoing stream to the raw "
     "x.test server is set up (STARTTLS, dialback valid)",
     f"peer: {peer and peer.data[-400:]!r}\nremote: {remote.error}\n{A.logs()}")

if ok and remote.raw is not None:
    out = remote.raw
    # --- keepalives, both directions at once --------------------------------
    results = {}

    def collect_into(key, r):
        results[key] = collect(r, WINDOW)

    threads = [threading.Thread(target=collect_into, args=(k, r), daemon=True)
               for k, r in (("in", peer), ("out", out))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(10)
    check_keepalives("incoming", results.get("in", ([], "no result")))
    check_keepalives("outgoing", results.get("out", ([], "no result")))

    # --- rate limit: ~16 KB at once, read at 4 KB/s ---------------------------
    N = 16
    iqs = ""
    for i in range(N):
        iq = f"<iq type='get' id='r{i}' from='eve@x.test' to='a.test'><query xmlns='urn:test:pad'>"
        iqs += iq + "y" * (1024 - len(iq) - len("</query></iq>")) + "</query></iq>"
    t0 = time.monotonic()
    peer.send(iqs)
    answered, last = 0, None
    for i in range(N):
        if not out.expect(rf"<iq\b[^>]*\bid=['\"]r{i}['\"]", 15 - (time.monotonic() - t0)):
            break
        answered += 1
        last = time.monotonic() - t0
    took = last if last is not None else -1
    t.eq(answered, N, f"{len(iqs)} bytes of iqs sent at once from x.test are all answered "
         "(on the outgoing stream), nothing lost")
    t.ok(answered == N and took >= 2.5,
         f"... slowed down to s2s.rate_limit (4K/s): the last answer after {took:.1f}s",
         A.logs())
    t.ok(answered == N and took <= 8, f"... but not stalled ({took:.1f}s for "
         f"{len(iqs)} bytes: the first {RATE} at once, then {RATE} a second)", A.logs())
    leftover, closed = collect(peer, 0.3)
    text = "".join(s for _, s in leftover)
    t.ok(closed is None and text.strip() == "",
         "the fast sender's stream gets no error and is not closed", f"{leftover!r} {closed}")
    peer.send("<iq type='get' id='still' from='eve@x.test' to='a.test'>"
              "<ping xmlns='urn:xmpp:ping'/></iq>")
    m = out.expect(r"<iq\b[^>]*\bid=['\"]still['\"][^>]*>", 5)
    t.ok(m is not None and "result" in m.group(0),
         "and a ping on it afterwards is answered", f"{out.data[-400:]!r}\n{A.logs()}")
    t.ok("stream error" not in A.s2s.log() and "connection lost" not in A.s2s.log(),
         "a.test's s2s logs no stream error and no lost connection", A.logs())
    out.close()
if peer is not None:
    peer.close()
remote.lsock.close()
t.ok(A.s2s.alive(), "a.test's s2s is still running", A.logs())
A.suite.cleanup()
t.done()
