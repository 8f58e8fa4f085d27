#!/usr/bin/python3
"""test_s2s_acks.py — when s2s acknowledges a stanza it is handed (issue 8,
reliable hand-off; doc/s2s.md, "In the suite"): only once the stanza's
bytes are written to the remote stream's socket, or bounced; stanzas a
dying stream never wrote go out again on the next stream; stanzas s2s
held when it was killed come again to the next s2s.

a.test is Parley (router, auth, sm, c2s, s2s; lib/s2slib.FedSite) with
alice; b.test is a raw receiving server run by this test (Peer below:
STARTTLS with a certificate of its own, every <db:result/> answered
valid, no verification), which by its mode at each accept either serves
(reads and records every message), stalls (stops reading after the
dialback, with a 4 KiB receive buffer, until the test makes it reset the
connection) or stays silent (accepts TCP, never says a word).

  1. ack after write: the first message waits while the pair is set up;
     s2s's debug log shows no ACK before `stream ready`, then one
     `acknowledged …: its stanza is written` per message.
  2. given back: 64 messages of 128 KiB (8 MiB) to a stalled peer: many stay in
     s2s's write buffer, unacknowledged; the peer resets the connection;
     s2s logs `stream lost with N stanzas not written (N given back)`,
     connects again, and the peer receives exactly the last N messages,
     in order; every message is acknowledged in the end, none bounced.
  3. kill -9: 5 messages queued for a silent peer (no ACK for them), s2s
     killed with SIGKILL and started again, the peer now serving: all 5
     arrive, once each, none bounced. This needs the sender (sm's router
     link) to keep unacknowledged ROUTE frames and send them again when
     s2s is back (common/router_link.c, settings.keep).

Prints TAP."""
import os
import re
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from c2slib import make_cert  # noqa: E402
from imlib import run, shows  # noqa: E402
from parley import Suite, Tap, wait_until  # noqa: E402
from s2slib import NS_TLS, FedCli, FedSite, RawS2S  # noqa: E402

t = Tap()
ALICE, BOB = "alice@a.test", "bob@b.test"
ACK_RX = re.compile(r"acknowledged (\S+)'s frame (\d+): its stanza is written")
BODY_RX = re.compile(r"<body>([^<]*)</body>")


class Peer(threading.Thread):
    """b.test's receiving side, one thread per connection; `mode` is read
    at each accept."""

    def __init__(self, cert, key):
        super().__init__(daemon=True)
        self.cert, self.key = cert, key
        self.lsock = socket.socket()
        # Inherited by accepted sockets: a stalled peer holds little.
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.mode = "serve"
        self.conns = []           # one dict per accepted connection
        self.lock = threading.Lock()
        self.start()

    def run(self):
        while True:
            try:
                sock, _ = self.lsock.accept()
            except OSError:
                return
            rec = {"mode": self.mode, "sock": sock, "ready": False, "bodies": [],
                   "error": None, "reset": threading.Event(), "closed": False}
            with self.lock:
                self.conns.append(rec)
            if rec["mode"] != "silent":
                threading.Thread(target=self.serve, args=(rec,), daemon=True).start()

    def handshake(self, r):
        if not r.expect(r"<stream:stream[^>]*>", 10):
            raise RuntimeError("no stream header from a.test")
        r.header("b.test", "a.test", "peer-1")
        r.send(f"<stream:features><starttls xmlns='{NS_TLS}'><required/></starttls>"
               "</stream:features>")
        if not r.expect(r"<starttls"):
            raise RuntimeError("a.test did not start TLS")
        r.send(f"<proceed xmlns='{NS_TLS}'/>")
        r.starttls_server(self.cert, self.key)
        if not r.expect(r"<stream:stream[^>]*>"):
            raise RuntimeError("no stream header after TLS")
        r.header("b.test", "a.test", "peer-2")
        r.send("<stream:features><dialback xmlns='urn:xmpp:features:dialback'/>"
               "</stream:features>")
        if not r.expect(r"<db:result[^>]*>[^<]*</db:result>", 10):
            raise RuntimeError("no <db:result/> from a.test")
        r.send("<db:result from='b.test' to='a.test' type='valid'/>")

    def serve(self, rec):
        r = RawS2S(rec["sock"])
        try:
            self.handshake(r)
            rec["raw"] = r
            rec["ready"] = True
            if rec["mode"] == "stall":
                rec["reset"].wait(60)
                # Unread data and linger 0: a reset, as from a crashed peer.
                r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                r.sock.close()
                rec["closed"] = True
                return
            data = r.data[r.pos:]
            pos = 0
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not rec["reset"].is_set():
                for m in BODY_RX.finditer(data, pos):
                    rec["bodies"].append(m.group(1).split(":")[0])
                    pos = m.end()
                if "</stream:stream>" in data[pos:]:
                    break
                try:
                    chunk = r.sock.recv(65536)
                except (socket.timeout, TimeoutError):
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                data = data[pos:] + chunk.decode(errors="replace")
                pos = 0
            if rec["reset"].is_set():
                r.send("</stream:stream>")
            r.close()
            rec["closed"] = True
        except Exception as e:  # noqa: BLE001 — reported by the test
            rec["error"] = repr(e)
            r.close()
            rec["closed"] = True

    def bodies(self, since=0):
        with self.lock:
            return [b for rec in self.conns[since:] for b in rec["bodies"]]

    def count(self):
        with self.lock:
            return len(self.conns)

    def close_all(self):
        """End every open connection (served ones with </stream:stream>)."""
        with self.lock:
            recs = list(self.conns)
        for rec in recs:
            rec["reset"].set()
            if rec["mode"] == "silent" and not rec["closed"]:
                rec["sock"].close()
                rec["closed"] = True


# The peer's certificate lives in a temp dir of its own: a.test's site
# needs the peer's port before it exists.
pki = Suite("s2s-acks-pki")
cert_b, key_b = make_cert(pki, "b.test")
peer = Peer(cert_b, key_b)


class Site(FedSite):
    """FedSite for a.test, with c2s.rate_limit off (so that alice's
    messages reach s2s at once, not at 64 KiB/s) and room for 16 MiB in
    an outgoing stream's write buffer."""

    def __init__(self):
        import s2slib
        plain = s2slib.C2SSite
        s2slib.C2SSite = lambda suite, **kw: plain(suite, c2s_settings="rate_limit = 0;\n", **kw)
        try:
            super().__init__(t, "a.test", ["alice"], routes={"b.test": peer.port},
                             s2s_settings='connect_timeout = "20s";\nmax_write_queue = "16M";\n')
        finally:
            s2slib.C2SSite = plain


A = Site()
s2s_proc = A.s2s


def s2s_log():
    return s2s_proc.log()


def acks(log):
    return ACK_RX.findall(log)


def logs():
    return A.logs(4000)


def body(phase, i, size=0):
    return f"{phase}-{i}:" + "x" * size


async def phase1(alice):
    """Ack after write: no ACK before the stream is ready."""
    start = len(s2s_log())
    for i in range(3):
        alice.message(BOB, body("p1", i))
    ok = wait_until(lambda: len(peer.bodies()) >= 3, 20)
    t.eq(peer.bodies(), ["p1-0", "p1-1", "p1-2"],
         "ack: the three messages reach b.test in order")
    if not ok:
        print("# " + logs().replace("\n", "\n# "))
    wait_until(lambda: len(acks(s2s_log()[start:])) >= 3, 5)
    log = s2s_log()[start:]
    ready = log.find("a.test -> b.test: stream ready")
    first_ack = ACK_RX.search(log)
    t.ok(ready >= 0 and first_ack is not None and first_ack.start() > ready,
         "ack: s2s acknowledges nothing before the stream is ready (the first message waits "
         "in the queue unacknowledged)", log[-3000:])
    t.eq(len(acks(log)), 3, "ack: then one ACK per message, each once its stanza is written")
    for line in log.splitlines():
        if "stream ready" in line or ACK_RX.search(line):
            print(f"# s2s: {line}")


async def phase2(alice):
    """Given back: what a dying stream never wrote goes out on the next."""
    K, SIZE = 64, 128 * 1024
    peer.close_all()
    wait_until(lambda: "a.test -> b.test: stream closed" in s2s_log(), 10)
    peer.mode = "stall"
    n0 = peer.count()
    start = len(s2s_log())
    alice.mark()
    for i in range(K):
        alice.message(BOB, body("p2", i, SIZE))
    await alice.sync()
    stalled = wait_until(lambda: peer.count() > n0 and peer.conns[n0]["ready"], 20)
    t.ok(stalled, "given back: a.test's stream to the stalled peer is up", logs())
    # Let s2s write what the kernel takes; the rest waits in its buffer.
    prev = -1
    for _ in range(30):  # bounded: 30 × 0.2 s
        n = len(acks(s2s_log()[start:]))
        if n == prev:
            break
        prev = n
        time.sleep(0.2)
    acked_before = len(acks(s2s_log()[start:]))
    t.ok(acked_before < K, f"given back: with the peer not reading, {acked_before} of {K} are "
         "acknowledged (the others are not written yet)", logs())
    peer.mode = "serve"
    n1 = peer.count()
    peer.conns[n0]["reset"].set()
    ok = wait_until(lambda: re.search(r"stream lost with \d+ stanzas? not written \((\d+) given "
                                      r"back\)", s2s_log()[start:]) is not None, 10)
    m = re.search(r"stream lost with \d+ stanzas? not written \((\d+) given back\)",
                  s2s_log()[start:])
    t.ok(ok and m is not None, "given back: the reset stream's unwritten stanzas go back to "
         "the queue and s2s connects again", logs())
    given = int(m.group(1)) if m else 0
    # What was written (acknowledged) on the lost stream: the acks logged
    # before the loss. Writes go in order, so those are the first ones;
    # every other message goes on the next stream — the ones given back,
    # and on a slow machine some that had not reached s2s yet.
    lost_at = m.start() if m else len(s2s_log()[start:])
    acked_at_loss = len(acks(s2s_log()[start:][:lost_at]))
    want = [f"p2-{i}" for i in range(acked_at_loss, K)]
    wait_until(lambda: len(peer.bodies(n1)) >= len(want), 30)
    got = peer.bodies(n1)
    t.ok(given > 0 and got == want,
         f"given back: the next stream carries exactly the {len(want)} messages not written "
         "before, in order", f"{logs()}\ngot {len(got)}: {got[:3]}…{got[-3:]}, "
         f"want {len(want)}: {want[:3]}…{want[-3:]}")
    t.ok(given > 0 and acked_at_loss + given <= K and acked_at_loss >= acked_before,
         "given back: no message both written and given back "
         f"({acked_at_loss} acknowledged, {given} given back, of {K})")
    wait_until(lambda: len(acks(s2s_log()[start:])) >= K, 10)
    t.eq(len(acks(s2s_log()[start:])), K,
         "given back: in the end every message is acknowledged once")
    errors = [e for e in alice.since() if e.get("type") == "error"]
    t.ok(not errors, "given back: nothing bounced to alice", shows(errors))


async def phase3(alice):
    """kill -9: what s2s held unacknowledged comes to the next s2s."""
    global s2s_proc
    M = 5
    peer.close_all()
    wait_until(lambda: s2s_log().count("a.test -> b.test: stream closed") >= 2, 10)
    peer.mode = "silent"
    n0 = peer.count()
    start = len(s2s_log())
    alice.mark()
    for i in range(M):
        alice.message(BOB, body("p3", i))
    await alice.sync()
    wait_until(lambda: peer.count() > n0, 10)
    time.sleep(1.0)
    t.ok(peer.count() > n0 and not acks(s2s_log()[start:]),
         "kill: the messages wait for the silent peer, unacknowledged", logs())
    s2s_proc.signal(signal.SIGKILL)
    s2s_proc.wait(5)
    peer.mode = "serve"
    peer.close_all()
    n1 = peer.count()
    s2s_proc = A.suite.start("s2s-2", ["parley-s2s", "-f", "-c", A.conf])
    up = wait_until(lambda: not s2s_proc.alive() or "bound s2s" in s2s_proc.log(), 10)
    t.ok(up and s2s_proc.alive(), "kill: a new s2s starts and binds", s2s_proc.log()[-2000:])
    wait_until(lambda: len(peer.bodies(n1)) >= M, 30)
    time.sleep(0.5)
    got = peer.bodies(n1)
    t.eq(sorted(got), [f"p3-{i}" for i in range(M)],
         "kill: every message s2s held when it was killed reaches b.test once, through the "
         "next s2s")
    if sorted(got) != [f"p3-{i}" for i in range(M)]:
        print("# " + (s2s_proc.log()[-2500:] + "\nsm: " + A.sm.log()[-1500:])
              .replace("\n", "\n# "))
    errors = [e for e in alice.since() if e.get("type") == "error"]
    t.ok(not errors, "kill: nothing bounced to alice", shows(errors))


async def scenario():
    alice = FedCli(A, "alice", "home")
    ok = await alice.login()
    t.ok(ok, "alice@a.test is logged in", logs())
    if not ok:
        return
    alice.presence()
    await alice.sync()
    await phase1(alice)
    await phase2(alice)
    await phase3(alice)
    await alice.close()


err = run(scenario, 240)
t.ok(err is None, "the scenario ran to its end", repr(err))
errs = [rec["error"] for rec in peer.conns if rec["error"]]
t.ok(not errs, "the peer saw no protocol surprise", "\n".join(errs))
peer.close_all()
A.suite.cleanup()
pki.cleanup()
t.done()
