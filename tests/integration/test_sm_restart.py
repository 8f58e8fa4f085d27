#!/usr/bin/python3
"""test_sm_restart.py — sm killed (SIGKILL) and started again while clients
stay connected: c2s re-announces every session (SESSION_START flagged
REANNOUNCE, with the client's last broadcast presence) when the router says
the hosted domain is bound again, so
- no client's stream is closed;
- the new sm knows the sessions: a message between two online users is
  delivered live, and a roster get is answered (not service-unavailable);
- presence comes back: a contact that logs in after the restart is told
  the others are available (the probe is answered from the rebuilt
  session table), with the status they last sent.
Prints TAP."""
import asyncio
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import imlib  # noqa: E402
from imlib import C, Cli, DOMAIN, is_message, is_presence, run, shows, text  # noqa: E402
from parley import Suite, Tap, wait_until  # noqa: E402

t = Tap()
suite = Suite("sm-restart")
site = imlib.Site(suite, t, ["alice", "bob", "carol"])
ALICE, BOB, CAROL = (f"{u}@{DOMAIN}" for u in ("alice", "bob", "carol"))


async def befriend(a, b, a_jid, b_jid):
    for x, y_jid in ((a, b_jid), (b, a_jid)):
        x.presence("subscribe", y_jid)
    await asyncio.sleep(0.3)
    for x, y_jid in ((a, b_jid), (b, a_jid)):
        x.presence("subscribed", y_jid)
    await a.sync()
    await b.sync()


async def scenario():
    alice, bob, carol = Cli(site, "alice", "a1"), Cli(site, "bob", "b1"), Cli(site, "carol", "c1")
    ok = await alice.login() and await bob.login() and await carol.login()
    t.ok(ok, "alice, bob and carol log in", site.logs())
    if not ok:
        return
    for c in (alice, bob, carol):
        await c.roster_get()
    await befriend(alice, bob, ALICE, BOB)
    await befriend(alice, carol, ALICE, CAROL)
    alice.presence(status="before the restart")
    bob.presence()
    await alice.sync()
    await bob.sync()
    await carol.close()

    # Kill sm; start a new one on the same configuration.
    os.kill(site.sm.pid, signal.SIGKILL)
    wait_until(lambda: not site.sm.alive(), 5)
    site.sm = suite.start("sm2", ["parley-sm", "-f", "-c", site.conf])
    t.ok(wait_until(lambda: f"bound {DOMAIN}" in site.sm.log(), 10), "a new sm is up",
         site.sm.log())
    t.ok(wait_until(lambda: site.sm.log().count(", re-announced") >= 2, 10),
         "c2s re-announced both sessions to the new sm", site.sm.log()[-1500:])

    bob.mark()
    alice.message(BOB, "after the restart", mid="r1")
    r = await bob.wait(lambda e: is_message(e) and text(e, C + "body") == "after the restart")
    t.ok(r is not None, "a message between two online users is delivered live after the restart",
         shows(bob.since()) + site.logs())
    r = await alice.roster_get()
    t.ok(r is not None and r.get("type") == "result", "alice's roster get is answered",
         shows([r] if r is not None else []))
    t.ok(not alice.closed and not bob.closed, "no client's stream was closed")

    carol = Cli(site, "carol", "c2")
    t.ok(await carol.login(), "carol logs in after the restart", site.logs())
    carol.mark()
    await carol.roster_get()
    carol.presence()
    p = await carol.wait(lambda e: is_presence(e, None, ALICE + "/a1"))
    t.ok(p is not None and text(p, C + "status") == "before the restart",
         "carol's probe is answered with alice's presence from before the restart",
         shows(carol.since()))
    for c in (alice, bob, carol):
        await c.close()


err = run(scenario, 90)
t.ok(err is None, "the scenario ran to its end", repr(err))
t.ok(site.sm.alive() and site.c2s.alive(), "sm and c2s still run", site.logs())
t.done()
