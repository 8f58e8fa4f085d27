#!/usr/bin/python3
# tests/run: early (one of the longest: started first so the others fill in beside it)
"""test_fault_restart.py — issue 8's fault tests: kill -9 of sm, of one c2s
instance, of the router and of auth, each ROUNDS times (3), under continuous
traffic, with the whole suite run by parleyd (c2s.instances = 2) as an
operator runs it. Nothing a client was told was accepted may be lost.

The traffic (lib/traffic.py): six accounts, one python3-slixmpp client each,
every pair subscribed to each other's presence; each client sends numbered
chat messages (about 10 a second) to the others' bare JIDs, changes its
presence every two seconds and pings its server every 0.4 s. For each kind
of process, a fresh set of clients runs for a bounded time while the
process is killed ROUNDS times (each kill waits for parleyd to bring the
process back, then a few seconds of traffic); then the clients stop
sending, make sure c2s has read everything they sent (a ping answered
after it), send a last presence, and log in again to empty offline
storage. The test prints, per kind, `sent N, delivered N, lost 0,
duplicated 0` and checks it.

The middle kill of each kind but auth's comes after the process was
stopped (SIGSTOP) for 0.3 s: a process that hangs, then dies. Frames for
it pile up in its socket meanwhile, so the kill is sure to catch frames in
flight (a kill at a random instant of a light load seldom does): those the
sender must still hold and send again, or bounce.

The rule for "got past c2s" (Parley has no XEP-0198 to tell a client): a
message is accepted once a ping the client sent after it on the same
stream was answered (result or error: c2s handles one stream in order, so
an answer proves c2s read and handed on everything before it), unless a
stanza error came back for it — then it is "bounced", which the design
allows ("an error bounced to the sender, never silence"). A message sent on
a stream that died before any later ping was answered (its c2s was
killed) is "unconfirmed": the client cannot know whether c2s read it; it may
be lost, but never delivered twice. An accepted message must reach its
recipient exactly once — live, or from offline storage at the next login —
and in order per sender and recipient.

Per kind, what issue 8 adds:
  - sm: clients stay connected; no message is bounced (the stanzas that
    arrive while sm is away are delivered once it is back); after the last
    restart, sm knows every session again: the last presence reaches every
    contact, and messages go out live (not to offline storage).
  - c2s: the killed instance's clients are disconnected and log in again
    (to either instance); sm ends their old sessions (their contacts see
    them go unavailable); the other instance's clients keep their streams.
  - router: client connections stay open; nothing bounced; presence and
    live delivery work after it.
  - auth: a login in progress when auth dies fails with
    temporary-auth-failure and succeeds on retry once auth is back;
    established sessions are not touched.

Time bounds scale with PARLEY_TIME_FACTOR (3 under ASan; lib/traffic.py);
PARLEY_FAULT_ROUNDS sets the kills per process, PARLEY_FAULT_KINDS
(e.g. "sm,router") which processes. Prints TAP.
"""
import asyncio
import base64
import hashlib
import hmac
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import traffic as T  # noqa: E402
import xmppraw  # noqa: E402
from parley import Suite, Tap  # noqa: E402
from parleydsite import ParleydSite  # noqa: E402

t = Tap()
# Several kills of each; one under the sanitizers (tests/run's second
# pass, which runs everything about three times slower: the suite's time
# budget), where what is looked for is a sanitizer report.
ROUNDS = int(os.environ.get("PARLEY_FAULT_ROUNDS") or (1 if T.SANITIZED else 3))
KINDS = (os.environ.get("PARLEY_FAULT_KINDS") or "sm,c2s,router,auth").split(",")
USERS = [f"u{i}" for i in range(1, 7)]
LEAD = 2.0                 # s of traffic before the first kill
GAP = 1.5 + T.TIME_FACTOR   # s of traffic after a process is back, before the next kill
STALL = 0.3                # s the middle kill's process is stopped before it
LIVE_AFTER = T.scaled(1.5)  # s after the last restart from which delivery must be live
TAIL = LIVE_AFTER + 1.5     # s of traffic after the last restart

suite = Suite("fault-restart")
site = ParleydSite(suite, users=USERS, c2s_instances=2)
up = site.start(T.scaled(20))
t.ok(up, "parleyd runs router, auth, sm, c2s.1, c2s.2 and s2s", site.log()[-3000:])
if not up:
    t.done()


def logtail(n=6000):
    return site.log()[-n:]


async def apoll(pred, timeout, interval=0.05):
    """pred() until true or `timeout` s, without blocking the clients."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        await asyncio.sleep(interval)


async def kill_and_wait(name, stall=0.0):
    """kill -9 `name` (after stopping it for `stall` seconds, if given);
    wait until parleyd has it running (and ready) again. Returns (old pid,
    new pid or 0, seconds it took from the kill, time of the kill)."""
    old = site.pid(name)
    if not old:
        return 0, 0, 0.0, time.monotonic()
    if stall:
        os.kill(old, signal.SIGSTOP)
        await asyncio.sleep(stall)
    t_kill = time.monotonic()
    os.kill(old, signal.SIGKILL)
    back = await apoll(lambda: site.running([name], exclude=(old,)), T.scaled(10))
    took = time.monotonic() - t_kill
    return old, (back or {}).get(name, 0), took, t_kill


def stall_of(i):
    """The middle kill of each kind comes after a stall of STALL seconds
    (SIGSTOP, then SIGKILL): a process that hangs before it dies, the way
    crashes often come. Frames for it pile up in its socket meanwhile, so
    the kill is sure to catch some in flight, which a kill at a random
    instant of a light load seldom does."""
    return STALL if i == ROUNDS // 2 else 0.0


def instances(tr):
    """bare JID -> c2s instance holding its current connection."""
    out = {}
    for c in tr.clients:
        tr_ = getattr(c.x, "transport", None) if c.up else None
        port = tr_.get_extra_info("sockname")[1] if tr_ is not None else None
        out[c.p.bare] = site.instance_of_port(port) if port else None
    return out


async def balance(tr, tries=12):
    """Make sure both c2s instances hold clients: move clients from the
    busier instance (log out after a confirmed ping, log in again; the
    kernel's SO_REUSEPORT hash picks the instance) a bounded number of
    times. Returns the final map."""
    where = instances(tr)
    for _ in range(tries):
        counts = {"c2s.1": 0, "c2s.2": 0}
        for inst in where.values():
            if inst in counts:
                counts[inst] += 1
        if min(counts.values()) >= 2:
            break
        busy = max(counts, key=counts.get)
        c = next(c for c in tr.clients if where[c.p.bare] == busy)
        c.ping()
        await apoll(c.all_confirmed, T.scaled(3))
        await c.close()
        await c.connect(time.monotonic() + T.scaled(10))
        where = instances(tr)
    return where


# --- a login cut by auth's death --------------------------------------------

def scram_first(c, user):
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={user},r={nonce}"
    c.send(f"<auth xmlns='{xmppraw.NS_SASL}' mechanism='SCRAM-SHA-1'>"
           f"{base64.b64encode(('n,,' + first_bare).encode()).decode()}</auth>")
    m = c.expect(r"<challenge[^>]*>([^<]*)</challenge>|<failure.*?</failure>", T.scaled(5))
    if m is None or m.group(1) is None:
        return None, m.group(0) if m else None
    return (first_bare, base64.b64decode(m.group(1)).decode()), None


def scram_final(c, state, password):
    first_bare, server_first = state
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha1", password.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha1").digest()
    stored = hashlib.sha1(client_key).digest()
    final_bare = f"c=biws,r={attrs['r']}"
    auth_msg = f"{first_bare},{server_first},{final_bare}".encode()
    sig = hmac.new(stored, auth_msg, "sha1").digest()
    proof = bytes(a ^ b for a, b in zip(client_key, sig))
    final = f"{final_bare},p={base64.b64encode(proof).decode()}"
    c.send(f"<response xmlns='{xmppraw.NS_SASL}'>{base64.b64encode(final.encode()).decode()}"
           "</response>")


def login_cut_by_auth_kill():
    """Blocking (run in a thread). Start a SCRAM login, kill auth between
    the challenge and the client's answer, and see what the client gets;
    then retry on the same stream until auth is back. Returns a dict."""
    out = {"old": 0, "first": None, "retry": None, "tries": 0, "bound": None}
    c = xmppraw.Client(site.port, timeout=T.scaled(5))
    try:
        if not (c.open_stream() and c.starttls() and c.open_stream()):
            out["first"] = "no stream: " + c.rest()[:300]
            return out
        state, failure = scram_first(c, "u1")
        if state is None:
            out["first"] = f"no challenge: {failure}"
            return out
        out["t_kill"] = time.monotonic()
        out["old"] = site.kill("auth")
        # c2s may fail the exchange as soon as it hears auth is gone; a
        # client that did not notice answers the challenge anyway.
        m = c.expect(r"<failure\b.*?</failure>|<success\b.*?(/>|</success>)", 1.0)
        if m is None:
            scram_final(c, state, "pw-u1")
            m = c.expect(r"<failure\b.*?</failure>|<success\b.*?(/>|</success>)|"
                         r"<stream:error>.*?</stream:error>", T.scaled(5))
        out["first"] = m.group(0) if m else "nothing within the time: " + c.rest()[:300]
        deadline = time.monotonic() + T.scaled(15)
        while time.monotonic() < deadline and not c.eof:
            out["tries"] += 1
            r = c.scram("u1", "pw-u1")
            out["retry"] = r.group(0) if r else "no answer: " + c.rest()[:300]
            if r is not None and r.group(1) == "success":
                break
            time.sleep(0.3)
        if out["retry"] and out["retry"].startswith("<success"):
            c.open_stream()
            out["bound"] = c.bind("probe")
    except OSError as e:
        out["error"] = repr(e)
    finally:
        c.close()
    return out


# --- one kind of fault -------------------------------------------------------

def check_tally(kind, ta):
    print(f"# kill -9 of {kind} x{ROUNDS}: {ta.line()}", flush=True)
    for line in ta.details().splitlines():
        print(f"#   {line}", flush=True)
    what = f"kill -9 of {kind} x{ROUNDS} under traffic"
    t.ok(ta.total_sent >= 100 and ta.sent > 0,
         f"{what}: traffic flowed ({ta.total_sent} messages, {ta.sent} accepted)", ta.details())
    t.ok(ta.lost == 0, f"{what}: every accepted message was delivered (or kept offline): "
         "lost 0", ta.line() + "\n" + ta.details() + "\n" + logtail())
    t.ok(ta.duplicated == 0, f"{what}: nothing delivered twice: duplicated 0",
         ta.line() + "\n" + ta.details())
    t.ok(ta.reordered == 0, f"{what}: in order per sender", ta.details())


async def fault(kind):
    name = {"c2s": None}.get(kind, kind)
    tr = T.Traffic([T.Party(u, site.port) for u in USERS])
    ok = await tr.start()
    t.ok(ok, f"{kind}: six clients log in", f"{tr.failed_logins()}\n{logtail()}")
    if not ok:
        await tr.close()
        return
    if kind == KINDS[0]:
        missing = await tr.subscribe_all()
        t.ok(not missing, "every two users are subscribed to each other's presence", missing)
    if kind == "c2s":
        await balance(tr)
    rounds = []      # per kill: dict
    logins = []      # auth: the cut logins

    async def kills():
        await asyncio.sleep(LEAD)
        for i in range(ROUNDS):
            r = {"i": i + 1}
            if kind == "c2s":
                r["where"] = where_now = instances(tr)
                counts = {}
                for inst in where_now.values():
                    counts[inst] = counts.get(inst, 0) + 1
                # The instance with clients, both holding some if possible;
                # alternate between rounds.
                pick = f"c2s.{1 + i % 2}"
                if not counts.get(pick):
                    pick = "c2s.2" if pick == "c2s.1" else "c2s.1"
                r["name"] = pick
                r["victims"] = [b for b, inst in where_now.items() if inst == pick]
                r["others"] = [b for b, inst in where_now.items() if inst and inst != pick]
                old, new, took, t_kill = await kill_and_wait(pick, stall_of(i))
            elif kind == "auth":
                res = await asyncio.get_running_loop().run_in_executor(
                    None, login_cut_by_auth_kill)
                logins.append(res)
                old, t_kill = res["old"], res.get("t_kill", time.monotonic())
                back = await apoll(lambda: site.running(["auth"], exclude=(old,)), T.scaled(10))
                new = (back or {}).get("auth", 0)
                took = time.monotonic() - t_kill
                r["name"] = "auth"
            else:
                old, new, took, t_kill = await kill_and_wait(name, stall_of(i))
                r["name"] = name
            r.update(old=old, new=new, took=took, t_kill=t_kill, t_back=time.monotonic())
            rounds.append(r)
            if kind == "c2s":
                # Let the others' view settle: everyone back before the next kill.
                await apoll(lambda: all(c.up for c in tr.clients), T.scaled(10))
                if i + 1 < ROUNDS:
                    await balance(tr)
            await asyncio.sleep(GAP if i + 1 < ROUNDS else TAIL)

    t0 = time.monotonic()
    # The traffic runs until the kills are over (the time is bounded by the
    # waits above), plus TAIL.
    run_task = asyncio.ensure_future(tr.run(LEAD + ROUNDS * (GAP + T.scaled(10)) + TAIL))
    await kills()
    tr.sending = False
    await run_task
    ran = time.monotonic() - t0
    await tr.settle()
    missing = await tr.presence_check(kind)
    t_drain = time.monotonic()
    drained = await tr.drain_offline()
    ta = tr.tally()
    await tr.close()

    what = f"kill -9 of {kind}"
    restarted = [r for r in rounds if r["old"] and r["new"] and r["new"] != r["old"]]
    t.ok(len(restarted) == ROUNDS,
         f"{what}: parleyd restarted it each time ({ROUNDS} kills; took "
         + ", ".join(f"{r['took']:.1f}s" for r in rounds) + ")",
         f"{rounds}\n{logtail()}")
    t.ok(drained, f"{what}: every client logs in again at the end (offline storage emptied)",
         tr.failed_logins())
    print(f"# {what}: traffic ran {ran:.1f}s", flush=True)
    check_tally(kind, ta)

    died = tr.disconnects()
    if kind in ("sm", "router", "auth"):
        t.eq(died, [], f"{what}: no client's stream was closed")
        t.eq(ta.bounced, 0, f"{what}: no message bounced with an error (the ones sent while "
             f"it was away were delivered)" if kind != "auth" else
             f"{what}: no message bounced with an error")
        if ta.bounced:
            print(f"#   bounce conditions: {ta.bounce_conditions}", flush=True)
        t.eq(missing, [], f"{what}: afterwards every contact sees each user's last presence")
        # Live delivery after the last restart: messages sent LIVE_AFTER
        # after it reached their recipient before the drain, without <delay/>.
        if rounds:
            late = rounds[-1]["t_back"] + LIVE_AFTER
            n, not_live = live_after(tr, late, t_drain)
            t.ok(n > 0 and not_live == 0,
                 f"{what}: messages sent {LIVE_AFTER:g}s after it is back are delivered live "
                 f"({not_live} of {n} were not)", f"{logtail()}")
    elif kind == "c2s":
        victims = [(r["name"], b) for r in rounds for b in r["victims"]]
        t.ok(all(r["victims"] and r["others"] for r in rounds),
             f"{what}: each kill hit an instance with clients while the other held some too",
             [(r["name"], r["where"]) for r in rounds])
        died_ok = all(any(d[0] == b and d[1] >= r["t_kill"] for d in died)
                      for r in rounds for b in r["victims"])
        t.ok(died_ok, f"{what}: its clients are disconnected", (died, rounds))
        strays = [d for d in died for r in rounds
                  if r["t_kill"] <= d[1] <= r["t_back"] + 1 and d[0] in r["others"]]
        t.eq(strays, [], f"{what}: the other instance's clients keep their streams")
        relog = all(any(g_t > r["t_kill"] for g_t, _, _ in tr.by_bare[b].logins)
                    for r in rounds for b in r["victims"])
        t.ok(relog, f"{what}: its clients log in again ({len(victims)} logins after kills)",
             [(c.p.bare, c.logins, c.login_failures) for c in tr.clients])
        # sm ended their sessions: a contact on the other instance saw the
        # old resource go unavailable.
        unseen = []
        for r in rounds:
            for b in r["victims"]:
                old_res = [f"{b}/g{g}" for t_, g, _ in tr.by_bare[b].deaths if t_ >= r["t_kill"]]
                seen = any(frm in old_res and at >= r["t_kill"]
                           for o in r["others"] for at, frm in tr.by_bare[o].unavailable)
                if not seen:
                    unseen.append((r["i"], b))
        t.eq(unseen, [], f"{what}: sm ends their sessions (contacts see them go unavailable)")
        t.eq(missing, [], f"{what}: afterwards every contact sees each user's last presence")
    if kind == "auth":
        for i, res in enumerate(logins, 1):
            first = res.get("first") or ""
            t.ok("temporary-auth-failure" in first,
                 f"{what}, kill {i}: the login in progress fails with temporary-auth-failure",
                 res)
            t.ok((res.get("retry") or "").startswith("<success") and
                 (res.get("bound") or "").startswith("u1@example.test/"),
                 f"{what}, kill {i}: and succeeds on retry once auth is back "
                 f"({res.get('tries')} tries)", res)
    all_back = site.wait_running(timeout=T.scaled(10))
    t.ok(all_back, f"{what}: afterwards every process runs", site.state())
    print(f"# {what}: done in {time.monotonic() - t0:.1f}s", flush=True)


def live_after(tr, after, before):
    """Messages sent after `after` on streams c2s confirmed (bounced ones
    included): how many, and how many of them did not reach their
    recipient live (without <delay/>) before `before`."""
    n = not_live = 0
    for s in tr.clients:
        for m in s.sent:
            if m.t < after or (m.seq not in s.bounced and m.seq > s.confirmed.get(m.gen, 0)):
                continue
            n += 1
            r = tr.by_bare.get(m.to)
            if not any(q == m.seq and frm == s.p.bare and not dly and at < before
                       for at, frm, q, dly, _ in r.received):
                not_live += 1
    return n, not_live


for kind in KINDS:
    t_kind = time.monotonic()
    _, err = T.run(lambda: fault(kind), 60 + ROUNDS * T.scaled(30))
    t.ok(err is None, f"kill -9 of {kind}: the scenario ran to its end",
         repr(err) + "\n" + logtail(2000))
    # A process that failed would spoil the next kind: note it and go on.
    if not site.wait_running(timeout=T.scaled(10)):
        t.ok(False, f"after kill -9 of {kind}: the suite is whole again", site.state())

parleyd_log = site.log()
t.ok(not re.search(r"GIVING UP", parleyd_log), "parleyd never gave up on a process")
t.eq(site.stop(), 0, "parleyd stops cleanly (SIGTERM)")
t.done()
