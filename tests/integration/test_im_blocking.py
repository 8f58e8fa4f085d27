#!/usr/bin/python3
"""test_im_blocking.py — XEP-0191 blocking command through real slixmpp
clients on router+auth+sm+c2s: the feature in the server's disco#info,
an empty block list, block (result, push to every resource that asked
for the list and to no other), the list afterwards, a blocked contact's
message answered <service-unavailable/> and not delivered (the user
appears offline), the user's own message to the blocked contact refused
with <not-acceptable/> and <blocked xmlns='urn:xmpp:blocking:errors'/>,
an empty <block/> refused with <bad-request/>, and unblock (push,
delivery restored). Prints TAP."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from imlib import C, Cli, DOMAIN, Site, err_cond, is_iq, is_message, run, shows  # noqa: E402
from parley import Suite, Tap  # noqa: E402

NS = "urn:xmpp:blocking"
B = "{%s}" % NS
t = Tap()
suite = Suite("im-blocking")
site = Site(suite, t, ["alice", "bob"])
ALICE, BOB = f"alice@{DOMAIN}", f"bob@{DOMAIN}"


def items(el, what="blocklist"):
    q = el.find(B + what) if el is not None else None
    return None if q is None else sorted(i.get("jid") for i in q.findall(B + "item"))


def is_push(el, what):
    return is_iq(el, "set") and el.find(B + what) is not None


async def scenario():
    a1, a2, bob = Cli(site, "alice", "r1"), Cli(site, "alice", "r2"), Cli(site, "bob", "phone")
    ok = all(await asyncio.gather(a1.login(), a2.login(), bob.login()))
    t.ok(ok, "alice (two resources) and bob log in", site.logs())
    if not ok:
        return
    for c in (a1, a2, bob):
        c.presence()
        await c.sync()

    info = await a1.iq("get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", to=DOMAIN)
    feats = [f.get("var") for f in info.iter("{http://jabber.org/protocol/disco#info}feature")] \
        if info is not None else []
    t.ok(NS in feats, "XEP-0191 §3.1: the server announces urn:xmpp:blocking", shows([info]))

    res = await a1.iq("get", f"<blocklist xmlns='{NS}'/>")
    t.ok(is_iq(res, "result") and items(res) == [],
         "XEP-0191 §3.2: an empty block list is an empty <blocklist/>", shows([res]))

    res = await a1.iq("set", f"<block xmlns='{NS}'/>")
    t.ok(err_cond(res) == "bad-request", "XEP-0191 §3.3: <block/> without items: bad-request",
         shows([res]))

    a1.mark()
    a2.mark()
    res = await a1.iq("set", f"<block xmlns='{NS}'><item jid='{BOB}'/></block>")
    t.ok(is_iq(res, "result"), "XEP-0191 §3.3: block: result", shows([res]))
    push = await a1.wait(lambda e: is_push(e, "block"))
    t.ok(push is not None and items(push, "block") == [BOB],
         "XEP-0191 §3.3: the block is pushed to the resource that asked for the list",
         shows(a1.since()))
    await a2.sync()
    t.ok(not a2.seen(lambda e: is_push(e, "block")),
         "no push to a resource that never asked for the list", shows(a2.since()))
    res = await a2.iq("get", f"<blocklist xmlns='{NS}'/>")
    t.ok(items(res) == [BOB], "XEP-0191 §3.2: the list now holds bob", shows([res]))

    # bob → alice: alice appears offline.
    bob.mark()
    a1.mark()
    a2.mark()
    bob.message(ALICE, "can you hear me", mid="b1")
    err = await bob.wait(lambda e: e.get("id") == "b1" and e.get("type") == "error")
    t.ok(err_cond(err) == "service-unavailable",
         "XEP-0191 §3.3: a blocked contact's message is answered <service-unavailable/>",
         shows(bob.since()))
    await asyncio.sleep(0.3)
    t.ok(not a1.seen(lambda e: is_message(e, body="can you hear me"))
         and not a2.seen(lambda e: is_message(e, body="can you hear me")),
         "the blocked contact's message is not delivered", shows(a1.since() + a2.since()))
    res = await bob.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=f"{ALICE}/r1")
    t.ok(err_cond(res) == "service-unavailable",
         "XEP-0191 §3.3: a blocked contact's iq is answered <service-unavailable/>", shows([res]))

    # alice → bob: refused with <blocked/>.
    a1.mark()
    bob.mark()
    a1.message(BOB, "hello?", mid="a1")
    err = await a1.wait(lambda e: e.get("id") == "a1" and e.get("type") == "error")
    e = err.find(C + "error") if err is not None else None
    t.ok(err_cond(err) == "not-acceptable" and e is not None and e.get("type") == "cancel"
         and e.find("{urn:xmpp:blocking:errors}blocked") is not None,
         "XEP-0191 §3.3: a message to a blocked contact: <not-acceptable/> with <blocked/>",
         shows(a1.since()))
    await asyncio.sleep(0.3)
    t.ok(not bob.seen(lambda e: is_message(e, body="hello?")),
         "the message to the blocked contact is not routed", shows(bob.since()))

    # Unblock: push, delivery restored.
    a1.mark()
    res = await a1.iq("set", f"<unblock xmlns='{NS}'><item jid='{BOB}'/></unblock>")
    push = await a1.wait(lambda e: is_push(e, "unblock"))
    t.ok(is_iq(res, "result") and push is not None and items(push, "unblock") == [BOB],
         "XEP-0191 §3.4: unblock: result and push", shows(a1.since()))
    a1.mark()
    bob.message(ALICE, "now?", mid="b2")
    got = await a1.wait(lambda e: is_message(e, body="now?"))
    t.ok(got is not None, "XEP-0191 §3.4: after unblocking, the contact's messages arrive",
         shows(a1.since()))
    bob.mark()
    a1.message(BOB, "yes", mid="a2")
    got = await bob.wait(lambda e: is_message(e, body="yes"))
    t.ok(got is not None, "and the user's messages reach the contact", shows(bob.since()))
    for c in (a1, a2, bob):
        await c.close()


err = run(scenario, 60)
t.ok(err is None, "the scenario ran to its end", repr(err) + "\n" + site.logs())
t.ok(site.sm.alive(), "sm is still running", site.logs())
t.done()
