#!/usr/bin/python3
"""test_c2s_external — SASL EXTERNAL with client certificates (RFC 6120
§6.3.8, §13.7.1.4), through c2s and the real parley-auth: offered only with
c2s.sasl_external and a certificate that chains to tls.ca_file; the account
is the certificate's xmppAddr; an authzid the certificate does not name is
refused; a certificate from another CA gets no EXTERNAL. Prints TAP."""
import base64
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import xmppraw as X  # noqa: E402
from c2slib import FakeSM, Site  # noqa: E402
from parley import BUILD, Suite, Tap, wait_until  # noqa: E402

t = Tap()
suite = Suite("c2s-external")
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def make_ca(name):
    key, cert = suite.path(f"{name}-ca.key"), suite.path(f"{name}-ca.pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name} CA")
    return cert, key


def make_client(ca, name, xmpp_addrs):
    ca_cert, ca_key = ca
    key, csr, cert = (suite.path(f"{name}.key"), suite.path(f"{name}.csr"),
                      suite.path(f"{name}.pem"))
    san = ",".join(f"otherName:1.3.6.1.5.5.7.8.5;UTF8:{a}" for a in xmpp_addrs)
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", f"/CN={name}", "-addext",
            f"subjectAltName={san}")
    openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
            "-days", "2", "-out", cert, "-copy_extensions", "copy")
    return cert, key


ca = make_ca("trusted")
other_ca = make_ca("other")
alice = make_client(ca, "alice", ["alice@example.test"])
both = make_client(ca, "both", ["alice@example.test", "bob@example.test"])
stranger = make_client(other_ca, "stranger", ["alice@example.test"])

site = Site(suite, c2s_settings="sasl_external = true;\n",
            tls_settings=f'ca_file = "{ca[0]}";\n',
            top="auth = { failures = { free = 1000; }; };\n")
sm = FakeSM(site.sock)
for user in ("alice", "bob"):
    subprocess.run([os.path.join(BUILD, "parleyctl"), "-c", site.conf, "user", "add",
                    f"{user}@example.test", "secret-password"], check=True, capture_output=True)
auth = suite.start("auth", ["parley-auth", "-f", "-c", site.conf])
c2s = site.start_c2s()
t.ok(wait_until(lambda: "auth is up" in c2s.log(), 10), "c2s, auth and a fake sm are up",
     c2s.log() + auth.log())


class CertClient(X.Client):
    def __init__(self, port, cert=None):
        self.client_cert = cert
        super().__init__(port)

    def _ctx(self):
        ctx = super()._ctx()
        if self.client_cert:
            ctx.load_cert_chain(*self.client_cert)
        return ctx


def external(cert, authzid=None):
    """Features after STARTTLS, then the result of <auth mechanism='EXTERNAL'/>."""
    c = CertClient(site.port, cert)
    c.open_stream()
    c.starttls()
    f = c.open_stream()
    feats = f.group(0) if f else ""
    data = base64.b64encode(authzid.encode()).decode() if authzid else "="
    c.send(f"<auth xmlns='{NS_SASL}' mechanism='EXTERNAL'>{data}</auth>")
    m = c.expect(r"<(success|failure)\b.*?(/>|</\1>)")
    res = m.group(0) if m else c.rest()
    c.close()
    return feats, res


feats, res = external(alice)
t.ok("<mechanism>EXTERNAL</mechanism>" in feats, "a trusted client certificate: EXTERNAL offered",
     feats)
t.ok(res.startswith("<success"), "EXTERNAL with the certificate's xmppAddr: success",
     res + auth.log()[-600:])
feats, res = external(alice, "alice@example.test")
t.ok(res.startswith("<success"), "EXTERNAL with the certificate's own JID as authzid: success", res)
feats, res = external(alice, "bob@example.test")
t.ok(res.startswith("<failure") and "invalid-authzid" in res,
     "an authzid the certificate does not name: invalid-authzid", res)
feats, res = external(both)
t.ok(res.startswith("<failure"), "a certificate naming two accounts, no authzid: failure", res)
feats, res = external(both, "bob@example.test")
t.ok(res.startswith("<success"), "the same with an authzid it names: success", res)
feats, res = external(stranger)
t.ok("EXTERNAL" not in feats, "a certificate from another CA: no EXTERNAL offered", feats)
t.ok(res.startswith("<failure") and "invalid-mechanism" in res,
     "and asking for it anyway: invalid-mechanism", res)
feats, res = external(None)
t.ok("EXTERNAL" not in feats, "no client certificate: no EXTERNAL offered", feats)
t.done()
