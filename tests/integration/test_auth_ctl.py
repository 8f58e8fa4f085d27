#!/usr/bin/python3
"""test_auth_ctl.py — `parleyctl user add|del|passwd|list` on the internal
store, and parley-auth logging in what it wrote: passwords from the
command line and from standard input, every error case (a bad JID, a
resource, a domain not in hosts, an existing user, a missing user, an
empty password, the pipe backend, a database server that is not there) with a clear
message and a non-zero exit. Prints TAP."""
import os
import pwd
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import frames as F  # noqa: E402
from parley import TEST_USER, Suite, Tap  # noqa: E402
from authlib import CB_EXPORTER, HOST, NOT_AUTHORIZED, OK, Site, plain, \
    status  # noqa: E402

t = Tap()
suite = Suite("auth-ctl")
nobody = pwd.getpwnam(TEST_USER)
site = Site(suite, name="ctl", start=False, hosts=(HOST, "other.test"))

r = site.ctl("user", "add", f"juliet@{HOST}", "balcony")
t.ok(r.returncode == 0 and f"created juliet@{HOST}" in r.stdout, "user add JID PASSWORD", r)
db = os.path.join(site.data, "parley.db")
t.eq(os.stat(db).st_uid, nobody.pw_uid, "the database parleyctl created belongs to the Parley user")
r = site.ctl("user", "add", f"Romeo@{HOST}", stdin="montague\n")
t.ok(r.returncode == 0 and f"created romeo@{HOST}" in r.stdout,
     "user add with the password on standard input (and the localpart nodeprepped)", r)
r = site.ctl("user", "add", f"j\u00fcrgen@{HOST}", "x")
t.eq(r.returncode, 0, "a non-ASCII localpart")
r = site.ctl("user", "add", f"nurse@other.test", "x")
t.eq(r.returncode, 0, "an account on the other domain")
r = site.ctl("user", "list", HOST)
t.eq(r.stdout.splitlines(), [f"juliet@{HOST}", f"j\u00fcrgen@{HOST}", f"romeo@{HOST}"],
     "user list DOMAIN: that domain's accounts, sorted")

# Errors: clear, and non-zero.
cases = [
    (["user", "add", f"juliet@{HOST}", "again"], "exists already", "an existing user"),
    (["user", "add", "juliet@@x", "p"], "is not a valid JID", "a bad JID"),
    (["user", "add", f"juliet@{HOST}/res", "p"], "without a resource", "a JID with a resource"),
    (["user", "add", HOST, "p"], "without a resource", "a JID without a localpart"),
    (["user", "add", "juliet@elsewhere.test", "p"], "is not one of the domains in hosts",
     "a domain not in hosts"),
    (["user", "del", f"tybalt@{HOST}"], "no such user", "deleting a missing user"),
    (["user", "passwd", f"tybalt@{HOST}", "x"], "no such user", "a password for a missing user"),
    (["user", "list", "elsewhere.test"], "is not one of the domains in hosts",
     "listing a domain not hosted"),
]
for args, want, name in cases:
    r = site.ctl(*args)
    t.ok(r.returncode == 1 and want in r.stderr, f"{name}: exit 1, '{want}'", r)
r = site.ctl("user", "add", f"tybalt@{HOST}", stdin="\n")
t.ok(r.returncode == 1 and "empty" in r.stderr, "an empty password from stdin is refused", r)
r = site.ctl("user", "add", f"tybalt@{HOST}", stdin="")
t.ok(r.returncode == 1 and "no password" in r.stderr, "no password at all is refused", r)
r = site.ctl("user")
t.eq(r.returncode, 2, "user without a command: usage, exit 2")
r = site.ctl("user", "frobnicate", "x")
t.eq(r.returncode, 2, "an unknown user command: usage, exit 2")
r = site.ctl("user", "list", HOST)
t.eq(len(r.stdout.splitlines()), 3, "none of the failures changed anything")

# What parleyctl wrote, auth reads.
auth = site.start_auth(1)
c2s = site.c2s()
cbs = [("tls-exporter", CB_EXPORTER)]


def login(sid, user, password):
    c2s.start(sid, "PLAIN", plain(user, password), cbs=cbs, addr=f"192.0.2.{len(sid)}:{sid[-1:]}")
    return status(c2s.answer(sid))


t.eq(login("l1", "romeo", "montague"), (F.SASL_RESULT, OK), "auth logs in a user parleyctl created")
r = site.ctl("user", "passwd", f"romeo@{HOST}", stdin="capulet\n")
t.ok(r.returncode == 0 and "changed the password" in r.stdout, "user passwd from stdin", r)
t.eq(login("l2", "romeo", "montague"), (F.SASL_RESULT, NOT_AUTHORIZED),
     "while auth runs: the old password fails")
t.eq(login("l3", "romeo", "capulet"), (F.SASL_RESULT, OK), "and the new one works")
r = site.ctl("user", "passwd", f"juliet@{HOST}", "nightingale")
t.eq(r.returncode, 0, "user passwd JID PASSWORD")
t.eq(login("l4", "juliet", "nightingale"), (F.SASL_RESULT, OK), "takes effect")
r = site.ctl("user", "del", f"romeo@{HOST}")
t.ok(r.returncode == 0 and f"deleted romeo@{HOST}" in r.stdout, "user del", r)
t.eq(login("l5", "romeo", "capulet"), (F.SASL_RESULT, NOT_AUTHORIZED), "a deleted user cannot log in")
t.eq(login("l6", "j\u00fcrgen", "x"), (F.SASL_RESULT, OK), "a non-ASCII user logs in")
c2s.close()
auth.stop()

# Settings that make `user` meaningless or impossible.
conf = open(site.conf).read()
pipe_conf = suite.path("pipe.conf")
with open(pipe_conf, "w") as f:
    f.write(conf.replace("auth = {", 'auth = {\nbackend = "pipe";\npipe = { program = [ "/bin/cat" ]; };'))
r = site.ctl("-c", pipe_conf, "user", "list", HOST)
t.ok(r.returncode == 1 and "auth.backend" in r.stderr and "internal store only" in r.stderr,
     "with the pipe backend, parleyctl user says it manages only the internal store", r)
mysql_conf = suite.path("mysql.conf")
with open(mysql_conf, "w") as f:
    f.write(conf + 'storage = {\n\tdriver = "mysql";\n'
            '\tsql = { socket = "/nonexistent/mysqld.sock"; hold = "0s"; };\n};\n')
r = site.ctl("-c", mysql_conf, "user", "list", HOST)
line = len(open(mysql_conf).read().splitlines()) - 1
t.ok(r.returncode == 1 and f"{mysql_conf}:{line}: storage.sql: mysql driver" in r.stderr and
     "/nonexistent/mysqld.sock" in r.stderr,
     "storage.driver mysql with no server: an error naming storage.sql's FILE:LINE and the socket",
     r)
t.done()
