#!/usr/bin/python3
# tests/run: early (one of the longest: started first so the others fill in beside it)
"""test_im_sql.py — the IM integration tests of the sm issue (roster,
presence, delivery, offline, blocking, services) again, with sm and auth on
MariaDB and on PostgreSQL instead of SQLite: each test file runs unchanged
with PARLEY_TEST_DB pointing at a private server this test starts (every
configuration it writes gets a fresh database there, parley.py), and its
TAP lines are passed on, each name prefixed with the driver.

Also checks that sm did run its core thread (frames off the loop) and that
the network driver was the one in use, so the run cannot silently fall
back to SQLite.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import dbserver  # noqa: E402
from parley import BUILD, Suite, Tap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = ["test_im_roster.py", "test_im_presence.py", "test_im_delivery.py",
         "test_im_offline.py", "test_im_blocking.py", "test_im_services.py"]
# Under the sanitizers the daemons are several times slower; the SQLite
# runs already cover those files there, and one file per driver keeps the
# network path (core thread, driver) under ASan too.
if os.path.basename(os.path.normpath(BUILD)) == "asan":
    TESTS = ["test_im_presence.py", "test_im_offline.py"]

tap = Tap()


def run_file(kind, db, name):
    env = dict(os.environ)
    env["PARLEY_TEST_DB"] = f"{kind}:{db.dir}:{db.port}"
    env["PARLEY_KEEP"] = "1"
    start = time.monotonic()
    p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, name)], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    out = p.stdout
    n = 0
    for line in out.splitlines():
        m = re.match(r"^(not ok|ok) \d+ - (.*)$", line)
        if m:
            n += 1
            tap.ok(m.group(1) == "ok", f"[{kind}] {name}: {m.group(2)}")
        elif line.startswith("#") and tap.failed:
            print(line, flush=True)
    tap.ok(p.returncode == 0 and n > 0,
           f"[{kind}] {name}: ran {n} checks, exit {p.returncode} "
           f"({time.monotonic() - start:.0f}s)", out[-3000:])
    return out


def check_logs(kind, since, own):
    """sm logs of the runs since `since` (temp dirs kept by PARLEY_KEEP)."""
    found = core = driver = 0
    seen = []
    for d in os.listdir("/tmp"):
        path = os.path.join("/tmp", d)
        try:
            if (not d.startswith("parley-im-") or path == own
                    or os.stat(path).st_mtime < since):
                continue
        except OSError:
            continue
        log = os.path.join(path, "sm.log")
        if os.path.exists(log):
            text = open(log, errors="replace").read()
            found += 1
            seen.append(path)
            core += "core thread started" in text
            driver += f"storage {kind}" in text
        subprocess.run(["rm", "-rf", path])
    tap.ok(found > 0 and core == found and driver == found,
           f"[{kind}] sm ran on the {kind} driver with its core thread in every run",
           f"{found} sm logs, {core} with the core thread, {driver} on {kind}: {seen}")


def ctl(conf, *args, stdin=None):
    p = subprocess.run([os.path.join(BUILD, "parleyctl"), "-c", conf] + list(args),
                       input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


def check_parleyctl(kind, s):
    """parleyctl's storage and user verbs on the driver (a fresh database)."""
    conf = s.config({}, hosts=("example.test", "other.test"))
    rc, out, err = ctl(conf, "storage", "init")
    t = f"[{kind}] parleyctl storage init"
    tap.ok(rc == 0 and f"the {kind} database is at schema version" in out, t, out + err)
    rc, out, err = ctl(conf, "storage", "migrate")
    tap.ok(rc == 0 and f"the {kind} database is at schema version" in out,
           f"[{kind}] parleyctl storage migrate on an up-to-date database", out + err)
    results = [ctl(conf, "user", "add", f"{u}@example.test", f"pw-{u}")[0]
               for u in ("zed", "amy", "o.brien")]
    results.append(ctl(conf, "user", "add", "amy@other.test", "pw")[0])
    tap.ok(results == [0, 0, 0, 0], f"[{kind}] parleyctl user add", repr(results))
    rc, out, err = ctl(conf, "user", "add", "amy@example.test", "again")
    tap.ok(rc == 1 and "exists" in (out + err), f"[{kind}] user add of an existing account fails",
           out + err)
    rc, out, err = ctl(conf, "user", "list", "example.test")
    tap.ok(rc == 0 and out.split() == ["amy@example.test", "o.brien@example.test",
                                       "zed@example.test"],
           f"[{kind}] user list: the domain's accounts, sorted", out + err)
    rc, out, err = ctl(conf, "user", "passwd", "zed@example.test", stdin="new-pw\n")
    tap.eq(rc, 0, f"[{kind}] user passwd")
    rc, out, err = ctl(conf, "user", "del", "o.brien@example.test")
    rc2, out2, _ = ctl(conf, "user", "list", "example.test")
    tap.ok(rc == 0 and out2.split() == ["amy@example.test", "zed@example.test"],
           f"[{kind}] user del", out + err + out2)
    rc, out, err = ctl(conf, "user", "del", "nobody@example.test")
    tap.eq(rc, 1, f"[{kind}] user del of a missing account fails")


def main():
    s = Suite("im-sql")
    for kind in os.environ.get("PARLEY_TEST_SQL_KINDS", "mysql pgsql").split():
        db = dbserver.server(kind, s.path(kind))
        try:
            db.start()
        except Exception as e:  # noqa: BLE001
            tap.ok(False, f"[{kind}] the database server starts", str(e))
            continue
        os.environ["PARLEY_TEST_DB"] = f"{kind}:{db.dir}:{db.port}"
        check_parleyctl(kind, s)
        del os.environ["PARLEY_TEST_DB"]
        since = time.time() - 1
        for name in TESTS:
            run_file(kind, db, name)
        check_logs(kind, since, s.dir)
        db.stop()
    tap.done()


if __name__ == "__main__":
    main()
