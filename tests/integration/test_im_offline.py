#!/usr/bin/python3
"""test_im_offline.py — offline messages (XEP-0160) with delayed-delivery
stamps (XEP-0203), through real slixmpp clients on router+auth+sm+c2s
with sm.offline.quota = 3: messages to a user with no available resource
are kept; beyond the quota the sender gets <service-unavailable/> (never
a silent drop); a message of chat states only is not kept and not
answered; when the user sends initial presence with a non-negative
priority the kept messages arrive in order, each with
<delay xmlns='urn:xmpp:delay' from='example.test' stamp='…Z'/>, and are
not delivered a second time. Prints TAP."""
import asyncio
import functools
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import imlib  # noqa: E402
from c2slib import Site as C2SSite  # noqa: E402
from imlib import C, Cli, DOMAIN, err_cond, is_message, run, shows, text  # noqa: E402
from parley import Suite, Tap  # noqa: E402

QUOTA = 3
DELAY = "{urn:xmpp:delay}delay"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

t = Tap()
suite = Suite("im-offline")
# imlib's Site builds the default config; this test needs a small quota.
imlib.C2SSite = functools.partial(C2SSite, top=f"sm = {{ offline = {{ quota = {QUOTA}; }}; }};")
site = imlib.Site(suite, t, ["alice", "bob"])
ALICE = f"alice@{DOMAIN}"


def body(el):
    return text(el, C + "body")


async def scenario():
    bob = Cli(site, "bob", "phone")
    t.ok(await bob.login(), "bob logs in", site.logs())
    bob.presence()
    await bob.sync()

    # Alice has no session: the first QUOTA messages are kept, silently.
    bob.mark()
    for i in range(1, QUOTA + 1):
        bob.message(ALICE, f"m{i}", mid=f"m{i}")
    await bob.sync()
    errs = bob.seen(lambda e: e.tag == C + "message" and e.get("type") == "error")
    t.ok(not errs, f"XEP-0160 §2: {QUOTA} messages to an offline user are stored without error",
         shows(errs))

    # A chat state alone is neither kept nor answered.
    bob.mark()
    bob.send(f"<message xmlns='jabber:client' to='{ALICE}' type='chat' id='cs'>"
             "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
    await bob.sync()
    t.ok(not bob.seen(lambda e: e.get("id") == "cs"),
         "XEP-0160 §3: a message of chat states only is not stored and not answered",
         shows(bob.since()))

    # One more than the quota: the sender hears it was not delivered.
    bob.mark()
    bob.message(ALICE, "over", mid="over")
    err = await bob.wait(lambda e: e.tag == C + "message" and e.get("id") == "over"
                         and e.get("type") == "error")
    t.ok(err_cond(err) == "service-unavailable",
         "XEP-0160 §2: beyond the quota the sender gets <service-unavailable/>",
         shows(bob.since()))

    # Alice logs in; nothing before initial presence.
    alice = Cli(site, "alice", "laptop")
    t.ok(await alice.login(), "alice logs in", site.logs())
    await alice.sync()
    t.ok(not alice.seen(lambda e: is_message(e)),
         "nothing is delivered before initial presence", shows(alice.since()))
    alice.mark()
    alice.presence(priority=1)
    await alice.wait(lambda e: is_message(e, body=f"m{QUOTA}"), timeout=5)
    await asyncio.sleep(0.3)
    got = [e for e in alice.since() if is_message(e) and e.get("type") != "error"]
    t.ok([body(e) for e in got] == [f"m{i}" for i in range(1, QUOTA + 1)],
         "XEP-0160 §2: on initial presence the stored messages arrive, in order, "
         "and the refused one is not among them", shows(got))
    delays = [e.find(DELAY) for e in got]
    t.ok(got and all(d is not None and d.get("from") == DOMAIN and STAMP.match(d.get("stamp") or "")
                     for d in delays),
         "XEP-0203: each carries <delay xmlns='urn:xmpp:delay' from='example.test' "
         "stamp='…Z'/>", shows(got))
    t.ok(got and all(e.get("from") == "bob@example.test/phone" for e in got),
         "the sender's full JID is kept", shows(got))
    await alice.close()

    # Delivered once: a new login gets nothing again.
    again = Cli(site, "alice", "tablet")
    t.ok(await again.login(), "alice logs in again", site.logs())
    again.presence(priority=1)
    await again.sync()
    await asyncio.sleep(0.5)
    t.ok(not again.seen(lambda e: is_message(e) and e.find(DELAY) is not None),
         "delivered messages are deleted: not delivered a second time", shows(again.since()))
    await again.close()
    await bob.close()


err = run(scenario, 60)
t.ok(err is None, "the scenario ran to its end", repr(err) + "\n" + site.logs())
t.ok(site.sm.alive(), "sm is still running", site.logs())
t.done()
