#!/usr/bin/python3
# tests/run: alone (kills processes under steady traffic and waits for them back)
"""test_fault_s2s.py — issue 8's s2s fault test: kill -9 of parley-s2s,
ROUNDS times (3), under continuous traffic between Parley users and the
users of a real remote server, with Parley run by parleyd.

a.test is Parley (router, auth, sm, c2s, s2s under parleyd; lib/parleydsite.py),
p.test is Debian's Prosody (lib/prosody.py); each routes the other's domain to
its loopback s2s port, and they authenticate each other with Server Dialback
(neither trusts the other's certificate). alice and carol on a.test, bob and
dave on p.test (python3-slixmpp, lib/traffic.py) send numbered chat
messages across (each a.test user to both p.test users and the other way
round, about 5 a second each) with directed presence now and then, while
s2s is killed and parleyd starts it again.

What is checked, by lib/traffic.py's rules (its docstring):
  - outgoing (a.test -> p.test), Parley's promise: "queued stanzas are
    delivered or bounced, never lost". Every message c2s took (a ping
    answered after it) and that did not come back as a stanza error reached
    its recipient on Prosody exactly once, in order. Messages sent while
    s2s is away may come back as errors (remote-server-not-found): allowed.
  - incoming (p.test -> a.test): Prosody has no stream management on s2s,
    so a stanza it wrote to a connection that then died is not Parley's to
    answer for; the tally is printed, and what must hold is: nothing
    delivered twice, in order, and the remote stream is set up again after
    each restart (messages sent after it arrive).
  - the outgoing stream is set up again after each restart too; the Parley
    clients' own streams are never closed; Prosody keeps running.
Prints `sent N, delivered N, lost 0, duplicated 0` for each direction, and
TAP. Skipped without /usr/bin/prosody.
"""
import asyncio
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import traffic as T  # noqa: E402
from parley import Suite, Tap  # noqa: E402
from parleydsite import ParleydSite  # noqa: E402
from prosody import Prosody  # noqa: E402
from testca import TestCA  # noqa: E402

t = Tap()
# Several kills; two under the sanitizers (tests/run's second pass, which
# runs everything about three times slower: the suite's time budget), where
# what is looked for is a sanitizer report. Two: the last kill must follow
# a restart (it hits the new s2s setting up its stream).
ROUNDS = int(os.environ.get("PARLEY_FAULT_ROUNDS") or (2 if T.SANITIZED else 3))
LEAD = T.scaled(3.0)       # s of traffic before the first kill (streams set up)
GAP = 3.0 + 2 * T.TIME_FACTOR  # s of traffic after s2s is back, before the next kill
A_USERS, P_USERS = ["alice", "carol"], ["bob", "dave"]
A_JIDS = {f"{u}@a.test" for u in A_USERS}
P_JIDS = {f"{u}@p.test" for u in P_USERS}

if not os.path.exists("/usr/bin/prosody"):
    t.skip("kill -9 of s2s under traffic with a Prosody peer",
           "prosody is not installed (tools/install-deps --test)")
    t.done()

suite = Suite("fault-s2s")
ca = TestCA(suite.path("pki"))
stranger = TestCA(suite.path("pki-stranger"), name="Unrelated CA")
P = Prosody(suite, "p.test", ca=ca, cafile=stranger.cert)
site = ParleydSite(suite, users=A_USERS, domain="a.test", c2s_instances=1,
                   s2s_routes={"p.test": P.s2s_port})
P.route("a.test", site.s2s_port)
try:
    for u in P_USERS:
        P.register(u, f"pw-{u}")
    P.start()
    prosody_ok = True
except RuntimeError as e:
    prosody_ok = False
    t.ok(False, "Prosody for p.test starts", e)
if not prosody_ok:
    t.done()
up = site.start(T.scaled(20))
t.ok(up, "parleyd runs router, auth, sm, c2s and s2s for a.test", site.log()[-3000:])
if not up:
    t.done()


def logs(n=4000):
    return ("[a.test] " + site.log()[-n:] + "\n[p.test prosody] " + P.log()[-n // 2:])


async def apoll(pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        await asyncio.sleep(interval)


class LogWatch:
    """Looks for a pattern in what a log file gained after `pos`."""

    def __init__(self, path, pos):
        self.path, self.pos, self.text = path, pos, ""

    def seen(self, pattern):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                more = f.read()
        except OSError:
            more = b""
        self.pos += len(more)
        self.text += more.decode(errors="replace")
        return re.search(pattern, self.text) is not None


def delivered_between(tr, senders, t_from, t_to):
    """Messages from `senders` sent in [t_from, t_to) that reached their
    recipient (any time)."""
    got = set()
    for r in tr.clients:
        for _, frm, seq, _, _ in r.received:
            got.add((frm, seq))
    n = 0
    for s in tr.clients:
        if s.p.bare not in senders:
            continue
        n += sum(1 for m in s.sent if t_from <= m.t < t_to and (s.p.bare, m.seq) in got)
    return n


async def scenario():
    parties = ([T.Party(u, site.port, "a.test", to=sorted(P_JIDS)) for u in A_USERS] +
               [T.Party(u, P.c2s_port, "p.test", to=sorted(A_JIDS)) for u in P_USERS])
    tr = T.Traffic(parties, rate=5.0, presence_every=2.0, directed_presence=True)
    ok = await tr.start()
    t.ok(ok, "alice and carol log in on Parley, bob and dave on Prosody",
         f"{tr.failed_logins()}\n{logs()}")
    if not ok:
        await tr.close()
        return
    rounds = []

    async def kills():
        """Kills 1..ROUNDS-1 hit a settled s2s; the last one hits the s2s
        that has just come back, the moment it starts setting up its
        stream to p.test (stanzas wait in the pair's queue then)."""
        await asyncio.sleep(LEAD)
        for i in range(ROUNDS):
            r = {"i": i + 1, "setup": i + 1 == ROUNDS and i > 0}
            if r["setup"]:
                pid = rounds[-1]["new"]
                watch = LogWatch(site.proc.log_path, rounds[-1]["t_kill_pos"])
                r["seen"] = await apoll(lambda: watch.seen(
                    rf"parley-s2s\[{pid}\] debug: a\.test -> p\.test: new stream"),
                    T.scaled(5), 0.005)
            r["t_kill_pos"] = os.path.getsize(site.proc.log_path)
            r["t_kill"] = time.monotonic()
            old = r["old"] = site.kill("s2s")
            back = await apoll(lambda: site.running(["s2s"], exclude=(old,)), T.scaled(10))
            r["new"] = (back or {}).get("s2s", 0)
            r["t_back"] = time.monotonic()
            r["took"] = r["t_back"] - r["t_kill"]
            rounds.append(r)
            if i + 2 == ROUNDS:
                continue  # the next kill comes at once
            await asyncio.sleep(GAP)

    t0 = time.monotonic()
    run_task = asyncio.ensure_future(tr.run(LEAD + ROUNDS * (GAP + T.scaled(10))))
    await kills()
    tr.sending = False
    await run_task
    ran = time.monotonic() - t0
    await tr.settle(T.scaled(20))
    drained = await tr.drain_offline(T.scaled(25))
    await tr.close()

    what = "kill -9 of s2s"
    print(f"# {what}: traffic ran {ran:.1f}s", flush=True)
    t.ok(len(rounds) == ROUNDS and all(r["old"] and r["new"] and r["new"] != r["old"]
                                       for r in rounds),
         f"{what}: parleyd restarted it each time ({ROUNDS} kills; took "
         + ", ".join(f"{r['took']:.1f}s" for r in rounds) + ")", f"{rounds}\n{logs()}")
    t.ok(drained, f"{what}: every client logs in again at the end", tr.failed_logins())
    died = [d for d in tr.disconnects() if d[0] in A_JIDS]
    t.eq(died, [], f"{what}: no Parley client's stream was closed")

    out = tr.tally(senders=A_JIDS)
    print(f"# {what} x{ROUNDS}, a.test -> p.test: {out.line()}", flush=True)
    for line in out.details().splitlines():
        print(f"#   {line}", flush=True)
    t.ok(out.total_sent >= 50 and out.sent > 0,
         f"{what}: outgoing traffic flowed ({out.total_sent} messages, {out.sent} accepted)",
         out.details())
    t.ok(out.lost == 0, f"{what}: outgoing: every accepted message delivered or bounced, "
         "none lost", out.line() + "\n" + out.details() + "\n" + logs())
    t.ok(out.duplicated == 0, f"{what}: outgoing: nothing delivered twice", out.details())
    t.ok(out.reordered == 0, f"{what}: outgoing: in order per sender", out.details())

    inc = tr.tally(senders=P_JIDS)
    print(f"# {what} x{ROUNDS}, p.test -> a.test: {inc.line()}", flush=True)
    for line in inc.details().splitlines():
        print(f"#   {line}", flush=True)
    t.ok(inc.total_sent >= 50 and inc.delivered > 0,
         f"{what}: incoming traffic flowed ({inc.total_sent} messages, {inc.delivered} "
         "delivered)", inc.details())
    t.ok(inc.duplicated == 0, f"{what}: incoming: nothing delivered twice", inc.details())
    t.ok(inc.reordered == 0, f"{what}: incoming: in order per sender", inc.details())

    # Streams set up again after each restart: messages sent in the second
    # half of the gap after it (time for dialback) arrived, both ways.
    setup = [r for r in rounds if r["setup"]]
    t.ok(setup and setup[0].get("seen"),
         f"{what}: one kill hit s2s while it set up its stream to p.test (stanzas queued)",
         rounds)
    for r in rounds:
        if r["i"] + 1 == ROUNDS and ROUNDS > 1:
            continue  # killed again at once: no gap to look at
        t_from = r["t_back"] + GAP / 2
        t_to = r["t_back"] + GAP
        n_out = delivered_between(tr, A_JIDS, t_from, t_to)
        n_in = delivered_between(tr, P_JIDS, t_from, t_to)
        t.ok(n_out > 0 and n_in > 0,
             f"{what}, kill {r['i']}: the streams are set up again (messages both ways arrive "
             f"after the restart: {n_out} out, {n_in} in)", logs())


_, err = T.run(scenario, 60 + ROUNDS * T.scaled(40))
t.ok(err is None, "the scenario ran to its end", repr(err) + "\n" + logs(2000))
t.ok(P.alive(), "Prosody still runs", P.log()[-2000:])
t.ok(site.wait_running(timeout=T.scaled(10)), "every Parley process runs", site.state())
t.ok(not re.search(r"GIVING UP", site.log()), "parleyd never gave up on a process")
t.eq(site.stop(), 0, "parleyd stops cleanly (SIGTERM)")
t.done()
