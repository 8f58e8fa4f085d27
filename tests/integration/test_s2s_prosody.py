#!/usr/bin/python3
"""test_s2s_prosody.py — Parley federates with a real peer: a whole Parley
server for a.test (router, auth, sm, c2s, s2s; lib/s2slib.py) and Debian's
Prosody for p.test (lib/prosody.py), each routing the other's domain to
its loopback s2s port. alice@a.test and bob@p.test (python3-slixmpp, bob
on Prosody's c2s port) exchange messages both ways, go through a
subscription handshake that ends in 'both' on both rosters, and see each
other's presence — twice:
  a. dialback: neither side trusts the other's certificate (Parley's is
     self-signed, Prosody trusts an unrelated CA), so both directions
     authenticate with Server Dialback;
  b. SASL EXTERNAL: both have certificates from one test CA
     (lib/testca.py) and trust it; Prosody has s2s_secure_auth = true and
     no dialback, Parley s2s.require_valid_certificates = true.
Each round checks in both servers' logs how the streams were
authenticated. Then XEP-0368 direct TLS with raw peers (the Prosody
harness routes only STARTTLS): Parley's direct TLS listener, and a route
with direct_tls = true (SNI and ALPN checked). Everything runs in temp dirs on loopback, stopped by PID.
Prints TAP."""
import asyncio
import os
import socket
import ssl
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from imlib import C, is_message, is_presence, is_push, item_of, run, shows, sub_of  # noqa: E402
from parley import Suite, Tap, free_port  # noqa: E402
from prosody import Prosody  # noqa: E402
from s2slib import FedCli, FedSite, RawS2S  # noqa: E402
from testca import TestCA  # noqa: E402

t = Tap()
ALICE, BOB = "alice@a.test", "bob@p.test"


class ProsodySite:
    """What FedCli needs to log in on Prosody."""

    def __init__(self, prosody):
        self.domain = prosody.domain
        self.port = prosody.c2s_port


def federation(mode, A, P):
    """Messages, a subscription handshake and presence between alice@a.test
    and bob@p.test; returns the coroutine function for imlib.run."""

    def logs():
        return A.logs(3000) + "\n[p.test] prosody: " + P.log()[-3000:]

    async def scenario():
        alice = FedCli(A, "alice", "home")
        bob = FedCli(ProsodySite(P), "bob", "work")
        ok = await alice.login() and await bob.login()
        t.ok(ok, f"{mode}: alice@a.test (Parley) and bob@p.test (Prosody) are logged in",
             logs())
        if not ok:
            return
        # Fetching the roster makes a resource "interested" (RFC 6121
        # §2.1.6): Prosody sends roster pushes only to those.
        await alice.roster_get()
        await bob.roster_get()
        alice.presence()
        bob.presence()
        await alice.sync()
        await bob.sync()

        alice.message(BOB, "hello bob, from a.test")
        m = await bob.wait(lambda e: is_message(e, body="hello bob, from a.test"), 15)
        t.ok(m is not None and m.get("from") == f"{ALICE}/home",
             f"{mode}: alice's message reaches bob on Prosody", shows(bob.since()) + "\n" + logs())
        bob.message(f"{ALICE}/home", "hello alice, from p.test")
        m = await alice.wait(lambda e: is_message(e, body="hello alice, from p.test"), 15)
        t.ok(m is not None and m.get("from") == f"{BOB}/work",
             f"{mode}: bob's answer reaches alice on Parley", shows(alice.since()) + "\n" + logs())

        alice.mark()
        bob.mark()
        alice.presence("subscribe", to=BOB)
        req = await bob.wait(lambda e: is_presence(e, "subscribe", ALICE), 10)
        t.ok(req is not None, f"{mode}: bob gets alice's subscription request",
             shows(bob.since()))
        bob.presence("subscribed", to=ALICE)
        got = await alice.wait(lambda e: is_presence(e, "subscribed", BOB), 10)
        t.ok(got is not None, f"{mode}: alice gets bob's approval", shows(alice.since()))
        bob.presence("subscribe", to=ALICE)
        req = await alice.wait(lambda e: is_presence(e, "subscribe", BOB), 10)
        t.ok(req is not None, f"{mode}: alice gets bob's subscription request",
             shows(alice.since()))
        alice.presence("subscribed", to=BOB)
        # Prosody 0.12 tells its user of an approval by a roster push
        # (subscription 'both'), not by forwarding the presence itself.
        got = await bob.wait(lambda e: is_presence(e, "subscribed", ALICE) or
                             (is_push(e, ALICE) and sub_of(item_of(e, ALICE)) == "both"), 10)
        t.ok(got is not None, f"{mode}: bob learns of alice's approval (presence or roster "
             "push)", shows(bob.since()))
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
        await alice.close()
        await bob.close()

    return scenario, logs


def round_trip(mode):
    pa = free_port()
    psuite = Suite(f"s2s-prosody-{mode}")
    ca = TestCA(psuite.path("pki"))
    if mode == "dialback":
        stranger = TestCA(psuite.path("pki-stranger"), name="Unrelated CA")
        P = Prosody(psuite, "p.test", ca=ca, cafile=stranger.cert)
        tls, s2s = "", ""
    else:
        P = Prosody(psuite, "p.test", ca=ca, secure_auth=True, dialback=False)
        a_cert = ca.server_cert(["a.test"], name="a.test-cert")
        tls = (f'domains = ( {{ domain = "a.test"; certificate = "{a_cert.cert}"; '
               f'key = "{a_cert.key}"; }} );\nca_file = "{ca.cert}";\n')
        s2s = "require_valid_certificates = true;\n"
    P.route("a.test", pa)
    try:
        P.register("bob", "pw-bob")
        P.start()
    except RuntimeError as e:
        t.ok(False, f"{mode}: Prosody for p.test starts", e)
        psuite.cleanup()
        return
    A = FedSite(t, "a.test", ["alice"], s2s_port=pa, routes={"p.test": P.s2s_port},
                s2s_settings=s2s, tls_settings=tls)
    scenario, logs = federation(mode, A, P)
    err = run(scenario, 60)
    t.ok(err is None, f"{mode}: the scenario ran to its end", repr(err))

    alog, plog = A.s2s.log(), P.log()
    if mode == "dialback":
        t.ok("a.test -> p.test: stream ready (dialback, TLS)" in alog and
             "verified as p.test (to a.test) by dialback" in alog and
             "by SASL EXTERNAL" not in alog,
             f"{mode}: Parley's log shows dialback both ways, no SASL EXTERNAL", logs())
        t.ok("verified dialback key" in plog and
             "Accepting SASL EXTERNAL identity from" not in plog,
             f"{mode}: Prosody's log shows dialback, no SASL EXTERNAL", logs())
    else:
        t.ok("a.test -> p.test: stream ready (SASL EXTERNAL, TLS)" in alog and
             "verified as p.test (to a.test) by SASL EXTERNAL" in alog and
             "by dialback" not in alog and "stream ready (dialback" not in alog,
             f"{mode}: Parley's log shows SASL EXTERNAL both ways, no dialback", logs())
        t.ok("certificate authenticates p.test" in alog and
             "the certificate authenticates p.test" in alog,
             f"{mode}: Parley found Prosody's certificate good for p.test on both streams",
             logs())
        t.ok("Accepting SASL EXTERNAL identity from a.test" in plog and
             "verified dialback key" not in plog,
             f"{mode}: Prosody's log shows SASL EXTERNAL from a.test, no dialback", logs())
    t.ok(A.s2s.alive() and P.alive(), f"{mode}: Parley's s2s and Prosody still run", logs())
    P.stop()
    A.suite.cleanup()
    psuite.cleanup()
    t.ok(not P.alive() and not A.s2s.alive(), f"{mode}: everything stopped")


class DirectTLSPeer(threading.Thread):
    """A raw XEP-0368 peer for d.test: TLS at once (recording SNI and
    ALPN), then it reads the stream header a.test sends and hangs up."""

    def __init__(self, cert):
        super().__init__(daemon=True)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert.chain, cert.key)
        self.ctx.set_alpn_protocols(["xmpp-server"])
        self.sni = None
        self.ctx.sni_callback = lambda sock, name, ctx: setattr(self, "sni", name)
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(2)
        self.lsock.settimeout(15)
        self.port = self.lsock.getsockname()[1]
        self.alpn = self.header = None
        self.start()

    def run(self):
        try:
            sock, _ = self.lsock.accept()
            r = RawS2S(self.ctx.wrap_socket(sock, server_side=True))
            self.alpn = r.sock.selected_alpn_protocol()
            m = r.expect(r"<stream:stream[^>]*>", 10)
            self.header = m.group(0) if m else None
            r.close()
        except OSError as e:
            self.header = repr(e)


def direct_tls():
    """XEP-0368 both ways: a.test's direct TLS listener, and a route with
    direct_tls = true."""
    suite = Suite("s2s-direct-tls")
    ca = TestCA(suite.path("pki"))
    peer = DirectTLSPeer(ca.server_cert(["d.test"]))
    A = FedSite(t, "a.test", ["alice"], direct_tls_port=free_port(),
                routes={"d.test": (peer.port, True)})
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["xmpp-server"])
    got = {}
    try:
        r = RawS2S(ctx.wrap_socket(socket.create_connection(("127.0.0.1", A.direct_tls_port),
                                                            timeout=5), server_hostname="a.test"))
        got["alpn"] = r.sock.selected_alpn_protocol()
        r.header("d.test", "a.test")
        got["header"] = bool(r.expect(r"<stream:stream[^>]*from=['\"]a.test['\"]"))
        m = r.expect(r"<stream:features>.*?</stream:features>")
        got["features"] = m.group(0) if m else None
        r.close()
    except OSError as e:
        got["error"] = repr(e)
    t.ok(got.get("alpn") == "xmpp-server" and got.get("header") and got.get("features") and
         "urn:xmpp:features:dialback" in got["features"] and "starttls" not in got["features"],
         "direct TLS listener: TLS first (ALPN xmpp-server), then a stream offering dialback "
         "and no STARTTLS", f"{got}\n{A.logs()}")

    async def send():
        alice = FedCli(A, "alice", "home")
        if await alice.login():
            alice.message("someone@d.test", "over direct TLS")
            await asyncio.sleep(0)
            for _ in range(100):  # bounded: 10 s
                if peer.header is not None:
                    break
                await asyncio.sleep(0.1)
            await alice.close()
    run(send, 20)
    peer.join(5)
    t.ok(peer.sni == "d.test" and peer.alpn == "xmpp-server" and peer.header is not None
         and "from='a.test'" in peer.header.replace('"', "'"),
         "a direct_tls route: TLS at once with SNI d.test and ALPN xmpp-server, then "
         "a.test's stream header", f"sni={peer.sni} alpn={peer.alpn} header={peer.header}\n"
         + A.logs())
    A.suite.cleanup()
    suite.cleanup()


if not os.path.exists("/usr/bin/prosody"):
    t.skip("s2s with Prosody", "prosody is not installed (tools/install-deps --test)")
else:
    round_trip("dialback")
    round_trip("external")
direct_tls()
t.done()
