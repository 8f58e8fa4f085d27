#!/usr/bin/python3
"""test_c2s_sni — a certificate per hosted domain (tls.domains): a client
naming a domain in SNI gets that domain's certificate, on STARTTLS and on
direct TLS; a client naming another or none gets tls.certificate. Prints TAP."""
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from c2slib import HOST, Site, make_cert  # noqa: E402
from parley import Suite, Tap  # noqa: E402

t = Tap()
suite = Suite("c2s-sni")
OTHER = "other.test"
other_cert, other_key = make_cert(suite, OTHER)
site = Site(suite, hosts=(HOST, OTHER),
            tls_settings=f'domains = ( {{ domain = "{OTHER}"; certificate = "{other_cert}"; '
                         f'key = "{other_key}"; }} );\n')
c2s = site.start_c2s()
t.ok(c2s.alive(), "c2s starts with a certificate per domain", c2s.log())


def der_of(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def direct_cert(sni):
    with socket.create_connection(("127.0.0.1", site.dport), timeout=5) as s:
        with ctx().wrap_socket(s, server_hostname=sni) as tls:
            return tls.getpeercert(binary_form=True)


def starttls_cert(host, sni):
    with socket.create_connection(("127.0.0.1", site.port), timeout=5) as s:
        s.sendall((f"<?xml version='1.0'?><stream:stream to='{host}' xmlns='jabber:client' "
                   "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>").encode())
        data = b""
        while b"</stream:features>" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return None
            data += chunk
        s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        data = b""
        while b"<proceed" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return None
            data += chunk
        with ctx().wrap_socket(s, server_hostname=sni) as tls:
            return tls.getpeercert(binary_form=True)


main_der, other_der = der_of(site.cert), der_of(other_cert)
t.ok(direct_cert(OTHER) == other_der, "direct TLS, SNI other.test: other.test's certificate")
t.ok(direct_cert(HOST) == main_der, "direct TLS, SNI example.test: tls.certificate")
t.ok(direct_cert(None) == main_der, "direct TLS, no SNI: tls.certificate")
t.ok(direct_cert("unknown.test") == main_der, "direct TLS, another name: tls.certificate")
t.ok(starttls_cert(OTHER, OTHER) == other_der, "STARTTLS to other.test: its certificate")
t.ok(starttls_cert(HOST, HOST) == main_der, "STARTTLS to example.test: tls.certificate")
t.done()
