#!/usr/bin/python3
"""login_bench.py — the client side of the login benchmark (issue 4): N
XMPP clients log in to a running Parley suite over STARTTLS with
SCRAM-SHA-1 (GS2 flag "n", no channel binding), bind a resource, send the
legacy session iq, and stay connected and idle; meanwhile it reads the
server processes' CPU time and memory from /proc and prints logins per
second, server CPU seconds per 1000 logins and resident memory per idle
session.

It is one asyncio process: the server's CPU is what is measured, not the
client's, so a client that manages a few hundred logins per second is
enough. A client does what a real one does, with one shortcut real
clients also take: the SCRAM SaltedPassword (4096 rounds of PBKDF2 on
the client side) is computed once per (password, salt, iterations) and
reused, so that the client's PBKDF2 does not eat the core the server
needs. The server's work per login is unchanged by it.

    login_bench.py -p PORT -u USER -w PASSWORD --pids PID,PID,... [options]

The memory figure is the sum of Pss (proportional set size, from
/proc/PID/smaps_rollup: shared pages counted once across the processes)
of the given processes, measured before the first connection and again
once all N clients are idle (after --settle seconds, so that c2s has
released the XML parsers of quiet sessions), divided by N. VmRSS is
printed alongside.
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import re
import resource
import ssl
import sys
import time

NS_STREAMS = "http://etherx.jabber.org/streams"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session"

CLK_TCK = os.sysconf("SC_CLK_TCK")
# The SCRAM iteration counts the server announced (one, normally: 4096).
ITERATIONS = set()
# The TLS versions the logins used.
TLS_VERSIONS = set()


class LoginError(Exception):
    pass


# --- what /proc says about the server ---------------------------------------

def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces: the fields start after ')'.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_kib(pid):
    """(Pss, Rss) in KiB from smaps_rollup."""
    pss = rss = anon = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss_Anon:"):
                anon = int(line.split()[1])
    return pss, rss, anon


def sample(pids):
    cpu = {p: cpu_seconds(p) for p in pids}
    mem = {p: memory_kib(p) for p in pids}
    return cpu, mem


# --- one client ---------------------------------------------------------------

class Client:
    def __init__(self, args, ctx, index, salted_cache):
        self.args = args
        self.ctx = ctx
        self.index = index
        self.cache = salted_cache
        self.reader = None
        self.writer = None
        self.buf = ""

    def header(self):
        return (f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                f"xmlns:stream='{NS_STREAMS}' to='{self.args.domain}' version='1.0' "
                f"xml:lang='en'>")

    def send(self, text):
        self.writer.write(text.encode())

    async def expect(self, pattern, what):
        """Read until the regex matches in what came after the last match."""
        rx = re.compile(pattern, re.S)
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            if "<failure" in self.buf and "</failure>" in self.buf or \
               "</stream:stream>" in self.buf:
                raise LoginError(f"{what}: {self.buf[-300:]!r}")
            data = await self.reader.read(65536)
            if not data:
                raise LoginError(f"{what}: connection closed after {self.buf[-300:]!r}")
            self.buf += data.decode(errors="replace")

    async def open_stream(self):
        self.send(self.header())
        return await self.expect(r"<stream:features>.*?</stream:features>", "features")

    async def scram_sha1(self):
        a = self.args
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n={a.user},r={nonce}"
        gs2 = "n,,"
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='SCRAM-SHA-1'>"
                  f"{base64.b64encode((gs2 + first_bare).encode()).decode()}</auth>")
        m = await self.expect(r"<challenge[^>]*>([^<]*)</challenge>", "SCRAM challenge")
        server_first = base64.b64decode(m.group(1)).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        if not attrs["r"].startswith(nonce):
            raise LoginError("SCRAM: server nonce does not extend ours")
        key = (a.password, attrs["s"], int(attrs["i"]))
        ITERATIONS.add(int(attrs["i"]))
        salted = self.cache.get(key)
        if salted is None:
            salted = hashlib.pbkdf2_hmac("sha1", a.password.encode(),
                                         base64.b64decode(attrs["s"]), int(attrs["i"]))
            self.cache[key] = salted
        client_key = hmac.new(salted, b"Client Key", "sha1").digest()
        stored = hashlib.sha1(client_key).digest()
        final_bare = f"c={base64.b64encode(gs2.encode()).decode()},r={attrs['r']}"
        auth_msg = f"{first_bare},{server_first},{final_bare}".encode()
        sig = hmac.new(stored, auth_msg, "sha1").digest()
        proof = bytes(x ^ y for x, y in zip(client_key, sig))
        final = f"{final_bare},p={base64.b64encode(proof).decode()}"
        self.send(f"<response xmlns='{NS_SASL}'>"
                  f"{base64.b64encode(final.encode()).decode()}</response>")
        m = await self.expect(r"<success[^>]*(?:/>|>([^<]*)</success>)", "SCRAM success")
        server_key = hmac.new(salted, b"Server Key", "sha1").digest()
        want = "v=" + base64.b64encode(hmac.new(server_key, auth_msg, "sha1").digest()).decode()
        got = base64.b64decode(m.group(1) or "").decode()
        if got != want:
            raise LoginError("SCRAM: the server signature does not verify")

    async def login(self):
        a = self.args
        self.reader, self.writer = await asyncio.open_connection(a.host, a.port)
        f = await self.open_stream()
        if "<starttls" not in f.group(0):
            raise LoginError("no STARTTLS offered")
        self.send(f"<starttls xmlns='{NS_TLS}'/>")
        await self.expect(r"<proceed[^>]*/>", "proceed")
        self.buf = ""
        await self.writer.start_tls(self.ctx, server_hostname=a.domain)
        TLS_VERSIONS.add(self.writer.get_extra_info("ssl_object").version())
        f = await self.open_stream()
        if "SCRAM-SHA-1<" not in f.group(0):
            raise LoginError(f"SCRAM-SHA-1 not offered: {f.group(0)!r}")
        await self.scram_sha1()
        await self.open_stream()
        self.send(f"<iq type='set' id='b'><bind xmlns='{NS_BIND}'>"
                  f"<resource>{a.resource_prefix}{self.index}</resource></bind></iq>")
        m = await self.expect(r"<iq[^>]*id=['\"]b['\"].*?(?:</iq>|/>)", "bind")
        if "type='result'" not in m.group(0) and 'type="result"' not in m.group(0):
            raise LoginError(f"bind: {m.group(0)!r}")
        if a.legacy_session:
            self.send(f"<iq type='set' id='s'><session xmlns='{NS_SESSION}'/></iq>")
            m = await self.expect(r"<iq[^>]*id=['\"]s['\"][^>]*(?:/>|>.*?</iq>)", "session")
            if "result" not in m.group(0):
                raise LoginError(f"session: {m.group(0)!r}")

    def close(self):
        if self.writer is not None:
            self.writer.close()


# --- the run ------------------------------------------------------------------

async def run(args):
    pids = [int(p) for p in args.pids.split(",") if p]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if args.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    cache = {}
    sem = asyncio.Semaphore(args.concurrency)
    clients = []
    errors = []

    paced_from = [None]

    async def one(i):
        if args.rate and i >= args.warmup:
            # Pace the measured logins: login k starts k/rate s after the first.
            delay = paced_from[0] + (i - args.warmup) / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        async with sem:
            c = Client(args, ctx, i, cache)
            try:
                await asyncio.wait_for(c.login(), args.timeout)
                clients.append(c)
            except (LoginError, OSError, asyncio.TimeoutError, ssl.SSLError, KeyError,
                    ValueError) as e:
                errors.append(f"client {i}: {type(e).__name__}: {e}")
                c.close()

    # Warm-up: a few logins before measuring (first use of code paths, the
    # client's PBKDF2 cache). They stay connected, but the baseline
    # readings come after them: they count for nothing.
    await asyncio.gather(*(one(i) for i in range(args.warmup)))
    await asyncio.sleep(args.settle)
    cpu0, mem0 = sample(pids)
    base_sessions = len(clients)
    my0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    paced_from[0] = t0
    await asyncio.gather(*(one(i) for i in range(args.warmup, args.warmup + args.clients)))
    t1 = time.monotonic()
    my1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu1, _ = sample(pids)
    await asyncio.sleep(args.settle)
    # Everyone still there after the settle? A session the server closed
    # would show as EOF on its reader.
    alive = sum(1 for c in clients if not c.reader.at_eof())
    _, mem1 = sample(pids)

    n = len(clients) - base_sessions
    wall = t1 - t0
    cpu = sum(cpu1[p] - cpu0[p] for p in pids)
    pss = sum(mem1[p][0] - mem0[p][0] for p in pids)
    rss = sum(mem1[p][1] - mem0[p][1] for p in pids)
    names = args.names.split(",") if args.names else [str(p) for p in pids]
    for e in errors[:10]:
        print(f"# {e}", file=sys.stderr)
    print(f"logins: {n} ok, {len(errors)} failed, {alive} of {len(clients)} sessions alive "
          f"after {args.settle:g} s idle")
    print(f"TLS: {', '.join(sorted(TLS_VERSIONS))}; SCRAM-SHA-1 iterations: "
          f"{', '.join(str(i) for i in sorted(ITERATIONS))}")
    print(f"wall: {wall:.2f} s; logins/s: {n / wall:.0f}")
    print(f"server CPU: {cpu:.2f} s; per 1000 logins: {1000 * cpu / max(n, 1):.3f} s "
          f"({', '.join(f'{nm} {1000 * (cpu1[p] - cpu0[p]) / max(n, 1):.3f}' for nm, p in zip(names, pids))})")
    mycpu = (my1.ru_utime - my0.ru_utime) + (my1.ru_stime - my0.ru_stime)
    print(f"client CPU: {mycpu:.2f} s ({100 * mycpu / wall:.0f}% of a core)")
    if n <= 0:
        print("memory: no session to measure")
        print(f"RESULT n={n} failed={len(errors)}")
        return 1
    per = ", ".join(f"{nm} {(mem1[p][0] - mem0[p][0]) / n:.1f}"
                    for nm, p in zip(names, pids))
    print(f"memory: Pss {sum(m[0] for m in mem0.values())} -> "
          f"{sum(m[0] for m in mem1.values())} KiB, per idle session "
          f"{pss / n:.1f} KiB Pss ({per}), "
          f"{rss / n:.1f} KiB Rss")
    print("ANON per idle session " + f"{sum(mem1[p][2] - mem0[p][2] for p in pids) / n:.2f} KiB (" + ", ".join(f"{nm} {(mem1[p][2] - mem0[p][2]) / n:.2f}" for nm, p in zip(names, pids)) + ")")
    print(f"RESULT n={n} logins_per_s={n / wall:.0f} cpu_per_1000={1000 * cpu / max(n, 1):.3f} "
          f"kib_per_session={pss / n:.1f} failed={len(errors)}")
    if args.hold:
        await asyncio.sleep(args.hold)
    for c in clients:
        c.close()
    await asyncio.sleep(0.1)
    return 0 if not errors and alive == len(clients) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-H", "--host", default="127.0.0.1")
    ap.add_argument("-p", "--port", type=int, required=True, help="STARTTLS port")
    ap.add_argument("-d", "--domain", default="example.test")
    ap.add_argument("-u", "--user", required=True, help="localpart; every client uses it")
    ap.add_argument("-w", "--password", required=True)
    ap.add_argument("-n", "--clients", type=int, default=2000)
    ap.add_argument("-c", "--concurrency", type=int, default=50, help="logins in flight")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--rate", type=float, default=0,
                    help="start at most this many logins per second (0: as fast as they go)")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="idle seconds before each memory reading")
    ap.add_argument("--timeout", type=float, default=60.0, help="per login")
    ap.add_argument("--pids", required=True, help="server PIDs, comma-separated")
    ap.add_argument("--names", default="", help="their names, comma-separated")
    ap.add_argument("--resource-prefix", default="bench-")
    ap.add_argument("--no-legacy-session", dest="legacy_session", action="store_false")
    ap.add_argument("--tls12", action="store_true", help="at most TLS 1.2")
    ap.add_argument("--hold", type=float, default=0, help="stay connected this long at the end")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.clients + args.warmup + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
