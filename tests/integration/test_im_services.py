#!/usr/bin/python3
"""test_im_services.py — what the server answers on its own or on a
user's behalf, through real slixmpp clients on router+auth+sm+c2s:
disco#info of the server (the modules' features) and of an account
(XEP-0030 §8: identity account/registered for the account itself,
service-unavailable to a stranger), version (XEP-0092), ping (XEP-0199),
entity time (XEP-0202), last activity (XEP-0012: the server's uptime; a
user's last logout — forbidden without a presence subscription, the
seconds since logout with one), vCard (XEP-0054: own empty, set, read by
another, set for another forbidden, none stored: the same error as no such
user) and
private XML (XEP-0049: set/get, reserved namespace refused, another
user's forbidden). Prints TAP."""
import asyncio
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

from imlib import C, Cli, DOMAIN, Site, err_cond, is_iq, run, shows  # noqa: E402
from parley import Suite, Tap  # noqa: E402

INFO = "http://jabber.org/protocol/disco#info"
t = Tap()
suite = Suite("im-services")
site = Site(suite, t, ["alice", "bob", "carol"])
ALICE, BOB, CAROL = f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}"


def child(el, tag):
    return el.find(tag) if el is not None else None


async def scenario():
    alice, bob = Cli(site, "alice", "home"), Cli(site, "bob", "phone")
    ok = all(await asyncio.gather(alice.login(), bob.login()))
    t.ok(ok, "alice and bob log in", site.logs())
    if not ok:
        return
    for c in (alice, bob):
        c.presence()
        await c.sync()

    # --- disco, version, ping, time ---------------------------------------
    res = await alice.iq("get", f"<query xmlns='{INFO}'/>", to=DOMAIN)
    feats = {f.get("var") for f in res.iter("{%s}feature" % INFO)} if res is not None else set()
    want = {"urn:xmpp:blocking", "msgoffline", "urn:xmpp:time", "jabber:iq:last", "vcard-temp",
            "jabber:iq:private", "jabber:iq:version", "urn:xmpp:ping", "jabber:iq:register", INFO}
    t.ok(want <= feats, "XEP-0030: the server's disco#info lists every module's feature",
         f"missing {sorted(want - feats)}")
    res = await alice.iq("get", f"<query xmlns='{INFO}'/>", to=ALICE)
    ident = res.find("{%s}query/{%s}identity" % (INFO, INFO)) if res is not None else None
    t.ok(ident is not None and ident.get("category") == "account"
         and ident.get("type") == "registered",
         "XEP-0030 §8: disco#info of one's own account: identity account/registered", shows([res]))
    res = await bob.iq("get", f"<query xmlns='{INFO}'/>", to=ALICE)
    t.ok(err_cond(res) == "service-unavailable",
         "XEP-0030 §8: disco#info of an account to a stranger: service-unavailable", shows([res]))
    res = await alice.iq("get", "<query xmlns='jabber:iq:version'/>", to=DOMAIN)
    name = res.find("{jabber:iq:version}query/{jabber:iq:version}name") if res is not None else None
    t.ok(name is not None and name.text == "Parley", "XEP-0092: version of the server",
         shows([res]))
    res = await alice.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    t.ok(is_iq(res, "result"), "XEP-0199: ping of the server", shows([res]))
    res = await alice.iq("get", "<time xmlns='urn:xmpp:time'/>", to=DOMAIN)
    utc = res.find("{urn:xmpp:time}time/{urn:xmpp:time}utc") if res is not None else None
    tzo = res.find("{urn:xmpp:time}time/{urn:xmpp:time}tzo") if res is not None else None
    t.ok(utc is not None and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", utc.text or "")
         and tzo is not None and tzo.text == "+00:00",
         "XEP-0202: entity time of the server in UTC", shows([res]))

    # --- last activity ----------------------------------------------------
    res = await alice.iq("get", "<query xmlns='jabber:iq:last'/>", to=DOMAIN)
    q = child(res, "{jabber:iq:last}query")
    t.ok(q is not None and (q.get("seconds") or "").isdigit(),
         "XEP-0012 §4: the server's uptime", shows([res]))
    res = await bob.iq("get", "<query xmlns='jabber:iq:last'/>", to=ALICE)
    t.ok(err_cond(res) == "forbidden",
         "XEP-0012 §2: last activity of a user to someone not subscribed: forbidden",
         shows([res]))
    res = await alice.iq("get", "<query xmlns='jabber:iq:last'/>", to=ALICE)
    q = child(res, "{jabber:iq:last}query")
    t.ok(q is not None and q.get("seconds") == "0",
         "XEP-0012 §2: a user with an available resource: seconds 0", shows([res]))
    # bob subscribes to alice's presence; alice approves (RFC 6121 §3.1).
    alice.mark()
    bob.send(f"<presence xmlns='jabber:client' to='{ALICE}' type='subscribe'/>")
    req = await alice.wait(lambda e: e.tag == C + "presence" and e.get("type") == "subscribe")
    alice.send(f"<presence xmlns='jabber:client' to='{BOB}' type='subscribed'/>")
    await alice.sync()
    await bob.sync()
    await alice.close()
    await asyncio.sleep(1.2)
    res = await bob.iq("get", "<query xmlns='jabber:iq:last'/>", to=ALICE)
    q = child(res, "{jabber:iq:last}query")
    t.ok(req is not None and q is not None and (q.get("seconds") or "").isdigit()
         and 0 <= int(q.get("seconds")) < 60,
         "XEP-0012 §2: with a subscription, the seconds since the user logged out "
         "(needs the roster's subscription handling)",
         ("no subscribe reached alice; " if req is None else "") + shows([res]))

    # --- vCard ------------------------------------------------------------
    alice = Cli(site, "alice", "again")
    t.ok(await alice.login(), "alice logs in again", site.logs())
    res = await alice.iq("get", "<vCard xmlns='vcard-temp'/>")
    v = child(res, "{vcard-temp}vCard")
    t.ok(is_iq(res, "result") and v is not None and len(v) == 0,
         "XEP-0054 §3.1: one's own vCard, none stored: an empty <vCard/>", shows([res]))
    res = await alice.iq("set", "<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN>"
                         "<NICKNAME>al</NICKNAME></vCard>")
    t.ok(is_iq(res, "result"), "XEP-0054 §3.2: set one's own vCard", shows([res]))
    res = await bob.iq("get", "<vCard xmlns='vcard-temp'/>", to=ALICE)
    fn = res.find("{vcard-temp}vCard/{vcard-temp}FN") if res is not None else None
    t.ok(fn is not None and fn.text == "Alice Liddell" and res.get("from") == ALICE,
         "XEP-0054 §3.1: another user reads it, from the bare JID", shows([res]))
    res = await bob.iq("set", "<vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard>", to=ALICE)
    t.ok(err_cond(res) == "forbidden", "XEP-0054: setting another user's vCard: forbidden",
         shows([res]))
    res = await bob.iq("get", "<vCard xmlns='vcard-temp'/>", to=CAROL)
    t.ok(err_cond(res) == "service-unavailable",
         "XEP-0054 §3.3: a user without a vCard: service-unavailable", shows([res]))
    res2 = await bob.iq("get", "<vCard xmlns='vcard-temp'/>", to=f"nobody@{DOMAIN}")
    t.ok(err_cond(res2) == err_cond(res) and res is not None and res2 is not None and
         res2.find(f"{C}error").get("type") == res.find(f"{C}error").get("type"),
         "XEP-0054 §3.3: and no such user: the same error (no directory harvesting)",
         shows([res, res2]))

    # --- private XML ------------------------------------------------------
    res = await alice.iq("set", "<query xmlns='jabber:iq:private'>"
                         "<prefs xmlns='urn:example:prefs'><color>blue</color></prefs></query>")
    t.ok(is_iq(res, "result"), "XEP-0049: store private XML", shows([res]))
    res = await alice.iq("get", "<query xmlns='jabber:iq:private'>"
                         "<prefs xmlns='urn:example:prefs'/></query>")
    col = res.find("{jabber:iq:private}query/{urn:example:prefs}prefs/{urn:example:prefs}color") \
        if res is not None else None
    t.ok(col is not None and col.text == "blue", "XEP-0049: read it back", shows([res]))
    res = await alice.iq("set", "<query xmlns='jabber:iq:private'>"
                         "<x xmlns='jabber:iq:roster'/></query>")
    t.ok(err_cond(res) == "not-acceptable",
         "XEP-0049: a reserved (jabber:) namespace: not-acceptable", shows([res]))
    res = await bob.iq("get", "<query xmlns='jabber:iq:private'>"
                       "<prefs xmlns='urn:example:prefs'/></query>", to=ALICE)
    t.ok(err_cond(res) == "forbidden", "XEP-0049: another user's private XML: forbidden",
         shows([res]))
    await alice.close()
    await bob.close()


err = run(scenario, 60)
t.ok(err is None, "the scenario ran to its end", repr(err) + "\n" + site.logs())
t.ok(site.sm.alive(), "sm is still running", site.logs())
t.done()
