"""imlib.py — what the RFC 6121 (IM and presence) tests share: a Site with
router, parley-auth, parley-sm and parley-c2s and N accounts made with
`parleyctl user add`, and Cli, a python3-slixmpp client that keeps every
stanza it receives (as an XML element) and sends exact XML, so a test can
wait for a given stanza with a bounded timeout and prove that another one
did not come. slixmpp's own subscription automatism is switched off: the
test, not the library, answers subscription requests."""
import asyncio
import copy
import itertools
import logging
import os
import ssl
import subprocess
import time
import xml.etree.ElementTree as ET

from c2slib import Site as C2SSite
from parley import BUILD, wait_until

import slixmpp

DOMAIN = "example.test"
NS_C = "jabber:client"
NS_ROSTER = "jabber:iq:roster"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
C = "{%s}" % NS_C
R = "{%s}" % NS_ROSTER

_ids = itertools.count(1)


def new_id(prefix="t"):
    return f"{prefix}{next(_ids)}"


def xesc(s):
    """Text or attribute value (either quote) as XML."""
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


class Site:
    """router + auth + sm + c2s on example.test with accounts USER (password pw-USER)."""

    def __init__(self, suite, t, users):
        self.suite = suite
        self.site = C2SSite(suite)
        self.conf = self.site.conf
        for user in users:
            r = subprocess.run([os.path.join(BUILD, "parleyctl"), "-c", self.conf, "user", "add",
                                f"{user}@{DOMAIN}", f"pw-{user}"], capture_output=True, text=True)
            t.eq(r.returncode, 0, f"parleyctl user add {user}")
        self.auth = suite.start("auth", ["parley-auth", "-f", "-c", self.conf])
        wait_until(lambda: not self.auth.alive() or "bound auth" in self.auth.log(), 10)
        self.sm = suite.start("sm", ["parley-sm", "-f", "-c", self.conf])
        wait_until(lambda: not self.sm.alive() or f"bound {DOMAIN}" in self.sm.log(), 10)
        self.c2s = self.site.start_c2s()
        self.port = self.site.port
        t.ok(self.auth.alive() and self.sm.alive() and self.c2s.alive(),
             "router, auth, sm and c2s run", self.sm.log()[-500:] + self.c2s.log()[-500:])

    def logs(self, n=1500):
        return "sm: " + self.sm.log()[-n:] + "\nc2s: " + self.c2s.log()[-n // 2:]


class Cli:
    """One logged-in resource. .got holds (monotonic time, element) for every
    stanza received; .mark() remembers a position so waits look only at
    what came after it."""

    def __init__(self, site, user, resource, password=None):
        self.site = site
        self.user = user
        self.bare = f"{user}@{DOMAIN}"
        self.full = f"{self.bare}/{resource}"
        self.got = []
        self.pos = 0
        self.closed = False
        x = slixmpp.ClientXMPP(self.full, password or f"pw-{user}")
        x.ssl_context.check_hostname = False
        x.ssl_context.verify_mode = ssl.CERT_NONE
        # slixmpp 1.8.3's -PLUS mechanisms know only tls-unique (TLS 1.2).
        x.ssl_context.maximum_version = ssl.TLSVersion.TLSv1_2
        x.auto_authorize = None
        x.auto_subscribe = False
        x.auto_reconnect = False
        self.ready = asyncio.Event()
        self.gone = asyncio.Event()
        x.add_event_handler("session_start", lambda _: self.ready.set())
        x.add_event_handler("disconnected", lambda _: self.gone.set())
        x.add_filter("in", self._keep)
        self.x = x

    # Waits are bounded by TIMEOUT; once one of them has run out (the
    # feature is likely missing), every later wait is cut to DEGRADED so a
    # file with many failures still ends within its minute.
    TIMEOUT = 3.0
    DEGRADED = 1.0
    missed = 0

    @classmethod
    def _limit(cls, timeout):
        t = cls.TIMEOUT if timeout is None else timeout
        return min(t, cls.DEGRADED) if cls.missed else t

    def _keep(self, stanza):
        try:
            self.got.append((time.monotonic(), copy.deepcopy(stanza.xml)))
        except Exception:  # noqa: BLE001 — never break slixmpp's input path
            pass
        return stanza

    async def login(self, timeout=10):
        self.x.connect(("127.0.0.1", self.site.port))
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    @property
    def features(self):
        return set(self.x.features)

    def send(self, xml):
        self.x.send_raw(xml)

    def mark(self):
        self.pos = len(self.got)
        return self.pos

    def since(self, pos=None):
        return [el for _, el in self.got[self.pos if pos is None else pos:]]

    async def wait(self, pred, timeout=None, pos=None):
        """First stanza after the mark (or pos) for which pred is true, or None."""
        start = self.pos if pos is None else pos
        deadline = time.monotonic() + self._limit(timeout)
        while True:
            for _, el in self.got[start:]:
                try:
                    if pred(el):
                        return el
                except Exception:  # noqa: BLE001 — a predicate on an odd stanza
                    pass
            if time.monotonic() >= deadline or self.closed:
                Cli.missed += 1
                return None
            await asyncio.sleep(0.02)

    async def wait_all(self, preds, timeout=None, pos=None):
        """A stanza for each predicate (None where one is missing)."""
        start = self.pos if pos is None else pos
        deadline = time.monotonic() + self._limit(timeout)
        while True:
            found = [find(self.got[start:], p) for p in preds]
            if all(f is not None for f in found):
                return found
            if time.monotonic() >= deadline:
                Cli.missed += 1
                return found
            await asyncio.sleep(0.02)

    def seen(self, pred, pos=None):
        return [el for el in self.since(pos) if _safe(pred, el)]

    async def iq(self, typ, body, to=None, timeout=None):
        """Send an iq with a fresh id; the answer (result/error) or None."""
        iid = new_id()
        t = f" to='{xesc(to)}'" if to else ""
        start = len(self.got)
        self.send(f"<iq xmlns='{NS_C}' type='{typ}' id='{iid}'{t}>{body}</iq>")
        return await self.wait(lambda el: el.tag == C + "iq" and el.get("id") == iid
                               and el.get("type") in ("result", "error"), timeout, pos=start)

    async def roster_get(self, ver=None, timeout=None):
        v = "" if ver is None else f" ver='{xesc(ver)}'"
        return await self.iq("get", f"<query xmlns='{NS_ROSTER}'{v}/>", timeout=timeout)

    async def roster_set(self, jid, name=None, groups=(), subscription=None, extra="",
                         timeout=None):
        return await self.iq("set", f"<query xmlns='{NS_ROSTER}'>"
                             + item_xml(jid, name, groups, subscription) + extra + "</query>",
                             timeout=timeout)

    def presence(self, typ=None, to=None, show=None, status=None, priority=None, pid=None):
        attrs = ""
        if typ:
            attrs += f" type='{typ}'"
        if to:
            attrs += f" to='{xesc(to)}'"
        if pid:
            attrs += f" id='{pid}'"
        body = ""
        if show:
            body += f"<show>{show}</show>"
        if status is not None:
            body += f"<status>{xesc(status)}</status>"
        if priority is not None:
            body += f"<priority>{priority}</priority>"
        self.send(f"<presence xmlns='{NS_C}'{attrs}>{body}</presence>")

    def message(self, to, body, typ="chat", mid=None):
        t = f" type='{typ}'" if typ else ""
        i = f" id='{mid}'" if mid else ""
        self.send(f"<message xmlns='{NS_C}' to='{xesc(to)}'{t}{i}><body>{xesc(body)}</body>"
                  "</message>")

    async def sync(self, timeout=None):
        """A ping to our own server answered: everything we sent before it was handled."""
        return await self.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN, timeout=timeout)

    def abort(self):
        """Drop the TCP connection without </stream> or unavailable presence."""
        self.closed = True
        tr = getattr(self.x, "transport", None)
        if tr is not None:
            tr.abort()

    async def close(self, timeout=3.0):
        if self.closed:
            return
        self.closed = True
        try:
            self.x.disconnect(wait=0.2)
            await asyncio.wait_for(self.gone.wait(), timeout)
        except Exception:  # noqa: BLE001
            pass


def _safe(pred, el):
    try:
        return pred(el)
    except Exception:  # noqa: BLE001
        return False


def find(pairs, pred):
    for _, el in pairs:
        if _safe(pred, el):
            return el
    return None


def item_xml(jid, name=None, groups=(), subscription=None):
    a = f" jid='{xesc(jid)}'"
    if name is not None:
        a += f" name='{xesc(name)}'"
    if subscription is not None:
        a += f" subscription='{subscription}'"
    g = "".join(f"<group>{xesc(x)}</group>" for x in groups)
    return f"<item{a}>{g}</item>" if g else f"<item{a}/>"


# --- reading what came ---------------------------------------------------

def bare(jid):
    return (jid or "").split("/", 1)[0]


def is_iq(el, typ=None):
    return el is not None and el.tag == C + "iq" and (typ is None or el.get("type") == typ)


def is_presence(el, typ=None, frm=None):
    """typ None: available presence (no type attribute)."""
    return (el is not None and el.tag == C + "presence" and el.get("type") == typ
            and (frm is None or el.get("from") == frm))


def is_message(el, frm=None, body=None):
    return (el is not None and el.tag == C + "message" and (frm is None or el.get("from") == frm)
            and (body is None or text(el, C + "body") == body))


def text(el, tag):
    c = el.find(tag) if el is not None else None
    return c.text if c is not None else None


def query(el):
    return el.find(R + "query") if el is not None else None


def items(el):
    """Items of a roster result or push: [{jid, name, subscription, ask, groups}]."""
    q = query(el)
    if q is None:
        return []
    out = []
    for it in q.findall(R + "item"):
        out.append({"jid": it.get("jid"), "name": it.get("name"),
                    "subscription": it.get("subscription"), "ask": it.get("ask"),
                    "approved": it.get("approved"),
                    "groups": sorted((g.text or "") for g in it.findall(R + "group"))})
    return out


def item_of(el, jid):
    return next((i for i in items(el) if i["jid"] == jid), None)


def sub_of(item):
    """'subscription' with RFC 6121 §2.1.2.5's default ('none' when absent)."""
    return None if item is None else (item["subscription"] or "none")


def is_push(el, jid=None, own_bare=None):
    """A roster push (RFC 6121 §2.1.6): iq set, from absent or the user's bare JID."""
    if not is_iq(el, "set") or query(el) is None:
        return False
    if el.get("from") not in (None, own_bare) and own_bare is not None:
        return False
    return jid is None or item_of(el, jid) is not None


def err_cond(el):
    """The defined condition of a stanza error, or None."""
    if el is None or el.get("type") != "error":
        return None
    e = el.find(C + "error")
    if e is None:
        return "(no error element)"
    for c in e:
        if c.tag.startswith("{%s}" % NS_STANZAS) and not c.tag.endswith("}text"):
            return c.tag.split("}", 1)[1]
    return "(no condition)"


def show(el):
    return ET.tostring(el, encoding="unicode") if el is not None else "None"


def shows(els, n=8):
    return "\n".join(show(e)[:400] for e in els[-n:])


# --- running a scenario --------------------------------------------------

def run(scenario, limit):
    """Run the coroutine function scenario() on a fresh loop, at most limit
    seconds; slixmpp's leftover tasks are cancelled quietly."""
    logging.basicConfig(level=logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    err = None
    try:
        loop.run_until_complete(asyncio.wait_for(scenario(), limit))
    except Exception as e:  # noqa: BLE001 — reported by the caller as a failure
        err = e
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    return err
