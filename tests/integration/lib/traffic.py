"""traffic.py — continuous chat traffic for the fault tests (issue 8), and
the tally that says whether anything was lost.

Several python3-slixmpp clients, one resource each, send numbered messages
to each other's bare JIDs for a bounded time, change their presence now and
then, and reconnect by themselves when their stream dies (a new resource
per connection: USER/g0, USER/g1…). Every message carries its sender and a
sequence number per sender, in its body (`m USER SEQ`) and its id
(`m-USER-SEQ`), so each receiver knows exactly what it got, from whom, in
which order, and whether it came from offline storage (a XEP-0203 <delay/>).

    t = Traffic([Party("u1", port), Party("u2", port), ...])
    await t.start()                          # everyone logged in, initial presence
    await t.run(20, during=kill_things)      # traffic for 20 s; kill_things() runs beside it
    await t.settle()                         # stop sending; final pings; in-flight arrives
    missing = await t.presence_check("end")  # everyone sees everyone's last presence?
    await t.drain_offline()                  # reconnect everyone: offline storage empties
    tally = t.tally()                        # tally.line(): "sent N, delivered N, lost 0, duplicated 0"
    await t.close()

What "got past c2s" means. Parley does not do stream management
(XEP-0198), so a client cannot be told directly that the server took a
stanza. The clients make do with what XMPP gives: every PING_INTERVAL
(and at the end) each client sends an iq ping to its server. c2s reads one
stream in order and hands on its stanzas in order, so an answer to that
ping — a result, or an error (sm down is answered service-unavailable by
c2s) — proves that c2s read, and handed on, every message the client sent
before it on the same stream. So a message is:

  - **accepted** when a later ping on the same stream was answered and no
    stanza error came back for the message itself. Parley then owes it:
    it must be delivered to its recipient exactly once (live, or from
    offline storage at the next login — drain_offline() logs everyone in
    again to empty that storage), in order per sender;
  - **bounced** when a stanza error came back for it (matched by id):
    the server said it failed — the design's "an error bounced to the
    sender, never silence". Not a loss;
  - **unconfirmed** when the stream it was sent on died before any later
    ping was answered (its c2s was killed): the client cannot know whether
    c2s read it, as with any TCP client without stream management. It may
    be delivered or not, but never twice.

Lost = accepted and never delivered. Duplicated = any message (accepted or
not) delivered more than once to its recipient. Reordered = delivered after
a later message from the same sender to the same recipient. The tally also
says how many deliveries came from offline storage and how many messages
were bounced yet delivered anyway (an error for a message that arrived).

Time bounds scale with TIME_FACTOR: PARLEY_TIME_FACTOR, or 3 when the
daemons under test were built with sanitizers (SANITIZED: PARLEY_BUILD was
configured with --enable-sanitizers).
"""
import asyncio
import logging
import os
import random
import ssl
import time
import xml.etree.ElementTree as ET

import slixmpp



def _sanitized(build):
    try:
        with open(os.path.join(build, "config.status"), errors="replace") as f:
            return "--enable-sanitizers" in f.read()
    except OSError:
        return False


SANITIZED = _sanitized(os.environ.get("PARLEY_BUILD", "."))
TIME_FACTOR = float(os.environ.get("PARLEY_TIME_FACTOR") or (3.0 if SANITIZED else 1.0))

NS_C = "jabber:client"
C = "{%s}" % NS_C
NS_DELAY = "urn:xmpp:delay"
NS_PING = "urn:xmpp:ping"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"

PING_INTERVAL = 0.4      # s between confirmation pings of one client
SHOWS = ("away", "chat", "dnd", "xa")


def scaled(seconds):
    return seconds * TIME_FACTOR


def xesc(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


class Party:
    """One account the generator logs in: user@domain on a c2s port. A
    Party's messages go to the bare JIDs in `to` (None: every other party
    of the same Traffic)."""

    def __init__(self, user, port, domain="example.test", password=None, to=None):
        self.user = user
        self.domain = domain
        self.bare = f"{user}@{domain}"
        self.port = port
        self.password = password or f"pw-{user}"
        self.to = to


class Sent:
    __slots__ = ("seq", "to", "gen", "t")

    def __init__(self, seq, to, gen, t):
        self.seq, self.to, self.gen, self.t = seq, to, gen, t


class Client:
    """One party's connections, one after the other (generation 0, 1…),
    with everything sent and received across them."""

    def __init__(self, party, traffic):
        self.p = party
        self.traffic = traffic
        self.gen = -1
        self.x = None
        self.up = False               # session started, stream not seen dying
        self.want_up = False          # reconnect when the stream dies
        self.seq = 0
        self.sent = []                # Sent, in order
        self.confirmed = {}           # gen -> highest seq confirmed by an answered ping
        self.pings = {}               # ping id -> (gen, last seq sent before it)
        self.ping_n = 0
        self.bounced = {}             # message seq -> error condition
        self.stray_errors = []        # errors we cannot match to a message
        self.received = []            # (t, sender bare, seq, delayed, gen)
        self.presence = {}            # from bare -> (t, type, status) of the latest
        self.unavailable = []         # (t, from full) of every unavailable presence
        self.deaths = []              # (t, gen, expected) streams that ended
        self.logins = []              # (t, gen, resource)
        self.login_failures = []      # (t, why)
        self.last_status = None
        self.presence_n = 0
        self._reconnecting = None

    # --- connecting ------------------------------------------------------

    def _new_xmpp(self):
        self.gen += 1
        gen = self.gen
        resource = f"g{gen}"
        x = slixmpp.ClientXMPP(f"{self.p.bare}/{resource}", self.p.password)
        x.ssl_context.check_hostname = False
        x.ssl_context.verify_mode = ssl.CERT_NONE
        # slixmpp 1.8.3's -PLUS mechanisms know only tls-unique (TLS 1.2).
        x.ssl_context.maximum_version = ssl.TLSVersion.TLSv1_2
        x.auto_authorize = None
        x.auto_subscribe = False
        x.auto_reconnect = False
        x.whitespace_keepalive = False
        ready = asyncio.Event()
        failed = []

        def started(_):
            self.up = True
            self.logins.append((time.monotonic(), gen, resource))
            self._send_presence(initial=True)
            ready.set()

        def gone(_):
            was_up = self.up and self.gen == gen
            if self.gen == gen:
                self.up = False
            if was_up:
                self.deaths.append((time.monotonic(), gen, not self.want_up))
                if self.want_up:
                    self._schedule_reconnect()
            failed.append("disconnected")
            ready.set()

        def auth_failed(e):
            try:
                failed.append("auth " + str(e["condition"]))
            except Exception:  # noqa: BLE001
                failed.append("auth")
            ready.set()

        x.add_event_handler("session_start", started)
        x.add_event_handler("disconnected", gone)
        x.add_event_handler("failed_auth", auth_failed)
        x.add_event_handler("failed_all_auth", lambda _: (failed.append("auth"), ready.set()))
        x.add_filter("in", lambda st: self._incoming(st, gen))
        return x, ready, failed

    async def login(self, timeout=None):
        """One attempt: True once the session runs and initial presence is sent."""
        x, ready, failed = self._new_xmpp()
        self.x = x
        x.connect(("127.0.0.1", self.p.port))
        try:
            await asyncio.wait_for(ready.wait(), timeout or scaled(10))
        except asyncio.TimeoutError:
            failed.append("timeout")
        if self.up and self.x is x:
            return True
        self.login_failures.append((time.monotonic(), ",".join(failed) or "?"))
        self._drop(x)
        return False

    async def connect(self, deadline):
        """Log in, trying again (every 0.3 s) until `deadline` (monotonic)."""
        self.want_up = True
        while time.monotonic() < deadline and self.want_up:
            left = deadline - time.monotonic()
            if await self.login(max(1.0, min(left, scaled(10)))):
                return True
            await asyncio.sleep(0.3)
        return self.up

    def _schedule_reconnect(self):
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self):
        await asyncio.sleep(0.1)
        deadline = time.monotonic() + scaled(30)
        await self.connect(deadline)

    def _drop(self, x):
        try:
            tr = getattr(x, "transport", None)
            if tr is not None:
                tr.abort()
        except Exception:  # noqa: BLE001
            pass

    async def close(self, timeout=2.0):
        """End the stream cleanly (</stream:stream>): no reconnection."""
        self.want_up = False
        if self._reconnecting is not None and not self._reconnecting.done():
            self._reconnecting.cancel()
        x = self.x
        if x is None:
            return
        was_up = self.up
        self.up = False
        if was_up:
            self.deaths.append((time.monotonic(), self.gen, True))
        try:
            x.disconnect(wait=0.2)
            for _ in range(int(timeout / 0.05)):
                if getattr(x, "transport", None) is None:
                    break
                await asyncio.sleep(0.05)
        except Exception:  # noqa: BLE001
            pass
        self._drop(x)

    # --- sending ---------------------------------------------------------

    def _raw(self, xml):
        try:
            self.x.send_raw(xml)
            return True
        except Exception:  # noqa: BLE001 — a stream dying under us
            return False

    def send_message(self, to_bare):
        if not self.up:
            return False
        self.seq += 1
        seq = self.seq
        self.sent.append(Sent(seq, to_bare, self.gen, time.monotonic()))
        self._raw(f"<message xmlns='{NS_C}' type='chat' to='{xesc(to_bare)}' "
                  f"id='m-{xesc(self.p.user)}-{seq}'><body>m {xesc(self.p.bare)} {seq}</body>"
                  "</message>")
        return True

    def ping(self):
        if not self.up:
            return None
        self.ping_n += 1
        pid = f"p-{self.p.user}-{self.ping_n}"
        self.pings[pid] = (self.gen, self.seq)
        self._raw(f"<iq xmlns='{NS_C}' type='get' id='{pid}' to='{xesc(self.p.domain)}'>"
                  f"<ping xmlns='{NS_PING}'/></iq>")
        return pid

    def _send_presence(self, initial=False, status=None):
        self.presence_n += 1
        if status is None:
            status = f"{'hello' if initial else 'status'} {self.p.user} {self.presence_n}"
        show = "" if initial else f"<show>{SHOWS[self.presence_n % len(SHOWS)]}</show>"
        self.last_status = status
        if self.traffic.directed_presence:
            # No subscriptions (across servers): presence goes to each peer directly.
            for peer in self.targets():
                self._raw(f"<presence xmlns='{NS_C}' to='{xesc(peer)}'>{show}"
                          f"<status>{xesc(status)}</status></presence>")
        self._raw(f"<presence xmlns='{NS_C}'>{show}<status>{xesc(status)}</status>"
                  "</presence>")

    def change_presence(self, status=None):
        if self.up:
            self._send_presence(status=status)

    def last_seq_in_gen(self):
        """The seq of the last message sent on the current stream (0: none)."""
        for m in reversed(self.sent):
            if m.gen == self.gen:
                return m.seq
            if m.gen < self.gen:
                break
        return 0

    def all_confirmed(self):
        return self.confirmed.get(self.gen, 0) >= self.last_seq_in_gen()

    def targets(self):
        if self.p.to is not None:
            return list(self.p.to)
        return [c.p.bare for c in self.traffic.clients if c is not self]

    # --- receiving -------------------------------------------------------

    def _incoming(self, st, gen):
        try:
            self._take(st.xml, gen)
        except Exception:  # noqa: BLE001 — never break slixmpp's input path
            pass
        return st

    def _take(self, el, gen):
        now = time.monotonic()
        tag = el.tag
        if tag == C + "message":
            mid = el.get("id") or ""
            if el.get("type") == "error":
                seq = None
                if mid.startswith(f"m-{self.p.user}-"):
                    try:
                        seq = int(mid.rsplit("-", 1)[1])
                    except ValueError:
                        seq = None
                if seq is not None:
                    self.bounced[seq] = error_condition(el)
                else:
                    self.stray_errors.append(ET.tostring(el, encoding="unicode")[:300])
                return
            body = el.find(C + "body")
            if body is None or not (body.text or "").startswith("m "):
                return
            parts = body.text.split()
            if len(parts) != 3:
                return
            delayed = el.find("{%s}delay" % NS_DELAY) is not None
            self.received.append((now, parts[1], int(parts[2]), delayed, gen))
        elif tag == C + "iq":
            pid = el.get("id") or ""
            if pid in self.pings and el.get("type") in ("result", "error"):
                pgen, last = self.pings.pop(pid)
                if last > self.confirmed.get(pgen, 0):
                    self.confirmed[pgen] = last
        elif tag == C + "presence":
            frm = el.get("from") or ""
            typ = el.get("type")
            if typ in (None, "unavailable"):
                st = el.find(C + "status")
                self.presence[frm.split("/", 1)[0]] = (now, typ, st.text if st is not None
                                                      else None)
                if typ == "unavailable":
                    self.unavailable.append((now, frm))


def error_condition(el):
    e = el.find(C + "error")
    if e is None:
        return "(no error element)"
    for c in e:
        if c.tag.startswith("{%s}" % NS_STANZAS) and not c.tag.endswith("}text"):
            return c.tag.split("}", 1)[1]
    return "(no condition)"


class Tally:
    """What happened to every message, overall and per receiver."""

    def __init__(self):
        self.sent = 0            # accepted: got past c2s
        self.delivered = 0       # accepted and delivered exactly once
        self.lost = 0
        self.duplicated = 0
        self.reordered = 0
        self.bounced = 0
        self.bounced_delivered = 0
        self.unconfirmed = 0
        self.unconfirmed_delivered = 0
        self.offline = 0         # deliveries from offline storage (with <delay/>)
        self.total_sent = 0
        self.bounce_conditions = {}
        self.per_receiver = {}   # bare -> dict of counts
        self.lost_list = []      # (sender, seq, to, gen, t since start) of the first few lost
        self.dup_list = []
        self.reorder_list = []

    def line(self):
        return (f"sent {self.sent}, delivered {self.delivered}, lost {self.lost}, "
                f"duplicated {self.duplicated}")

    def details(self):
        conds = ", ".join(f"{k} {v}" for k, v in sorted(self.bounce_conditions.items()))
        out = [f"{self.total_sent} messages sent in all; bounced with an error {self.bounced}"
               + (f" ({conds})" if conds else "")
               + f", of which delivered anyway {self.bounced_delivered}; unconfirmed "
               f"(stream died) {self.unconfirmed}, of which delivered {self.unconfirmed_delivered};"
               f" reordered {self.reordered}; from offline storage {self.offline}"]
        for r, c in sorted(self.per_receiver.items()):
            out.append(f"  to {r}: sent {c['sent']}, delivered {c['delivered']}, lost "
                       f"{c['lost']}, duplicated {c['duplicated']}, reordered {c['reordered']}, "
                       f"offline {c['offline']}")
        if self.lost_list:
            out.append("  first lost: " + "; ".join(
                f"{s} #{q} to {t} (stream g{g}, sent at +{at:.2f}s)"
                for s, q, t, g, at in self.lost_list[:12]))
        if self.dup_list:
            out.append("  first duplicated: " + "; ".join(
                f"{s} #{q} to {t} x{n}" for s, q, t, n in self.dup_list[:12]))
        if self.reorder_list:
            out.append("  first reordered: " + "; ".join(
                f"{s} #{q} to {t} after #{m}" for s, q, t, m in self.reorder_list[:12]))
        return "\n".join(out)


class Traffic:
    """The clients, the sending loop and the tally (see the top of the file)."""

    def __init__(self, parties, rate=10.0, presence_every=2.0, directed_presence=False,
                 senders=None):
        self.clients = [Client(p, self) for p in parties]
        self.by_bare = {c.p.bare: c for c in self.clients}
        self.rate = rate                      # messages per second per sending client
        self.presence_every = presence_every  # seconds between presence changes
        self.directed_presence = directed_presence
        # Only these send (bare JIDs; None: all); the others only receive.
        self.senders = set(senders) if senders is not None else None
        self.sending = False
        self.t0 = time.monotonic()
        self.rng = random.Random(8)

    async def start(self, timeout=None):
        """Log everyone in; False if someone could not."""
        deadline = time.monotonic() + (timeout or scaled(20))
        oks = await asyncio.gather(*(c.connect(deadline) for c in self.clients))
        return all(oks)

    async def subscribe_all(self, timeout=None):
        """Mutual presence subscriptions between every two parties (stored
        by sm, so done once per site): each asks, the other approves, both
        ways. Returns the pairs whose presence did not get through."""
        for a in self.clients:
            for b in self.clients:
                if a is not b:
                    a._raw(f"<presence xmlns='{NS_C}' type='subscribe' to='{b.p.bare}'/>")
        await asyncio.sleep(0.5)
        for a in self.clients:
            for b in self.clients:
                if a is not b:
                    a._raw(f"<presence xmlns='{NS_C}' type='subscribed' to='{b.p.bare}'/>")
        await asyncio.sleep(0.5)
        return await self.presence_check("subscribed", timeout)

    def failed_logins(self):
        return [(c.p.bare, c.login_failures[-3:]) for c in self.clients if not c.up]

    async def _sender(self, c, until):
        period = 1.0 / self.rate
        next_ping = time.monotonic() + PING_INTERVAL
        next_presence = time.monotonic() + self.rng.uniform(0.5, self.presence_every)
        targets = c.targets()
        while self.sending and time.monotonic() < until:
            if c.up and targets:
                c.send_message(self.rng.choice(targets))
            now = time.monotonic()
            if now >= next_ping:
                c.ping()
                next_ping = now + PING_INTERVAL
            if now >= next_presence:
                c.change_presence()
                next_presence = now + self.presence_every
            await asyncio.sleep(period * self.rng.uniform(0.6, 1.4))

    async def run(self, seconds, during=None):
        """Send for `seconds`; `during` (a coroutine function) runs beside
        the traffic and is awaited too. Returns during's result."""
        self.sending = True
        until = time.monotonic() + seconds
        tasks = [asyncio.ensure_future(self._sender(c, until)) for c in self.clients
                 if self.senders is None or c.p.bare in self.senders]
        result = None
        try:
            if during is not None:
                result = await during()
            await asyncio.gather(*tasks)
        finally:
            self.sending = False
            for t in tasks:
                t.cancel()
        return result

    async def settle(self, timeout=None):
        """Stop sending; ping until every live client has a ping answered
        after its last message (so c2s read all it sent), then wait until
        nothing has arrived for a moment."""
        self.sending = False
        deadline = time.monotonic() + (timeout or scaled(15))
        # Clients still reconnecting get their chance first.
        while time.monotonic() < deadline and any(
                c.want_up and not c.up for c in self.clients):
            await asyncio.sleep(0.1)
        while time.monotonic() < deadline:
            todo = [c for c in self.clients if c.up and not c.all_confirmed()]
            if not todo:
                break
            for c in todo:
                c.ping()
            await asyncio.sleep(0.5)
        await self.quiet(scaled(1.0), deadline)

    async def quiet(self, gap, deadline):
        """Wait until no message has arrived for `gap` seconds (or deadline)."""
        while time.monotonic() < deadline:
            last = max((r[0] for c in self.clients for r in c.received[-1:]), default=0)
            if time.monotonic() - last >= gap:
                return
            await asyncio.sleep(0.1)

    async def presence_check(self, tag, timeout=None):
        """Each live client sends a last presence; returns the (receiver,
        sender) pairs where the receiver did not see it in time."""
        for c in self.clients:
            c.change_presence(status=f"final {tag} {c.p.user}")
        want = {c.p.bare: f"final {tag} {c.p.user}" for c in self.clients if c.up}
        deadline = time.monotonic() + (timeout or scaled(5))

        def missing():
            out = []
            for r in self.clients:
                if not r.up:
                    continue
                for s, status in want.items():
                    if s == r.p.bare or s not in r.targets():
                        continue
                    got = r.presence.get(s)
                    if got is None or got[2] != status:
                        out.append((r.p.bare, s, got[2] if got else None))
            return out
        while time.monotonic() < deadline and missing():
            await asyncio.sleep(0.1)
        return missing()

    async def drain_offline(self, timeout=None):
        """Log every client out cleanly and in again (initial presence
        brings what offline storage kept for it), then wait until quiet."""
        deadline = time.monotonic() + (timeout or scaled(20))
        for c in self.clients:
            await c.close()
        await asyncio.sleep(0.2)
        oks = await asyncio.gather(*(c.connect(deadline) for c in self.clients))
        await asyncio.sleep(0.3)
        await self.quiet(scaled(1.5), deadline)
        return all(oks)

    def disconnects(self, since=0.0):
        """Streams that died without the client asking: [(bare, t, gen)]."""
        return [(c.p.bare, t, g) for c in self.clients for t, g, expected in c.deaths
                if not expected and t >= since]

    async def close(self):
        for c in self.clients:
            await c.close()

    def tally(self, senders=None, receivers=None):
        """The tally of messages from `senders` to `receivers` (sets of bare
        JIDs; None: everyone)."""
        t = Tally()
        deliveries = {}      # (receiver, sender, seq) -> count
        delayed = {}
        order = {}           # (receiver, sender) -> [seq in arrival order, first copies]
        for r in self.clients:
            for _, sender, seq, dly, _ in r.received:
                k = (r.p.bare, sender, seq)
                deliveries[k] = deliveries.get(k, 0) + 1
                if deliveries[k] == 1:
                    order.setdefault((r.p.bare, sender), []).append(seq)
                    if dly:
                        delayed[k] = True
        per = {}

        def rc(bare):
            return per.setdefault(bare, {"sent": 0, "delivered": 0, "lost": 0, "duplicated": 0,
                                         "reordered": 0, "offline": 0})
        for s in self.clients:
            if senders is not None and s.p.bare not in senders:
                continue
            for m in s.sent:
                if receivers is not None and m.to not in receivers:
                    continue
                t.total_sent += 1
                n = deliveries.get((m.to, s.p.bare, m.seq), 0)
                if n > 1:
                    t.duplicated += 1
                    rc(m.to)["duplicated"] += 1
                    t.dup_list.append((s.p.bare, m.seq, m.to, n))
                if (m.to, s.p.bare, m.seq) in delayed:
                    t.offline += 1
                    rc(m.to)["offline"] += 1
                if m.seq in s.bounced:
                    t.bounced += 1
                    cond = s.bounced[m.seq]
                    t.bounce_conditions[cond] = t.bounce_conditions.get(cond, 0) + 1
                    if n:
                        t.bounced_delivered += 1
                elif m.seq <= s.confirmed.get(m.gen, 0):
                    t.sent += 1
                    rc(m.to)["sent"] += 1
                    if n == 0:
                        t.lost += 1
                        rc(m.to)["lost"] += 1
                        t.lost_list.append((s.p.bare, m.seq, m.to, m.gen, m.t - self.t0))
                    elif n == 1:
                        t.delivered += 1
                        rc(m.to)["delivered"] += 1
                else:
                    t.unconfirmed += 1
                    if n:
                        t.unconfirmed_delivered += 1
        for (r, s), seqs in order.items():
            if (senders is not None and s not in senders) or \
                    (receivers is not None and r not in receivers):
                continue
            high = 0
            for q in seqs:
                if q < high:
                    t.reordered += 1
                    rc(r)["reordered"] += 1
                    t.reorder_list.append((s, q, r, high))
                high = max(high, q)
        t.per_receiver = per
        return t


def run(scenario, limit):
    """Run the coroutine function scenario() on a fresh loop, at most
    `limit` seconds; returns (its result, the exception or None).
    slixmpp's leftover tasks are cancelled quietly."""
    logging.basicConfig(level=logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    err = result = None
    try:
        result = loop.run_until_complete(asyncio.wait_for(scenario(), limit))
    except Exception as e:  # noqa: BLE001 — reported by the caller as a failure
        err = e
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    return result, err
