#!/usr/bin/python3
"""test_im_roster.py — the roster as RFC 6121 §2 defines it, checked
through real slixmpp clients on router+auth+sm+c2s: get on an empty
roster, set (result to the setter, push to every interested resource and
to no other), update, remove, the error cases of §2.1.5/§2.3.3/§2.5.3,
names and groups that need quoting, and roster versioning (§2.6).
Written from the RFC, not from Parley's code. Prints TAP."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from imlib import (Cli, DOMAIN, NS_ROSTER, Site, err_cond, is_iq, is_push,  # noqa: E402
                   item_of, item_xml, items, query, run, shows, sub_of)
from parley import Suite, Tap  # noqa: E402

t = Tap()
suite = Suite("im-roster")
site = Site(suite, t, ["alice", "bob", "vera"])
ALICE, BOB = f"alice@{DOMAIN}", f"bob@{DOMAIN}"
SETTLE = 0.5


async def scenario():
    r1, r2, r3 = Cli(site, "alice", "r1"), Cli(site, "alice", "r2"), Cli(site, "alice", "r3")
    ok = all(await asyncio.gather(r1.login(), r2.login(), r3.login()))
    t.ok(ok, "three resources of alice log in", site.logs())
    if not ok:
        return

    # §2.1.3 / §2.2: a roster get on an empty roster is a result with an empty query.
    res = await r1.roster_get()
    t.ok(is_iq(res, "result") and query(res) is not None and items(res) == [],
         "RFC 6121 §2.1.3: roster get on an empty roster: result with an empty <query/>",
         shows([res]) if res is not None else "no answer")
    res2 = await r2.roster_get()
    t.ok(is_iq(res2, "result"), "second resource fetches the roster too (interested)",
         shows([res2]) if res2 is not None else "no answer")
    # r3 is available but never asks for the roster: not an interested resource.
    r3.presence()
    await r3.sync()

    # §2.3.2: add an item — result to the setter, push to every interested resource.
    for c in (r1, r2, r3):
        c.mark()
    res = await r1.roster_set(BOB, "Bob", ["Friends", "Work"])
    t.ok(is_iq(res, "result"), "RFC 6121 §2.3.2: roster set: result to the setter",
         shows([res]) if res is not None else "no answer")
    p1, p2 = await asyncio.gather(r1.wait(lambda e: is_push(e, BOB, ALICE)),
                                  r2.wait(lambda e: is_push(e, BOB, ALICE)))
    want = {"jid": BOB, "name": "Bob", "groups": ["Friends", "Work"]}
    for name, p in (("the setting resource", p1), ("the other interested resource", p2)):
        it = item_of(p, BOB)
        t.ok(it is not None and it["name"] == "Bob" and it["groups"] == want["groups"]
             and sub_of(it) == "none",
             f"RFC 6121 §2.3.2: roster push with name, groups and subscription 'none' "
             f"to {name}", shows([p]) if p is not None else "no push")
    t.ok(p1 is None or len(items(p1)) == 1, "RFC 6121 §2.1.6: a push holds exactly one item",
         shows([p1]))
    await asyncio.sleep(SETTLE)
    t.ok(not r3.seen(lambda e: is_push(e)),
         "RFC 6121 §2.1.6: no push to a resource that never requested the roster",
         shows(r3.since()))

    # §2.4: update the item (rename, change groups).
    for c in (r1, r2):
        c.mark()
    res = await r1.roster_set(BOB, "Bobby", ["Work"])
    p2 = await r2.wait(lambda e: is_push(e, BOB, ALICE))
    it = item_of(p2, BOB)
    t.ok(is_iq(res, "result") and it is not None and it["name"] == "Bobby"
         and it["groups"] == ["Work"],
         "RFC 6121 §2.4: update: result, and a push with the new name and only the new group",
         shows([res, p2]))
    res = await r2.roster_get()
    it = item_of(res, BOB)
    t.ok(it is not None and it["name"] == "Bobby" and it["groups"] == ["Work"]
         and len(items(res)) == 1,
         "RFC 6121 §2.4: the roster now holds the updated item", shows([res]))

    # §2.5: remove — result, push with subscription='remove', roster empty again.
    for c in (r1, r2):
        c.mark()
    res = await r1.roster_set(BOB, subscription="remove")
    p1, p2 = await asyncio.gather(r1.wait(lambda e: is_push(e, BOB, ALICE)),
                                  r2.wait(lambda e: is_push(e, BOB, ALICE)))
    t.ok(is_iq(res, "result"), "RFC 6121 §2.5.2: remove: result to the setter", shows([res]))
    t.ok(sub_of(item_of(p1, BOB)) == "remove" and sub_of(item_of(p2, BOB)) == "remove",
         "RFC 6121 §2.5.2: remove: push with subscription='remove' to every interested "
         "resource", shows([p1, p2]))
    res = await r1.roster_get()
    t.ok(is_iq(res, "result") and items(res) == [], "RFC 6121 §2.5.2: the item is gone",
         shows([res]))
    # §2.5.3: removing an item that is not there.
    res = await r1.roster_set("nobody-here@" + DOMAIN, subscription="remove")
    t.eq(err_cond(res), "item-not-found",
         "RFC 6121 §2.5.3: removing an item not in the roster: item-not-found")

    # §2.3.3 error cases: nothing may change after them.
    r1.mark()
    res = await r1.iq("set", f"<query xmlns='{NS_ROSTER}'>" + item_xml("x1@" + DOMAIN)
                      + item_xml("x2@" + DOMAIN) + "</query>")
    t.eq(err_cond(res), "bad-request", "RFC 6121 §2.3.3: a set with two items: bad-request")
    res = await r1.roster_set("x3@" + DOMAIN, "X", ["G", "G"])
    t.eq(err_cond(res), "bad-request", "RFC 6121 §2.3.3: duplicate <group/>: bad-request")
    res = await r1.roster_set("x4@" + DOMAIN, "X", [""])
    t.eq(err_cond(res), "not-acceptable", "RFC 6121 §2.3.3: an empty <group/>: not-acceptable")
    await asyncio.sleep(0.2)
    res = await r1.roster_get()
    t.ok(is_iq(res, "result") and items(res) == [] and not r1.seen(lambda e: is_push(e)),
         "RFC 6121 §2.3.3: a refused set changes nothing and pushes nothing",
         shows([res] + r1.seen(lambda e: is_push(e))))
    # A name longer than a server limit may be refused (not-acceptable); nothing else.
    res = await r1.roster_set("x5@" + DOMAIN, "n" * 3000)
    t.ok(is_iq(res, "result") or err_cond(res) == "not-acceptable",
         "RFC 6121 §2.3.3: a very long name: stored, or not-acceptable", shows([res]))
    if is_iq(res, "result"):
        await r1.roster_set("x5@" + DOMAIN, subscription="remove")

    # §2.1.5: any 'subscription' other than "remove" in a set is ignored (not an error).
    for c in (r1, r2):
        c.mark()
    res = await r1.roster_set("sub@" + DOMAIN, "S", subscription="both")
    p2 = await r2.wait(lambda e: is_push(e, "sub@" + DOMAIN, ALICE))
    t.ok(is_iq(res, "result") and sub_of(item_of(p2, "sub@" + DOMAIN)) == "none",
         "RFC 6121 §2.1.5: subscription='both' in a set is ignored: result, item stays 'none'",
         shows([res, p2]))
    await r1.roster_set("sub@" + DOMAIN, subscription="remove")

    # §2.1.5: only the account itself may touch its roster.
    b1 = Cli(site, "bob", "b1")
    if await b1.login():
        res = await r1.iq("set", f"<query xmlns='{NS_ROSTER}'>" + item_xml("evil@" + DOMAIN)
                          + "</query>", to=BOB)
        t.eq(err_cond(res), "forbidden",
             "RFC 6121 §2.1.5: a roster set addressed to another user: forbidden")
        res = await r1.iq("get", f"<query xmlns='{NS_ROSTER}'/>", to=BOB)
        t.ok(err_cond(res) in ("forbidden", "service-unavailable"),
             "RFC 6121 §2.1.3/§8.5.2.1.3: a roster get addressed to another user is refused "
             "(forbidden or service-unavailable), never answered with that roster",
             shows([res]))
        res = await b1.roster_get()
        t.ok(is_iq(res, "result") and items(res) == [],
             "the other user's roster was not changed", shows([res]))
        await b1.close()
    else:
        t.ok(False, "bob logs in", site.logs())

    # Quoting: a name and group full of XML-special and non-ASCII characters round-trip.
    odd = "He said \"hi\" & 'bye' <b> \\ 100% ünïcødé 日本 ☃ %s %n"
    oddg = "Grüppe \"&\" <'x'> \\ %d"
    r2.mark()
    res = await r1.roster_set("quote@" + DOMAIN, odd, [oddg])
    p2 = await r2.wait(lambda e: is_push(e, "quote@" + DOMAIN, ALICE))
    it = item_of(p2, "quote@" + DOMAIN)
    t.ok(is_iq(res, "result") and it is not None and it["name"] == odd
         and it["groups"] == [oddg],
         "a name and group with quotes, &, <, backslash, % and non-ASCII: pushed unchanged",
         shows([res, p2]))
    res = await r1.roster_get()
    it = item_of(res, "quote@" + DOMAIN)
    t.ok(it is not None and it["name"] == odd and it["groups"] == [oddg],
         "... and returned unchanged by a roster get", shows([res]))
    await r1.roster_set("quote@" + DOMAIN, subscription="remove")

    for c in (r1, r2, r3):
        await c.close()
    await versioning()


async def versioning():
    """RFC 6121 §2.6 with vera's roster."""
    v1 = Cli(site, "vera", "v1")
    if not await v1.login():
        t.ok(False, "vera logs in", site.logs())
        return
    t.ok("rosterver" in v1.features,
         "RFC 6121 §2.6.1: stream features advertise <ver xmlns='urn:xmpp:features:rosterver'/>",
         repr(v1.features))
    res = await v1.roster_get(ver="")
    q = query(res)
    t.ok(is_iq(res, "result") and q is not None and q.get("ver") is not None,
         "RFC 6121 §2.6.3: get with ver='': the full roster with a 'ver'", shows([res]))
    ver0 = q.get("ver") if q is not None else None
    # Build a roster: keep, change, gone.
    pushes = []
    for jid, name in (("keep@" + DOMAIN, "Keep"), ("change@" + DOMAIN, "Old"),
                      ("gone@" + DOMAIN, "Gone")):
        v1.mark()
        await v1.roster_set(jid, name, ["G"])
        pushes.append(await v1.wait(lambda e, j=jid: is_push(e, j, f"vera@{DOMAIN}")))
    vers = [query(p).get("ver") if p is not None else None for p in pushes]
    t.ok(all(v is not None for v in vers) and len(set(vers + [ver0])) == 4,
         "RFC 6121 §2.6.3: each push carries a new, unique 'ver'", shows(pushes))
    res = await v1.roster_get(ver="")
    q = query(res)
    ver1 = q.get("ver") if q is not None else None
    t.ok(len(items(res)) == 3 and ver1 is not None,
         "RFC 6121 §2.6.3: get with ver='' again: all three items and a 'ver'", shows([res]))
    # With the current version: an empty result (SHOULD) and nothing else.
    v1.mark()
    res = await v1.roster_get(ver=ver1)
    await asyncio.sleep(SETTLE)
    t.ok(is_iq(res, "result") and query(res) is None and not v1.seen(lambda e: is_push(e)),
         "RFC 6121 §2.6.3: get with the current ver: empty result (no <query/>) and no push "
         "(SHOULD)", shows(v1.since()))
    await v1.close()

    # Changes while vera's cache is offline.
    v2 = Cli(site, "vera", "v2")
    if not await v2.login():
        t.ok(False, "vera logs in again", site.logs())
        return
    await v2.roster_get()
    r_add = await v2.roster_set("new@" + DOMAIN, "New", ["H"])
    r_chg = await v2.roster_set("change@" + DOMAIN, "Changed", ["G", "H"])
    r_rm = await v2.roster_set("gone@" + DOMAIN, subscription="remove")
    t.ok(all(is_iq(r, "result") for r in (r_add, r_chg, r_rm)),
         "three changes made from another resource", shows([r_add, r_chg, r_rm]))
    await v2.close()

    v3 = Cli(site, "vera", "v3")
    if not await v3.login():
        t.ok(False, "vera logs in a third time", site.logs())
        return
    v3.mark()
    res = await v3.roster_get(ver=ver1)
    q = query(res)
    if not is_iq(res, "result"):
        t.ok(False, "RFC 6121 §2.6.3: get with an old ver is answered", shows([res]))
    elif q is None:
        # Empty result: the changes must come as pushes, each with a 'ver'.
        got = await v3.wait_all([lambda e: is_push(e, "new@" + DOMAIN),
                                 lambda e: is_push(e, "change@" + DOMAIN),
                                 lambda e: is_push(e, "gone@" + DOMAIN)])
        add, chg, rm = (item_of(g, j + "@" + DOMAIN) for g, j in
                        zip(got, ("new", "change", "gone")))
        t.ok(add is not None and add["name"] == "New" and add["groups"] == ["H"]
             and chg is not None and chg["name"] == "Changed" and chg["groups"] == ["G", "H"]
             and sub_of(rm) == "remove",
             "RFC 6121 §2.6.3: old ver, empty result: the addition, the change and the removal "
             "come as pushes", shows(v3.since()))
        t.ok(all(g is not None and query(g).get("ver") is not None for g in got),
             "RFC 6121 §2.6.3: each of those pushes carries a 'ver'", shows(got))
        await asyncio.sleep(SETTLE)
        t.ok(not v3.seen(lambda e: is_push(e, "keep@" + DOMAIN)),
             "RFC 6121 §2.6.3: no push for the item that did not change (keep)",
             shows(v3.since()))
    else:
        # The server may instead return the complete roster with the new version.
        got = {i["jid"]: i for i in items(res)}
        t.ok(set(got) == {"keep@" + DOMAIN, "change@" + DOMAIN, "new@" + DOMAIN}
             and got["change@" + DOMAIN]["name"] == "Changed"
             and q.get("ver") not in (None, ver1),
             "RFC 6121 §2.6.3: old ver answered with the complete, current roster and a new ver",
             shows([res]))
    await v3.close()


err = run(scenario, 55)
t.ok(err is None, "the scenario ran to its end within its time limit", repr(err))
t.ok(site.sm.alive() and site.c2s.alive(), "sm and c2s still run", site.logs())
t.done()
