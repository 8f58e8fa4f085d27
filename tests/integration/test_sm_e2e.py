#!/usr/bin/python3
"""test_sm_e2e.py — the whole path a chat takes: router, parley-auth,
parley-sm and parley-c2s, two python3-slixmpp clients logging in with
accounts made by `parleyctl user add`, sending initial presence, and
exchanging a message through their bare JIDs (each client gets the
other's message, stamped with the sender's full JID); a second login on the
same full JID replacing the first with <conflict/>. Also a disco#info
of the server and a ping, answered by sm through c2s. Prints TAP."""
import asyncio
import logging
import os
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from c2slib import Site  # noqa: E402
from parley import BUILD, Suite, Tap, wait_until  # noqa: E402

import slixmpp  # noqa: E402

t = Tap()
suite = Suite("sm-e2e")
site = Site(suite)
for user in ("alice", "bob"):
    r = subprocess.run([os.path.join(BUILD, "parleyctl"), "-c", site.conf, "user", "add",
                        f"{user}@example.test", f"pw-{user}"], capture_output=True, text=True)
    t.eq(r.returncode, 0, f"parleyctl user add {user}")
auth = suite.start("auth", ["parley-auth", "-f", "-c", site.conf])
wait_until(lambda: not auth.alive() or "bound auth" in auth.log(), 10)
sm = suite.start("sm", ["parley-sm", "-f", "-c", site.conf])
wait_until(lambda: not sm.alive() or "bound example.test" in sm.log(), 10)
c2s = site.start_c2s()
t.ok(auth.alive() and sm.alive() and c2s.alive(), "router, auth, sm and c2s run",
     sm.log()[-500:] + c2s.log()[-500:])

logging.basicConfig(level=logging.ERROR)
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)


def client(user, got):
    x = slixmpp.ClientXMPP(f"{user}@example.test/phone", f"pw-{user}")
    x.ssl_context.check_hostname = False
    x.ssl_context.verify_mode = ssl.CERT_NONE
    # slixmpp 1.8.3's -PLUS mechanisms know only tls-unique (TLS 1.2); on
    # TLS 1.3 it would claim the server has no channel binding, which
    # auth rightly refuses as a downgrade (test_c2s_auth.py).
    x.ssl_context.maximum_version = ssl.TLSVersion.TLSv1_2
    x.register_plugin("xep_0030")
    x.register_plugin("xep_0199")
    x.ready = asyncio.Event()
    x.stream_errors = []
    x.add_event_handler("stream_error", lambda e: x.stream_errors.append(e["condition"]))

    async def started(_):
        x.send_presence(ppriority=1)
        x.ready.set()
    x.add_event_handler("session_start", started)
    x.add_event_handler("message", lambda m: got.append((str(m["from"]), m["body"],
                                                         m["type"])))
    x.connect(("127.0.0.1", site.port))
    return x


async def scenario():
    got_a, got_b = [], []
    a, b = client("alice", got_a), client("bob", got_b)
    try:
        await asyncio.wait_for(asyncio.gather(a.ready.wait(), b.ready.wait()), 20)
    except asyncio.TimeoutError:
        return None, None, None, (None, (False, []))
    await asyncio.sleep(0.3)
    a.send_message(mto="bob@example.test", mbody="hello bob", mtype="chat")
    for _ in range(100):
        if got_b:
            break
        await asyncio.sleep(0.05)
    b.send_message(mto="alice@example.test", mbody="hello alice", mtype="chat")
    for _ in range(100):
        if got_a:
            break
        await asyncio.sleep(0.05)
    info = None
    try:
        info = await a["xep_0030"].get_info(jid="example.test", timeout=5)
    except Exception as e:  # noqa: BLE001
        info = e
    try:
        rtt = await b["xep_0199"].ping(jid="example.test", timeout=5)
    except Exception as e:  # noqa: BLE001
        rtt = e
    # A second login on alice/phone replaces the first (<conflict/>).
    a2 = client("alice", [])
    try:
        await asyncio.wait_for(a2.ready.wait(), 20)
    except asyncio.TimeoutError:
        pass
    for _ in range(100):
        if a.stream_errors:
            break
        await asyncio.sleep(0.05)
    replaced = (a2.ready.is_set(), list(a.stream_errors))
    a2.disconnect()
    a.disconnect()
    b.disconnect()
    await asyncio.sleep(0.5)
    return got_a, got_b, info, (rtt, replaced)


got_a, got_b, info, (rtt, replaced) = loop.run_until_complete(asyncio.wait_for(scenario(), 60))
# slixmpp leaves tasks behind after disconnect: end them quietly.
pending = asyncio.all_tasks(loop)
for task in pending:
    task.cancel()
loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
loop.close()
t.ok(got_a is not None, "both clients log in and send initial presence",
     c2s.log()[-800:] + sm.log()[-800:])
t.ok(got_b and got_b[0][0] == "alice@example.test/phone" and got_b[0][1] == "hello bob",
     "bob gets alice's message sent to his bare JID", got_b)
t.ok(got_a and got_a[0][0] == "bob@example.test/phone" and got_a[0][1] == "hello alice",
     "alice gets bob's answer", got_a)
idents = info["disco_info"]["identities"] if not isinstance(info, Exception) and info else []
t.ok(any(i[0] == "server" and i[1] == "im" for i in idents),
     "disco#info of the server through c2s: server/im", repr(info))
t.ok(isinstance(rtt, (int, float)), "a ping to the server is answered", repr(rtt))
t.ok(replaced[0] and replaced[1] == ["conflict"],
     "a second login on the same full JID replaces the first, which gets <conflict/>",
     repr(replaced) + sm.log()[-600:])
t.ok(wait_until(lambda: sm.log().count("session ended:") >= 3, 5),
     "every session ends when its client leaves", sm.log()[-800:])
t.done()
