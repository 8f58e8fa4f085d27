#!/usr/bin/python3
# tests/run: early (one of the longest: started first so the others fill in beside it)
"""test_auth_sql.py — parley-auth's sql backend against an operator's own
user table (an ISP-style `customers(login, realm, pwhash, active)`, not
Parley's schema) in a private MariaDB and a private PostgreSQL.

On each database: router + auth + sm + c2s with auth.backend = "sql";
real clients (slixmpp) log in with PLAIN over TLS for every stored form
(bcrypt, sha512-crypt, sha256-crypt, yescrypt, argon2id, SCRAM, plain text)
and with SCRAM-SHA-256 for the SCRAM user; wrong passwords and unknown or
inactive users fail; a SCRAM attempt for a user whose stored form is not
SCRAM fails not-authorized and slixmpp falls back to PLAIN. Through a fake
c2s on the same router (exact SASL statuses): SQL injection attempts in the
username fail and change nothing (a dump of the table before and after);
a query returning two rows is a temporary failure; a password change
(XEP-0077) goes through query_set_password in auth.sql.hash's form and
logs in; one user whose query sleeps costs that login
temporary-auth-failure at auth.sql.timeout while another user logs in at
once meanwhile. A query with an unknown placeholder stops auth at start,
naming the file, line and setting; a database port that accepts and never
answers costs temporary-auth-failure, not a stuck auth. Prints TAP."""
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

import base64  # noqa: E402
import ctypes  # noqa: E402
import crypt  # noqa: E402
import hashlib
import hmac
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import frames as F  # noqa: E402
from authlib import (CB_EXPORTER, ENCRYPTION_REQUIRED, HOST, NOT_AUTHORIZED, OK, TEMPORARY_AUTH_FAILURE,  # noqa: E402
                     Scram, plain, status)
from c2slib import Site as C2SSite  # noqa: E402
from dbserver import PASSWORD as DB_PASSWORD, USER as DB_USER, MariaDB, PostgreSQL  # noqa: E402
from parley import BUILD, Suite, Tap, proc_status, wait_until  # noqa: E402
from routerlib import SECRET  # noqa: E402

t = Tap()
suite = Suite("auth-sql")
cbs = [("tls-exporter", CB_EXPORTER)]

# --- stored forms, made here with the system's own libraries ---------------------

_crypt = ctypes.CDLL("libcrypt.so.1")
_crypt.crypt_gensalt.restype = ctypes.c_char_p
_crypt.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
_argon2 = ctypes.CDLL("libargon2.so.1")
_argon2.argon2id_hash_encoded.argtypes = [
    ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t,
    ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]


def yescrypt(pw):
    return crypt.crypt(pw, _crypt.crypt_gensalt(b"$y$", 0, None, 0).decode())


def argon2id(pw):
    out = ctypes.create_string_buffer(256)
    rc = _argon2.argon2id_hash_encoded(2, 4096, 1, pw.encode(), len(pw.encode()), os.urandom(16),
                                       16, 32, out, 256)
    assert rc == 0, rc
    return out.value.decode()


def scram(pw, name="SCRAM-SHA-256", iters=4096):
    h = hashlib.sha256 if name.endswith("256") else hashlib.sha1
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac(h().name, pw.encode(), salt, iters)
    client_key = hmac.new(salted, b"Client Key", h).digest()
    server_key = hmac.new(salted, b"Server Key", h).digest()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"{name}${iters}:{b64(salt)}${b64(h(client_key).digest())}:{b64(server_key)}"


def bcrypt_without_slash(pw):
    while True:
        h = crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
        if "/" not in h:
            return h


USERS = {   # login: (password, stored form, active)
    "alice": ("alice-pw", bcrypt_without_slash("alice-pw"), True),
    "bob": ("bob-pw", crypt.crypt("bob-pw", crypt.mksalt(crypt.METHOD_SHA512)), True),
    "carol": ("carol-pw", yescrypt("carol-pw"), True),
    "dave": ("dave-pw", argon2id("dave-pw"), True),
    "erin": ("erin-pw", scram("erin-pw"), True),
    "frank": ("frank-pw", scram("frank-pw", "SCRAM-SHA-1"), True),
    "gina": ("Gina-Plain-1", "Gina-Plain-1", True),
    "henry": ("henry-pw", crypt.crypt("henry-pw", crypt.mksalt(crypt.METHOD_SHA256)), True),
    "ivan": ("ivan-pw", crypt.crypt("ivan-pw", crypt.mksalt(crypt.METHOD_SHA512)), False),
    "sleepy": ("sleepy-pw", "sleepy-pw", True),
    "twin": ("twin-pw", "twin-pw", True),
    "malformed": ("x", "$9$nonsense", True),
}
FORMS = {"alice": "bcrypt", "bob": "sha512-crypt", "carol": "yescrypt", "dave": "argon2id",
         "erin": "SCRAM-SHA-256", "frank": "SCRAM-SHA-1", "gina": "plain text",
         "henry": "sha256-crypt"}

SCHEMA = ("CREATE TABLE customers (id INTEGER PRIMARY KEY, login VARCHAR(200) NOT NULL, "
          "realm VARCHAR(200) NOT NULL, pwhash VARCHAR(400), active BOOLEAN NOT NULL)")


def esc(s):
    return s.replace("\\", "\\\\").replace("'", "''")


def fill(db):
    db.sql("parley", SCHEMA)
    rows = []
    n = 0
    for login, (_, stored, active) in USERS.items():
        n += 1
        rows.append(f"({n}, '{login}', '{HOST}', '{esc(stored)}', {'TRUE' if active else 'FALSE'})")
    # Two rows for one login: the query must return one.
    n += 1
    rows.append(f"({n}, 'twin', '{HOST}', 'twin-pw', TRUE)")
    db.sql("parley", "INSERT INTO customers VALUES " + ", ".join(rows))


def dump(db):
    return db.sql("parley", "SELECT id, login, realm, pwhash, active FROM customers ORDER BY id")


QUERIES = {
    # The login named 'sleepy' makes the query sleep: the slow database.
    "mysql": dict(
        password="SELECT pwhash FROM customers WHERE login = %u AND realm = %d AND active "
                 "AND IF(login = 'sleepy', SLEEP(6), 0) = 0",
        set_password="UPDATE customers SET pwhash = %p WHERE login = %u AND realm = %d",
        hash="bcrypt"),
    "pgsql": dict(
        password="SELECT pwhash FROM customers WHERE login = %u AND realm = %d AND active "
                 "AND (login <> 'sleepy' OR pg_sleep(6)::text = '')",
        set_password="UPDATE customers SET pwhash = %p WHERE login = %u AND realm = %d",
        hash="scram-sha-256"),
}


def auth_section(db, extra="", host="127.0.0.1", port=None, queries=None):
    q = queries or QUERIES[db.kind]
    return (f'auth = {{\n  backend = "sql";\n  threads = 2;\n'
            f'  failures = {{ free = 1000; }};\n'
            f'  sql = {{\n    driver = "{db.kind}";\n    host = "{host}";\n'
            f'    port = {port or db.port};\n    database = "parley";\n'
            f'    user = "{DB_USER}";\n    password = "{DB_PASSWORD}";\n    tls = "disable";\n'
            f'    timeout = "2s";\n    connect_timeout = "1s";\n'
            f'    query_password = "{q["password"]}";\n'
            f'    query_set_password = "{q["set_password"]}";\n'
            f'    hash = "{q["hash"]}";\n{extra}  }};\n}};\n')


# One login with a real client (python3-slixmpp), in a process of its own.
# Unlike lib/slixlogin.py it lets slixmpp go on to its next mechanism after
# a failure, as an application would, and reports every SASL condition it
# saw: "OK <jid> [conditions]" or "FAIL [conditions]".
CLIENT = r"""
import asyncio, logging, ssl, sys
import slixmpp
port, jid, password, mech = sys.argv[1:5]
logging.basicConfig(level=logging.CRITICAL)
x = slixmpp.ClientXMPP(jid, password, sasl_mech=None if mech == "auto" else mech)
x.ssl_context.check_hostname = False
x.ssl_context.verify_mode = ssl.CERT_NONE
x.ssl_context.maximum_version = ssl.TLSVersion.TLSv1_2
conds, result = [], {}
def done(what):
    if not result:
        result["r"] = what
        x.disconnect(wait=0.5)
x.add_event_handler("session_start", lambda e: done("OK " + x.boundjid.full))
x.add_event_handler("failed_auth", lambda e: conds.append(e["condition"]))
x.add_event_handler("failed_all_auth", lambda e: done("FAIL"))
x.add_event_handler("disconnected", lambda e: done("FAIL"))
x.connect(("127.0.0.1", int(port)))
loop = asyncio.get_event_loop()
loop.call_later(20, lambda: done("FAIL timeout"))
while "r" not in result:
    loop.run_until_complete(asyncio.sleep(0.05))
loop.run_until_complete(asyncio.sleep(0.2))
print(" ".join([result["r"]] + conds), flush=True)
"""


def slixlogin(port, user, password, mech="PLAIN"):
    r = subprocess.run(["/usr/bin/python3", "-c", CLIENT, str(port), f"{user}@{HOST}/t", password,
                        mech], capture_output=True, text=True, timeout=40)
    return (r.stdout.strip().splitlines() or ["FAIL no output " + r.stderr[-300:]])[-1]


# --- one database ------------------------------------------------------------------

def run_on(db):
    kind = db.kind
    fill(db)
    # slixmpp tries several mechanisms before PLAIN: let it.
    site = C2SSite(suite, name=f"{kind}", top=auth_section(db),
                   c2s_settings="max_auth_failures = 10;\n")
    auth = suite.start(f"{kind}-auth", ["parley-auth", "-f", "-c", site.conf])
    wait_until(lambda: not auth.alive() or "bound auth" in auth.log(), 15)
    sm = suite.start(f"{kind}-sm", ["parley-sm", "-f", "-c", site.conf])
    wait_until(lambda: not sm.alive() or f"bound {HOST}" in sm.log(), 15)
    site.start_c2s()
    t.ok(auth.alive() and "backend sql" in auth.log() and sm.alive() and site.c2s.alive(),
         f"{kind}: router, auth (sql backend), sm and c2s run", auth.log()[-1500:])
    st = proc_status(auth.pid)
    t.ok(st.get("Seccomp") == "2" and "thread inet" in auth.log(),
         f"{kind}: auth is sandboxed, with threads and TCP for the database",
         re.findall(r"sandbox:.*", auth.log()))

    # Real clients, PLAIN over TLS, every stored form.
    for user, form in FORMS.items():
        got = slixlogin(site.port, user, USERS[user][0])
        t.eq(got, f"OK {user}@{HOST}/t", f"{kind}: PLAIN login of {user}, stored as {form}")
    for user in ("alice", "dave", "gina", "erin"):
        t.eq(slixlogin(site.port, user, "wrong-" + USERS[user][0]), "FAIL not-authorized",
             f"{kind}: {user} with a wrong password fails")
    t.eq(slixlogin(site.port, "nobody", "x"), "FAIL not-authorized", f"{kind}: an unknown user fails")
    t.eq(slixlogin(site.port, "ivan", "ivan-pw"), "FAIL not-authorized",
         f"{kind}: an inactive user (the operator's query filters it) fails")
    # c2s offers -PLUS (tls-unique over TLS 1.2): a client that can bind takes it.
    t.eq(slixlogin(site.port, "erin", "erin-pw", "SCRAM-SHA-256-PLUS"), f"OK erin@{HOST}/t",
         f"{kind}: SCRAM-SHA-256-PLUS for the user stored as SCRAM-SHA-256")
    t.eq(slixlogin(site.port, "frank", "frank-pw", "SCRAM-SHA-1-PLUS"), f"OK frank@{HOST}/t",
         f"{kind}: SCRAM-SHA-1-PLUS for the user stored as SCRAM-SHA-1")
    t.ok(re.search(r"authenticated erin@\S+ from .* with SCRAM-SHA-256-PLUS", auth.log()) and
         re.search(r"authenticated frank@\S+ from .* with SCRAM-SHA-1-PLUS", auth.log()),
         f"{kind}: (auth says which mechanism)")
    t.eq(slixlogin(site.port, "erin", "nope", "SCRAM-SHA-256-PLUS"), "FAIL not-authorized",
         f"{kind}: SCRAM with a wrong password fails")
    got = slixlogin(site.port, "alice", "alice-pw", "auto")
    t.ok(got.startswith(f"OK alice@{HOST}/t not-authorized"),
         f"{kind}: slixmpp's own choice for a bcrypt user: SCRAM fails not-authorized, "
         "then PLAIN succeeds", got)
    t.ok(re.search(r"authentication failed: SCRAM-SHA-[0-9]+(-PLUS)? from .* for alice@.*"
                   r"not-authorized",
                   auth.log()) is not None,
         f"{kind}: the SCRAM attempt for a non-SCRAM user was not-authorized")
    t.ok("plain text" in auth.log() and auth.log().count("holds passwords in plain text") == 1,
         f"{kind}: plain-text storage is warned about, once")

    # The fake c2s: exact statuses.
    c2s = F.connect(site.sock, "c2s.9", SECRET, role="c2s")
    b = c2s.bind("c2s.9")
    assert b is not None and b.type == F.BIND_OK, b
    from authlib import C2S
    fc = C2S(c2s, "c2s.9")
    n = [0]

    def login(user, password, timeout=15):
        n[0] += 1
        sid = f"{kind}-p{n[0]}"
        fc.start(sid, "PLAIN", plain(user, password), cbs=cbs)
        return status(fc.answer(sid, timeout=timeout))

    fc.start(f"{kind}-notls", "PLAIN", plain("gina", USERS["gina"][0]))
    t.eq(status(fc.answer(f"{kind}-notls")), (F.SASL_RESULT, ENCRYPTION_REQUIRED),
         f"{kind}: PLAIN without TLS (no channel bindings from c2s): encryption-required")
    t.eq(login("twin", "twin-pw"), (F.SASL_RESULT, TEMPORARY_AUTH_FAILURE),
         f"{kind}: a query returning two rows: temporary-auth-failure")
    t.ok("query_password returned 2 rows for twin@" in auth.log(), f"{kind}: and logged")
    t.eq(login("malformed", "x"), (F.SASL_RESULT, NOT_AUTHORIZED),
         f"{kind}: a stored string in no known form matches nothing")
    t.ok("stored password of malformed@" in auth.log(), f"{kind}: logged as such")

    # SQL injection through the username: nothing logs in, nothing changes.
    before = dump(db)
    attempts = ["' OR 1=1 --", "a'--", "alice'--", "\\", "a\\", "alice\\", "%", "_", "al_ce",
                "alice%", "1)or(1=1", "alice;delete", "alice--", "alice#", "x\\'or\\'1",
                USERS["alice"][1], USERS["gina"][1], "ALICE%'; DROP TABLE customers; --",
                "é'é", "\u00a0alice"]
    results = [login(a, USERS["alice"][0]) for a in attempts]
    results += [login(a, USERS["gina"][0]) for a in ("%", "_", "g%", "gin_")]
    t.ok(all(r == (F.SASL_RESULT, NOT_AUTHORIZED) for r in results),
         f"{kind}: {len(results)} injection attempts through the username all fail",
         list(zip(attempts, results)))
    t.eq(dump(db), before, f"{kind}: and the table is unchanged")
    reached = [a for a in attempts if f"{a}@" in auth.log() and "not a valid username" not in
               re.findall(rf"for {re.escape(a)}@.*", auth.log())[0]]
    t.ok(len(reached) >= 8, f"{kind}: most of them reached the database as bound values",
         reached)

    # SCRAM over the fake c2s for a prefetched secret, and its wrong-password twin.
    s = Scram("SCRAM-SHA-256", "erin", "erin-pw")
    fc.start(f"{kind}-s1", "SCRAM-SHA-256", s.first(), cbs=cbs)
    f1 = fc.answer(f"{kind}-s1")
    ok = f1 is not None and f1.type == F.SASL_STEP
    if ok:
        fc.step(f"{kind}-s1", s.final(f1.get(F.SASL_DATA)))
        f2 = fc.answer(f"{kind}-s1")
        ok = status(f2) == (F.SASL_RESULT, OK) and s.verify(f2.get(F.SASL_DATA))
    t.ok(ok, f"{kind}: SCRAM-SHA-256 exchange with the server's signature checked")

    # A password change (XEP-0077) through query_set_password.
    NS = "jabber:iq:register"
    fc.route(f"{kind}-r1", f"<iq xmlns='jabber:client' type='set' id='i' from='alice@{HOST}/x'>"
             f"<query xmlns='{NS}'><username>alice</username><password>new-alice-pw</password>"
             "</query></iq>")
    fr = fc.routed(f"{kind}-r1", timeout=15)
    reply = fr.get(F.STANZA).decode() if fr else ""
    t.ok("type='result'" in reply or 'type="result"' in reply, f"{kind}: password change accepted",
         reply)
    stored = db.sql("parley", "SELECT pwhash FROM customers WHERE login = 'alice'").strip()
    want = "$2b$" if QUERIES[kind]["hash"] == "bcrypt" else "SCRAM-SHA-256$"
    t.ok(stored.startswith(want), f"{kind}: stored as {QUERIES[kind]['hash']}", stored[:20])
    t.eq(login("alice", "new-alice-pw"), (F.SASL_RESULT, OK), f"{kind}: the new password works")
    t.eq(login("alice", "alice-pw"), (F.SASL_RESULT, NOT_AUTHORIZED),
         f"{kind}: the old one no longer does")
    if want.startswith("SCRAM"):
        t.eq(slixlogin(site.port, "alice", "new-alice-pw", "SCRAM-SHA-256-PLUS"),
             f"OK alice@{HOST}/t",
             f"{kind}: and now SCRAM works for alice too")
    else:
        t.eq(slixlogin(site.port, "alice", "new-alice-pw"), f"OK alice@{HOST}/t",
             f"{kind}: and a real client logs in with it")
    reg = fc.route(f"{kind}-r2", f"<iq xmlns='jabber:client' type='set' id='j' to='{HOST}'>"
                   f"<query xmlns='{NS}'><username>zed</username><password>z</password></query>"
                   "</iq>")
    fr = fc.routed(f"{kind}-r2", timeout=15)
    reply = fr.get(F.STANZA).decode() if fr else ""
    t.ok("type='error'" in reply or 'type="error"' in reply,
         f"{kind}: registration is refused (the operator provisions accounts)", reply)
    del reg

    # parleyctl: a read-only login check against the backend, and passwd through it.
    def ctl(*args, stdin=None):
        return subprocess.run([os.path.join(BUILD, "parleyctl"), "-c", site.conf, "user"] +
                              list(args), input=stdin, capture_output=True, text=True, timeout=60)
    before = dump(db)
    r = ctl("check", f"bob@{HOST}", stdin="bob-pw\n")
    t.ok(r.returncode == 0 and r.stdout.strip() == f"ok bob@{HOST}",
         f"{kind}: parleyctl user check with the right password: ok, exit 0", r)
    r = ctl("check", f"bob@{HOST}", stdin="bob-p\n")
    t.ok(r.returncode == 1 and r.stdout.strip() == f"failed bob@{HOST}",
         f"{kind}: with a wrong one: failed, exit 1", r)
    r = ctl("check", f"nobody@{HOST}", stdin="x\n")
    t.ok(r.returncode == 1 and "failed" in r.stdout, f"{kind}: an unknown user: failed", r)
    t.eq(dump(db), before, f"{kind}: user check changes nothing")
    r = ctl("passwd", f"gina@{HOST}", stdin="Gina-New-2\n")
    stored = db.sql("parley", "SELECT pwhash FROM customers WHERE login = 'gina'").strip()
    t.ok(r.returncode == 0 and stored.startswith(want), f"{kind}: parleyctl user passwd "
         f"stores the new password through query_set_password ({stored[:14]}…)", r)
    t.eq(login("gina", "Gina-New-2"), (F.SASL_RESULT, OK), f"{kind}: and it logs in")
    r = ctl("passwd", f"nosuch@{HOST}", stdin="x\n")
    t.ok(r.returncode == 1 and "no such user" in r.stderr, f"{kind}: passwd of an unknown user "
         "fails", r)

    # A slow database: one login waits on its query; another goes through meanwhile.
    fc.start(f"{kind}-slow", "PLAIN", plain("sleepy", "sleepy-pw"), cbs=cbs)
    time.sleep(0.3)
    t0 = time.monotonic()
    fast = login("bob", "bob-pw", timeout=10)
    took_fast = time.monotonic() - t0
    slow = status(fc.answer(f"{kind}-slow", timeout=15))
    took_slow = time.monotonic() - t0 + 0.3
    t.ok(fast == (F.SASL_RESULT, OK) and took_fast < 1.5,
         f"{kind}: while one query sleeps, another user logs in at once", (fast, took_fast))
    t.ok(slow == (F.SASL_RESULT, TEMPORARY_AUTH_FAILURE) and 1.5 < took_slow < 4,
         f"{kind}: the sleeping one gets temporary-auth-failure at auth.sql.timeout",
         (slow, took_slow))
    t.ok(re.search(r"no answer from .* within 2000 ms for sleepy@", auth.log()) is not None,
         f"{kind}: logged")
    t.eq(login("carol", "carol-pw"), (F.SASL_RESULT, OK), f"{kind}: and logins go on")

    # The database restarts: the workers' connections are made again.
    # (Each worker finds its old connection gone and makes a new one at once.)
    db.restart()
    got = [login("henry", "henry-pw"), login("bob", "bob-pw"), login("henry", "henry-pw")]
    t.eq(got, [(F.SASL_RESULT, OK)] * 3,
         f"{kind}: after the database restarted, the next logins work at once")

    c2s.close()
    t.eq(auth.stop(), 0, f"{kind}: SIGTERM: auth stops cleanly")
    for p in (sm, site.c2s, site.router):
        p.stop()


maria = MariaDB(suite.path("maria"))
pg = PostgreSQL(suite.path("pg"))
try:
    maria.start()
    maria.create_database("parley")
    pg.start()
    pg.create_database("parley")
except Exception as e:  # noqa: BLE001
    t.ok(False, "database servers start", str(e))
    t.done()

try:
    run_on(maria)
    run_on(pg)

    # A query with an unknown placeholder: a configuration error at start.
    bad = dict(QUERIES["mysql"], password="SELECT pwhash FROM customers WHERE login = %x")
    site = C2SSite(suite, name="bad", top=auth_section(maria, queries=bad))
    p = suite.start("bad-auth", ["parley-auth", "-f", "-c", site.conf])
    rc = p.wait(10)
    t.ok(rc not in (None, 0) and re.search(r"bad\.conf:\d+: auth\.sql\.query_password: "
                                           r"unknown placeholder %x", p.log()),
         "an unknown placeholder stops auth at start, naming file, line and setting", p.log())
    site.router.stop()

    # A database port that accepts and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    held = []
    stop = threading.Event()

    def hold():
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])
            except OSError:
                pass
    threading.Thread(target=hold, daemon=True).start()
    site = C2SSite(suite, name="dead", top=auth_section(maria, port=silent.getsockname()[1]))
    p = suite.start("dead-auth", ["parley-auth", "-f", "-c", site.conf])
    wait_until(lambda: not p.alive() or "bound auth" in p.log(), 15)
    c2s = F.connect(site.sock, "c2s.9", SECRET, role="c2s")
    c2s.bind("c2s.9")
    from authlib import C2S
    fc = C2S(c2s, "c2s.9")
    t0 = time.monotonic()
    fc.start("d1", "PLAIN", plain("alice", "alice-pw"), cbs=cbs)
    fc.start("d2", "PLAIN", plain("bob", "bob-pw"), cbs=cbs)
    fc.start("d3", "PLAIN", plain("carol", "carol-pw"), cbs=cbs)
    # The loop answers at once meanwhile (a step for an exchange it does not have).
    fc.step("nosuch", b"x")
    quick = status(fc.answer("nosuch", timeout=5))
    t_quick = time.monotonic() - t0
    got = [status(fc.answer(s, timeout=10)) for s in ("d1", "d2", "d3")]
    took = time.monotonic() - t0
    t.ok(quick == (F.SASL_RESULT, TEMPORARY_AUTH_FAILURE) and t_quick < 1,
         "a database that never answers: auth's loop still answers at once", (quick, t_quick))
    t.ok(all(g == (F.SASL_RESULT, TEMPORARY_AUTH_FAILURE) for g in got) and took < 5,
         "and every login waiting on it gets temporary-auth-failure in time", (got, took))
    t.ok(p.alive(), "auth stays up")
    stop.set()
    c2s.close()
    p.stop()
    site.router.stop()
    for s in held:
        s.close()
    silent.close()
finally:
    maria.stop()
    pg.stop()
t.done()
