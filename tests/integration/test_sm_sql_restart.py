#!/usr/bin/python3
# tests/run: early (one of the longest: started first so the others fill in beside it)
"""test_sm_sql_restart.py — sm on MariaDB and on PostgreSQL while the
database server goes away under traffic (storage.sql.hold, sm's core
thread; doc/storage.md):

1. restart in the middle of traffic: alice sends numbered messages to bob,
   who is offline (each one is an offline-store write), and adds roster
   items (writes too), while the database server is stopped for about two
   seconds and started again; no sender sees an error, and when bob comes
   online he gets every message exactly once, in order; the roster has
   every item; sm answers pings, roster gets and disco afterwards;
2. meanwhile sm's loop keeps serving: a client that only pings sm while
   the database is down gets an answer once its turn comes, and c2s never
   loses the router link to sm (sm stays bound);
3. a server away longer than the hold: a roster set gets an error (type
   wait, internal-server-error) and a message to an offline user is
   bounced — never a silent success — and once the server is back both
   work again.

Prints TAP; each driver's lines are prefixed with its name.
"""
import asyncio
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import dbserver  # noqa: E402
import imlib  # noqa: E402
from imlib import C, Cli, DOMAIN, err_cond, is_message, items, run, shows, text  # noqa: E402
from parley import Suite, Tap  # noqa: E402

N = 60            # messages in the restart run
# storage.sql.hold the configurations get (parley.py): long enough for a
# server's stop, 2 s and start on a busy machine (over 5 s seen under the
# sanitizers with other tests beside).
HOLD_S = 8
os.environ["PARLEY_TEST_SQL_HOLD"] = f"{HOLD_S}s"
t = Tap()


def body(el):
    return text(el, C + "body")


def scenario_for(kind, db, site):
    ALICE = f"alice@{DOMAIN}"
    BOB = f"bob@{DOMAIN}"

    async def scenario():
        alice = Cli(site, "alice", "a1")
        carol = Cli(site, "carol", "c1")
        ok = await alice.login() and await carol.login()
        t.ok(ok, f"[{kind}] alice and carol log in", site.logs())
        if not ok:
            return
        await alice.roster_get()
        alice.presence()
        carol.presence()
        await alice.sync()

        # --- 1. restart under traffic ------------------------------------
        alice.mark()
        restarted = threading.Event()

        def bounce_server():
            time.sleep(0.3)
            db.stop()
            time.sleep(2.0)
            db.start()
            restarted.set()

        th = threading.Thread(target=bounce_server)
        th.start()
        roster_answers = []
        for i in range(1, N + 1):
            alice.message(BOB, f"n{i}", mid=f"n{i}")
            if i % 10 == 0:
                r = await alice.roster_set(f"friend{i}@{DOMAIN}", name=f"F{i}",
                                           timeout=HOLD_S + 10)
                roster_answers.append(r)
            await asyncio.sleep(0.05)
        th.join()
        r = await alice.sync(timeout=HOLD_S + 15)
        t.ok(r is not None and r.get("type") == "result",
             f"[{kind}] after the restart sm answers a ping that waited behind the held writes",
             shows(alice.since()) + site.logs())
        errs = alice.seen(lambda e: e.get("type") == "error")
        t.ok(restarted.is_set() and not errs,
             f"[{kind}] the server restarted mid-traffic; no message or roster set got an error",
             shows(errs) + site.logs())
        t.ok(len(roster_answers) == N // 10 and all(a is not None and a.get("type") == "result"
                                                   for a in roster_answers),
             f"[{kind}] every roster set issued around the restart was done",
             shows([a for a in roster_answers if a is not None]))

        bob = Cli(site, "bob", "b1")
        t.ok(await bob.login(), f"[{kind}] bob logs in after the restart", site.logs())
        bob.mark()
        bob.presence()
        got = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            got = [body(e) for e in bob.seen(lambda e: is_message(e) and (e.get("from") or "").startswith(ALICE + "/"))]
            if len(got) >= N:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        got = [body(e) for e in bob.seen(lambda e: is_message(e) and (e.get("from") or "").startswith(ALICE + "/"))]
        want = [f"n{i}" for i in range(1, N + 1)]
        lost = [w for w in want if w not in got]
        dup = len(got) - len(set(got))
        print(f"# [{kind}] sent {N}, delivered {len(got)}, lost {len(lost)}, duplicated {dup}",
              flush=True)
        t.ok(got == want, f"[{kind}] bob gets all {N} messages once each, in order "
             f"(lost {len(lost)}, duplicated {dup})", f"missing {lost[:10]}; got {got[:80]}")
        r = await alice.roster_get()
        jids = {it.get("jid") for it in items(r)} if r is not None else set()
        t.ok(all(f"friend{i}@{DOMAIN}" in jids for i in range(10, N + 1, 10)),
             f"[{kind}] the roster holds every item set around the restart", shows([r]))

        # --- 2./3. away longer than the hold --------------------------------
        await bob.close()
        await asyncio.sleep(0.5)
        db.stop()
        carol.mark()
        start = time.monotonic()
        ping = asyncio.ensure_future(carol.sync(timeout=HOLD_S + 15))
        alice.mark()
        r = await alice.roster_set(f"late@{DOMAIN}", name="Late", timeout=HOLD_S + 15)
        took = time.monotonic() - start
        t.ok(r is not None and r.get("type") == "error" and err_cond(r) == "internal-server-error",
             f"[{kind}] server away past the hold: a roster set gets internal-server-error "
             f"({took:.1f}s)", shows([r] if r is not None else []) + site.logs())
        t.ok(took < HOLD_S + 8, f"[{kind}] ... within the hold and a margin ({took:.1f}s)")
        alice.mark()
        alice.message(BOB, "while-away", mid="away")
        e = await alice.wait(lambda e: e.get("id") == "away" and e.get("type") == "error",
                             timeout=HOLD_S + 15)
        t.ok(e is not None and err_cond(e) == "internal-server-error" and
             e.find(f"{C}error").get("type") == "wait",
             f"[{kind}] a message to offline bob the store cannot keep is bounced "
             "(not silently dropped) with internal-server-error (wait), not as if bob did "
             "not exist", shows(alice.since()))
        p = await ping
        t.ok(p is not None and p.get("type") == "result",
             f"[{kind}] a ping queued behind them is answered", shows(carol.since()))
        t.ok(site.sm.alive() and f"bound {DOMAIN}" in site.sm.log(),
             f"[{kind}] sm kept running and bound", site.logs())
        db.start()
        r = await alice.roster_set(f"back@{DOMAIN}", name="Back", timeout=HOLD_S + 15)
        t.ok(r is not None and r.get("type") == "result",
             f"[{kind}] the server back: a roster set works again", shows([r] if r else []))
        alice.mark()
        alice.message(BOB, "after", mid="after")
        await alice.sync()
        t.ok(not alice.seen(lambda e: e.get("type") == "error"),
             f"[{kind}] ... and a message to offline bob is kept again", shows(alice.since()))
        await alice.close()
        await carol.close()

    return scenario


def main():
    suite = Suite("sm-sql-restart")
    kinds = os.environ.get("PARLEY_TEST_SQL_KINDS", "mysql pgsql")
    for kind in kinds.split():
        db = dbserver.server(kind, suite.path(kind))
        try:
            db.start()
        except Exception as e:  # noqa: BLE001
            t.ok(False, f"[{kind}] the database server starts", str(e))
            continue
        os.environ["PARLEY_TEST_DB"] = f"{kind}:{db.dir}:{db.port}"
        sub = Suite(f"sm-sql-restart-{kind}")
        site = imlib.Site(sub, t, ["alice", "bob", "carol"])
        err = run(scenario_for(kind, db, site), 180)
        t.ok(err is None, f"[{kind}] the scenario ran to its end", repr(err))
        t.ok(site.sm.alive(), f"[{kind}] sm is still running", site.logs())
        sub.cleanup()
        db.stop()
    tap_done = t.done
    tap_done()


if __name__ == "__main__":
    main()
