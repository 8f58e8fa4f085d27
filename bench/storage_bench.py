#!/usr/bin/python3
"""storage_bench.py — what each storage driver costs: SQLite (the default),
MySQL/MariaDB and PostgreSQL, measured on a real Parley suite
(parley-router, parley-auth with auth.backend "internal", parley-sm,
parley-c2s) started as in production (as root, each process dropping to
nobody in its sandbox, log level info), on loopback, everything in a temp
dir. For a network driver the database server is a private one started
here (tests/integration/lib/dbserver.py) and reached over TCP on
127.0.0.1; each run gets a fresh database.

    storage_bench.py -b BUILD-DIR -d sqlite|mysql|pgsql [options]

Each run (on a fresh suite and a fresh database) has four phases; each
reads utime + stime (/proc/PID/stat) of Parley's processes before and
after, and separately the database server's: MariaDB is one process
(mariadbd, all its threads); PostgreSQL is the postmaster and its children
(the postmaster's own time, the time its reaped children left in its
cutime/cstime, and every live child's), so backends that come and go
count too. SQLite has no server.

  login    N logins exactly as bench/login_bench.py does them (its Client:
           STARTTLS, SCRAM-SHA-1 at 4096 iterations, bind, the legacy
           session iq), CONCURRENCY at a time, all of one account with
           distinct resources, staying connected; 20 warm-up logins first.
           Per login the store sees one lookup (auth's SCRAM secrets).
  cycle    CYCLES complete visits: log in as above, get the roster, send
           initial presence, ping the server, log out (</stream:stream>,
           waiting for the server's close). CONCURRENCY accounts, each
           used by one visit at a time, so no presence fans out to a
           second resource. sm's storage calls of a real login and logout
           (roster, offline messages, last activity…) are in this one.
  offline  one logged-in sender sends MESSAGES chat messages round-robin
           to RECIPIENTS accounts that are offline (they exist, they never
           logged in), so sm stores every one. A ping to the server goes
           after every BATCH messages and at most WINDOW pings may be
           unanswered: sm handles one client's stanzas in order, so a
           ping's answer means every message before it was stored (or
           bounced), and nothing queues without bound. sm.offline.quota
           is max(1000, MESSAGES / RECIPIENTS) unless --quota says
           otherwise: with the defaults (10000 to 10) each mailbox fills
           up to exactly the default quota, and the quota count before
           each store runs as in production but never refuses. Any error
           that comes back fails the run.
  deliver  the check that the messages are really stored: each recipient
           logs in, sends presence and must receive exactly its share,
           each message once (sm reads them from the store, delivers them
           and deletes them). Its CPU is reported too, per 1000 delivered.

For MariaDB each phase also reports the statements the server received
per unit (its Questions counter: about one round trip each).
--unix-socket reaches the server over its Unix socket instead of TCP on
127.0.0.1; --db-log FILE logs every statement (diagnosis only).

Prints one line per phase and run ("RESULT driver=… run=… phase=…") and
a summary per phase (median and range over the runs). Exit status 1 if
any login, message or delivery went wrong.
"""
import argparse
import asyncio
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "integration", "lib"))
import login_bench  # noqa: E402  (its Client does the logins)
import dbserver  # noqa: E402  (private MariaDB and PostgreSQL servers)

CLK_TCK = os.sysconf("SC_CLK_TCK")
DOMAIN = "example.test"
PASSWORD = "bench-password"
NS_STREAMS = "http://etherx.jabber.org/streams"
PAD = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
       "tempor incididunt ut labore et dolore magna aliqua.")
RX_MESSAGE = re.compile(rb"<message\b([^>]*)>(.*?)</message>", re.S)
RX_BODY = re.compile(rb"<body>m(\d+) ")
RX_IQ = re.compile(rb"<iq\b([^>]*?)(?:/>|>.*?</iq>)", re.S)
RX_ID = re.compile(rb"""\bid=['"]([^'"]*)['"]""")
RX_ERROR = re.compile(rb"""\btype=['"]error['"]""")


class BenchError(Exception):
    pass


# --- CPU time from /proc ----------------------------------------------------------

def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces: the fields start after ')'.
        return f.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    v = stat_fields(pid)
    return (int(v[11]) + int(v[12])) / CLK_TCK


def tree_cpu_seconds(root):
    """CPU of a server that forks a process per connection (PostgreSQL):
    the root's utime + stime, plus cutime + cstime (the children it has
    reaped), plus utime + stime of every live child. A child that exits
    between two readings moves from the last term to the second, so the
    difference of two readings counts it once."""
    v = stat_fields(root)
    total = sum(int(x) for x in v[11:15])
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == root:
            continue
        try:
            c = stat_fields(int(name))
        except (OSError, IndexError):
            continue     # gone meanwhile
        if int(c[1]) == root:
            total += int(c[11]) + int(c[12])
    return total / CLK_TCK


def machine_busy():
    """CPU seconds all cores spent busy since boot (all but idle and
    iowait), to tell what else ran during a phase."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / CLK_TCK


def my_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Meter:
    """Reads Parley's processes, the database server, this client and the
    machine at the start and at the end of a phase."""

    def __init__(self, procs, db, requests=None):
        self.procs = procs          # [(name, pid)]
        self.db = db                # None, or (kind, pid)
        self.requests = requests    # None, or a function: the server's statement count

    def db_cpu(self):
        if self.db is None:
            return 0.0
        kind, pid = self.db
        return tree_cpu_seconds(pid) if kind == "pgsql" else cpu_seconds(pid)

    def read(self, end=False):
        # The statement count is read outside the CPU readings: before them
        # at the start, after them at the end.
        q = self.requests() if self.requests and not end else None
        r = {"t": time.monotonic(), "parley": {n: cpu_seconds(p) for n, p in self.procs},
             "db": self.db_cpu(), "me": my_cpu(), "busy": machine_busy()}
        r["q"] = self.requests() if self.requests and end else q
        return r

    @staticmethod
    def diff(a, b):
        return {"wall": b["t"] - a["t"],
                "parley": {n: b["parley"][n] - a["parley"][n] for n in a["parley"]},
                "db": b["db"] - a["db"], "me": b["me"] - a["me"],
                "busy": b["busy"] - a["busy"],
                # Less the reading that ended the phase.
                "q": b["q"] - a["q"] - 1 if a["q"] is not None and b["q"] is not None
                else None}


# --- the suite ------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_log(path, pattern, proc, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path, errors="replace") as f:
                if pattern in f.read():
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    try:
        with open(path, errors="replace") as f:
            tail = f.read()[-3000:]
    except OSError:
        tail = ""
    raise BenchError(f"no '{pattern}' in {path}:\n{tail}")


class Suite:
    """router + auth + sm + c2s from BUILD on a config in DIR."""

    def __init__(self, args, dir, storage, quota):
        self.args = args
        self.dir = dir
        self.procs = []
        self.port = free_port()
        for d in ("run", "data", "log"):
            os.makedirs(os.path.join(dir, d), mode=0o755)
            shutil.chown(os.path.join(dir, d), "nobody", "nogroup")
        os.chmod(dir, 0o755)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{dir}/key.pem",
                        "-out", f"{dir}/cert.pem", "-days", "2", "-subj", f"/CN={DOMAIN}",
                        "-addext", f"subjectAltName=DNS:{DOMAIN}"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(f"{dir}/key.pem", 0o600)
        clients = args.clients + args.warmup + args.concurrency + args.recipients + 100
        self.conf = os.path.join(dir, "parley.conf")
        with open(self.conf, "w") as f:
            f.write(f"""hosts = [ "{DOMAIN}" ];
user = "nobody";
group = "nogroup";
run_dir = "{dir}/run";
data_dir = "{dir}/data";
log = {{ target = "{dir}/log/parley.log"; level = "info"; }};
tls = {{ certificate = "{dir}/cert.pem"; key = "{dir}/key.pem"; }};
router = {{
	secret = "bench-router-secret-0123456789";
	component_port = 0;
	log = {{ target = "{dir}/log/router.log"; }};
}};
auth = {{ backend = "internal"; log = {{ target = "{dir}/log/auth.log"; }}; }};
sm = {{
	offline = {{ quota = {quota}; }};
	log = {{ target = "{dir}/log/sm.log"; }};
}};
c2s = {{
	listeners = ( {{ address = "127.0.0.1"; port = {self.port}; tls = "starttls"; }} );
	# The mechanism of issue 4's login target.
	sasl_mechanisms = [ "SCRAM-SHA-1" ];
	# Every client comes from 127.0.0.1; the sender must not be slowed by
	# the per-client byte limiter.
	max_connections_per_address = 0;
	max_connections = {clients};
	rate_limit = 0;
	log = {{ target = "{dir}/log/c2s.log"; }};
}};
storage = {{
{storage}
}};
""")

    def ctl(self, *argv):
        r = subprocess.run([os.path.join(self.args.build, "parleyctl"), "-c", self.conf] +
                           list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if r.returncode != 0:
            raise BenchError(f"parleyctl {' '.join(argv)}: {r.stdout.strip()}")

    def add_users(self, names):
        for n in names:
            self.ctl("user", "add", f"{n}@{DOMAIN}", PASSWORD)
        # SQLite's file (and its -wal, -shm) were made by root here.
        for root, dirs, files in os.walk(os.path.join(self.dir, "data")):
            for x in dirs + files:
                shutil.chown(os.path.join(root, x), "nobody", "nogroup")

    def start_one(self, name, argv, log, ready):
        p = subprocess.Popen([os.path.join(self.args.build, argv[0])] + argv[1:],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(self.dir, "log", name + ".err"), "w"))
        self.procs.append((name, p))
        wait_log(os.path.join(self.dir, "log", log), ready, p)
        return p

    def start(self):
        c = ["-f", "-c", self.conf]
        self.start_one("router", ["parley-router"] + c, "router.log", "listening on")
        self.start_one("auth", ["parley-auth"] + c, "auth.log", "ready")
        self.start_one("sm", ["parley-sm"] + c, "sm.log", "sm ready")
        self.start_one("c2s", ["parley-c2s"] + c + ["-i", "1"], "c2s.log", "auth is up")

    def pids(self):
        return [(n, p.pid) for n, p in self.procs]

    def stop(self):
        """SIGTERM in the reverse order of start, each by its PID."""
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []

    def errors_logged(self):
        out = []
        logdir = os.path.join(self.dir, "log")
        for name in sorted(os.listdir(logdir)):
            with open(os.path.join(logdir, name), errors="replace") as f:
                for line in f:
                    if re.search(r" (error|fatal|crit):", line):
                        out.append(f"{name}: {line.rstrip()}")
        return out


# --- clients ----------------------------------------------------------------------------

def client_args(args, port, user, prefix="bench-"):
    """The options login_bench.Client reads."""
    return types.SimpleNamespace(host="127.0.0.1", port=port, domain=DOMAIN, user=user,
                                 password=PASSWORD, resource_prefix=prefix,
                                 legacy_session=True)


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def read_until(c, pattern, what, timeout=30.0):
    """Read c's stream (text, login_bench style) until pattern matches."""
    return await asyncio.wait_for(c.expect(pattern, what), timeout)


async def visit(c):
    """After login: the roster, initial presence, a ping; then log out and
    wait for the server's close."""
    c.send("<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>")
    m = await c.expect(r"<iq[^>]*id=['\"]r['\"][^>]*(?:/>|>.*?</iq>)", "roster")
    if "result" not in m.group(0):
        raise login_bench.LoginError(f"roster: {m.group(0)!r}")
    c.send(f"<presence/><iq type='get' id='p' to='{DOMAIN}'>"
           f"<ping xmlns='urn:xmpp:ping'/></iq>")
    m = await c.expect(r"<iq[^>]*id=['\"]p['\"][^>]*(?:/>|>.*?</iq>)", "ping")
    if "result" not in m.group(0):
        raise login_bench.LoginError(f"ping: {m.group(0)!r}")
    c.send("</stream:stream>")
    # The server closes its stream and the connection.
    while "</stream:stream>" not in c.buf:
        data = await c.reader.read(65536)
        if not data:
            break
        c.buf += data.decode(errors="replace")
    c.close()


CLIENT_ERRORS = (login_bench.LoginError, OSError, asyncio.TimeoutError, ssl.SSLError, KeyError,
                 ValueError)


async def phase_login(args, port, meter):
    ctx = tls_context()
    cache = {}
    sem = asyncio.Semaphore(args.concurrency)
    ca = client_args(args, port, "bench")
    clients, errors = [], []

    async def one(i):
        async with sem:
            c = login_bench.Client(ca, ctx, i, cache)
            try:
                await asyncio.wait_for(c.login(), 60)
                clients.append(c)
            except CLIENT_ERRORS as e:
                errors.append(f"login {i}: {type(e).__name__}: {e}")
                c.close()

    await asyncio.gather(*(one(i) for i in range(args.warmup)))
    await asyncio.sleep(1.0)
    base = len(clients)
    a = meter.read()
    await asyncio.gather(*(one(i) for i in range(args.warmup, args.warmup + args.clients)))
    b = meter.read(end=True)
    n = len(clients) - base
    for c in clients:
        c.close()
    return Meter.diff(a, b), n, errors


async def phase_cycle(args, port, meter):
    ctx = tls_context()
    cache = {}
    errors = []
    done = [0]

    async def visits(ids):
        queue = asyncio.Queue()
        for i in ids:
            queue.put_nowait(i)

        async def slot(k):
            # One account per slot: its visits follow one another.
            ca = client_args(args, port, f"cyc{k}", prefix=f"c{k}-")
            while not queue.empty():
                i = queue.get_nowait()
                c = login_bench.Client(ca, ctx, i, cache)
                try:
                    await asyncio.wait_for(c.login(), 60)
                    await asyncio.wait_for(visit(c), 60)
                    done[0] += 1
                except CLIENT_ERRORS as e:
                    errors.append(f"cycle {i}: {type(e).__name__}: {e}")
                    c.close()
        await asyncio.gather(*(slot(k) for k in range(args.concurrency)))

    # Warm-up, not measured: a visit per slot (the client's PBKDF2 cache
    # per account's salt; sm's first use of the accounts).
    await visits(range(args.cycles, args.cycles + args.concurrency))
    done[0] = 0
    await asyncio.sleep(1.0)
    a = meter.read()
    await visits(range(args.cycles))
    # The last logouts' session ends (sm's last-activity write) are in
    # flight when the last close arrives; give them a moment.
    await asyncio.sleep(0.2)
    b = meter.read(end=True)
    d = Meter.diff(a, b)
    d["wall"] = max(0.001, d["wall"] - 0.2)
    return d, done[0], errors


class Sender:
    """The offline phase's sender: writes batches of messages, each
    followed by a ping, and reads pings' answers and errors."""

    def __init__(self, c, args):
        self.c = c
        self.args = args
        self.answered = 0
        self.bounced = 0
        self.errors = []
        self.event = asyncio.Event()
        self.eof = False

    async def read_loop(self):
        buf = self.c.buf.encode()
        self.c.buf = ""
        while True:
            data = await self.c.reader.read(262144)
            if not data:
                self.eof = True
                self.event.set()
                return
            buf += data
            end = 0
            for m in RX_MESSAGE.finditer(buf):
                if RX_ERROR.search(m.group(1)):
                    self.bounced += 1
                    if len(self.errors) < 100:
                        self.errors.append((m.group(1) + m.group(2))[:300]
                                           .decode(errors="replace"))
                end = max(end, m.end())
            for m in RX_IQ.finditer(buf):
                i = RX_ID.search(m.group(1))
                if i is not None and i.group(1).startswith(b"q"):
                    if RX_ERROR.search(m.group(1)):
                        self.errors.append(m.group(0)[:300].decode(errors="replace"))
                    self.answered += 1
                    self.event.set()
                end = max(end, m.end())
            buf = buf[end:]
            if len(buf) > 1 << 20:
                buf = buf[-65536:]


async def phase_offline(args, port, meter):
    ctx = tls_context()
    c = login_bench.Client(client_args(args, port, "sender"), ctx, 0, {})
    await asyncio.wait_for(c.login(), 60)
    c.send("<presence/>")
    s = Sender(c, args)
    reader = asyncio.ensure_future(s.read_loop())
    rcpt = [f"rcpt{r}@{DOMAIN}" for r in range(args.recipients)]
    n = args.messages
    batches = (n + args.batch - 1) // args.batch
    deadline = time.monotonic() + args.timeout
    a = meter.read()
    sent = 0
    for b in range(batches):
        while b - s.answered >= args.window and not s.eof and time.monotonic() < deadline:
            s.event.clear()
            try:
                await asyncio.wait_for(s.event.wait(), max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass
        if s.eof or time.monotonic() >= deadline:
            break
        out = []
        for k in range(sent, min(n, sent + args.batch)):
            out.append(f"<message to='{rcpt[k % len(rcpt)]}' type='chat' id='m{k}'>"
                       f"<body>m{k} {PAD}</body></message>")
        sent += len(out)
        out.append(f"<iq type='get' id='q{b}' to='{DOMAIN}'><ping xmlns='urn:xmpp:ping'/></iq>")
        c.writer.write("".join(out).encode())
    while s.answered < batches and not s.eof and time.monotonic() < deadline:
        s.event.clear()
        try:
            await asyncio.wait_for(s.event.wait(), max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pass
    b = meter.read(end=True)
    ok = s.answered == batches and sent == n
    reader.cancel()
    c.close()
    errors = list(s.errors)
    if s.bounced:
        errors.append(f"offline: {s.bounced} of {sent} messages bounced")
    if not ok:
        errors.append(f"offline: {sent} of {n} sent, {s.answered} of {batches} pings answered"
                      f"{' (connection closed)' if s.eof else ''}")
    # What was stored: sent less bounced (the deliver phase checks it).
    return Meter.diff(a, b), sent - s.bounced, errors


async def phase_deliver(args, port, meter):
    """Each recipient logs in and must get exactly its share."""
    ctx = tls_context()
    n, r = args.messages, args.recipients
    want = {i: set(range(i, n, r)) for i in range(r)}
    got = {i: {} for i in range(r)}
    errors = []
    finished = [0]
    all_in = asyncio.Event()

    def count(i, buf):
        """Count the messages in buf; return what is left of it."""
        last = 0
        for m in RX_MESSAGE.finditer(buf):
            last = m.end()
            b = RX_BODY.search(m.group(2))
            if b is None or RX_ERROR.search(m.group(1)):
                continue
            k = int(b.group(1))
            got[i][k] = got[i].get(k, 0) + 1
        return buf[last:]

    def done():
        finished[0] += 1
        if finished[0] == r:
            all_in.set()

    async def one(i):
        c = login_bench.Client(client_args(args, port, f"rcpt{i}"), ctx, 0, {})
        try:
            await asyncio.wait_for(c.login(), 60)
        except CLIENT_ERRORS as e:
            errors.append(f"rcpt{i}: login: {type(e).__name__}: {e}")
            c.close()
            done()
            return
        c.send("<presence/>")
        buf = c.buf.encode()
        c.buf = ""
        end = time.monotonic() + args.timeout
        try:
            while len(got[i]) < len(want[i]) and time.monotonic() < end:
                data = await asyncio.wait_for(c.reader.read(262144),
                                              max(0.01, end - time.monotonic()))
                if not data:
                    errors.append(f"rcpt{i}: connection closed")
                    break
                buf = count(i, buf + data)
        except asyncio.TimeoutError:
            pass
        done()
        # A copy delivered twice would come right behind: wait a little
        # (after the phase's last reading) before hanging up.
        try:
            await asyncio.wait_for(all_in.wait(), args.timeout)
            data = await asyncio.wait_for(c.reader.read(262144), 0.3)
            count(i, buf + data)
        except asyncio.TimeoutError:
            pass
        c.close()

    a = meter.read()
    tasks = asyncio.gather(*(one(i) for i in range(r)))
    await all_in.wait()
    b = meter.read(end=True)
    await tasks
    delivered = 0
    for i in range(r):
        missing = want[i] - set(got[i])
        extra = set(got[i]) - want[i]
        twice = [k for k, v in got[i].items() if v > 1]
        delivered += len(set(got[i]) & want[i])
        if missing or extra or twice:
            errors.append(f"rcpt{i}: {len(missing)} missing, {len(extra)} not its own, "
                          f"{len(twice)} delivered twice (of {len(want[i])})")
    return Meter.diff(a, b), delivered, errors


# --- a run --------------------------------------------------------------------------------

def report(driver, run, phase, d, n, per, load):
    parley = sum(d["parley"].values())
    parts = " + ".join(f"{k} {per * v / max(n, 1):.3f}" for k, v in d["parley"].items())
    others = max(0.0, d["busy"] - parley - d["db"] - d["me"])
    print(f"{driver} run {run} {phase}: {n} in {d['wall']:.2f} s ({n / d['wall']:.0f}/s); "
          f"per {per}: Parley {per * parley / max(n, 1):.3f} s ({parts}), "
          f"database {per * d['db'] / max(n, 1):.3f} s"
          + (f" ({d['q'] / max(n, 1):.1f} statements each)" if d["q"] is not None else "")
          + f"; client {100 * d['me'] / d['wall']:.0f}% of a core, other processes "
          f"{100 * others / d['wall']:.0f}%")
    print(f"RESULT driver={driver} run={run} phase={phase} n={n} wall={d['wall']:.3f} "
          f"rate={n / d['wall']:.1f} parley_per_{per}={per * parley / max(n, 1):.4f} "
          f"db_per_{per}={per * d['db'] / max(n, 1):.4f} "
          + " ".join(f"{k}={per * v / max(n, 1):.4f}" for k, v in d["parley"].items())
          + (f" statements_each={d['q'] / max(n, 1):.2f}" if d["q"] is not None else "")
          + f" client_share={d['me'] / d['wall']:.2f} others_share={others / d['wall']:.2f}"
          f" load={load}", flush=True)
    return {"rate": n / d["wall"], "parley": per * parley / max(n, 1),
            "db": per * d["db"] / max(n, 1),
            "parts": {k: per * v / max(n, 1) for k, v in d["parley"].items()}}


def db_requests(driver, db):
    """MariaDB's count of the statements its clients sent (Questions:
    prepared executes included, about one round trip each), read before a
    phase and after the pause that follows it. (PostgreSQL's counters
    lag by up to 10 s after a backend goes idle: not read.)"""
    try:
        return int(db.root_sql("SHOW GLOBAL STATUS LIKE 'Questions'").split()[1])
    except (RuntimeError, ValueError, IndexError):
        return None


def storage_section(driver, db, database, unix_socket=False):
    if driver == "sqlite":
        return '\tdriver = "sqlite";'
    where = (f'host = ""; socket = "{db.socket}"; port = {db.port};' if unix_socket else
             f'host = "127.0.0.1"; port = {db.port};')
    return (f'\tdriver = "{driver}";\n'
            f'\tsql = {{ {where} database = "{database}";\n'
            f'\t\tuser = "{dbserver.USER}"; password = "{dbserver.PASSWORD}";'
            f' tls = "disable"; }};')


def one_run(args, driver, db, run, results):
    dir = tempfile.mkdtemp(prefix=f"parley-storage-bench-{driver}-", dir=args.tmp)
    database = f"bench_run{run}"
    if db is not None:
        db.create_database(database)
    quota = args.quota if args.quota is not None else \
        max(1000, -(-args.messages // args.recipients))
    suite = Suite(args, dir, storage_section(driver, db, database, args.unix_socket), quota)
    failures = []
    try:
        users = (["bench", "sender"] + [f"cyc{k}" for k in range(args.concurrency)] +
                 [f"rcpt{i}" for i in range(args.recipients)])
        suite.add_users(users)
        suite.start()
        meter = Meter(suite.pids(), None if db is None else (driver, db.pid),
                      (lambda: db_requests(driver, db)) if driver == "mysql" else None)
        load = open("/proc/loadavg").read().split()[0]
        phases = [("login", phase_login, 1000), ("cycle", phase_cycle, 1000),
                  ("offline", phase_offline, 1000), ("deliver", phase_deliver, 1000)]
        for name, fn, per in phases:
            if name in args.skip:
                continue
            d, n, errors = asyncio.run(fn(args, suite.port, meter))
            load = open("/proc/loadavg").read().split()[0]
            r = report(driver, run, name, d, n, per, load)
            results.setdefault(name, []).append(r)
            want = {"login": args.clients, "cycle": args.cycles, "offline": args.messages,
                    "deliver": args.messages}[name]
            if n != want:
                errors.append(f"{name}: {n} of {want}")
            for e in errors[:10]:
                print(f"# {driver} run {run} {name}: {e}", file=sys.stderr)
            if errors:
                failures.append(f"{name}: {len(errors)} errors")
            # Sessions closing, sm's and the database's background work:
            # let them finish before the next phase's first reading.
            time.sleep(args.pause)
    finally:
        suite.stop()
        logged = suite.errors_logged()
        for line in logged[:20]:
            print(f"# logged: {line}", file=sys.stderr)
        if logged:
            failures.append(f"{len(logged)} error lines logged")
        if args.keep:
            print(f"# kept {dir}", file=sys.stderr)
        else:
            shutil.rmtree(dir, ignore_errors=True)
        if db is not None:
            try:
                db.sql(database, "SELECT 1")   # still answering?
            except RuntimeError as e:
                failures.append(f"database: {e}")
    return failures


def summary(driver, results):
    for phase, rs in results.items():
        if not rs:
            continue
        med = lambda k: statistics.median(r[k] for r in rs)   # noqa: E731
        rng = lambda k: f"{min(r[k] for r in rs):.3f}–{max(r[k] for r in rs):.3f}"  # noqa: E731
        parts = ", ".join(f"{k} {statistics.median(r['parts'][k] for r in rs):.3f}"
                          for k in rs[0]["parts"])
        print(f"SUMMARY driver={driver} phase={phase} runs={len(rs)} "
              f"rate_median={med('rate'):.0f} parley_per_1000_median={med('parley'):.3f} "
              f"(range {rng('parley')}; {parts}) db_per_1000_median={med('db'):.3f} "
              f"(range {rng('db')})", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-b", "--build", required=True, help="built tree holding the binaries")
    ap.add_argument("-d", "--driver", required=True, choices=("sqlite", "mysql", "pgsql"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("-n", "--clients", type=int, default=2000, help="logins (login phase)")
    ap.add_argument("-c", "--concurrency", type=int, default=50, help="logins in flight")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--cycles", type=int, default=1000, help="visits (cycle phase)")
    ap.add_argument("-m", "--messages", type=int, default=10000, help="offline messages")
    ap.add_argument("--recipients", type=int, default=10)
    ap.add_argument("--quota", type=int, default=None,
                    help="sm.offline.quota (default: max(1000, messages / recipients); "
                    "0: none, so no count before each store)")
    ap.add_argument("--batch", type=int, default=100, help="messages per ping")
    ap.add_argument("--window", type=int, default=2, help="unanswered pings at most")
    ap.add_argument("--timeout", type=float, default=60.0, help="per phase")
    ap.add_argument("--pause", type=float, default=2.0, help="idle seconds between phases")
    ap.add_argument("--skip", default="", help="phases to leave out, comma-separated")
    ap.add_argument("--unix-socket", action="store_true",
                    help="reach the database server over its Unix socket, not TCP on 127.0.0.1")
    ap.add_argument("--tmp", default="/tmp")
    ap.add_argument("--keep", action="store_true", help="keep each run's temp dir")
    ap.add_argument("--db-log", metavar="FILE",
                    help="diagnosis: log every statement (MariaDB: into FILE; PostgreSQL: "
                    "into its pg.log, copied to FILE); the CPU figures are then not valid")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.skip = set(x for x in args.skip.split(",") if x)
    if os.geteuid() != 0:
        sys.exit("storage_bench.py: run as root (each process drops to nobody itself)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.clients + args.warmup + args.concurrency + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))

    db = None
    dbdir = None
    if args.driver != "sqlite":
        dbdir = tempfile.mkdtemp(prefix=f"parley-storage-bench-{args.driver}-db-", dir=args.tmp)
        db = dbserver.server(args.driver, dbdir)
        db.start()
        # --unix-socket: the processes, as nobody, must reach the socket.
        os.chmod(dbdir, 0o755)
        if args.driver == "mysql":
            # Durability like the other two here (SQLite: WAL with
            # synchronous NORMAL; PostgreSQL: dbserver's fsync off): the
            # log written at each commit, flushed to disk once a second,
            # so a VM disk's fsync latency is not what is measured.
            db.root_sql("SET GLOBAL innodb_flush_log_at_trx_commit = 2")
        if args.db_log:
            # Diagnosis only (it costs the server CPU): every statement
            # the server receives, to see what each phase asks of it.
            if args.driver == "mysql":
                db.root_sql(f"SET GLOBAL general_log_file = '{os.path.abspath(args.db_log)}'; "
                            "SET GLOBAL general_log = 1")
            else:
                db.sql("postgres", "ALTER SYSTEM SET log_statement = 'all'")
                db.sql("postgres", "SELECT pg_reload_conf()")
        print(f"# {args.driver} server pid {db.pid} on 127.0.0.1:{db.port}", flush=True)
    results = {}
    failures = []
    try:
        for run in range(1, args.runs + 1):
            try:
                for f in one_run(args, args.driver, db, run, results):
                    failures.append(f"run {run}: {f}")
            except (BenchError, RuntimeError, OSError, subprocess.SubprocessError) as e:
                failures.append(f"run {run}: {type(e).__name__}: {e}")
    finally:
        if db is not None:
            db.stop()
            if args.db_log and args.driver == "pgsql":
                shutil.copy(os.path.join(dbdir, "pg.log"), args.db_log)
            shutil.rmtree(dbdir, ignore_errors=True)
    summary(args.driver, results)
    for f in failures:
        print(f"FAIL {args.driver} {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
