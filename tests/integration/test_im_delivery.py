#!/usr/bin/python3
"""test_im_delivery.py — the server's delivery rules of RFC 6121 §8.5 (and
RFC 6120 §8.4 for iqs nobody understands), through real slixmpp clients on
router+auth+sm+c2s: bare-JID messages by priority, negative priorities,
headline to every non-negative resource, full JIDs that do not exist,
groupchat to a bare JID, users that do not exist, unknown iq payloads.
Written from the RFC, not from Parley's code. Prints TAP."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from imlib import C, Cli, DOMAIN, Site, err_cond, is_message, new_id, run, shows  # noqa: E402
from parley import Suite, Tap  # noqa: E402

t = Tap()
suite = Suite("im-delivery")
site = Site(suite, t, ["alice", "bob", "carol"])
ALICE, BOB, CAROL = (f"{u}@{DOMAIN}" for u in ("alice", "bob", "carol"))
SETTLE = 0.5


async def online(user, res, prio):
    c = Cli(site, user, res)
    if not await c.login():
        return None
    c.presence(priority=prio)
    await c.sync()
    return c


def got_body(c, body):
    return c.seen(lambda e: is_message(e, body=body))


async def send_and_settle(sender, to, body, typ, watchers, expect=()):
    """Send a message; wait until each of `expect` has it, then SETTLE so a
    copy to anybody else would have arrived too."""
    for w in watchers:
        w.mark()
    sender.mark()
    sender.message(to, body, typ)
    for w in expect:
        await w.wait(lambda e: is_message(e, body=body))
    await sender.sync()
    await asyncio.sleep(SETTLE)


def error_back(sender, typ="message"):
    return sender.seen(lambda e: e.tag == C + typ and e.get("type") == "error")


async def scenario():
    a1 = await online("alice", "a1", 0)
    b5 = await online("bob", "b5", 5)
    b1 = await online("bob", "b1", 1)
    ok = a1 and b5 and b1
    t.ok(ok, "alice and two resources of bob (priorities 5 and 1) are online", site.logs())
    if not ok:
        return
    bobs = [b5, b1]

    # §8.5.2.1.1 chat to the bare JID: the "most available" resource (highest priority);
    # (b) "all non-negative resources that opted in" needs an opt-in nobody made here.
    await send_and_settle(a1, BOB, "chat-prio", "chat", bobs, expect=[b5])
    m = got_body(b5, "chat-prio")
    t.ok(len(m) == 1, "RFC 6121 §8.5.2.1.1: chat to the bare JID reaches the priority-5 resource",
         shows(b5.since()))
    t.ok(not got_body(b1, "chat-prio"),
         "RFC 6121 §8.5.2.1.1: ... and not the priority-1 one (no opt-in to all chats)",
         shows(b1.since()))
    t.ok(m and m[0].get("to") == BOB,
         "RFC 6121 §8.5.2.1.1: the server does not rewrite 'to' (stays the bare JID)",
         shows(m))
    t.ok(m and m[0].get("from") == ALICE + "/a1", "the message carries alice's full JID",
         shows(m))
    await send_and_settle(a1, BOB, "normal-prio", "normal", bobs)
    t.ok(got_body(b5, "normal-prio"),
         "RFC 6121 §8.5.2.1.1: normal to the bare JID reaches the most available resource "
         "(or all non-negative ones)", shows(b5.since()))

    # Equal priorities: one of them or both (implementation's choice), never none.
    b1.presence(priority=5)
    await b1.sync()
    await send_and_settle(a1, BOB, "chat-tie", "chat", bobs)
    n = len(got_body(b5, "chat-tie")) + len(got_body(b1, "chat-tie"))
    t.ok(n in (1, 2), "RFC 6121 §8.5.2.1.1: chat to the bare JID with two priority-5 resources "
         "reaches one or both of them", f"delivered {n} times")

    # A negative priority resource never gets bare-JID messages.
    bn = await online("bob", "bneg", -1)
    if bn is None:
        t.ok(False, "bob/bneg logs in", site.logs())
        return
    await send_and_settle(a1, BOB, "chat-neg", "chat", bobs + [bn])
    t.ok(not got_body(bn, "chat-neg"),
         "RFC 6121 §8.5.2.1.1: no chat to the bare JID for a negative-priority resource",
         shows(bn.since()))
    await send_and_settle(a1, BOB, "headline", "headline", bobs + [bn], expect=bobs)
    t.ok(got_body(b5, "headline") and got_body(b1, "headline"),
         "RFC 6121 §8.5.2.1.1: a headline to the bare JID reaches every non-negative resource",
         shows(b5.since() + b1.since()))
    t.ok(not got_body(bn, "headline"),
         "RFC 6121 §8.5.2.1.1: ... but not the negative-priority one", shows(bn.since()))
    await send_and_settle(a1, BOB + "/bneg", "full-neg", "chat", [bn], expect=[bn])
    t.ok(got_body(bn, "full-neg"),
         "RFC 6121 §8.5.3.1: a message to the full JID of a negative-priority resource is "
         "delivered", shows(bn.since()))

    # §8.5.2.1.1 groupchat to a bare JID: delivered to nobody, error to the sender.
    await send_and_settle(a1, BOB, "gc-bare", "groupchat", bobs + [bn])
    e = error_back(a1)
    t.ok(not any(got_body(c, "gc-bare") for c in bobs + [bn]),
         "RFC 6121 §8.5.2.1.1: groupchat to a bare JID is delivered to no resource",
         shows(b5.since()))
    t.ok(e and err_cond(e[0]) == "service-unavailable",
         "RFC 6121 §8.5.2.1.1: ... and the sender gets an error (SHOULD be service-unavailable)",
         shows(a1.since()))

    # Only negative resources left.
    await b5.close()
    await b1.close()
    await send_and_settle(a1, BOB, "only-neg", "chat", [bn])
    t.ok(not got_body(bn, "only-neg"),
         "RFC 6121 §8.5.2.1.1: with only a negative-priority resource, a chat to the bare JID "
         "is not delivered to it (offline storage or error instead)", shows(bn.since()))

    # §8.5.3.2.1: a full JID that does not match a resource.
    b0 = await online("bob", "b0", 0)
    if b0 is None:
        t.ok(False, "bob/b0 logs in", site.logs())
        return
    await send_and_settle(a1, BOB + "/nowhere", "chat-nores", "chat", [b0, bn], expect=[b0])
    t.ok(got_body(b0, "chat-nores"),
         "RFC 6121 §8.5.3.2.1: chat to a resource that does not exist goes to the one "
         "non-negative resource (treated as the bare JID)", shows(b0.since()))
    t.ok(not got_body(bn, "chat-nores"), "... not to the negative-priority resource",
         shows(bn.since()))
    await send_and_settle(a1, BOB + "/nowhere", "normal-nores", "normal", [b0, bn])
    e = error_back(a1)
    t.ok(not got_body(b0, "normal-nores") and not got_body(bn, "normal-nores"),
         "RFC 6121 §8.5.3.2.1: normal to a resource that does not exist is ignored or "
         "bounced, never given to another resource", shows(b0.since()))
    t.ok(not e or err_cond(e[0]) == "service-unavailable",
         "RFC 6121 §8.5.3.2.1: ... an error, if any, is service-unavailable", shows(e))
    await send_and_settle(a1, BOB + "/nowhere", "hl-nores", "headline", [b0, bn])
    t.ok(not got_body(b0, "hl-nores") and not got_body(bn, "hl-nores"),
         "RFC 6121 §8.5.3.2.1: headline to a resource that does not exist is not given to "
         "another resource", shows(b0.since()))
    a1.mark()
    res = await a1.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=BOB + "/nowhere")
    t.eq(err_cond(res), "service-unavailable",
         "RFC 6121 §8.5.3.2.3: an iq to a full JID that does not exist: service-unavailable")

    # §8.5.2.2.1: groupchat to a bare JID with no available resource.
    await send_and_settle(a1, CAROL, "gc-nobody", "groupchat", [])
    e = error_back(a1)
    t.ok(e and err_cond(e[0]) == "service-unavailable",
         "RFC 6121 §8.5.2.2.1: groupchat to a bare JID with nobody online: error "
         "(SHOULD be service-unavailable)", shows(a1.since()))

    # §8.5.1: users that do not exist.
    ghost = f"ghost@{DOMAIN}"
    await send_and_settle(a1, ghost, "to-ghost", "chat", [])
    e = a1.seen(lambda el: el.tag == C + "message")
    t.ok(not e or (len(e) == 1 and err_cond(e[0]) == "service-unavailable"),
         "RFC 6121 §8.5.1: a message to a user that does not exist: ignored or "
         "service-unavailable", shows(e))
    res = await a1.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=ghost)
    t.eq(err_cond(res), "service-unavailable",
         "RFC 6121 §8.5.1: an iq to a user that does not exist: service-unavailable")
    res = await a1.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=ghost + "/r")
    t.eq(err_cond(res), "service-unavailable",
         "RFC 6121 §8.5.1: an iq to a full JID of a user that does not exist: "
         "service-unavailable")

    # RFC 6120 §8.4 / RFC 6121 §8.5.2.1.3: an iq payload nobody understands.
    ns = "urn:example:parley:nope"
    res = await a1.iq("get", f"<what xmlns='{ns}'/>", to=DOMAIN)
    t.eq(err_cond(res), "service-unavailable",
         "RFC 6120 §8.4: an unknown iq namespace to the server: service-unavailable")
    b0.mark()
    res = await a1.iq("get", f"<what xmlns='{ns}'/>", to=BOB)
    t.eq(err_cond(res), "service-unavailable",
         "RFC 6121 §8.5.2.1.3: an unknown iq namespace to an online user's bare JID: "
         "service-unavailable (answered by the server)")
    t.ok(not b0.seen(lambda el: el.tag == C + "iq" and el.find("{%s}what" % ns) is not None),
         "RFC 6121 §8.5.2.1.3: an iq to the bare JID is not delivered to the user's resource",
         shows(b0.since()))
    res = await a1.iq("set", f"<what xmlns='{ns}'/>", to=CAROL)
    t.eq(err_cond(res), "service-unavailable",
         "RFC 6121 §8.5.2.2.3: an unknown iq namespace to an offline user's bare JID: "
         "service-unavailable")
    # An iq with no 'to' is for the user's own account (RFC 6120 §10.3.3): same rule.
    res = await a1.iq("get", f"<what xmlns='{ns}' id='{new_id()}'/>")
    t.eq(err_cond(res), "service-unavailable",
         "RFC 6120 §8.4/§10.3.3: an unknown iq namespace with no 'to': service-unavailable")
    for c in (a1, b0, bn):
        await c.close()


err = run(scenario, 55)
t.ok(err is None, "the scenario ran to its end within its time limit", repr(err))
t.ok(site.sm.alive() and site.c2s.alive(), "sm and c2s still run", site.logs())
t.done()
