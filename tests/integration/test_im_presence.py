#!/usr/bin/python3
"""test_im_presence.py — subscriptions and presence as RFC 6121 §3 and §4
define them, through real slixmpp clients on router+auth+sm+c2s: the
subscribe/subscribed handshake to 'both' with its roster pushes, presence
broadcast, probes at login, unavailable on an abrupt disconnect, directed
presence and its unavailable, a request to an offline user kept and
delivered at login, unsubscribe and cancel with their unavailable
presence, a request to a user that does not exist, and no broadcast to
non-subscribers. Written from the RFC, not from Parley's code. Prints TAP."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from imlib import (C, Cli, DOMAIN, Site, is_presence, is_push, item_of,  # noqa: E402
                   run, shows, sub_of, text)
from parley import Suite, Tap  # noqa: E402

t = Tap()
suite = Suite("im-presence")
site = Site(suite, t, ["alice", "bob", "carol", "dave"])
ALICE, BOB, CAROL, DAVE = (f"{u}@{DOMAIN}" for u in ("alice", "bob", "carol", "dave"))
GHOST = f"ghost@{DOMAIN}"
SETTLE = 0.5


def push_state(el, jid):
    it = item_of(el, jid)
    return None if it is None else (sub_of(it), it["ask"])


async def online(user, res, prio=None, roster=True):
    c = Cli(site, user, res)
    if not await c.login():
        return None
    if roster:
        await c.roster_get()
    c.mark()
    c.presence(priority=prio)
    await c.sync()
    return c


async def scenario():
    a1 = await online("alice", "a1")
    b1 = await online("bob", "b1")
    t.ok(a1 and b1, "alice and bob log in, fetch the roster, send initial presence", site.logs())
    if not (a1 and b1):
        return

    # --- §3.1: alice subscribes to bob -------------------------------------------------
    a1.mark()
    b1.mark()
    a1.presence("subscribe", BOB)
    p = await a1.wait(lambda e: is_push(e, BOB, ALICE))
    t.eq(push_state(p, BOB), ("none", "subscribe"),
         "RFC 6121 §3.1.2: the user's server pushes the contact with subscription 'none', "
         "ask='subscribe'")
    r = await b1.wait(lambda e: is_presence(e, "subscribe"))
    t.ok(r is not None and r.get("from") == ALICE,
         "RFC 6121 §3.1.2/§3.1.3: the contact gets the request, stamped with the user's bare JID",
         shows(b1.since()))
    a1.mark()
    b1.mark()
    b1.presence("subscribed", ALICE)
    pb = await b1.wait(lambda e: is_push(e, ALICE, BOB))
    t.eq(push_state(pb, ALICE), ("from", None),
         "RFC 6121 §3.1.5: the contact's server pushes the user with subscription 'from'")
    pa, sa, av = await a1.wait_all([lambda e: is_push(e, BOB, ALICE),
                                    lambda e: is_presence(e, "subscribed", BOB),
                                    lambda e: is_presence(e, None, BOB + "/b1")])
    t.eq(push_state(pa, BOB), ("to", None),
         "RFC 6121 §3.1.6: the user's server pushes the contact with subscription 'to', no ask")
    t.ok(sa is not None, "RFC 6121 §3.1.6: the user gets 'subscribed' from the contact's bare JID",
         shows(a1.since()))
    t.ok(av is not None,
         "RFC 6121 §3.1.5: the contact's server sends the user the contact's current presence "
         "(from bob/b1)", shows(a1.since()))

    # bob subscribes back: both sides end at 'both'.
    a1.mark()
    b1.mark()
    b1.presence("subscribe", ALICE)
    pb = await b1.wait(lambda e: is_push(e, ALICE, BOB))
    t.eq(push_state(pb, ALICE), ("from", "subscribe"),
         "RFC 6121 §3.1.2: 'from' + pending out: push with subscription 'from', ask='subscribe'")
    r = await a1.wait(lambda e: is_presence(e, "subscribe", BOB))
    t.ok(r is not None, "RFC 6121 §3.1.3: alice gets bob's request from his bare JID",
         shows(a1.since()))
    a1.mark()
    b1.mark()
    a1.presence("subscribed", BOB)
    pa = await a1.wait(lambda e: is_push(e, BOB, ALICE))
    t.eq(push_state(pa, BOB), ("both", None), "RFC 6121 §3.1.5: alice's push: 'both'")
    pb, av = await b1.wait_all([lambda e: is_push(e, ALICE, BOB),
                                lambda e: is_presence(e, None, ALICE + "/a1")])
    t.eq(push_state(pb, ALICE), ("both", None), "RFC 6121 §3.1.6: bob's push: 'both'")
    t.ok(av is not None, "RFC 6121 §3.1.5: bob gets alice's current presence after approval",
         shows(b1.since()))
    ra, rb = await asyncio.gather(a1.roster_get(), b1.roster_get())
    t.ok(sub_of(item_of(ra, BOB)) == "both" and item_of(ra, BOB)["ask"] is None
         and sub_of(item_of(rb, ALICE)) == "both" and item_of(rb, ALICE)["ask"] is None,
         "RFC 6121 §3.1: after the handshake both rosters say subscription='both', no ask",
         shows([ra, rb]))

    # --- §4.4: broadcast of a presence change -------------------------------------------
    b1.mark()
    a1.presence(show="away", status="gone fishing")
    r = await b1.wait(lambda e: is_presence(e, None, ALICE + "/a1") and text(e, C + "show") == "away")
    t.ok(r is not None and text(r, C + "status") == "gone fishing",
         "RFC 6121 §4.4.2: alice's show/status change reaches bob's available resource",
         shows(b1.since()))

    # --- §4.2/§4.3: probes at login ----------------------------------------------------
    await b1.close()
    a1.mark()
    b2 = Cli(site, "bob", "b2")
    await b2.login()
    await b2.roster_get()
    b2.mark()
    b2.presence(priority=3)
    r = await b2.wait(lambda e: is_presence(e, None, ALICE + "/a1"))
    t.ok(r is not None and text(r, C + "show") == "away"
         and text(r, C + "status") == "gone fishing",
         "RFC 6121 §4.2.2/§4.3.2: bob's initial presence probes alice: he gets her current "
         "presence (away, gone fishing)", shows(b2.since()))
    r = await a1.wait(lambda e: is_presence(e, None, BOB + "/b2"))
    t.ok(r is not None and text(r, C + "priority") == "3",
         "RFC 6121 §4.2.2: alice gets bob's initial presence", shows(a1.since()))

    # --- §4.5: abrupt end → unavailable from the full JID ------------------------------
    a1.mark()
    b2.abort()
    r = await a1.wait(lambda e: is_presence(e, "unavailable", BOB + "/b2"), timeout=5)
    t.ok(r is not None,
         "RFC 6121 §4.5.2: bob's connection drops: alice gets unavailable from bob/b2",
         shows(a1.since()) + site.logs(600))

    # --- presence to/from non-subscribers; directed presence (§4.6) --------------------
    c1 = await online("carol", "c1")
    if c1 is None:
        t.ok(False, "carol logs in", site.logs())
        return
    a2 = await online("alice", "a2")
    await asyncio.sleep(0.2)
    t.ok(not c1.seen(lambda e: e.tag == C + "presence" and (e.get("from") or "").startswith(ALICE),
                     pos=0),
         "RFC 6121 §4.2.2/§4.4.2: carol (no subscription) gets none of alice's broadcast "
         "presence", shows(c1.since(0)))
    t.ok(not a1.seen(lambda e: e.tag == C + "presence" and (e.get("from") or "").startswith(CAROL),
                     pos=0),
         "RFC 6121 §4.2.2: alice (no subscription to carol) gets none of carol's broadcast "
         "presence", shows(a1.since(0)))
    c1.mark()
    a2.presence(to=CAROL + "/c1", status="just for you")
    r = await c1.wait(lambda e: is_presence(e, None, ALICE + "/a2"))
    t.ok(r is not None and text(r, C + "status") == "just for you",
         "RFC 6121 §4.6.2: directed presence reaches carol", shows(c1.since()))
    c1.mark()
    a2.abort()
    r = await c1.wait(lambda e: is_presence(e, "unavailable", ALICE + "/a2"), timeout=5)
    t.ok(r is not None,
         "RFC 6121 §4.6.3: alice/a2 drops: carol, who had directed presence, gets unavailable",
         shows(c1.since()))

    # --- §3.1.3: a request to an offline user is kept and delivered at login -----------
    a1.mark()
    a1.presence("subscribe", DAVE)
    await a1.wait(lambda e: is_push(e, DAVE, ALICE))
    await a1.sync()
    d1 = await online("dave", "d1")
    r = await d1.wait(lambda e: is_presence(e, "subscribe", ALICE), pos=0) if d1 else None
    t.ok(r is not None,
         "RFC 6121 §3.1.3: a request to an offline contact is delivered when the contact "
         "becomes available", shows(d1.since(0)) if d1 else "dave did not log in")

    # --- §8.5.1: subscribe to a user that does not exist: silently ignored -------------
    a1.mark()
    a1.presence("subscribe", GHOST)
    await a1.sync()
    await asyncio.sleep(SETTLE)
    t.ok(not a1.seen(lambda e: e.tag == C + "presence" and (e.get("from") or "").startswith(GHOST)),
         "RFC 6121 §8.5.1: subscribe to a nonexistent local user is silently ignored",
         shows(a1.since()))

    # --- §3.3: alice unsubscribes from bob ('both' → 'from'/'to') ------------------------
    b3 = await online("bob", "b3")
    if b3 is None:
        t.ok(False, "bob logs in again", site.logs())
        return
    await a1.wait(lambda e: is_presence(e, None, BOB + "/b3"))
    a1.mark()
    b3.mark()
    a1.presence("unsubscribe", BOB)
    pa, un = await a1.wait_all([lambda e: is_push(e, BOB, ALICE),
                                lambda e: is_presence(e, "unavailable", BOB + "/b3")])
    t.eq(push_state(pa, BOB), ("from", None),
         "RFC 6121 §3.3.2: unsubscribe: alice's push goes 'both' → 'from'")
    pb, ru = await b3.wait_all([lambda e: is_push(e, ALICE, BOB),
                                lambda e: is_presence(e, "unsubscribe", ALICE)])
    t.eq(push_state(pb, ALICE), ("to", None),
         "RFC 6121 §3.3.3: unsubscribe: bob's push goes 'both' → 'to'")
    t.ok(ru is not None, "RFC 6121 §3.3.3: bob gets the unsubscribe from alice's bare JID",
         shows(b3.since()))
    t.ok(un is not None,
         "RFC 6121 §3.3.3: bob's server sends alice unavailable from bob's available resource",
         shows(a1.since()))
    # Bob's presence no longer reaches alice.
    a1.mark()
    b3.presence(show="dnd")
    await b3.sync()
    await asyncio.sleep(SETTLE)
    t.ok(not a1.seen(lambda e: is_presence(e, None, BOB + "/b3")),
         "RFC 6121 §4.4.2: after unsubscribe alice no longer gets bob's broadcast",
         shows(a1.since()))

    # --- §3.2: alice cancels bob's subscription (alice 'from' → 'none', bob 'to' → 'none')
    a1.mark()
    b3.mark()
    a1.presence("unsubscribed", BOB)
    pa = await a1.wait(lambda e: is_push(e, BOB, ALICE))
    t.eq(push_state(pa, BOB), ("none", None),
         "RFC 6121 §3.2.2: cancel: alice's push goes 'from' → 'none'")
    pb, ru, un = await b3.wait_all([lambda e: is_push(e, ALICE, BOB),
                                    lambda e: is_presence(e, "unsubscribed", ALICE),
                                    lambda e: is_presence(e, "unavailable", ALICE + "/a1")])
    t.eq(push_state(pb, ALICE), ("none", None),
         "RFC 6121 §3.2.3: cancel: bob's push goes 'to' → 'none'")
    t.ok(ru is not None, "RFC 6121 §3.2.3: bob gets 'unsubscribed' from alice's bare JID",
         shows(b3.since()))
    t.ok(un is not None,
         "RFC 6121 §3.2.2: alice's server sends bob unavailable from alice's available resource",
         shows(b3.since()))
    b3.mark()
    a1.presence(show="chat")
    await a1.sync()
    await asyncio.sleep(SETTLE)
    t.ok(not b3.seen(lambda e: is_presence(e, None, ALICE + "/a1")),
         "RFC 6121 §4.4.2: after the cancel bob no longer gets alice's broadcast",
         shows(b3.since()))
    for c in (a1, b3, c1, d1):
        if c:
            await c.close()


err = run(scenario, 55)
t.ok(err is None, "the scenario ran to its end within its time limit", repr(err))
t.ok(site.sm.alive() and site.c2s.alive(), "sm and c2s still run", site.logs())
t.done()
