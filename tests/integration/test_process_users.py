#!/usr/bin/python3
"""test_process_users.py — issue 8's per-process users: c2s.user, s2s.user,
sm.user and auth.user (and their groups) under one parleyd, as root.

The test creates system users for the purpose when they are missing
(parley-test-c2s, parley-test-s2s, parley-test-store; no home, group
nogroup) and removes the ones it created at the end. The site runs
  - the router as the top-level user (nobody: its own setting left empty),
  - c2s as parley-test-c2s, s2s as parley-test-s2s,
  - sm and auth as parley-test-store (with SQLite they share the file),
and the test checks that
  - each process's /proc/PID/status shows exactly its configured uid, and
    the shared group;
  - the router let each of them in (router.allowed_users left to its
    default: every process's user), so a client logs in and two clients
    exchange a message through c2s, sm and auth;
  - the SQLite file and data_dir belong to sm's user (storage_prepare);
  - `c2s.user = "root";` is refused by `parleyctl check` and by parleyd,
    with the setting's FILE:LINE, and so are sm and auth as two users on
    one SQLite file.
Prints TAP.
"""
import atexit
import grp
import os
import pwd
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import xmppraw  # noqa: E402
from parley import BUILD, TEST_GROUP, TEST_USER, Suite, Tap, proc_status  # noqa: E402
from parleydsite import ParleydSite  # noqa: E402
from traffic import scaled  # noqa: E402

t = Tap()
if os.geteuid() != 0:
    t.skip("per-process users", "needs root (to create users and switch to them)")
    t.done()

USERS = {"c2s": "parley-test-c2s", "s2s": "parley-test-s2s", "store": "parley-test-store"}
created = []


def remove_created_users():
    """userdel what we added; a process of that user may take a moment to
    go after parleyd stopped, so a refusal is retried a few times."""
    for name in created:
        for _ in range(20):
            r = subprocess.run(["userdel", name], capture_output=True, text=True)
            if r.returncode == 0:
                break
            time.sleep(0.25)
        else:
            print(f"# could not remove user {name}: {r.stderr.strip()}", flush=True)


# Registered before the Suite, so that it runs after the Suite's own cleanup
# (atexit runs last-registered first) has stopped every process.
atexit.register(remove_created_users)
for name in USERS.values():
    try:
        pwd.getpwnam(name)
    except KeyError:
        r = subprocess.run(["useradd", "--system", "--no-create-home", "--gid", TEST_GROUP,
                            "--shell", "/usr/sbin/nologin", name],
                           capture_output=True, text=True)
        if r.returncode != 0:
            t.ok(False, f"useradd {name}", r.stderr)
            t.done()
        created.append(name)

uid = {k: pwd.getpwnam(v).pw_uid for k, v in USERS.items()}
uid["top"] = pwd.getpwnam(TEST_USER).pw_uid
gid = grp.getgrnam(TEST_GROUP).gr_gid
CTL = os.path.join(BUILD, "parleyctl")


def line_of(path, needle):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n
    return 0


def has_error(text, path, needle, setting, words):
    """An error line "PATH:LINE: SETTING: ..." with `words`, LINE being the
    line of the file that holds `needle`."""
    prefix = f"{path}:{line_of(path, needle)}: {setting}: "
    return any(x.startswith(prefix) and words in x for x in text.splitlines())


def run_parleyd(conf):
    """parleyd on a configuration it must refuse: (status, output). One
    that starts instead is stopped (it is ours) and reported as None."""
    p = subprocess.Popen([os.path.join(BUILD, "parleyd"), "-f", "-c", conf],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=scaled(10))
        return p.returncode, out
    except subprocess.TimeoutExpired:
        p.terminate()
        try:
            out, _ = p.communicate(timeout=scaled(15))
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        return None, out


# --- configurations that must be refused ---------------------------------------

bad = Suite("process-users-bad")
conf = bad.config(sections={"c2s": 'user = "root";'})
r = subprocess.run([CTL, "-c", conf, "check"], capture_output=True, text=True)
t.eq(r.returncode, 1, "parleyctl check: c2s.user = \"root\" fails the check")
t.ok(has_error(r.stderr, conf, 'user = "root";', "c2s.user",
               '"root" is root (uid 0): c2s refuses to run as root'),
     "parleyctl check: says so at c2s.user's FILE:LINE", r.stderr)
rc, out = run_parleyd(conf)
t.ok(rc is not None and rc != 0, "parleyd: refuses to start with c2s.user = \"root\"",
     f"status {rc}\n{out[-2000:]}")
t.ok(has_error(out, conf, 'user = "root";', "c2s.user", '"root" is root (uid 0)'),
     "parleyd: says so at c2s.user's FILE:LINE", out[-2000:])
t.ok(not re.search(r"parley-(router|c2s|sm|auth|s2s)\[\d+\]", out),
     "parleyd: started no process", out[-2000:])

bad2 = Suite("process-users-bad2")
conf = bad2.config(sections={"sm": f'user = "{USERS["store"]}";',
                             "auth": f'user = "{USERS["c2s"]}";'})
r = subprocess.run([CTL, "-c", conf, "check"], capture_output=True, text=True)
t.ok(r.returncode == 1 and has_error(r.stderr, conf, f'user = "{USERS["c2s"]}";', "auth.user",
                                     'with storage.driver "sqlite" both open the same '
                                     'database file'),
     "parleyctl check: sm and auth as two users on one SQLite file, at auth.user's FILE:LINE",
     r.stderr)
rc, out = run_parleyd(conf)
t.ok(rc is not None and rc != 0 and
     has_error(out, conf, f'user = "{USERS["c2s"]}";', "auth.user", "run them as one user"),
     "parleyd: refuses sm and auth as two users on one SQLite file, at FILE:LINE",
     f"status {rc}\n{out[-2000:]}")

# --- a site whose processes run as four different users --------------------------

suite = Suite("process-users")
try:
    site = ParleydSite(suite, users=["alice", "bob"], c2s_instances=1,
                       sections={"c2s": f'user = "{USERS["c2s"]}";',
                                 "s2s": f'user = "{USERS["s2s"]}";',
                                 "sm": f'user = "{USERS["store"]}";',
                                 "auth": f'user = "{USERS["store"]}";\ngroup = "";'})
except RuntimeError as e:  # parleyctl user add refused the configuration
    t.ok(False, "the site with per-process users is set up", e)
    t.done()
r = subprocess.run([CTL, "-c", site.conf, "check"], capture_output=True, text=True)
t.ok(r.returncode == 0 and "c2s.user" not in r.stderr and "auth.user" not in r.stderr,
     "parleyctl check accepts the per-process users", r.stdout + r.stderr)

db = suite.path("data", "parley.db")
st = os.stat(db)
t.ok(st.st_uid == uid["store"] and st.st_gid == gid,
     f"the SQLite file belongs to sm's user ({USERS['store']}:{TEST_GROUP})",
     (st.st_uid, st.st_gid))
t.eq(os.stat(suite.path("data")).st_uid, uid["store"],
     "data_dir, where SQLite makes its -wal and -shm files, belongs to sm's user")

running = site.start(timeout=scaled(30))
log = site.log()
t.ok(running, "parleyd runs router, auth, sm, c2s and s2s", f"{site.state()}\n{log[-4000:]}")
if not running:
    t.done()

WANT = {"router": ("top", TEST_USER), "auth": ("store", USERS["store"]),
        "sm": ("store", USERS["store"]), "c2s.1": ("c2s", USERS["c2s"]),
        "s2s": ("s2s", USERS["s2s"])}
for name, (key, user) in WANT.items():
    status = proc_status(running[name])
    uids, gids = status.get("Uid", "").split(), status.get("Gid", "").split()
    t.ok(len(uids) == 4 and all(u == str(uid[key]) for u in uids),
         f"{name}: runs as {user} (uid {uid[key]}: real, effective, saved, filesystem)",
         status.get("Uid"))
    t.ok(len(gids) == 4 and all(g == str(gid) for g in gids)
         and status.get("Groups", "").split() == [str(gid)],
         f"{name}: in group {TEST_GROUP} only (its group setting left empty)",
         (status.get("Gid"), status.get("Groups")))
    pid = running[name]
    applied = next((x for x in log.splitlines() if f"[{pid}] info: sandbox: running as" in x), "")
    t.ok(f"running as {user}:{TEST_GROUP};" in applied, f"{name}: logs the user it switched to",
         applied)

t.ok(not re.search(r"refused a connection from uid", log),
     "the router refused no process (allowed_users defaults to every process's user)",
     "\n".join(x for x in log.splitlines() if "refused a connection" in x))

# --- a client logs in, and two exchange a message ---------------------------------

alice, alice_jid, diag_a = xmppraw.login(site.port, "alice", "pw-alice", resource="a")
bob, bob_jid, diag_b = xmppraw.login(site.port, "bob", "pw-bob", resource="b")
t.ok(alice_jid == "alice@example.test/a", "alice logs in (c2s -> auth -> sm, each its own user)",
     diag_a)
t.ok(bob_jid == "bob@example.test/b", "bob logs in", diag_b)
if alice_jid and bob_jid:
    for c in (alice, bob):
        c.send("<presence/>")
    body = "hello-across-users-" + os.urandom(4).hex()
    alice.send(f"<message to='{bob_jid}' type='chat' id='m1'><body>{body}</body></message>")
    m = bob.expect(rf"<message\b[^>]*>.*?<body>{body}</body>.*?</message>", scaled(10))
    t.ok(m is not None and "alice@example.test/a" in m.group(0),
         "bob receives alice's message", bob.rest()[-1500:])
for c in (alice, bob):
    c.close()

t.eq(site.stop(), 0, "parleyd stops cleanly")
t.done()
