#!/usr/bin/python3
"""test_auth_register.py — XEP-0077 through parley-auth: the registration
form and account creation before login (refused when auth.registration is
off, conflict for a taken name, not-acceptable for a bad one), password
change and cancel after login, each checked by logging in; and two auth
processes sharing the name "auth", each completing whole SCRAM exchanges.
Prints TAP."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import frames as F  # noqa: E402
from parley import Suite, Tap, wait_until  # noqa: E402
from authlib import CB_EXPORTER, HOST, NOT_AUTHORIZED, OK, Site, plain, scram_login, \
    status  # noqa: E402

t = Tap()
suite = Suite("auth-register")
cbs = [("tls-exporter", CB_EXPORTER)]
NS = "jabber:iq:register"


def iq(typ, body, to=HOST, frm=None, id="r1"):
    attrs = f" type='{typ}' id='{id}'"
    if to:
        attrs += f" to='{to}'"
    if frm:
        attrs += f" from='{frm}'"
    return f"<iq xmlns='jabber:client'{attrs}><query xmlns='{NS}'>{body}</query></iq>"


def ask(c2s, sid, stanza):
    c2s.route(sid, stanza)
    f = c2s.routed(sid)
    return f.get(F.STANZA).decode() if f is not None else ""


def error_of(xml):
    m = re.search(r"<error type=['\"](\w+)['\"]><([\w-]+)", xml)
    return (m.group(1), m.group(2)) if m else None


def login(c2s, sid, user, password):
    c2s.start(sid, "PLAIN", plain(user, password), cbs=cbs)
    return status(c2s.answer(sid))


# --- registration off (the default) -------------------------------------------------
off = Site(suite, name="off")
c2s = off.c2s()
reply = ask(c2s, "a1", iq("get", ""))
t.eq(error_of(reply), ("cancel", "service-unavailable"),
     "registration off: the form is service-unavailable")
reply = ask(c2s, "a2", iq("set", "<username>romeo</username><password>x</password>"))
t.eq(error_of(reply), ("cancel", "not-allowed"), "registration off: creating is not-allowed")
t.ok("<password>" not in reply and "x</password>" not in reply,
     "the error does not echo the password", reply)
t.eq(off.ctl("user", "list", HOST).stdout, "", "and no account was made")
# ACKs: every ROUTE is acknowledged.
t.ok(c2s.peer.wait(lambda f: f.type == F.ACK, 5) is not None, "auth acknowledges the ROUTE")
c2s.close()

# --- registration on ------------------------------------------------------------------
on = Site(suite, name="on", auth="registration = true;")
c2s = on.c2s()
reply = ask(c2s, "b1", iq("get", ""))
t.ok("type=\"result\"" in reply or "type='result'" in reply, "registration on: the form", reply)
t.ok("<username/>" in reply and "<password/>" in reply and "<instructions>" in reply,
     "with instructions, username and password", reply)
reply = ask(c2s, "b2", iq("set", "<username>Romeo</username><password>montague</password>"))
t.ok(error_of(reply) is None and "result" in reply, "creating an account", reply)
t.eq(on.ctl("user", "list", HOST).stdout, f"romeo@{HOST}\n",
     "the account exists, nodeprepped")
t.eq(login(c2s, "b3", "romeo", "montague"), (F.SASL_RESULT, OK), "and can log in")
f, s, _ = scram_login(c2s, "b3s", "SCRAM-SHA-1", "romeo", "montague")
t.eq(status(f), (F.SASL_RESULT, OK), "with SCRAM-SHA-1 too (both secrets were stored)")
reply = ask(c2s, "b4", iq("set", "<username>romeo</username><password>other</password>"))
t.eq(error_of(reply), ("cancel", "conflict"), "the same name again: conflict")
reply = ask(c2s, "b5", iq("set", "<username>ro@meo</username><password>x</password>"))
t.eq(error_of(reply), ("modify", "not-acceptable"), "a name that is not a localpart: not-acceptable")
reply = ask(c2s, "b6", iq("set", "<username>tybalt</username><password></password>"))
t.eq(error_of(reply), ("modify", "not-acceptable"), "an empty password: not-acceptable")
reply = ask(c2s, "b7", iq("set", "<username>tybalt</username>"))
t.eq(error_of(reply), ("modify", "not-acceptable"),
     "no password at all: not-acceptable (XEP-0077 §3.1)")
reply = ask(c2s, "b8", iq("set", "<remove/>"))
t.eq(error_of(reply), ("auth", "not-authorized"), "cancel before login: not-authorized")

# --- after login: the form, password change, cancel --------------------------------------
me = f"romeo@{HOST}/orchard"
reply = ask(c2s, "c1", iq("get", "", to=None, frm=me))
t.ok("<registered/>" in reply and "<username>romeo</username>" in reply and
     "<instructions>" in reply, "logged in, the form says registered, with the username and "
     "instructions (XEP-0077 §3.1 SHOULD)", reply)
t.ok(f"to=\"{me}\"" in reply or f"to='{me}'" in reply, "addressed to the user's full JID", reply)
reply = ask(c2s, "c2", iq("set", "<username>juliet</username><password>p</password>", to=None,
                          frm=me))
t.eq(error_of(reply), ("auth", "not-authorized"), "changing someone else's password: not-authorized")
reply = ask(c2s, "c3", iq("set", "<username>romeo</username><password>new-one</password>", to=None,
                          frm=me))
t.ok(error_of(reply) is None and "result" in reply, "changing one's own password", reply)
t.eq(login(c2s, "c4", "romeo", "montague"), (F.SASL_RESULT, NOT_AUTHORIZED),
     "the old password no longer works")
t.eq(login(c2s, "c5", "romeo", "new-one"), (F.SASL_RESULT, OK), "the new one does")
reply = ask(c2s, "c5r", iq("set", "<remove/><username>romeo</username>", to=None, frm=me))
t.eq(error_of(reply), ("modify", "bad-request"),
     "<remove/> with another child: bad-request (XEP-0077 §3.2), nothing removed")
t.eq(login(c2s, "c5l", "romeo", "new-one"), (F.SASL_RESULT, OK), "the account is still there")
reply = ask(c2s, "c6", iq("set", "<remove/>", to=None, frm=me))
t.ok(error_of(reply) is None and "result" in reply, "cancelling the account", reply)
t.eq(login(c2s, "c7", "romeo", "new-one"), (F.SASL_RESULT, NOT_AUTHORIZED),
     "after cancel, the login fails")
t.eq(on.ctl("user", "list", HOST).stdout, "", "and the account is gone")
reply = ask(c2s, "c8", iq("set", "<remove/>", to=None, frm=me))
t.eq(error_of(reply), ("cancel", "item-not-found"), "cancelling it again: item-not-found")
c2s.close()

# --- two auth processes share "auth" ---------------------------------------------------------
two = Site(suite, name="two", n_auth=2)
t.eq(two.ctl("user", "add", f"nurse@{HOST}", "capulet").returncode, 0, "an account for the pair")
t.ok(all(p.alive() and "bound auth" in p.log() for p in two.auths),
     "two auth processes both bind the shared name")
c2s = two.c2s()
results = []
for i in range(24):
    f, s, _ = scram_login(c2s, f"x{i}", "SCRAM-SHA-256", "nurse", "capulet")
    results.append(status(f) == (F.SASL_RESULT, OK) and s.verify(f.get(F.SASL_DATA)))
t.ok(all(results), "24 whole SCRAM exchanges (two round trips each) succeed", results)
counts = [p.log().count("authenticated nurse@") for p in two.auths]
t.ok(all(c > 0 for c in counts) and sum(counts) == 24,
     "and both auth processes ran some of them", counts)
c2s.close()
t.done()
