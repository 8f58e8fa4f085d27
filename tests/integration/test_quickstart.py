#!/usr/bin/python3
"""test_quickstart.py — the README's first command, tools/quickstart, does
what the README says: against the build under test (PARLEY_QUICKSTART_BUILD,
so nothing is built), in a temp site on free ports, it writes a site for
localhost, starts it under parleyd and prints two demo accounts and how to
connect. Both accounts then log in with python3-slixmpp, trusting the
self-signed certificate, subscribe to each other up to 'both', see each
other's presence and exchange a message each way. A second run says Parley
is already running and starts nothing. Everything quickstart started is
stopped by PID at the end, even when a check fails. Prints TAP."""
import os
import re
import signal
import subprocess
import sys
import time
import types

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import imlib  # noqa: E402
from imlib import Cli, is_message, is_presence, item_of, run, shows, sub_of  # noqa: E402
from parley import BUILD, SRC, Suite, Tap, free_port, port_open, wait_until  # noqa: E402

# quickstart's site serves "localhost"; imlib's clients build their JIDs
# from imlib.DOMAIN.
imlib.DOMAIN = "localhost"
ALICE, BOB = "alice@localhost", "bob@localhost"

# A runner's timeout ends the test with SIGTERM: still stop the site.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

t = Tap()
suite = Suite("quickstart")
site_dir = suite.path("site")
conf = os.path.join(site_dir, "parley.conf")
pid_file = os.path.join(site_dir, "run", "parleyd.pid")
C2S, C2S_TLS, COMPONENT = free_port(), free_port(), free_port()
while len({C2S, C2S_TLS, COMPONENT}) < 3:
    C2S_TLS, COMPONENT = free_port(), free_port()

ENV = dict(os.environ, PARLEY_QUICKSTART_BUILD=BUILD, PARLEY_QUICKSTART_SITE=site_dir,
           PARLEY_QUICKSTART_NO_DEPS="1", PARLEY_QUICKSTART_C2S_PORT=str(C2S),
           PARLEY_QUICKSTART_C2S_TLS_PORT=str(C2S_TLS),
           PARLEY_QUICKSTART_COMPONENT_PORT=str(COMPONENT))


def quickstart(n):
    """Run tools/quickstart; (exit status, output). Output goes to a file, not
    a pipe, so a daemon that kept it open could not hang the test."""
    out_path = suite.path(f"quickstart-{n}.log")
    with open(out_path, "wb") as out:
        try:
            rc = subprocess.run([os.path.join(SRC, "tools", "quickstart")],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=ENV, cwd=suite.dir, timeout=120).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    with open(out_path, errors="replace") as f:
        return rc, f.read()


def ours():
    """PIDs of the processes running this site: parleyd and every process it
    starts carry "-c SITE/parley.conf" on their command line."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            with open(f"/proc/{d}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if conf.encode() in args and state not in ("Z", "X"):
            pids.append(int(d))
    return pids


def names(pids):
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as f:
                out.append(f.read().strip())
        except OSError:
            pass
    return sorted(out)


def parleyd_pid():
    try:
        with open(pid_file) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def site_log(n=1500):
    try:
        with open(os.path.join(site_dir, "log", "parley.log"), errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return "(no site log)"


def kill_all():
    """SIGKILL whatever of this site is still running (a failed stop)."""
    for pid in ours():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    wait_until(lambda: not ours(), 5)


async def scenario(accounts):
    site = types.SimpleNamespace(port=C2S)
    a = Cli(site, "alice", "laptop", accounts.get(ALICE))
    b = Cli(site, "bob", "phone", accounts.get(BOB))
    try:
        ok_a, ok_b = await a.login(20), await b.login(20)
        t.ok(ok_a and ok_b, "alice and bob log in with the demo passwords (self-signed "
             "certificate accepted, STARTTLS)", site_log())
        if not (ok_a and ok_b):
            return
        for c in (a, b):
            await c.roster_get(timeout=10)
            c.mark()
            c.presence()
            await c.sync(timeout=10)

        # alice asks, bob approves; then bob asks, alice approves.
        a.mark()
        b.mark()
        a.presence("subscribe", BOB)
        r = await b.wait(lambda e: is_presence(e, "subscribe", ALICE), 10)
        t.ok(r is not None, "bob gets alice's subscription request", shows(b.since()))
        b.presence("subscribed", ALICE)
        r = await a.wait(lambda e: is_presence(e, None, BOB + "/phone"), 10)
        t.ok(r is not None, "once bob approves, alice sees bob's presence", shows(a.since()))
        a.mark()
        b.mark()
        b.presence("subscribe", ALICE)
        r = await a.wait(lambda e: is_presence(e, "subscribe", BOB), 10)
        t.ok(r is not None, "alice gets bob's subscription request", shows(a.since()))
        a.presence("subscribed", BOB)
        r = await b.wait(lambda e: is_presence(e, None, ALICE + "/laptop"), 10)
        t.ok(r is not None, "once alice approves, bob sees alice's presence", shows(b.since()))
        ra = await a.roster_get(timeout=10)
        rb = await b.roster_get(timeout=10)
        t.ok(sub_of(item_of(ra, BOB)) == "both" and sub_of(item_of(rb, ALICE)) == "both",
             "both rosters say subscription='both'", shows([ra, rb]))

        a.mark()
        b.mark()
        hello = "hello bob, from the quickstart"
        a.message(BOB, hello)
        r = await b.wait(lambda e: is_message(e, ALICE + "/laptop", hello), 10)
        t.ok(r is not None, "bob gets alice's message with its body", shows(b.since()))
        b.message(ALICE, "hello alice")
        r = await a.wait(lambda e: is_message(e, BOB + "/phone", "hello alice"), 10)
        t.ok(r is not None, "alice gets bob's answer with its body", shows(a.since()))
    finally:
        await a.close()
        await b.close()


def stamp(path):
    try:
        st = os.stat(path)
        return (st.st_ino, st.st_mtime_ns)
    except OSError:
        return None


checkout_site = os.path.join(SRC, "_build", "site", "parley.conf")
checkout_before = stamp(checkout_site)
try:
    rc, out = quickstart(1)
    t.eq(rc, 0, "tools/quickstart exits 0")
    if rc != 0:
        print("# " + out[-2000:].replace("\n", "\n# "), flush=True)
    t.ok(os.path.isfile(conf) and stamp(checkout_site) == checkout_before,
         "it writes the site into PARLEY_QUICKSTART_SITE, not the checkout's _build/site")
    accounts = {}
    try:
        with open(os.path.join(site_dir, "demo-accounts.txt")) as f:
            for line in f:
                jid, pw = line.split()
                accounts[jid] = pw
    except (OSError, ValueError) as e:
        accounts = {"error": repr(e)}
    t.ok(sorted(accounts) == [ALICE, BOB] and all(len(pw) >= 12 for pw in accounts.values()),
         "demo-accounts.txt holds alice@localhost and bob@localhost with passwords", accounts)
    t.ok(all(re.search(rf"^    {re.escape(j)} {re.escape(pw)}$", out, re.M)
             for j, pw in accounts.items()) and len(accounts) == 2,
         "it prints the two demo accounts with their passwords", out[-1500:])
    t.ok(f"port {C2S} (STARTTLS) or {C2S_TLS} (direct TLS)" in out
         and f"kill $(cat {pid_file})" in out and f"parleyctl -c {conf} status" in out,
         "it prints how to connect (both ports), how to see the status and how to stop",
         out[-1500:])
    first = parleyd_pid()
    t.ok(first is not None and first in ours(), "parleyd runs, with its pid in run/parleyd.pid",
         f"pid file: {first}, running: {ours()}\n{site_log()}")
    # Under the sanitizers the processes take a while to come up.
    up = wait_until(lambda: port_open(C2S) and port_open(C2S_TLS), 30, 0.1)
    t.ok(up, f"c2s listens on the chosen ports {C2S} (STARTTLS) and {C2S_TLS} (direct TLS)",
         site_log())
    t.ok(wait_until(lambda: {"parley-router", "parley-auth", "parley-sm", "parley-c2s"}
                    <= set(names(ours())), 10),
         "router, auth, sm and c2s run under it", names(ours()))

    err = run(lambda: scenario(accounts), 120) if up else "c2s is not listening"
    if err is not None:
        t.ok(False, "the client scenario runs to its end", repr(err) + "\n" + site_log())

    before = sorted(ours())
    rc, out = quickstart(2)
    t.eq(rc, 0, "a second tools/quickstart exits 0")
    t.ok("Parley is already running." in out, "it says Parley is already running", out[-1500:])
    time.sleep(1)
    t.ok(parleyd_pid() == first and sorted(ours()) == before
         and names(ours()).count("parleyd") == 1,
         "it starts no second copy: the same parleyd, the same processes",
         f"before {before}, after {sorted(ours())} {names(ours())}")

    pid = parleyd_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
    t.ok(pid is not None and wait_until(lambda: not ours(), 20, 0.1),
         "kill $(cat run/parleyd.pid) stops parleyd and every process it started",
         f"still running: {names(ours())}")
finally:
    kill_all()
t.ok(not ours(), "no process is left behind", names(ours()))
t.done()
