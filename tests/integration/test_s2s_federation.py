#!/usr/bin/python3
# tests/run: early (one of the longest: started first so the others fill in beside it)
"""test_s2s_federation.py — two Parley servers on loopback (a.test and
b.test, each router + auth + sm + c2s + s2s) federating with Server
Dialback over STARTTLS, found through s2s.routes (no DNS): messages both
ways, a subscription handshake ending in `both` on both rosters, presence
both ways; then what must fail: a domain routed to a closed port bounces
remote-server-not-found, a peer that accepts TCP and never answers bounces
remote-server-timeout within s2s.connect_timeout, a raw s2s peer that
does dialback for x.test and then sends a stanza from y.test gets the
stream error <invalid-from/>, one that connects and says nothing gets
<connection-timeout/> after s2s.negotiation_timeout; the limits, the idle
close; the sandbox (user, NoNewPrivs, seccomp, --sandbox-test). Then two
fresh servers with certificates from a test CA and
s2s.require_valid_certificates do the same exchange with SASL EXTERNAL
both ways (no dialback in either log). Prints TAP."""
import asyncio
import os
import pwd
import re
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from imlib import C, err_cond, is_message, is_presence, item_of, run, shows, sub_of  # noqa: E402
from parley import TEST_GROUP, TEST_USER, Suite, Tap, free_port, proc_status  # noqa: E402
from s2slib import NS_TLS, FedCli, FedSite, RawS2S, make_server_cert  # noqa: E402
from testca import TestCA  # noqa: E402

CONNECT_TIMEOUT = 3.0
t = Tap()


class Silent(threading.Thread):
    """Accepts TCP connections and never says a word."""

    def __init__(self):
        super().__init__(daemon=True)
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.conns = []
        self.start()

    def run(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.conns.append(c)


class Authoritative(threading.Thread):
    """The authoritative server of x.test: streams from b.test, STARTTLS,
    then every <db:verify/> answered valid."""

    def __init__(self, cert, key):
        super().__init__(daemon=True)
        self.cert, self.key = cert, key
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.verified = []
        self.error = None
        self.start()

    def run(self):
        while True:
            try:
                sock, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(sock,), daemon=True).start()

    def serve(self, sock):
        try:
            r = RawS2S(sock)
            if not r.expect(r"<stream:stream[^>]*>", 10):
                raise RuntimeError("no stream header from b.test")
            r.header("x.test", "b.test", "auth-1")
            r.send(f"<stream:features><starttls xmlns='{NS_TLS}'><required/></starttls>"
                   "</stream:features>")
            if not r.expect(r"<starttls"):
                raise RuntimeError("b.test did not start TLS")
            r.send(f"<proceed xmlns='{NS_TLS}'/>")
            r.starttls_server(self.cert, self.key)
            if not r.expect(r"<stream:stream[^>]*>"):
                raise RuntimeError("no stream header after TLS")
            r.header("x.test", "b.test", "auth-2")
            r.send("<stream:features><dialback xmlns='urn:xmpp:features:dialback'/>"
                   "</stream:features>")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                m = r.expect(r"<db:verify([^>]*)>([^<]*)</db:verify>|</stream:stream>", 1)
                if not m:
                    continue
                if m.group(0) == "</stream:stream>":
                    break
                attrs = dict(re_attrs(m.group(1)))
                self.verified.append(attrs.get("id"))
                r.send(f"<db:verify from='x.test' to='b.test' id='{attrs.get('id')}' "
                       "type='valid'/>")
            r.close()
        except Exception as e:  # noqa: BLE001 — reported by the test
            self.error = repr(e)


def re_attrs(s):
    import re
    return re.findall(r"(\w+)=['\"]([^'\"]*)['\"]", s)


silent = Silent()
closed_port = free_port()
pa, pb = free_port(), free_port()
A = FedSite(t, "a.test", ["alice"], s2s_port=pa,
            routes={"b.test": pb, "closed.test": closed_port, "silent.test": silent.port},
            s2s_settings=f'connect_timeout = "{int(CONNECT_TIMEOUT)}s";\n')
cert_x, key_x = make_server_cert(A, "x.test")
auth_x = Authoritative(cert_x, key_x)
IDLE = 4
NEGOTIATION = 3
B = FedSite(t, "b.test", ["bob"], s2s_port=pb,
            routes={"a.test": pa, "x.test": auth_x.port,
                    # Claimed by a raw peer; their servers never answer.
                    "p1.test": silent.port, "p2.test": silent.port, "p3.test": silent.port},
            s2s_settings=(f'idle_timeout = "{IDLE}s";\nmax_connections_per_address = 6;\n'
                          f'negotiation_timeout = "{NEGOTIATION}s";\n'
                          'max_pending_dialback = 2;\nmax_stanza_size = "10000";\n'))
ALICE, BOB = "alice@a.test", "bob@b.test"


def logs():
    return A.logs() + "\n" + B.logs()


def sandbox():
    """s2s runs as the configured user, with no_new_privs and a seccomp
    filter; --sandbox-test proves the filter kills (execve: SIGSYS)."""
    st = proc_status(A.s2s.pid)
    uid = str(pwd.getpwnam(TEST_USER).pw_uid)
    t.eq(st.get("Uid", "").split(), [uid] * 4, f"s2s runs as {TEST_USER} (the configured user)")
    t.eq(st.get("NoNewPrivs"), "1", "s2s: NoNewPrivs 1")
    t.eq(st.get("Seccomp"), "2", "s2s: Seccomp 2 (a filter)")
    t.ok(f"sandbox: running as {TEST_USER}:{TEST_GROUP}" in A.s2s.log() and
         "system calls: stdio unix inet dns" in A.s2s.log(),
         "the sandbox it applied is logged", A.s2s.log()[-2000:])
    # Its own listener port: a.test's s2s holds pa.
    with open(A.conf) as f:
        text = f.read().replace(f"port = {pa};", f"port = {free_port()};", 1)
    conf = A.suite.write("sandbox-test.conf", text)
    p = A.suite.start("s2s-sandbox", ["parley-s2s", "-f", "-c", conf, "--sandbox-test"])
    t.eq(p.wait(10), -signal.SIGSYS, "--sandbox-test: s2s dies of SIGSYS")
    t.ok("seccomp: system call execve" in p.log(), "and the violation is logged", p.log())


async def im_round(mode, alice, bob, logs):
    """Messages both ways, a subscription handshake ending in `both` on
    both rosters, presence both ways, between alice@a.test and bob@b.test
    (logged in and available)."""
    alice.message(BOB, "hello bob, from a.test")
    m = await bob.wait(lambda e: is_message(e, body="hello bob, from a.test"), 10)
    t.ok(m is not None and m.get("from") == f"{ALICE}/home",
         f"{mode}: a message from alice@a.test reaches bob@b.test through both servers' s2s",
         shows(bob.since()) + "\n" + logs())
    bob.message(f"{ALICE}/home", "hello alice, from b.test")
    m = await alice.wait(lambda e: is_message(e, body="hello alice, from b.test"), 10)
    t.ok(m is not None and m.get("from") == f"{BOB}/work",
         f"{mode}: bob's answer reaches alice the other way",
         shows(alice.since()) + "\n" + logs())

    alice.mark()
    bob.mark()
    alice.presence("subscribe", to=BOB)
    req = await bob.wait(lambda e: is_presence(e, "subscribe", ALICE), 10)
    t.ok(req is not None, f"{mode}: bob gets alice's subscription request", shows(bob.since()))
    bob.presence("subscribed", to=ALICE)
    got = await alice.wait(lambda e: is_presence(e, "subscribed", BOB), 10)
    t.ok(got is not None, f"{mode}: alice gets bob's approval", shows(alice.since()))
    bob.presence("subscribe", to=ALICE)
    req = await alice.wait(lambda e: is_presence(e, "subscribe", BOB), 10)
    t.ok(req is not None, f"{mode}: alice gets bob's subscription request",
         shows(alice.since()))
    alice.presence("subscribed", to=BOB)
    got = await bob.wait(lambda e: is_presence(e, "subscribed", ALICE), 10)
    t.ok(got is not None, f"{mode}: bob gets alice's approval", shows(bob.since()))
    subs = (None, None)
    for _ in range(20):  # bounded: 20 × (two roster gets + 0.25 s)
        ra, rb = await alice.roster_get(), await bob.roster_get()
        subs = (sub_of(item_of(ra, BOB)), sub_of(item_of(rb, ALICE)))
        if subs == ("both", "both"):
            break
        await asyncio.sleep(0.25)
    t.eq(subs, ("both", "both"), f"{mode}: both rosters end in subscription 'both'")

    alice.mark()
    bob.mark()
    alice.presence(status="alice is here")
    p = await bob.wait(lambda e: is_presence(e, None, f"{ALICE}/home")
                       and e.find(C + "status") is not None
                       and e.find(C + "status").text == "alice is here", 10)
    t.ok(p is not None, f"{mode}: alice's presence reaches bob", shows(bob.since()))
    bob.presence(status="bob too")
    p = await alice.wait(lambda e: is_presence(e, None, f"{BOB}/work")
                         and e.find(C + "status") is not None
                         and e.find(C + "status").text == "bob too", 10)
    t.ok(p is not None, f"{mode}: bob's presence reaches alice", shows(alice.since()))


async def scenario():
    alice = FedCli(A, "alice", "home")
    bob = FedCli(B, "bob", "work")
    ok = await alice.login() and await bob.login()
    t.ok(ok, "alice@a.test and bob@b.test are logged in", logs())
    if not ok:
        return
    # Available, so that messages to the bare JID are delivered, not stored.
    alice.presence()
    bob.presence()
    await alice.sync()
    await bob.sync()

    await im_round("dialback", alice, bob, logs)
    t.ok("stream ready (dialback, TLS)" in A.s2s.log() and
         "stream ready (dialback, TLS)" in B.s2s.log(),
         "each outgoing stream was authenticated by dialback over TLS", logs())
    t.ok("verified as a.test" in B.s2s.log() and "verified as b.test" in A.s2s.log(),
         "each server verified the other's key with its authoritative server", logs())

    # --- failures ----------------------------------------------------------
    alice.mark()
    alice.message("nobody@closed.test", "to a closed port", mid="closed1")
    e = await alice.wait(lambda e: e.get("id") == "closed1" and e.get("type") == "error", 10)
    t.eq(err_cond(e), "remote-server-not-found",
         "a message for a domain whose server refuses connections bounces "
         "remote-server-not-found")
    t.ok(e is not None and e.get("from") == "nobody@closed.test",
         "the bounce comes from the address the message was sent to", shows(alice.since()))

    alice.mark()
    start = time.monotonic()
    alice.message("nobody@silent.test", "to a silent server", mid="silent1")
    e = await alice.wait(lambda e: e.get("id") == "silent1" and e.get("type") == "error",
                         CONNECT_TIMEOUT + 5)
    took = time.monotonic() - start
    t.eq(err_cond(e), "remote-server-timeout",
         "a message for a server that accepts TCP and never answers bounces "
         "remote-server-timeout")
    t.ok(e is not None and CONNECT_TIMEOUT - 0.5 <= took <= CONNECT_TIMEOUT + 2,
         f"... after s2s.connect_timeout ({CONNECT_TIMEOUT}s; took {took:.1f}s)")

    # --- a forged from on an incoming stream -------------------------------
    bob.mark()
    raw = await asyncio.get_running_loop().run_in_executor(None, forge, bob)
    t.ok(raw.get("features"), "a raw peer claiming x.test gets STARTTLS and dialback offered",
         raw)
    t.ok(raw.get("valid"), "its dialback for x.test is verified with x.test's authoritative "
         "server and answered valid", f"{raw}\nauth: {auth_x.error} {auth_x.verified}\n"
         + B.logs())
    m = await bob.wait(lambda e: is_message(e, body="from x.test"), 5)
    t.ok(m is not None and m.get("from") == "eve@x.test",
         "a stanza from the verified domain is delivered", shows(bob.since()))
    t.ok(raw.get("result_error") and raw.get("verify_error"),
         "dialback (result and verify) for a domain not hosted: a dialback error "
         "<item-not-found/>, and the stream goes on (XEP-0220 §2.4)", raw)
    t.ok(raw.get("invalid_from"), "a stanza from y.test on that stream is refused with "
         "<invalid-from/>", raw)
    hdr = await asyncio.get_running_loop().run_in_executor(None, headers)
    t.ok(hdr.get("old") is not None and "version=" not in hdr["old"] and not hdr.get("features"),
         "a peer that sends no version gets a header without one and no features "
         "(RFC 6120 §4.7.5)", hdr)
    t.ok(hdr.get("bad") is not None and re.search(r"from=['\"]b\.test['\"]", hdr["bad"]) and
         hdr.get("bad_error"), "a header in the wrong namespace: the reply still says who we "
         "are (from), then <invalid-namespace/>", hdr)
    raw2 = await asyncio.get_running_loop().run_in_executor(None, forge, bob, "no-to")
    t.ok(raw2.get("valid") and raw2.get("improper"), "a stanza without to on a verified stream: "
         "<improper-addressing/> (RFC 6120 §8.1.1.2)", raw2)
    await asyncio.sleep(0.3)
    t.ok(not bob.seen(lambda e: is_message(e, body="forged")),
         "and the forged stanza is not delivered")

    # --- limits --------------------------------------------------------------
    loop = asyncio.get_running_loop()
    res = await loop.run_in_executor(None, too_many_pending)
    t.ok(res, "a third dialback request waiting on one stream (max_pending_dialback = 2) "
         "is the stream error <policy-violation/>", res)
    res = await loop.run_in_executor(None, too_big)
    t.ok(res, "a stanza over s2s.max_stanza_size from a verified peer is the stream error "
         "<policy-violation/>", res)
    res = await loop.run_in_executor(None, too_many_connections)
    t.ok(res, "connections from one address beyond s2s.max_connections_per_address are "
         "closed at once", res)
    res = await loop.run_in_executor(None, silent_peer)
    t.ok(res.get("error") and res.get("closed"),
         "an incoming connection that says nothing gets the stream error "
         "<connection-timeout/> and is closed", f"{res}\n{B.logs()}")
    t.ok(NEGOTIATION - 0.5 <= res.get("took", 0) <= NEGOTIATION + 2,
         f"... after s2s.negotiation_timeout ({NEGOTIATION}s; took {res.get('took', 0):.1f}s), "
         f"not s2s.idle_timeout ({IDLE}s)")
    t.ok("no domain authenticated within 3 s (s2s.negotiation_timeout)" in B.s2s.log(),
         "and b.test's s2s logs why", B.logs())

    # --- idle streams close, and the next stanza opens a new one ------------
    await asyncio.sleep(IDLE + 1.5)
    t.ok("idle for 4 s: closing" in B.s2s.log(), f"a stream idle for s2s.idle_timeout "
         f"({IDLE}s) is closed", B.logs())
    bob.mark()
    alice.message(BOB, "after the idle close")
    m = await bob.wait(lambda e: is_message(e, body="after the idle close"), 10)
    t.ok(m is not None, "a message after the streams closed goes through on new ones", logs())

    await alice.close()
    await bob.close()


def verified_x():
    """A raw stream to b.test, TLS on, dialback for x.test answered valid."""
    r = RawS2S.connect(pb)
    r.header("x.test", "b.test")
    if not r.expect(r"<starttls[^>]*>"):
        return r, False
    r.send(f"<starttls xmlns='{NS_TLS}'/>")
    if not r.expect(r"<proceed"):
        return r, False
    r.starttls_client("b.test")
    r.header("x.test", "b.test")
    if not r.expect(r"urn:xmpp:features:dialback"):
        return r, False
    r.send("<db:result from='x.test' to='b.test'>key-0123456789</db:result>")
    return r, bool(r.expect(r"<db:result[^>]*type=['\"]valid['\"]", 10))


def too_many_pending():
    r = RawS2S.connect(pb)
    try:
        r.header("p0.test", "b.test")
        r.expect(r"<starttls[^>]*>")
        r.send(f"<starttls xmlns='{NS_TLS}'/>")
        if not r.expect(r"<proceed"):
            return False
        r.starttls_client("b.test")
        r.header("p0.test", "b.test")
        if not r.expect(r"urn:xmpp:features:dialback"):
            return False
        # p1..p3.test's servers accept and never answer: they stay pending.
        for i in (1, 2, 3):
            r.send(f"<db:result from='p{i}.test' to='b.test'>key-{i}-0123456789</db:result>")
        return bool(r.expect(r"<policy-violation", 5))
    finally:
        r.close()


def too_big():
    r, ok = verified_x()
    try:
        if not ok:
            return False
        r.send("<message from='eve@x.test' to='bob@b.test'><body>" + "x" * 20000
               + "</body></message>")
        return bool(r.expect(r"<policy-violation", 5))
    finally:
        r.close()


def too_many_connections():
    socks, closed = [], 0
    try:
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", pb), timeout=2)
            socks.append(s)
        time.sleep(0.5)
        for s in socks:
            s.settimeout(0.5)
            try:
                if s.recv(100) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                closed += 1
    finally:
        for s in socks:
            s.close()
    return closed >= 4 and "too many connections from this address" in B.s2s.log()


def silent_peer():
    """Connect to b.test and say nothing: the negotiation deadline."""
    out = {}
    start = time.monotonic()
    r = RawS2S.connect(pb)
    try:
        out["error"] = bool(r.expect(r"<stream:error><connection-timeout", NEGOTIATION + 3))
        out["closed"] = bool(r.expect(r"</stream:stream>\Z", 2)) and r.sock.recv(1) == b""
        out["took"] = time.monotonic() - start
        out["data"] = r.data[-300:]
    except OSError as e:
        out["exc"] = repr(e)
    finally:
        r.close()
    return out


def headers():
    out = {}
    r = RawS2S.connect(pb)
    try:
        r.header("x.test", "b.test", version=None)
        m = r.expect(r"<stream:stream[^>]*>")
        out["old"] = m.group(0) if m else None
        out["features"] = bool(r.expect(r"<stream:features", 1))
    finally:
        r.close()
    r = RawS2S.connect(pb)
    try:
        r.send("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
               "xmlns:stream='http://example.com/streams' to='b.test' version='1.0'>")
        m = r.expect(r"<stream:stream[^>]*>")
        out["bad"] = m.group(0) if m else None
        out["bad_error"] = bool(r.expect(r"invalid-namespace", 3))
    finally:
        r.close()
    return out


def forge(bob, mode="forged"):
    out = {}
    r = RawS2S.connect(pb)
    try:
        r.header("x.test", "b.test")
        out["header"] = bool(r.expect(r"<stream:stream[^>]*>"))
        if not r.expect(r"<starttls[^>]*>"):
            return out
        r.send(f"<starttls xmlns='{NS_TLS}'/>")
        if not r.expect(r"<proceed"):
            return out
        r.starttls_client("b.test")
        r.header("x.test", "b.test")
        m = r.expect(r"<stream:stream[^>]*\bid=['\"]([^'\"]+)['\"]")
        out["features"] = bool(m) and bool(r.expect(r"urn:xmpp:features:dialback"))
        if mode == "forged":
            # XEP-0220 §2.4: a domain we do not host is a dialback error,
            # not the end of the stream.
            r.send("<db:result from='x.test' to='nothere.test'>k-0123456789</db:result>")
            out["result_error"] = bool(r.expect(
                r"<db:result[^>]*type=['\"]error['\"][^>]*>.*?item-not-found.*?</db:result>", 5))
            r.send("<db:verify from='x.test' to='nothere.test' id='v1'>k</db:verify>")
            out["verify_error"] = bool(r.expect(
                r"<db:verify[^>]*type=['\"]error['\"][^>]*>.*?item-not-found.*?</db:verify>", 5))
        r.send("<db:result from='x.test' to='b.test'>not-a-real-key-0123456789</db:result>")
        out["valid"] = bool(r.expect(r"<db:result[^>]*type=['\"]valid['\"]", 10))
        if not out["valid"]:
            return out
        if mode == "no-to":
            # RFC 6120 §8.1.1.2: between servers, no `to` is improper-addressing.
            r.send("<message from='eve@x.test' type='chat'><body>no to</body></message>")
            out["improper"] = bool(r.expect(r"<improper-addressing", 5))
            return out
        r.send("<message from='eve@x.test' to='bob@b.test' type='chat'><body>from x.test</body>"
               "</message>")
        time.sleep(0.5)
        r.send("<message from='mallory@y.test' to='bob@b.test' type='chat'><body>forged</body>"
               "</message>")
        out["invalid_from"] = bool(r.expect(r"<invalid-from", 5))
        out["data"] = r.data[-600:]
    finally:
        r.close()
    return out


def external_round():
    """a.test and b.test again, each with a certificate from one test CA
    and trusting it (tls.ca_file), s2s.require_valid_certificates = true:
    both directions authenticate with SASL EXTERNAL, never dialback."""
    suite = Suite("s2s-fed-pki")
    ca = TestCA(suite.path("pki"))
    pa2, pb2 = free_port(), free_port()
    sites = {}
    for domain, port, other, other_port in (("a.test", pa2, "b.test", pb2),
                                            ("b.test", pb2, "a.test", pa2)):
        cert = ca.server_cert([domain])
        tls = (f'domains = ( {{ domain = "{domain}"; certificate = "{cert.cert}"; '
               f'key = "{cert.key}"; }} );\nca_file = "{ca.cert}";\n')
        sites[domain] = FedSite(t, domain, ["alice" if domain == "a.test" else "bob"],
                                s2s_port=port, routes={other: other_port}, tls_settings=tls,
                                s2s_settings="require_valid_certificates = true;\n")
    A2, B2 = sites["a.test"], sites["b.test"]

    def logs2():
        return A2.logs() + "\n" + B2.logs()

    async def scenario2():
        alice = FedCli(A2, "alice", "home")
        bob = FedCli(B2, "bob", "work")
        ok = await alice.login() and await bob.login()
        t.ok(ok, "external: alice@a.test and bob@b.test are logged in", logs2())
        if not ok:
            return
        alice.presence()
        bob.presence()
        await alice.sync()
        await bob.sync()
        await im_round("external", alice, bob, logs2)
        await alice.close()
        await bob.close()

    err = run(scenario2, 60)
    t.ok(err is None, "external: the scenario ran to its end", repr(err))
    for here, there, site in (("a.test", "b.test", A2), ("b.test", "a.test", B2)):
        log = site.s2s.log()
        t.ok(f"{here} -> {there}: stream ready (SASL EXTERNAL, TLS)" in log and
             f"verified as {there} (to {here}) by SASL EXTERNAL" in log and
             f"the certificate authenticates {there}" in log and
             "by dialback" not in log and "stream ready (dialback" not in log,
             f"external: {here}'s log shows SASL EXTERNAL both ways (outgoing and incoming), "
             "no dialback", logs2())
    t.ok(A2.s2s.alive() and B2.s2s.alive(), "external: both s2s processes are still running",
         logs2())
    A2.suite.cleanup()
    B2.suite.cleanup()
    suite.cleanup()


sandbox()
err = run(scenario, 120)
t.ok(err is None, "the scenario ran to its end", repr(err))
t.ok(A.s2s.alive() and B.s2s.alive(), "both s2s processes are still running", logs())
A.suite.cleanup()
B.suite.cleanup()
external_round()
t.done()
