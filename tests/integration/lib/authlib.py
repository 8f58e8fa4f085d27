"""authlib.py — what the test_auth* integration tests share (not a
test itself: not executable, so tests/run skips it): starting a router and
parley-auth processes on one configuration, a fake c2s on frames.py, and a
client-side SCRAM (RFC 5802) and PLAIN in a few dozen lines of hashlib/hmac,
so the tests check auth against an implementation written from the RFC
rather than against the gsasl it runs on."""
import base64
import hashlib
import hmac
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

import frames as F  # noqa: E402
from parley import BUILD, wait_until  # noqa: E402
from routerlib import SECRET, socket_answers  # noqa: E402

HOST = "example.test"
OK, ABORTED, INVALID_AUTHZID, INVALID_MECHANISM, MALFORMED_REQUEST = 0, 1, 6, 7, 8
ENCRYPTION_REQUIRED, NOT_AUTHORIZED, TEMPORARY_AUTH_FAILURE = 4, 10, 11
CB_EXPORTER = bytes(range(32))


class Site:
    """A router and N auth processes sharing one configuration."""

    def __init__(self, suite, auth="", n_auth=1, name="site", hosts=(HOST,), start=True,
                 auth_args=()):
        self.suite = suite
        self.name = name
        run = suite.mkdir(f"{name}-run", owner="test")
        self.sock = os.path.join(run, "router.sock")
        data = suite.mkdir(f"{name}-data", owner="test")
        conf = suite.config({"router": f'socket = "{self.sock}";\ncomponent_port = 0;',
                             "auth": auth},
                            hosts=hosts)
        # Each site gets its own data dir: rewrite the one suite.config chose.
        text = open(conf).read().replace(f'data_dir = "{suite.path("data")}";',
                                         f'data_dir = "{data}";')
        self.conf = suite.path(f"{name}.conf")
        with open(self.conf, "w") as f:
            f.write(text)
        os.remove(conf)
        self.data = data
        self.router = suite.start(f"{name}-router", ["parley-router", "-f", "-c", self.conf])
        wait_until(lambda: not self.router.alive() or
                   ("listening on" in self.router.log() and socket_answers(self.sock)), 10)
        self.auths = []
        if start:
            for i in range(1, n_auth + 1):
                self.start_auth(i, auth_args)

    def start_auth(self, i, args=(), wait=True):
        p = self.suite.start(f"{self.name}-auth{i}",
                             ["parley-auth", "-f", "-c", self.conf, "-i", str(i)] + list(args))
        if wait:
            wait_until(lambda: not p.alive() or "bound auth" in p.log(), 10)
        self.auths.append(p)
        return p

    def ctl(self, *args, stdin=None):
        return subprocess.run([os.path.join(BUILD, "parleyctl"), "-c", self.conf] + list(args),
                              input=stdin, capture_output=True, text=True, timeout=60)

    def c2s(self, name="c2s.1"):
        p = F.connect(self.sock, name, SECRET, role="c2s")
        b = p.bind(name)
        assert b is not None and b.type == F.BIND_OK, b
        return C2S(p, name)


class C2S:
    """A fake c2s: SASL_START / SASL_STEP out, SASL_STEP / SASL_RESULT in."""

    def __init__(self, peer, name):
        self.peer = peer
        self.name = name

    def start(self, sid, mech, data=None, cbs=(), addr="127.0.0.1:40000", host=HOST,
              extra=()):
        attrs = [(F.FROM, self.name), (F.TO, "auth"), (F.SESSION_ID, sid), (F.HOST, host),
                 (F.MECHANISM, mech)]
        if data is not None:
            attrs.append((F.SASL_DATA, data))
        for t, d in cbs:
            attrs.append((F.CB_TYPE, t))
        for t, d in cbs:
            attrs.append((F.CB_DATA, d))
        if addr is not None:
            attrs.append((F.CLIENT_ADDR, addr))
        attrs += list(extra)
        self.peer.send(F.SASL_START, attrs)

    def step(self, sid, data, abort=False):
        attrs = [(F.FROM, self.name), (F.TO, "auth"), (F.SESSION_ID, sid)]
        if data is not None:
            attrs.append((F.SASL_DATA, data))
        self.peer.send(F.SASL_STEP, attrs, flags=F.F_ABORT if abort else 0)

    def answer(self, sid, timeout=10.0):
        return self.peer.wait(lambda f: f.type in (F.SASL_STEP, F.SASL_RESULT) and
                              f.get(F.SESSION_ID) == sid, timeout)

    def route(self, sid, stanza):
        return self.peer.route(self.name, "auth", stanza, key=sid, sid=sid)

    def routed(self, sid, timeout=10.0):
        return self.peer.wait(lambda f: f.type == F.ROUTE and f.get(F.SESSION_ID) == sid,
                              timeout)

    def close(self):
        self.peer.close()


# --- the client side of SCRAM (RFC 5802, RFC 7677) ---------------------------------

def _h(name):
    return hashlib.sha1 if name.startswith("SCRAM-SHA-1") else hashlib.sha256


class Scram:
    def __init__(self, mech, user, password, cb_type=None, cb_data=b"", gs2=None):
        self.mech, self.user, self.password = mech, user, password
        self.hash = _h(mech)
        self.cb_data = cb_data
        if gs2 is None:
            gs2 = f"p={cb_type},," if mech.endswith("-PLUS") else "n,,"
        self.gs2 = gs2
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        name = user.replace("=", "=3D").replace(",", "=2C")
        self.bare = f"n={name},r={self.nonce}"

    def first(self):
        return (self.gs2 + self.bare).encode()

    def final(self, server_first):
        self.server_first = server_first.decode()
        attrs = dict(kv.split("=", 1) for kv in self.server_first.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise ValueError("server nonce does not extend ours")
        salt = base64.b64decode(attrs["s"])
        iters = int(attrs["i"])
        self.iterations = iters
        salted = hashlib.pbkdf2_hmac(self.hash().name, self.password.encode(), salt, iters)
        client_key = hmac.new(salted, b"Client Key", self.hash).digest()
        stored_key = self.hash(client_key).digest()
        cbind = base64.b64encode(self.gs2.encode() + (self.cb_data if self.gs2.startswith("p=")
                                                       else b"")).decode()
        without_proof = f"c={cbind},r={attrs['r']}"
        self.auth_message = f"{self.bare},{self.server_first},{without_proof}".encode()
        sig = hmac.new(stored_key, self.auth_message, self.hash).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_key = hmac.new(salted, b"Server Key", self.hash).digest()
        self.server_sig = hmac.new(server_key, self.auth_message, self.hash).digest()
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final):
        return server_final == b"v=" + base64.b64encode(self.server_sig)


def scram_login(c2s, sid, mech, user, password, cbs=(), cb_type=None, cb_data=b"", **kw):
    """Run a whole SCRAM exchange; returns (result frame, Scram, steps)."""
    s = Scram(mech, user, password, cb_type=cb_type, cb_data=cb_data)
    c2s.start(sid, mech, s.first(), cbs=cbs, **kw)
    f = c2s.answer(sid)
    if f is None or f.type == F.SASL_RESULT:
        return f, s, 0
    c2s.step(sid, s.final(f.get(F.SASL_DATA)))
    return c2s.answer(sid), s, 1


def plain(user, password, authzid=""):
    return f"{authzid}\0{user}\0{password}".encode()


def status(f):
    return None if f is None else (f.type, f.get(F.STATUS))
