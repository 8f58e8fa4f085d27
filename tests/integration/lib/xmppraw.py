"""xmppraw.py — a raw-socket XMPP client for protocol edge cases: it sends
exactly the bytes a test gives it (bad XML, trickles, pipelined
elements), upgrades to TLS with Python's ssl module (STARTTLS or direct),
and reads what the server says as text, waiting for a pattern with a
bounded timeout. It understands just enough XMPP to log in with PLAIN.
"""
import base64
import re
import select
import socket
import ssl
import time

NS_CLIENT = "jabber:client"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"


def header(to="example.test", ns=NS_CLIENT, version="1.0", extra=""):
    v = f" version='{version}'" if version is not None else ""
    t = f" to='{to}'" if to is not None else ""
    return (f"<?xml version='1.0'?><stream:stream xmlns='{ns}' "
            f"xmlns:stream='{NS_STREAMS}'{t}{v} xml:lang='en'{extra}>")


class Client:
    def __init__(self, port, host="127.0.0.1", direct_tls=False, timeout=5.0, cafile=None,
                 server_name="example.test"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.text = ""        # everything received, decoded
        self.pos = 0          # how far expect() has consumed
        self.eof = False
        self.server_name = server_name
        self.cafile = cafile
        self.tls_version = None
        if direct_tls:
            self.wrap_tls()

    def _ctx(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["xmpp-client"])
        return ctx

    def wrap_tls(self, max_version=None):
        ctx = self._ctx()
        if max_version is not None:
            ctx.maximum_version = max_version
        self.sock.settimeout(5.0)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=self.server_name)
        self.tls_version = self.sock.version()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout):
        if self.eof:
            return False
        pending = self.sock.pending() if isinstance(self.sock, ssl.SSLSocket) else 0
        if not pending:
            r, _, _ = select.select([self.sock], [], [], max(timeout, 0))
            if not r:
                return True
        try:
            self.sock.settimeout(0.5)
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError, BlockingIOError):
            return True
        except (ConnectionResetError, ssl.SSLError, OSError):
            self.eof = True
            return False
        if not data:
            self.eof = True
            return False
        self.text += data.decode(errors="replace")
        return True

    def expect(self, pattern, timeout=5.0):
        """Wait for a regex in what came after the last match; returns the
        match (and consumes up to its end) or None."""
        rx = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.text, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or not self._fill(left):
                m = rx.search(self.text, self.pos)
                if m:
                    self.pos = m.end()
                return m

    def closed(self, timeout=5.0):
        """True once the server has closed the connection."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._fill(deadline - time.monotonic())
        return self.eof

    def rest(self):
        return self.text[self.pos:]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # --- the steps of a login ---------------------------------------------

    def open_stream(self, to="example.test"):
        self.send(header(to))
        return self.expect(r"<stream:features>.*?</stream:features>")

    def starttls(self):
        self.send(f"<starttls xmlns='{NS_TLS}'/>")
        if not self.expect(r"<proceed[^>]*/>"):
            return False
        self.text = self.text[:self.pos]
        self.wrap_tls()
        return True

    def plain(self, user, password, authzid=""):
        data = base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{data}</auth>")
        return self.expect(r"<(success|failure)\b.*?(/>|</\1>)")

    def scram(self, user, password, hash_name="sha1"):
        """SCRAM-SHA-1 or -256 without channel binding (GS2 flag "n"),
        written out from RFC 5802; returns the <success/> or <failure/>
        match."""
        import hashlib
        import hmac
        import os as _os
        mech = "SCRAM-SHA-1" if hash_name == "sha1" else "SCRAM-SHA-256"
        nonce = base64.b64encode(_os.urandom(18)).decode()
        first_bare = f"n={user},r={nonce}"
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='{mech}'>"
                  f"{base64.b64encode(('n,,' + first_bare).encode()).decode()}</auth>")
        m = self.expect(r"<challenge[^>]*>([^<]*)</challenge>|<failure.*?</failure>")
        if m is None or m.group(1) is None:
            return m
        server_first = base64.b64decode(m.group(1)).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        salted = hashlib.pbkdf2_hmac(hash_name, password.encode(), base64.b64decode(attrs["s"]),
                                     int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hash_name).digest()
        stored = hashlib.new(hash_name, client_key).digest()
        final_bare = f"c=biws,r={attrs['r']}"
        auth_msg = f"{first_bare},{server_first},{final_bare}".encode()
        sig = hmac.new(stored, auth_msg, hash_name).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        final = f"{final_bare},p={base64.b64encode(proof).decode()}"
        self.send(f"<response xmlns='{NS_SASL}'>{base64.b64encode(final.encode()).decode()}"
                  "</response>")
        m = self.expect(r"<(success|failure)\b.*?(/>|</\1>)")
        if m and m.group(1) == "success":
            server_key = hmac.new(salted, b"Server Key", hash_name).digest()
            want = hmac.new(server_key, auth_msg, hash_name).digest()
            v = re.search(r">([^<]+)<", m.group(0))
            got = base64.b64decode(v.group(1)).decode() if v else ""
            self.server_verified = got == "v=" + base64.b64encode(want).decode()
        return m

    def bind(self, resource=None, iq_id="bind1"):
        res = f"<resource>{resource}</resource>" if resource else ""
        self.send(f"<iq type='set' id='{iq_id}'><bind xmlns='{NS_BIND}'>{res}</bind></iq>")
        m = self.expect(rf"<iq[^>]*id=['\"]{iq_id}['\"].*?</iq>|<iq[^>]*id=['\"]{iq_id}['\"][^>]*/>")
        if m is None:
            return None
        j = re.search(r"<jid>([^<]*)</jid>", m.group(0))
        return j.group(1) if j else m.group(0)


def login(port, user, password, resource=None, direct_tls=False):
    """A client through TLS, PLAIN and bind; returns (client, full JID or
    None, diagnostics)."""
    c = Client(port, direct_tls=direct_tls)
    log = []
    f = c.open_stream()
    log.append(f and f.group(0))
    if not direct_tls:
        if not c.starttls():
            return c, None, log + [c.rest()]
        f = c.open_stream()
        log.append(f and f.group(0))
    r = c.plain(user, password)
    log.append(r and r.group(0))
    if r is None or r.group(1) != "success":
        return c, None, log
    f = c.open_stream()
    log.append(f and f.group(0))
    jid = c.bind(resource)
    log.append(jid)
    return c, jid, log
