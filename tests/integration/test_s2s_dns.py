#!/usr/bin/python3
"""test_s2s_dns.py — s2s's DNS layer (s2s/dns.c) against a DNS server of
the test's own on loopback (lib/dnsresponder.py), through the dnsquery tool:
SRV ordering by priority and weight, direct TLS (XEP-0368) before STARTTLS
at equal priority, the "." target, NXDOMAIN, the fallback to the domain's
own A/AAAA on 5269, timeouts, the cache, cancellation, and s2s.routes
answering with no DNS server at all. Then parley-s2s itself finding a
peer through the responder: b.test's server has three addresses, the
first (127.0.0.3) black-holed (a listener whose accept queue is full, so
SYNs are dropped and connect() hangs), the second (127.0.0.2) a socket
that accepts and never answers; with s2s.connect_attempt_timeout each is
left for the next and the message still gets through, on 127.0.0.1, well
within s2s.connect_timeout.
"""
import asyncio
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from parley import BUILD, Suite, Tap  # noqa: E402
from dnsresponder import DnsResponder  # noqa: E402
from imlib import is_message, run, shows  # noqa: E402
from parley import free_port  # noqa: E402
from s2slib import FedCli, FedSite  # noqa: E402

DNSQUERY = os.path.join(BUILD, "tests", "tools", "dnsquery")

ZONE = {
    # Two priorities; within 10, weights 90 and 10; one xmpps at 10 too.
    "_xmpp-server._tcp.multi.test": [
        ("SRV", 10, 90, 5269, "heavy.multi.test"),
        ("SRV", 10, 10, 5269, "light.multi.test"),
        ("SRV", 20, 0, 5270, "backup.multi.test"),
    ],
    "_xmpps-server._tcp.multi.test": [("SRV", 10, 0, 5223, "tls.multi.test")],
    "heavy.multi.test": [("A", "192.0.2.1"), ("AAAA", "2001:db8::1")],
    "light.multi.test": [("A", "192.0.2.2")],
    "backup.multi.test": [("AAAA", "2001:db8::3")],
    "tls.multi.test": [("A", "192.0.2.4"), ("A", "192.0.2.5")],
    # xmpps preferred: it has the better priority.
    "_xmpps-server._tcp.direct.test": [("SRV", 0, 0, 5270, "xmpp.direct.test")],
    "_xmpp-server._tcp.direct.test": [("SRV", 5, 0, 5269, "xmpp.direct.test")],
    "xmpp.direct.test": [("A", "192.0.2.10")],
    # "." for STARTTLS and nothing for direct TLS: not available.
    "_xmpp-server._tcp.nothere.test": [("SRV", 0, 0, 0, ".")],
    "nothere.test": [("A", "192.0.2.20")],
    # "." for direct TLS only: STARTTLS still used.
    "_xmpps-server._tcp.halfdot.test": [("SRV", 0, 0, 0, ".")],
    "_xmpp-server._tcp.halfdot.test": [("SRV", 0, 0, 5269, "xmpp.halfdot.test")],
    "xmpp.halfdot.test": [("A", "192.0.2.30")],
    # Only address records: the fallback.
    "plain.test": [("A", "192.0.2.40"), ("AAAA", "2001:db8::40")],
    # An SRV target without addresses, and a good one after it.
    "_xmpp-server._tcp.broken.test": [
        ("SRV", 0, 0, 5269, "gone.broken.test"),
        ("SRV", 1, 0, 5269, "ok.broken.test"),
    ],
    "ok.broken.test": [("A", "192.0.2.50")],
}

t = Tap()
suite = Suite("s2s-dns")


def dnsquery(*args, env=None, timeout=30):
    full_env = dict(os.environ)
    # The system's resolver settings must not leak in.
    full_env.pop("NAMESERVERS", None)
    full_env.pop("RES_OPTIONS", None)
    full_env.update(env or {})
    start = time.monotonic()
    p = subprocess.run([DNSQUERY] + list(args), capture_output=True, text=True, timeout=timeout,
                       env=full_env)
    return p, time.monotonic() - start


def lines_for(out, domain):
    return [ln for ln in out.splitlines() if ln.split(" ", 1)[0] == domain]


with DnsResponder(ZONE, silent={"slow.test"}, slow={"late.test": 1.5}) as dns:
    ns = f"127.0.0.1:{dns.port}"
    p, took = dnsquery("-n", ns, "-s", "1", "multi.test", "direct.test", "nothere.test",
                       "halfdot.test", "plain.test", "nx.test", "broken.test")
    t.eq(p.returncode, 0, "dnsquery resolves a batch of domains and exits 0")
    out = p.stdout
    multi = lines_for(out, "multi.test")
    t.eq([ln.split()[1] for ln in multi],
         ["tls.multi.test", "heavy.multi.test", "light.multi.test", "backup.multi.test"]
         if multi and multi[1].split()[1] == "heavy.multi.test" else
         ["tls.multi.test", "light.multi.test", "heavy.multi.test", "backup.multi.test"],
         "multi.test: priority 10 (direct TLS first) before priority 20")
    t.eq(multi[0] if multi else None,
         "multi.test tls.multi.test 5223 direct_tls 192.0.2.4 192.0.2.5",
         "the _xmpps-server target is direct TLS on its own port")
    heavy = [ln for ln in multi if " heavy.multi.test " in ln]
    t.eq(heavy[0] if heavy else None,
         "multi.test heavy.multi.test 5269 starttls 2001:db8::1 192.0.2.1",
         "a target's addresses: IPv6 first, then IPv4")
    t.eq(multi[-1] if multi else None, "multi.test backup.multi.test 5270 starttls 2001:db8::3",
         "the priority-20 target comes last, with its AAAA only")
    t.eq(lines_for(out, "direct.test"),
         ["direct.test xmpp.direct.test 5270 direct_tls 192.0.2.10",
          "direct.test xmpp.direct.test 5269 starttls 192.0.2.10"],
         "direct.test: the better-priority xmpps record first, then STARTTLS")
    t.eq(lines_for(out, "nothere.test"),
         ['nothere.test error: nothere.test says it offers no server-to-server XMPP service '
          '(SRV target ".")'],
         'a lone "." SRV target: not available, and no fallback to the A record')
    t.eq(lines_for(out, "halfdot.test"),
         ["halfdot.test xmpp.halfdot.test 5269 starttls 192.0.2.30"],
         '"." for direct TLS only: STARTTLS is still used')
    t.eq(lines_for(out, "plain.test"),
         ["plain.test plain.test 5269 starttls 2001:db8::40 192.0.2.40"],
         "no SRV records: the domain itself on 5269 with STARTTLS")
    t.eq(lines_for(out, "nx.test"), ["nx.test error: no such domain: nx.test"],
         "NXDOMAIN: no such domain")
    t.eq(lines_for(out, "broken.test"), ["broken.test ok.broken.test 5269 starttls 192.0.2.50"],
         "an SRV target without addresses is left out")
    asked = dns.count()
    t.ok(dns.count("_xmpps-server._tcp.multi.test") == 1 and dns.count("_xmpp-server._tcp.multi.test") == 1,
         "both SRV names are asked once each", dns.questions)

    # Weights, over many runs with different seeds: heavy (90) before light (10).
    heavy_first = 0
    runs = 40
    p, _ = dnsquery("-n", ns, "-r", str(runs), "multi.test")
    for block in p.stdout.split("round ")[0:]:
        ls = [ln for ln in block.splitlines() if ln.startswith("multi.test ")]
        if len(ls) == 4 and ls[1].split()[1] == "heavy.multi.test":
            heavy_first += 1
    t.ok(p.returncode == 0 and heavy_first >= runs * 6 // 10,
         f"weight 90 is chosen before weight 10 most of the time ({heavy_first}/{runs})", p.stdout[-500:])

    # The cache: a second round asks the server nothing.
    before = dns.count()
    p, _ = dnsquery("-n", ns, "-r", "2", "plain.test", "nx.test")
    first_round = dns.count() - before
    rounds = p.stdout.split("round 2\n")
    t.ok(p.returncode == 0 and len(rounds) == 2 and rounds[0] == rounds[1],
         "a second round gives the same answers", p.stdout)
    t.eq(first_round, 8, "8 questions for both rounds: the second is answered from the cache (positive and NXDOMAIN)")

    # A name server that never answers: a timeout, within the configured bounds.
    p, took = dnsquery("-n", ns, "-t", "1", "-a", "1", "slow.test")
    t.eq(p.stdout.strip(), "slow.test error: timeout or server failure looking up slow.test",
         "an unanswered name times out")
    t.ok(took < 8, f"the timeout is bounded by s2s.dns.timeout x attempts, twice (took {took:.1f}s)")

    # Cancel while lookups are out, then let the late answers arrive.
    # Cancelled at 1 s: plain.test has long been answered (even on a busy
    # machine), late.test's answer comes at 1.5 s.
    p, _ = dnsquery("-n", ns, "-t", "3", "-x", "1000", "-w", "2000", "late.test", "plain.test")
    t.eq(p.stdout.splitlines(),
         ["late.test cancelled", "plain.test plain.test 5269 starttls 2001:db8::40 192.0.2.40"],
         "a cancelled query is not answered; the others are")
    t.ok(p.returncode == 0, "answers to a cancelled query arrive safely after it is gone", p.stderr)

    # The same through a config file, with NAMESERVERS from the environment
    # (an empty s2s.dns.nameservers means the system's, which udns takes
    # from there).
    conf = suite.config({"s2s": 'dns = { timeout = 1; attempts = 1; };'})
    p, _ = dnsquery("-c", conf, "plain.test",
                    env={"NAMESERVERS": "127.0.0.1", "RES_OPTIONS": f"port:{dns.port}"})
    t.eq(p.stdout.strip(), "plain.test plain.test 5269 starttls 2001:db8::40 192.0.2.40",
         "with no name servers configured, udns's NAMESERVERS/RES_OPTIONS apply")

# The DNS server is gone: a route answers without it.
conf = suite.config({"s2s": 'dns = { nameservers = [ "127.0.0.1:9" ]; timeout = 1; attempts = 1; };\n'
                            'routes = ( { domain = "peer.test"; host = "127.0.0.1"; port = 5999; },\n'
                            '  { domain = "tls.peer.test"; host = "::1"; direct_tls = true; } );'})
p, took = dnsquery("-c", conf, "peer.test", "TLS.Peer.Test")
t.eq(p.stdout.splitlines(),
     ["peer.test 127.0.0.1 5999 starttls 127.0.0.1",
      "TLS.Peer.Test ::1 5269 direct_tls ::1"],
     "s2s.routes answer without any DNS server")
t.ok(took < 1.0, f"and at once ({took:.2f}s)")

# A bad setting is refused with its line.
bad = suite.write("bad.conf", 'hosts = [ "example.test" ];\ns2s = {\n'
                  '  dns = { nameservers = [ "dns.example.net" ]; };\n};\n')
p, _ = dnsquery("-c", bad, "peer.test")
t.ok(p.returncode != 0 and "bad.conf:3: s2s.dns.nameservers[0]:" in p.stderr,
     "a name server given by name is refused with FILE:LINE", p.stderr)


# --- parley-s2s through the responder: a silent first address -----------------
class Silent(threading.Thread):
    """Accepts TCP connections on (host, port) and never says a word."""

    def __init__(self, host, port):
        super().__init__(daemon=True)
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(8)
        self.accepted = 0
        self.start()

    def run(self):
        conns = []
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.accepted += 1
            conns.append(c)


def black_hole(host, port):
    """A listener on (host, port) with a full accept queue: Linux drops
    further SYNs, so a connect() there hangs as it would to an address
    that drops packets. Returns the sockets to keep open."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, port))
    lsock.listen(0)
    filler = socket.create_connection((host, port), timeout=2)
    probe = socket.socket()
    probe.settimeout(0.5)
    try:
        probe.connect((host, port))
        holes = False
    except socket.timeout:
        holes = True
    except OSError:
        holes = False
    finally:
        probe.close()
    return [lsock, filler], holes


ATTEMPT, OVERALL = 2, 12
pa, pb = free_port(), free_port()
hole, holes = black_hole("127.0.0.3", pb)
t.ok(holes, "127.0.0.3: a connect() to the full listener hangs (the black hole works)")
silent = Silent("127.0.0.2", pb)
zone = {
    # One target, three addresses (IPv4, tried in the order given): the
    # black hole, the silent one, then b.test's real server, one port.
    "_xmpp-server._tcp.b.test": [("SRV", 0, 0, pb, "xmpp.b.test")],
    "xmpp.b.test": [("A", "127.0.0.3"), ("A", "127.0.0.2"), ("A", "127.0.0.1")],
}
with DnsResponder(zone) as dns2:
    B = FedSite(t, "b.test", ["bob"], s2s_port=pb, routes={"a.test": pa})
    A = FedSite(t, "a.test", ["alice"], s2s_port=pa, s2s_settings=(
        f'connect_timeout = "{OVERALL}s";\nconnect_attempt_timeout = "{ATTEMPT}s";\n'
        f'dns = {{ nameservers = [ "127.0.0.1:{dns2.port}" ]; timeout = "1s"; attempts = 1; }};\n'))

    def logs():
        return A.logs() + "\n" + B.logs()

    took = {}

    async def scenario():
        alice = FedCli(A, "alice", "home")
        bob = FedCli(B, "bob", "work")
        if not (await alice.login() and await bob.login()):
            t.ok(False, "alice@a.test and bob@b.test are logged in", logs())
            return
        bob.presence()
        await bob.sync()
        start = time.monotonic()
        alice.message("bob@b.test", "past the silent address", mid="m1")
        m = await bob.wait(lambda e: is_message(e, body="past the silent address"), OVERALL + 3)
        took["s"] = time.monotonic() - start
        t.ok(m is not None, "a message to b.test, whose first address drops SYNs and whose "
             "second accepts and never answers, reaches bob", shows(bob.since()) + "\n" + logs())
        t.ok(not alice.seen(lambda e: e.get("id") == "m1" and e.get("type") == "error"),
             "and alice gets no bounce", shows(alice.since()))
        await alice.close()
        await bob.close()

    err = run(scenario, OVERALL + 20)
    t.ok(err is None, "the scenario ran to its end", repr(err))
    s = took.get("s", 99)
    t.ok(2 * ATTEMPT - 0.5 <= s < OVERALL - 2,
         f"... after about twice s2s.connect_attempt_timeout ({ATTEMPT}s), well within "
         f"s2s.connect_timeout ({OVERALL}s): took {s:.1f}s")
    log = A.s2s.log()
    t.ok(silent.accepted >= 1 and dns2.count("_xmpp-server._tcp.b.test") >= 1 and
         all(f"{h}:{pb} opened no stream within {ATTEMPT * 1000} ms "
             "(s2s.connect_attempt_timeout): trying the next address" in log
             for h in ("127.0.0.3", "127.0.0.2")) and
         "a.test -> b.test: stream ready (dialback, TLS)" in log,
         "a.test's s2s found b.test through the DNS responder, gave up on 127.0.0.3 "
         "(connecting) and 127.0.0.2 (silent) after the attempt timeout each, and got ready "
         "on 127.0.0.1", logs())
    t.ok(A.s2s.alive() and B.s2s.alive(), "both s2s processes are still running", logs())
    A.suite.cleanup()
    B.suite.cleanup()
for sock in hole:
    sock.close()

t.done()
