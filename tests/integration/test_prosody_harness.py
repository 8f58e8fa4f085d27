#!/usr/bin/python3
"""test_prosody_harness.py — the federation harness works before Parley's
s2s does: two Debian Prosody servers, p.test and q.test (lib/prosody.py),
each routing the other's domain to its loopback s2s port, exchange a chat
message between alice@p.test and bob@q.test (python3-slixmpp clients):
  1. with dialback: each trusts only an unrelated CA, so the other's
     certificate does not verify and dialback has to authenticate;
  2. with certificates from the test CA (lib/testca.py) and
     s2s_secure_auth = true, so the servers authenticate by SASL EXTERNAL
     and dialback is not even loaded;
  3. with s2s_secure_auth = true but certificates the peer does not trust:
     no message passes and the sender gets an error back, so the option
     the harness sets is really in force.
Each run checks in Prosody's log which way the servers authenticated.
Everything runs in temp dirs, stopped by PID. Prints TAP."""
import asyncio
import logging
import os
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from parley import Suite, Tap  # noqa: E402
from prosody import Prosody  # noqa: E402
from testca import TestCA  # noqa: E402

import slixmpp  # noqa: E402

t = Tap()
logging.basicConfig(level=logging.CRITICAL)


def client(jid, password, port, got):
    x = slixmpp.ClientXMPP(jid, password)
    x.ssl_context.check_hostname = False
    x.ssl_context.verify_mode = ssl.CERT_NONE
    # As in test_sm_e2e.py: slixmpp 1.8.3's -PLUS knows only tls-unique.
    x.ssl_context.maximum_version = ssl.TLSVersion.TLSv1_2
    x.ready = asyncio.Event()
    x.failed = []

    async def started(_):
        x.send_presence()
        x.ready.set()
    x.add_event_handler("session_start", started)
    x.add_event_handler("failed_auth", lambda e: x.failed.append("auth"))
    for event in ("message", "message_error"):  # slixmpp tells errors apart
        x.add_event_handler(event, lambda m: got.append((str(m["from"].bare), m["body"],
                                                         m["type"])))
    x.connect(("127.0.0.1", port))
    return x


async def wait_for(pred, timeout):
    for _ in range(int(timeout / 0.05)):
        if pred():
            return True
        await asyncio.sleep(0.05)
    return pred()


async def exchange(p, q):
    """alice@p.test -> bob@q.test and back; returns what each got."""
    got_a, got_b = [], []
    a = client("alice@p.test/h", "pw-alice", p.c2s_port, got_a)
    b = client("bob@q.test/h", "pw-bob", q.c2s_port, got_b)
    try:
        await asyncio.wait_for(asyncio.gather(a.ready.wait(), b.ready.wait()), 15)
    except asyncio.TimeoutError:
        return None, None
    a.send_message(mto="bob@q.test", mbody="hello from p", mtype="chat")
    await wait_for(lambda: got_b or any(m[2] == "error" for m in got_a), 15)
    if got_b:
        b.send_message(mto="alice@p.test", mbody="hello from q", mtype="chat")
        await wait_for(lambda: got_a, 10)
    for x in (a, b):
        x.disconnect()
    await asyncio.sleep(0.2)
    return got_a, got_b


def federate(mode):
    suite = Suite(f"prosody-{mode}")
    ca = TestCA(suite.path("pki"))
    if mode in ("dialback", "untrusted"):
        stranger = TestCA(suite.path("pki-stranger"), name="Unrelated CA")
        opts = dict(ca=ca, cafile=stranger.cert, secure_auth=mode == "untrusted")
    else:
        opts = dict(ca=ca, secure_auth=True, dialback=False)
    p = Prosody(suite, "p.test", **opts)
    q = Prosody(suite, "q.test", **opts)
    p.route("q.test", q.s2s_port)
    q.route("p.test", p.s2s_port)
    try:
        p.register("alice", "pw-alice")
        q.register("bob", "pw-bob")
        p.start()
        q.start()
    except RuntimeError as e:
        t.ok(False, f"{mode}: two Prosody servers start", e)
        suite.cleanup()
        return
    t.ok(True, f"{mode}: two Prosody servers start, accounts registered")

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    got_a, got_b = loop.run_until_complete(exchange(p, q))
    # slixmpp leaves its filter tasks waiting; end them before the loop.
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    diag = p.log()[-3000:] + "\n----\n" + q.log()[-3000:]
    if got_a is None:
        t.ok(False, f"{mode}: clients log in on both servers", diag)
    elif mode == "untrusted":
        t.ok(not got_b, f"{mode}: nothing reaches bob@q.test", f"{got_b}\n{diag}")
        t.ok(any(m[0] == "bob@q.test" and m[2] == "error" for m in got_a),
             f"{mode}: alice@p.test gets an error back", f"{got_a}\n{diag}")
    else:
        t.ok(("alice@p.test", "hello from p", "chat") in got_b,
             f"{mode}: alice@p.test's message reaches bob@q.test", f"{got_b}\n{diag}")
        t.ok(("bob@q.test", "hello from q", "chat") in got_a,
             f"{mode}: bob@q.test's reply reaches alice@p.test", f"{got_a}\n{diag}")

    plog, qlog = p.log(), q.log()
    t.ok("parley_test_routes: q.test is 127.0.0.1" in plog and
         (mode == "untrusted" or "parley_test_routes: p.test is 127.0.0.1" in qlog),
         f"{mode}: outgoing s2s went through the test routes, not DNS", diag)
    external = "Accepting SASL EXTERNAL identity from" in qlog + plog
    dialback = "verified dialback key" in qlog + plog
    if mode == "untrusted":
        t.ok(not dialback and not external, f"{mode}: servers did not authenticate", diag)
    elif mode == "dialback":
        t.ok(dialback and not external, f"{mode}: servers authenticated by dialback", diag)
    else:
        t.ok(external and not dialback, f"{mode}: servers authenticated by SASL EXTERNAL "
             "with the test CA's certificates", diag)
    p.stop()
    q.stop()
    t.ok(not p.alive() and not q.alive(), f"{mode}: both servers stop on SIGTERM")
    suite.cleanup()
    if os.environ.get("PARLEY_KEEP") != "1":
        t.ok(not os.path.exists(suite.dir), f"{mode}: temp dir removed")


if not os.path.exists("/usr/bin/prosody"):
    t.skip("prosody harness", "prosody is not installed (tools/install-deps --test)")
else:
    federate("dialback")
    federate("certificates")
    federate("untrusted")
t.done()
