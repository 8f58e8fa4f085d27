"""s2slib.py — what the federation tests share: FedSite, a whole Parley
server (router, auth, sm, c2s and s2s) for one domain in a temp dir of its
own, with accounts and s2s.routes pointing other domains at loopback
ports; FedCli, an imlib.Cli logged in on such a site; and RawS2S, a raw
server-to-server stream driven by the test (STARTTLS on either side, exact
XML out, regular expressions on what comes in)."""
import os
import re
import socket
import ssl
import subprocess
import time

import imlib
from c2slib import Site as C2SSite
from c2slib import make_cert
from parley import BUILD, Suite, free_port, wait_until

NS_SERVER = "jabber:server"
NS_DB = "jabber:server:dialback"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"


class FedSite:
    """router + auth + sm + c2s + s2s serving `domain`. routes maps a remote
    domain to a loopback port; s2s_settings are added inside s2s = { },
    tls_settings inside tls = { } (after a self-signed tls.certificate for
    example.test: give the domain its own with tls.domains)."""

    def __init__(self, t, domain, users, routes=None, s2s_port=None, s2s_settings="",
                 tls_settings="", direct_tls_port=None):
        self.domain = domain
        self.suite = Suite(f"s2s-{domain}")
        self.s2s_port = s2s_port or free_port()
        # A route is a port, or (port, True) for a direct TLS (XEP-0368) one.
        route_list = ", ".join(
            f'{{ domain = "{d}"; host = "127.0.0.1"; port = {p if isinstance(p, int) else p[0]}; '
            f'direct_tls = {"false" if isinstance(p, int) else "true"}; }}'
            for d, p in (routes or {}).items())
        self.direct_tls_port = direct_tls_port
        direct = (f', {{ address = "127.0.0.1"; port = {direct_tls_port}; direct_tls = true; }}'
                  if direct_tls_port else "")
        s2s = (f'listeners = ( {{ address = "127.0.0.1"; port = {self.s2s_port}; }}{direct} );\n'
               + (f"routes = ( {route_list} );\n" if route_list else "")
               + s2s_settings)
        self.site = C2SSite(self.suite, hosts=(domain,), top=f"s2s = {{\n{s2s}\n}};\n",
                            name=domain, tls_settings=tls_settings)
        self.conf = self.site.conf
        self.router = self.site.router
        for user in users:
            r = subprocess.run([os.path.join(BUILD, "parleyctl"), "-c", self.conf, "user",
                                "add", f"{user}@{domain}", f"pw-{user}"],
                               capture_output=True, text=True)
            t.eq(r.returncode, 0, f"{domain}: parleyctl user add {user}")
        s = self.suite
        self.auth = s.start("auth", ["parley-auth", "-f", "-c", self.conf])
        wait_until(lambda: not self.auth.alive() or "bound auth" in self.auth.log(), 10)
        self.sm = s.start("sm", ["parley-sm", "-f", "-c", self.conf])
        wait_until(lambda: not self.sm.alive() or f"bound {domain}" in self.sm.log(), 10)
        self.c2s = self.site.start_c2s()
        self.port = self.site.port
        self.s2s = s.start("s2s", ["parley-s2s", "-f", "-c", self.conf])
        wait_until(lambda: not self.s2s.alive() or
                   ("listening on" in self.s2s.log() and "bound s2s" in self.s2s.log()), 10)
        t.ok(self.auth.alive() and self.sm.alive() and self.c2s.alive() and self.s2s.alive()
             and "bound s2s" in self.s2s.log(),
             f"{domain}: router, auth, sm, c2s and s2s run", self.logs())

    def logs(self, n=2500):
        return (f"[{self.domain}] s2s: " + self.s2s.log()[-n:] + f"\n[{self.domain}] sm: "
                + self.sm.log()[-n // 2:])


class FedCli(imlib.Cli):
    """imlib.Cli for a user of a FedSite's domain."""

    def __init__(self, site, user, resource):
        saved = imlib.DOMAIN
        imlib.DOMAIN = site.domain
        try:
            super().__init__(site, user, resource)
        finally:
            imlib.DOMAIN = saved

    @classmethod
    def _limit(cls, timeout):
        # Federation waits cross two servers: no shortening after a miss.
        return cls.TIMEOUT if timeout is None else timeout

    async def sync(self, timeout=None):
        return await self.iq("get", "<ping xmlns='urn:xmpp:ping'/>", to=self.site.domain,
                             timeout=timeout)


class RawS2S:
    """One raw s2s stream, as initiating (connect) or receiving (accept) side."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(0.2)
        self.data = ""
        self.pos = 0

    @classmethod
    def connect(cls, port):
        return cls(socket.create_connection(("127.0.0.1", port), timeout=5))

    def send(self, text):
        self.sock.sendall(text.encode())

    def header(self, frm, to, sid=None, version="1.0"):
        """version None: none at all (a pre-1.0 server)."""
        i = f" id='{sid}'" if sid else ""
        v = f" version='{version}'" if version is not None else ""
        self.send(f"<?xml version='1.0'?><stream:stream xmlns='{NS_SERVER}' "
                  f"xmlns:db='{NS_DB}' xmlns:stream='http://etherx.jabber.org/streams' "
                  f"from='{frm}' to='{to}'{v}{i}>")

    def expect(self, pattern, timeout=5.0):
        """The first match of pattern after what earlier expects consumed, or None."""
        rx = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.data, self.pos)
            if m:
                self.pos = m.end()
                return m
            if time.monotonic() >= deadline:
                return None
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                continue
            except OSError:
                return None
            if not chunk:
                m = rx.search(self.data, self.pos)
                return m
            self.data += chunk.decode(errors="replace")

    def starttls_client(self, server_name):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock.settimeout(5)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_name)
        self.sock.settimeout(0.2)
        self.data, self.pos = "", 0

    def starttls_server(self, cert, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.sock.settimeout(5)
        self.sock = ctx.wrap_socket(self.sock, server_side=True)
        self.sock.settimeout(0.2)
        self.data, self.pos = "", 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def make_server_cert(site, domain):
    return make_cert(site.suite, domain)
