#!/usr/bin/python3
"""test_user_del.py — `parleyctl user del` on a running suite: the account
and its data go from the store, and sm is told (USER_DELETED through the
router), so the user's open sessions end with <not-authorized/> at once
and the user cannot log in again; another user is not disturbed. The
user's contacts see the resources go unavailable and lose both halves of
their subscriptions (RFC 6121 §2.5.2), a pending request is refused. With
the suite stopped, the same command still deletes and says nothing of sm.
Prints TAP."""
import asyncio
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from imlib import Cli, DOMAIN, Site, is_presence, is_push, item_of, run, shows, sub_of  # noqa: E402
from parley import BUILD, Suite, Tap, wait_until  # noqa: E402

t = Tap()
suite = Suite("user-del")
site = Site(suite, t, ["alice", "bob", "carol"])


def ctl(*args):
    return subprocess.run([os.path.join(BUILD, "parleyctl"), "-c", site.conf] + list(args),
                          capture_output=True, text=True, timeout=30)


async def scenario():
    alice, alice2, bob = Cli(site, "alice", "a"), Cli(site, "alice", "b"), Cli(site, "bob", "b")
    ok = all(await asyncio.gather(alice.login(), alice2.login(), bob.login()))
    t.ok(ok, "alice (two resources) and bob log in", site.logs())
    if not ok:
        return
    for c in (alice, alice2, bob):
        c.presence()
    carol = Cli(site, "carol", "c")
    t.ok(await carol.login(), "carol logs in", site.logs())
    carol.presence()
    # alice and bob: both; carol asks alice and gets no answer.
    await bob.roster_get()
    await carol.roster_get()
    alice.presence("subscribe", bob.bare)
    await bob.wait(lambda e: is_presence(e, "subscribe", alice.bare))
    bob.presence("subscribed", alice.bare)
    bob.presence("subscribe", alice.bare)
    await alice.wait(lambda e: is_presence(e, "subscribe", bob.bare))
    alice.presence("subscribed", bob.bare)
    both = await bob.wait(lambda e: is_push(e, alice.bare) and
                          sub_of(item_of(e, alice.bare)) == "both")
    t.ok(both is not None, "bob and alice are subscribed both ways", shows(bob.since()))
    carol.presence("subscribe", alice.bare)
    await alice.wait(lambda e: is_presence(e, "subscribe", carol.bare))
    await asyncio.sleep(0.3)
    bob.mark()
    carol.mark()
    r = await asyncio.get_running_loop().run_in_executor(
        None, lambda: ctl("user", "del", f"alice@{DOMAIN}"))
    t.ok(r.returncode == 0, "parleyctl user del alice: exit 0", r.stdout + r.stderr)
    t.ok("sm ended the sessions of alice@" in r.stdout, "and sm says it ended her sessions",
         r.stdout + r.stderr)
    gone = await asyncio.gather(*(asyncio.wait_for(c.gone.wait(), 5) for c in (alice, alice2)),
                                return_exceptions=True)
    t.ok(all(g is True for g in gone), "both of alice's streams are closed at once", repr(gone))
    errs = [el for c in (alice, alice2) for _, el in c.got
            if el.tag.endswith("}error") and el.find(
                "{urn:ietf:params:xml:ns:xmpp-streams}not-authorized") is not None]
    t.ok(len(errs) == 2, "each with the stream error <not-authorized/>",
         shows([el for _, el in alice.got]))
    t.ok(not bob.gone.is_set(), "bob is still connected")
    ends = await bob.wait_all([lambda e, r=r: is_presence(e, "unavailable", f"{alice.bare}/{r}")
                               for r in ("a", "b")])
    t.ok(all(e is not None for e in ends), "bob sees both of alice's resources go unavailable",
         shows(bob.since()))
    none = await bob.wait(lambda e: is_push(e, alice.bare) and
                          sub_of(item_of(e, alice.bare)) == "none")
    t.ok(none is not None and item_of(none, alice.bare)["ask"] is None,
         "bob's item for alice goes to subscription none (both halves cancelled)",
         shows(bob.since()))
    refused = await carol.wait(lambda e: is_presence(e, "unsubscribed", alice.bare))
    t.ok(refused is not None, "carol's pending request is refused (unsubscribed)",
         shows(carol.since()))
    r = await bob.roster_get()
    t.ok(r is not None and sub_of(item_of(r, alice.bare)) == "none",
         "bob's roster keeps alice with subscription none", shows([r]))
    await carol.close()
    t.ok("account alice@" in site.sm.log() and "2 sessions ended" in site.sm.log(),
         "sm logs the removal", site.sm.log()[-800:])
    again = Cli(site, "alice", "c")
    t.ok(not await again.login(timeout=4), "alice cannot log in again")
    await bob.close()


err = run(scenario, 60)
t.ok(err is None, "the scenario ran to its end", repr(err) + "\n" + site.logs())
t.ok(site.sm.alive(), "sm is still running", site.logs())
r = ctl("user", "list", DOMAIN)
t.ok(f"alice@{DOMAIN}" not in r.stdout.split() and f"bob@{DOMAIN}" in r.stdout.split(),
     "the store lists bob but not alice", r.stdout + r.stderr)

# With sm stopped, the router answers that nobody serves the domain.
site.sm.stop()
wait_until(lambda: not site.sm.alive(), 10)
r = ctl("user", "del", f"carol@{DOMAIN}")
t.ok(r.returncode == 0, "with sm down, parleyctl user del still deletes (exit 0)",
     r.stdout + r.stderr)
t.ok("could not be told" in r.stderr, "and warns that sm could not be told", r.stderr)
t.done()
