#!/usr/bin/python3
"""test_router_restart — under parleyd, kill -9 of the router brings a new
router within a few seconds, and every peer reconnects and rebinds by
itself: frames flow again between the same names, a shared name is shared
again, and nothing has to be restarted by hand. Then SIGTERM to parleyd
leaves no Parley process behind. Prints TAP."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import parley  # noqa: E402
from testpeer import TestPeer  # noqa: E402

t = parley.Tap()
suite = parley.Suite("router-restart")
conf = suite.config({"router": 'component_port = 0;\nallowed_users = [ "root", "nobody" ];',
                     "parleyd": 'restart_delay = "200ms";\nservices = [ "router" ];'})
state_path = suite.path("run", "parleyd.state")
socket_path = suite.path("run", "router.sock")


def router_pid():
    try:
        with open(state_path) as f:
            for line in f:
                name, pid, state, _ = line.split()
                if name == "router" and state == "running" and int(pid) > 0:
                    return int(pid)
    except (OSError, ValueError):
        pass
    return 0


def gone(pid):
    """Dead or a zombie (nobody reaps orphans here in some sandboxes)."""
    st = parley.proc_status(pid)
    return not st or st.get("State", "").startswith("Z")


parleyd = suite.start("parleyd", ["parleyd", "-f", "-c", conf])
pid = parley.wait_until(router_pid, 10)
t.ok(pid, "parleyd starts the router", parleyd.log())
t.ok(parley.wait_until(lambda: os.path.exists(socket_path), 10), "the router's socket exists")

# Two peers playing sm (binds the domain) and c2s.1, and two sharing "auth".
sm = TestPeer(suite, "sm", role="sm", binds=["example.test"], echo=True)
c2s = TestPeer(suite, "c2s.1", role="c2s", binds=["c2s.1"])
auth1 = TestPeer(suite, "auth.1", role="auth", binds=["auth,shared"], echo=True)
auth2 = TestPeer(suite, "auth.2", role="auth", binds=["auth,shared"], echo=True)
for p in (sm, c2s, auth1, auth2):
    p.expect(r"^up ", 10)
    p.expect(r"^bound ", 5)


def exchange(label):
    """c2s.1 → example.test (echoed back) and c2s.1 → auth (echoed back)."""
    c2s.route("example.test", f"<message id='{label}'/>", key="juliet@example.test")
    ok1 = c2s.expect(rf"^route example\.test c2s\.1 - <message id='{label}'/>$", 5)
    c2s.route("auth", f"<iq id='{label}'/>", key="juliet@example.test")
    ok2 = c2s.expect(rf"^route auth c2s\.1 - <iq id='{label}'/>$", 5)
    return ok1 and ok2


t.ok(exchange("before"), "frames flow through the first router", c2s.diag())

for round_no in range(1, 4):
    old = router_pid()
    os.kill(old, signal.SIGKILL)
    start = time.monotonic()
    new = parley.wait_until(lambda: router_pid() not in (0, old) and router_pid(), 10)
    took = time.monotonic() - start
    t.ok(new and took < 5, f"round {round_no}: a new router within 5 s (took {took:.1f} s)",
         parleyd.log())
    for p in (sm, c2s, auth1, auth2):
        ok = p.expect(r"^down ", 5) and p.expect(r"^up ", 10) and p.expect(r"^bound ", 5)
        t.ok(ok, f"round {round_no}: {p.name} reconnects and rebinds by itself", p.diag())
    t.ok(exchange(f"after-{round_no}"),
         f"round {round_no}: frames flow again between the same names", c2s.diag())

# The parleyd log names each death.
t.ok(parleyd.log().count("SIGKILL") >= 3, "parleyd logged each router death", parleyd.log())

last = router_pid()
parleyd.signal(signal.SIGTERM)
t.ok(parleyd.wait(15) == 0, "SIGTERM stops parleyd with status 0", parleyd.log())
t.ok(parley.wait_until(lambda: gone(last), 5), "and the router is gone")
t.ok(not os.path.exists(state_path), "the state file is removed")


def started_with_conf():
    """PIDs of live processes whose command line names this test's config."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if conf.encode() in f.read() and not gone(int(p)):
                    found.append(int(p))
        except OSError:
            pass
    return found


leftover = started_with_conf()
t.ok(not leftover, "no process started with this config is left", leftover)
t.done()
