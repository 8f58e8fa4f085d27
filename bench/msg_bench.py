#!/usr/bin/python3
"""msg_bench.py — the client side of the messaging benchmark: 2 × PAIRS
XMPP clients (accounts PREFIX0 … PREFIX{2·PAIRS−1}, one password) log in
to a running Parley suite (STARTTLS, SASL PLAIN or SCRAM-SHA-1, bind,
initial presence), then exchange one-to-one chat messages within their
pair, in phases:

  paced-full   MESSAGES at RATE per second, addressed to the full JID
  paced-bare   the same, addressed to the bare JID (sm picks the resource)
  max-full     MAX_MESSAGES (default MESSAGES) as fast as they go, at most
               WINDOW in flight
  max-bare     the same, to the bare JID

A warm-up of WARMUP messages (full JIDs, as fast as they go) comes first
and is not measured.

Each message carries its number and its send time (CLOCK_MONOTONIC, one
clock for the whole process) in its body; the receiving client checks it
was meant for it, and the latency is the receive time minus the send time.
For each phase the server processes' CPU time (utime + stime from
/proc/PID/stat) is read before the first message and when the last one has
arrived. Every message must arrive exactly once, at the right client, and
no error may come back: otherwise the run fails (exit status 1) and says
which messages were lost or doubled.

    msg_bench.py -p PORT -w PASSWORD --pids PID,PID,... [options]

It is one asyncio process with raw sockets and regular expressions rather
than an XML library, to stay cheap: its own CPU is printed (about half a
core at full speed, which on a 2-core machine the server cannot use), and
so is the machine's busy time that was neither the server's nor its own.
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import re
import resource
import signal
import ssl
import subprocess
import sys
import time

NS_STREAMS = "http://etherx.jabber.org/streams"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# A delivered message: its attributes and its body. The client sends
# nothing else that comes back as <message>, so any <message> is ours (or
# an error bounced from one of ours).
RX_MESSAGE = re.compile(rb"<message\b([^>]*)>(.*?)</message>", re.S)
RX_BODY = re.compile(rb"<body>m(\d+) (\d+) ")
RX_ERROR_TYPE = re.compile(rb"""\btype=['"]error['"]""")
PAD = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
       "tempor incididunt ut labore et dolore magna aliqua.")


class LoginError(Exception):
    pass


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy():
    """CPU seconds all cores spent busy since boot (/proc/stat: all but idle
    and iowait), to tell what else ran on the machine during a phase."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / CLK_TCK


def my_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Bench:
    """What the phases share: the expected recipient, the arrival count and
    the latency of every message, and the clients."""

    def __init__(self, args):
        self.args = args
        self.clients = []
        self.total = 0
        self.recipient = []      # message number -> client index
        self.sent_ns = []        # message number -> send time
        self.count = bytearray()  # message number -> times delivered (capped at 255)
        self.latency_ns = []     # message number -> latency of its first delivery
        self.wrong = []          # (message, client it reached)
        self.errors = []         # error stanzas that came back
        self.delivered = 0       # distinct messages delivered, all phases
        self.progress = asyncio.Event()
        self.wake_below = None   # delivered count that wakes the max-rate sender

    def reserve(self, n):
        base = self.total
        self.total += n
        self.recipient.extend([-1] * n)
        self.sent_ns.extend([0] * n)
        self.count.extend(bytes(n))
        self.latency_ns.extend([0] * n)
        return base

    def got(self, client, attrs, inner, now):
        if RX_ERROR_TYPE.search(attrs):
            if len(self.errors) < 1000:
                self.errors.append((client.index, (attrs + inner)[:300]))
            return
        m = RX_BODY.search(inner)
        if m is None:
            return
        k = int(m.group(1))
        if k >= self.total or self.recipient[k] != client.index:
            self.wrong.append((k, client.index))
            return
        if self.count[k] < 255:
            self.count[k] += 1
        if self.count[k] == 1:
            self.latency_ns[k] = now - int(m.group(2))
            self.delivered += 1
            if self.wake_below is not None and self.delivered >= self.wake_below:
                self.progress.set()


class Client:
    def __init__(self, bench, ctx, index):
        self.bench = bench
        self.args = bench.args
        self.ctx = ctx
        self.index = index
        self.user = f"{self.args.prefix}{index}"
        self.bare = f"{self.user}@{self.args.domain}"
        self.full = f"{self.bare}/{self.args.resource}"
        self.reader = None
        self.writer = None
        self.buf = ""
        self.pending = []
        self.task = None
        self.eof = False

    # --- logging in (text, regular expressions; not measured) ---------------

    def send(self, text):
        self.writer.write(text.encode())

    async def expect(self, pattern, what):
        rx = re.compile(pattern, re.S)
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            if "<failure" in self.buf and "</failure>" in self.buf or \
               "</stream:stream>" in self.buf:
                raise LoginError(f"{self.user}: {what}: {self.buf[-300:]!r}")
            data = await self.reader.read(65536)
            if not data:
                raise LoginError(f"{self.user}: {what}: connection closed after "
                                 f"{self.buf[-300:]!r}")
            self.buf += data.decode(errors="replace")

    async def open_stream(self):
        self.send(f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                  f"xmlns:stream='{NS_STREAMS}' to='{self.args.domain}' version='1.0' "
                  f"xml:lang='en'>")
        return (await self.expect(r"<stream:features>.*?</stream:features>", "features")).group(0)

    async def plain(self):
        token = base64.b64encode(f"\0{self.user}\0{self.args.password}".encode()).decode()
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>")
        await self.expect(r"<success[^>]*(?:/>|>[^<]*</success>)", "PLAIN success")

    async def scram_sha1(self, cache):
        a = self.args
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n={self.user},r={nonce}"
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='SCRAM-SHA-1'>"
                  f"{base64.b64encode(('n,,' + first_bare).encode()).decode()}</auth>")
        m = await self.expect(r"<challenge[^>]*>([^<]*)</challenge>", "SCRAM challenge")
        server_first = base64.b64decode(m.group(1)).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        if not attrs["r"].startswith(nonce):
            raise LoginError("SCRAM: server nonce does not extend ours")
        key = (a.password, attrs["s"], int(attrs["i"]))
        salted = cache.get(key)
        if salted is None:
            salted = hashlib.pbkdf2_hmac("sha1", a.password.encode(),
                                         base64.b64decode(attrs["s"]), int(attrs["i"]))
            cache[key] = salted
        client_key = hmac.new(salted, b"Client Key", "sha1").digest()
        final_bare = f"c={base64.b64encode(b'n,,').decode()},r={attrs['r']}"
        auth_msg = f"{first_bare},{server_first},{final_bare}".encode()
        sig = hmac.new(hashlib.sha1(client_key).digest(), auth_msg, "sha1").digest()
        proof = bytes(x ^ y for x, y in zip(client_key, sig))
        final = f"{final_bare},p={base64.b64encode(proof).decode()}"
        self.send(f"<response xmlns='{NS_SASL}'>"
                  f"{base64.b64encode(final.encode()).decode()}</response>")
        await self.expect(r"<success[^>]*(?:/>|>[^<]*</success>)", "SCRAM success")

    async def login(self, cache):
        a = self.args
        self.reader, self.writer = await asyncio.open_connection(a.host, a.port)
        f = await self.open_stream()
        if "<starttls" not in f:
            raise LoginError("no STARTTLS offered")
        self.send(f"<starttls xmlns='{NS_TLS}'/>")
        await self.expect(r"<proceed[^>]*/>", "proceed")
        self.buf = ""
        await self.writer.start_tls(self.ctx, server_hostname=a.domain)
        f = await self.open_stream()
        if ">PLAIN<" in f and a.sasl != "scram":
            await self.plain()
        elif ">SCRAM-SHA-1<" in f:
            await self.scram_sha1(cache)
        else:
            raise LoginError(f"neither PLAIN nor SCRAM-SHA-1 offered: {f!r}")
        await self.open_stream()
        self.send(f"<iq type='set' id='b'><bind xmlns='{NS_BIND}'>"
                  f"<resource>{a.resource}</resource></bind></iq>")
        m = await self.expect(r"<iq[^>]*id=['\"]b['\"].*?(?:</iq>|/>)", "bind")
        if not re.search(r"type=['\"]result['\"]", m.group(0)) or self.full not in m.group(0):
            raise LoginError(f"bind: {m.group(0)!r}")
        # Initial presence, then a ping to the server: its answer comes
        # after sm has handled the presence (one session, one order), so
        # the session is available for bare-JID messages once it is here.
        self.send(f"<presence/><iq type='get' id='p' to='{a.domain}'>"
                  f"<ping xmlns='urn:xmpp:ping'/></iq>")
        m = await self.expect(r"<iq[^>]*id=['\"]p['\"][^>]*(?:/>|>.*?</iq>)", "ping")
        if not re.search(r"type=['\"]result['\"]", m.group(0)):
            raise LoginError(f"ping: {m.group(0)!r}")

    # --- the measured part (bytes) -----------------------------------------

    def start_reading(self):
        self.task = asyncio.ensure_future(self.read_loop())

    async def read_loop(self):
        buf = self.buf.encode()
        self.buf = ""
        bench = self.bench
        while True:
            data = await self.reader.read(262144)
            if not data:
                self.eof = True
                return
            now = time.monotonic_ns()
            buf += data
            end = 0
            for m in RX_MESSAGE.finditer(buf):
                bench.got(self, m.group(1), m.group(2), now)
                end = m.end()
            buf = buf[end:]
            # Anything else (presence, pings) must not pile up.
            if len(buf) > 65536 and b"<message" not in buf:
                buf = buf[-16:]

    def queue(self, text):
        self.pending.append(text)

    def flush(self):
        if self.pending:
            self.writer.write("".join(self.pending).encode())
            self.pending.clear()

    def close(self):
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            try:
                self.writer.write(b"</stream:stream>")
            except (OSError, RuntimeError):
                pass
            self.writer.close()


# --- the phases ------------------------------------------------------------------

def stanza(bench, k, sender, receiver, bare):
    c = bench.clients
    to = c[receiver].bare if bare else c[receiver].full
    t = time.monotonic_ns()
    bench.sent_ns[k] = t
    return (f"<message to='{to}' type='chat' id='m{k}'><body>m{k} {t} "
            f"{PAD[:bench.args.pad]}</body></message>")


def plan(bench, base, n):
    """Message i of a phase: pair i mod P, the direction alternating each
    round through the pairs."""
    pairs = bench.args.pairs
    out = []
    for i in range(n):
        pair = i % pairs
        d = (i // pairs) % 2
        s, r = 2 * pair + d, 2 * pair + 1 - d
        bench.recipient[base + i] = r
        out.append((base + i, s, r))
    return out


async def wait_delivered(bench, target, deadline):
    while bench.delivered < target and time.monotonic() < deadline:
        bench.wake_below = target
        bench.progress.clear()
        try:
            await asyncio.wait_for(bench.progress.wait(), max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pass
    bench.wake_below = None
    return bench.delivered >= target


async def phase(bench, name, n, bare, rate, pids, perf=None):
    a = bench.args
    base = bench.reserve(n)
    todo = plan(bench, base, n)
    start_delivered = bench.delivered
    target = start_delivered + n
    clients = bench.clients
    perf_proc = None
    if perf:
        perf_proc = subprocess.Popen(["perf", "record", "--call-graph", a.perf_call_graph,
                                      "-q", "-o", perf, "-p",
                                      ",".join(str(p) for p in pids)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await asyncio.sleep(1.0)
    cpu0 = {p: cpu_seconds(p) for p in pids}
    me0 = my_cpu()
    busy0 = machine_busy()
    t0 = time.monotonic()
    if rate:
        # Message i leaves i/rate s after the first; each wake-up sends
        # whatever is due.
        i = 0
        while i < n:
            now = time.monotonic()
            due = min(n, int((now - t0) * rate) + 1)
            touched = set()
            while i < due:
                k, s, r = todo[i]
                clients[s].queue(stanza(bench, k, s, r, bare))
                touched.add(s)
                i += 1
            for s in touched:
                clients[s].flush()
            if i < n:
                await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        deadline = time.monotonic() + a.timeout
    else:
        # As fast as they go, at most WINDOW in flight: refill to the window
        # each time half of it has arrived.
        deadline = t0 + a.timeout + n / 1000
        i = 0
        while i < n and time.monotonic() < deadline:
            inflight = i - (bench.delivered - start_delivered)
            room = a.window - inflight
            touched = set()
            while room > 0 and i < n:
                k, s, r = todo[i]
                clients[s].queue(stanza(bench, k, s, r, bare))
                touched.add(s)
                i += 1
                room -= 1
            for s in touched:
                clients[s].flush()
            await wait_delivered(bench, min(target, start_delivered + i - a.window // 2),
                                 deadline)
    ok = await wait_delivered(bench, target, deadline)
    t1 = time.monotonic()
    cpu1 = {p: cpu_seconds(p) for p in pids}
    me1 = my_cpu()
    busy1 = machine_busy()
    if perf_proc is not None:
        perf_proc.send_signal(signal.SIGINT)
        try:
            perf_proc.wait(30)
        except subprocess.TimeoutExpired:
            perf_proc.kill()
            perf_proc.wait()
    got = bench.delivered - start_delivered
    lat = sorted(bench.latency_ns[k] for k in range(base, base + n) if bench.count[k])
    return {
        "name": name, "n": n, "got": got, "ok": ok, "wall": t1 - t0,
        "cpu": {p: cpu1[p] - cpu0[p] for p in pids}, "client_cpu": me1 - me0,
        "busy": busy1 - busy0,
        "lat": lat, "base": base,
    }


def pct(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, max(0, int(round(q / 100 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def report(r, names, pids, per):
    n = max(r["got"], 1)
    total = sum(r["cpu"].values())
    parts = " + ".join(f"{nm} {per * r['cpu'][p] / n:.2f}" for nm, p in zip(names, pids))
    lat = r["lat"]
    print(f"{r['name']}: {r['got']} of {r['n']} delivered in {r['wall']:.2f} s "
          f"({r['got'] / r['wall']:.0f}/s); server CPU {total:.2f} s, per {per} messages "
          f"{per * total / n:.2f} s ({parts}); latency p50 {pct(lat, 50) / 1e6:.2f} ms "
          f"p99 {pct(lat, 99) / 1e6:.2f} ms max {pct(lat, 100) / 1e6:.2f} ms; client CPU "
          f"{r['client_cpu']:.2f} s ({100 * r['client_cpu'] / r['wall']:.0f}% of a core)")
    shares = ", ".join(f"{nm} {100 * r['cpu'][p] / r['wall']:.0f}%" for nm, p in zip(names, pids))
    others = max(0.0, r["busy"] - total - r["client_cpu"])
    print(f"  share of a core: {shares}; the machine: {100 * r['busy'] / r['wall']:.0f}% "
          f"of one core busy, {100 * others / r['wall']:.0f}% of it other processes")
    print(f"RESULT phase={r['name']} n={r['n']} delivered={r['got']} "
          f"msgs_per_s={r['got'] / r['wall']:.0f} cpu_per_{per}={per * total / n:.3f} "
          + " ".join(f"{nm}={per * r['cpu'][p] / n:.3f}" for nm, p in zip(names, pids))
          + f" p50_ms={pct(lat, 50) / 1e6:.2f} p99_ms={pct(lat, 99) / 1e6:.2f} "
          f"client_cpu_share={r['client_cpu'] / r['wall']:.2f} "
          f"others_share={max(0.0, r['busy'] - total - r['client_cpu']) / r['wall']:.2f}")


async def run(args):
    pids = [int(p) for p in args.pids.split(",") if p]
    names = args.names.split(",") if args.names else [str(p) for p in pids]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    bench = Bench(args)
    bench.clients = [Client(bench, ctx, i) for i in range(2 * args.pairs)]
    cache = {}
    sem = asyncio.Semaphore(20)
    failures = []

    async def one(c):
        async with sem:
            try:
                await asyncio.wait_for(c.login(cache), 30)
            except (LoginError, OSError, asyncio.TimeoutError, ssl.SSLError, KeyError,
                    ValueError) as e:
                failures.append(f"{c.user}: {type(e).__name__}: {e}")

    t = time.monotonic()
    await asyncio.gather(*(one(c) for c in bench.clients))
    if failures:
        for f in failures[:10]:
            print(f"# login failed: {f}", file=sys.stderr)
        print(f"FAIL: {len(failures)} of {len(bench.clients)} logins failed")
        for c in bench.clients:
            c.close()
        return 1
    print(f"logins: {len(bench.clients)} clients ({args.pairs} pairs) in "
          f"{time.monotonic() - t:.1f} s; TLS "
          f"{bench.clients[0].writer.get_extra_info('ssl_object').version()}")
    for c in bench.clients:
        c.start_reading()

    status = 0
    results = []
    phases = []
    if args.warmup:
        phases.append(("warm-up", args.warmup, False, 0))
    for kind in args.phases.split(","):
        paced, _, addr = kind.partition("-")
        if paced not in ("paced", "max") or addr not in ("full", "bare"):
            print(f"msg_bench: unknown phase {kind!r}", file=sys.stderr)
            return 2
        if paced == "paced":
            phases.append((kind, args.messages, addr == "bare", args.rate))
        else:
            phases.append((kind, args.max_messages or args.messages, addr == "bare", 0))
    for name, n, bare, rate in phases:
        perf = None
        if args.perf and name == args.perf_phase:
            perf = args.perf
        r = await phase(bench, name, n, bare, rate, pids, perf)
        if name != "warm-up":
            results.append(r)
            report(r, names, pids, args.per)
        if not r["ok"]:
            print(f"FAIL: {name}: {r['n'] - r['got']} of {r['n']} messages not delivered "
                  f"within the timeout")
            status = 1
            break
        await asyncio.sleep(args.pause)

    # Late duplicates have a moment to show up before the count.
    await asyncio.sleep(1.0)
    doubled = [k for k in range(bench.total) if bench.count[k] > 1]
    lost = [k for k in range(bench.total) if bench.count[k] == 0]
    gone = [c.user for c in bench.clients if c.eof]
    print(f"check: {bench.total} sent, {bench.delivered} delivered, {len(lost)} lost, "
          f"{len(doubled)} delivered more than once, {len(bench.wrong)} at the wrong "
          f"client, {len(bench.errors)} errors, {len(gone)} clients disconnected")
    if lost or doubled or bench.wrong or bench.errors or gone:
        status = 1
        print(f"FAIL: lost {lost[:20]} doubled {doubled[:20]} wrong {bench.wrong[:10]} "
              f"gone {gone[:10]}")
        for who, e in bench.errors[:5]:
            print(f"# error to client {who}: {e!r}")
    else:
        print("check: every message delivered exactly once, to the right client")
    print("FAIL: this run does not count" if status else "OK")
    for c in bench.clients:
        c.close()
    await asyncio.sleep(0.2)
    return status


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-H", "--host", default="127.0.0.1")
    ap.add_argument("-p", "--port", type=int, required=True, help="STARTTLS port")
    ap.add_argument("-d", "--domain", default="example.test")
    ap.add_argument("--prefix", default="u", help="account localparts: PREFIX0, PREFIX1, ...")
    ap.add_argument("-w", "--password", required=True, help="every account's password")
    ap.add_argument("--resource", default="bench")
    ap.add_argument("--sasl", choices=("plain", "scram"), default="plain",
                    help="PLAIN if offered (default), or SCRAM-SHA-1")
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("-n", "--messages", type=int, default=10000, help="per phase")
    ap.add_argument("--max-messages", type=int, default=0,
                    help="per max-rate phase (default: --messages)")
    ap.add_argument("--rate", type=float, default=1000, help="messages/s in paced phases")
    ap.add_argument("--window", type=int, default=4000,
                    help="messages in flight at most in max-rate phases")
    ap.add_argument("--phases", default="paced-full,paced-bare,max-full,max-bare")
    ap.add_argument("--warmup", type=int, default=500, help="unmeasured messages first")
    ap.add_argument("--pad", type=int, default=100, help="filler characters in each body")
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between phases")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="seconds a phase may take beyond its schedule")
    ap.add_argument("--per", type=int, default=10000, help="CPU is given per this many messages")
    ap.add_argument("--pids", required=True, help="server PIDs, comma-separated")
    ap.add_argument("--names", default="", help="their names, comma-separated")
    ap.add_argument("--perf", default="", help="perf record the server during --perf-phase "
                    "into this file")
    ap.add_argument("--perf-phase", default="max-full")
    ap.add_argument("--perf-call-graph", default="fp",
                    help="perf's --call-graph: fp (the binaries need -fno-omit-frame-pointer "
                    "for whole stacks) or dwarf (large files)")
    args = ap.parse_args()
    if args.pairs < 1 or args.messages < 1 or args.window < 2 or args.pad > len(PAD):
        ap.error("need --pairs >= 1, --messages >= 1, --window >= 2, "
                 f"--pad <= {len(PAD)}")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
