#!/usr/bin/python3
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
    for d in os.listdir("/tmp"):
        path = os.path.join("/tmp", d)
        if (not d.startswith("parley-im-") or path == own
                or os.stat(path).st_mtime < since):
            continue
        log = os.path.join(path, "sm.log")
        if os.path.exists(log):
            text = open(log, errors="replace").read()
            found += 1
            core += "core thread started" in text
            driver += f"storage {kind}" in text
        subprocess.run(["rm", "-rf", path])
    tap.ok(found > 0 and core == found and driver == found,
           f"[{kind}] sm ran on the {kind} driver with its core thread in every run",
           f"{found} sm logs, {core} with the core thread, {driver} on {kind}")


def main():
    s = Suite("im-sql")
    for kind in os.environ.get("PARLEY_TEST_SQL_KINDS", "mysql pgsql").split():
        db = dbserver.server(kind, s.path(kind))
        try:
            db.start()
        except Exception as e:  # noqa: BLE001
            tap.ok(False, f"[{kind}] the database server starts", str(e))
            continue
        since = time.time() - 1
        for name in TESTS:
            run_file(kind, db, name)
        check_logs(kind, since, s.dir)
        db.stop()
    tap.done()


if __name__ == "__main__":
    main()
