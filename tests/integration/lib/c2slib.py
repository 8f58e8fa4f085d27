"""c2slib.py — what the c2s tests need around parley-c2s: a certificate,
a config with the router, c2s on free ports, and fake peers on the router
playing sm (binds the hosted domain, starts sessions, records and acks
ROUTEs, can end sessions) and auth (PLAIN only, a dict of users, in-band
registration), each answering from a thread of its own."""
import base64
import os
import subprocess
import threading
import time

import frames as F
from parley import free_port, wait_until
from routerlib import SECRET, read, socket_answers

HOST = "example.test"


def make_cert(suite, host=HOST):
    cert, key = suite.path(f"c2s-cert-{host}.pem"), suite.path(f"c2s-key-{host}.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", f"/CN={host}", "-addext",
                    f"subjectAltName=DNS:{host}"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


class Site:
    """Router + c2s, with a config the test shapes."""

    def __init__(self, suite, c2s_settings="", top="", name="site", address="127.0.0.1",
                 router_settings="", hosts=(HOST,), tls_settings=""):
        self.suite = suite
        self.name = name
        self.cert, self.key = make_cert(suite)
        run = suite.mkdir(f"{name}-run", owner="test")
        self.sock = os.path.join(run, "router.sock")
        self.port = free_port()
        self.dport = free_port()
        c2s = (f'listeners = ( {{ address = "{address}"; port = {self.port}; tls = "starttls"; }},\n'
               f'  {{ address = "{address}"; port = {self.dport}; tls = "direct"; }} );\n'
               + c2s_settings)
        conf = suite.config({"router": f'socket = "{self.sock}";\ncomponent_port = 0;\n'
                             + router_settings,
                             "c2s": c2s},
                            top=f'tls = {{ certificate = "{self.cert}"; key = "{self.key}";\n'
                            + tls_settings + '};\n' + top, secret=SECRET, hosts=hosts)
        self.conf = suite.path(f"{name}.conf")
        os.rename(conf, self.conf)
        self.router = suite.start(f"{name}-router", ["parley-router", "-f", "-c", self.conf])
        wait_until(lambda: not self.router.alive() or
                   ("listening on" in self.router.log() and socket_answers(self.sock)), 10)
        self.c2s = None

    def start_c2s(self, args=(), wait=True, instance=1):
        self.c2s = self.suite.start(f"{self.name}-c2s{instance}", ["parley-c2s", "-f", "-c", self.conf,
                                                       "-i", str(instance)] + list(args))
        if wait:
            wait_until(lambda: not self.c2s.alive() or "router link up" in self.c2s.log(), 10)
            # An auth peer already bound is announced right after HELLO_OK.
            wait_until(lambda: "auth is up" in self.c2s.log(), 1)
        return self.c2s


class FakePeer(threading.Thread):
    """A peer on the router answering frames from its own thread."""

    def __init__(self, sock, name, role, binds=()):
        super().__init__(daemon=True)
        self.peer = F.connect(sock, name, SECRET, role)
        self.name = name
        for b in binds:
            ok = self.peer.bind(b, F.F_SHARED if b == "auth" else 0)
            assert ok is not None and ok.type == F.BIND_OK, repr(ok)
        self.lock = threading.Lock()
        self.frames = []
        self.stop_flag = False
        self.start()

    def send(self, ftype, attrs, flags=0):
        with self.lock:
            return self.peer.send(ftype, attrs, flags)

    def run(self):
        while not self.stop_flag:
            with self.lock:
                f = self.peer.recv(0)
            if f is None:
                if self.peer.eof:
                    return
                time.sleep(0.01)
                continue
            self.frames.append(f)
            try:
                self.handle(f)
            except (BrokenPipeError, ConnectionError):
                return  # the router went away (the test is ending)
            except Exception as e:  # a test peer must not die silently
                print(f"# {self.name}: {e!r}", flush=True)

    def handle(self, f):
        pass

    def wait(self, pred, timeout=5.0):
        return wait_until(lambda: next((f for f in list(self.frames) if pred(f)), None), timeout)

    def close(self):
        self.stop_flag = True
        self.join(2)
        self.peer.close()


class FakeSM(FakePeer):
    """Binds the hosted domain; starts every session (unless refuse),
    acks every ROUTE (kept in .frames)."""

    def __init__(self, sock, name="sm", domain=HOST):
        self.refuse = False
        self.silent = False
        self.sessions = {}   # session-id → (c2s name, jid)
        super().__init__(sock, name, "sm", [domain])

    def handle(self, f):
        frm = f.get(F.FROM)
        if f.type == F.SESSION_START:
            sid, jid = f.get(F.SESSION_ID), f.get(F.JID)
            if self.silent:
                return
            if self.refuse:
                self.send(F.SESSION_ENDED, [(F.FROM, HOST), (F.TO, frm), (F.SESSION_ID, sid),
                                            (F.JID, jid), (F.CODE, 3)])
                return
            self.sessions[sid] = (frm, jid)
            self.send(F.SESSION_STARTED, [(F.FROM, HOST), (F.TO, frm), (F.SESSION_ID, sid),
                                          (F.JID, jid)])
        elif f.type == F.ROUTE:
            self.send(F.ACK, [(F.FROM, HOST), (F.TO, frm), (F.ACK_SEQ, f.seq)])
        elif f.type == F.SESSION_END:
            sid = f.get(F.SESSION_ID)
            self.send(F.SESSION_ENDED, [(F.FROM, HOST), (F.TO, frm), (F.SESSION_ID, sid),
                                        (F.JID, f.get(F.JID)), (F.CODE, f.get(F.CODE, 0))])
            self.sessions.pop(sid, None)

    def deliver(self, sid, stanza, to=None):
        c2s = to or self.sessions.get(sid, ("c2s.1", None))[0]
        return self.send(F.ROUTE, [(F.FROM, HOST), (F.TO, c2s), (F.SESSION_ID, sid),
                                   (F.STANZA, stanza.encode())])

    def end(self, sid, code):
        c2s, jid = self.sessions[sid]
        return self.send(F.SESSION_END, [(F.FROM, HOST), (F.TO, c2s), (F.SESSION_ID, sid),
                                         (F.JID, jid), (F.CODE, code)])

    def sid_of(self, jid):
        for sid, (_, j) in self.sessions.items():
            if j == jid:
                return sid
        return None


class FakeAuth(FakePeer):
    """PLAIN against a dict; registration iqs answered from the same dict."""

    def __init__(self, sock, users=None, name="auth.1"):
        self.users = dict(users or {})
        self.silent = False
        self.registrations = []
        super().__init__(sock, name, "auth", ["auth"])

    def result(self, f, status, jid=None, data=None):
        attrs = [(F.FROM, "auth"), (F.TO, f.get(F.FROM)), (F.SESSION_ID, f.get(F.SESSION_ID)),
                 (F.STATUS, status)]
        if data is not None:
            attrs.append((F.SASL_DATA, data))
        if jid:
            attrs.append((F.JID, jid))
        self.send(F.SASL_RESULT, attrs)

    def check_plain(self, f, data):
        parts = data.split(b"\0")
        host = getattr(self, "host_of", {}).get(f.get(F.SESSION_ID), HOST)
        if len(parts) != 3:
            return self.result(f, 8)
        user, pw = parts[1].decode(), parts[2].decode()
        # Misbehaving auth, for c2s's checks: a success naming no JID, or another domain's.
        if user == "nojid":
            return self.result(f, 0)
        if user == "elsewhere":
            return self.result(f, 0, "elsewhere@other.test")
        if self.users.get(user) == pw:
            return self.result(f, 0, f"{user}@{host}")
        return self.result(f, 10)

    def handle(self, f):
        if self.silent:
            return
        if f.type == F.SASL_START:
            if not hasattr(self, "host_of"):
                self.host_of = {}
            self.host_of[f.get(F.SESSION_ID)] = f.get(F.HOST)
            if f.get(F.MECHANISM) != "PLAIN":
                return self.result(f, 7)
            data = f.get(F.SASL_DATA)
            if data is None:
                return self.send(F.SASL_STEP, [(F.FROM, "auth"), (F.TO, f.get(F.FROM)),
                                               (F.SESSION_ID, f.get(F.SESSION_ID)),
                                               (F.SASL_DATA, b"")])
            return self.check_plain(f, data)
        if f.type == F.SASL_STEP:
            if f.flags & F.F_ABORT:
                return self.result(f, 1)
            return self.check_plain(f, f.get(F.SASL_DATA) or b"")
        if f.type == F.ROUTE:
            self.send(F.ACK, [(F.FROM, "auth"), (F.TO, f.get(F.FROM)), (F.ACK_SEQ, f.seq)])
            st = f.get(F.STANZA).decode(errors="replace")
            self.registrations.append(st)
            import re
            m = re.search(r"id=[\"']([^\"']*)[\"']", st)
            iid = m.group(1) if m else ""
            u = re.search(r"<username>([^<]*)</username>", st)
            p = re.search(r"<password>([^<]*)</password>", st)
            if u and p:
                self.users[u.group(1)] = p.group(1)
            reply = f"<iq xmlns='jabber:client' type='result' id='{iid}'/>"
            if "type=\"get\"" in st or "type='get'" in st:
                reply = (f"<iq xmlns='jabber:client' type='result' id='{iid}'><query "
                         "xmlns='jabber:iq:register'><username/><password/></query></iq>")
            self.send(F.ROUTE, [(F.FROM, "auth"), (F.TO, f.get(F.FROM)),
                                (F.SESSION_ID, f.get(F.SESSION_ID)), (F.STANZA, reply.encode())])


def b64(s):
    return base64.b64encode(s.encode()).decode()
