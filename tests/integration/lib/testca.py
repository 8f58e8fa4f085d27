"""testca.py — a throwaway PKI for federation tests, made with the `openssl`
command line: one CA, and server certificates for XMPP domains carrying the
three identities RFC 6120 §13.7.1.4 and RFC 6125 know for a server — a
DNS-ID (dNSName), an SRV-ID (otherName id-on-dnsSRV "_xmpp-server.DOMAIN",
RFC 4985) and an XmppAddr (otherName id-on-xmppAddr "DOMAIN") — each of
which can be left out to test peers that rely on another.

    ca = TestCA(suite.path("pki"))          # or TestCA() for its own temp dir
    cert = ca.server_cert(["p.test"])       # cert.cert, cert.key, cert.chain
    ca.cert                                 # the CA certificate, for cafile

Internationalized domains are written as A-labels in DNS-IDs and SRV-IDs
and as Unicode in XmppAddrs (a UTF8String), as RFC 6120 has them. Keys are
P-256, unencrypted, mode 0600. Nothing here is fit for anything but tests.
"""
import atexit
import collections
import itertools
import os
import shutil
import subprocess
import tempfile

XMPP_ADDR_OID = "1.3.6.1.5.5.7.8.5"
SRV_NAME_OID = "1.3.6.1.5.5.7.8.7"

# cert: the leaf; key: its key; chain: leaf then CA (what a server sends).
Cert = collections.namedtuple("Cert", "cert key chain")


def a_label(domain):
    """The A-label form of a domain (IDNA2003, as libidn and Prosody have it)."""
    try:
        domain.encode("ascii")
        return domain.lower()
    except UnicodeEncodeError:
        return domain.encode("idna").decode("ascii")


def _openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


class TestCA:
    """A CA in `directory` (made if missing); with none, a temp dir removed
    at exit."""

    def __init__(self, directory=None, name="Parley Test CA", days=2):
        if directory is None:
            directory = tempfile.mkdtemp(prefix="parley-testca-")
            atexit.register(shutil.rmtree, directory, True)
        os.makedirs(directory, exist_ok=True)
        self.dir = directory
        self.days = days
        self._serial = itertools.count(int.from_bytes(os.urandom(4), "big") | 1)
        self.cert = os.path.join(directory, "ca.pem")
        self.key = os.path.join(directory, "ca.key")
        ext = self._write("ca.ext", "[v3]\n"
                          "basicConstraints = critical, CA:TRUE\n"
                          "keyUsage = critical, keyCertSign, cRLSign\n"
                          "subjectKeyIdentifier = hash\n")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", self.key, "-out", self.cert, "-days", str(days),
                 "-subj", f"/O=Parley tests/CN={name}", "-config", ext, "-extensions", "v3",
                 "-set_serial", str(next(self._serial)))
        os.chmod(self.key, 0o600)

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def server_cert(self, domains, name=None, dns_id=True, srv_id=True, xmpp_addr=True,
                    cn=None, extra_sans=()):
        """A certificate for `domains` (one or more), signed by this CA.
        `name` names the files (default: the first domain); cn defaults to
        the first domain (None keeps it, "" leaves the CN out);
        extra_sans are subjectAltName entries in openssl's config syntax
        ("DNS.9 = *.p.test"). Returns a Cert."""
        if isinstance(domains, str):
            domains = [domains]
        name = name or a_label(domains[0])
        cert = os.path.join(self.dir, f"{name}.pem")
        key = os.path.join(self.dir, f"{name}.key")
        csr = os.path.join(self.dir, f"{name}.csr")
        chain = os.path.join(self.dir, f"{name}.chain.pem")

        sans = []
        for i, d in enumerate(domains, 1):
            if dns_id:
                sans.append(f"DNS.{i} = {a_label(d)}")
            if srv_id:
                sans.append(f"otherName.{2 * i} = {SRV_NAME_OID};"
                            f"IA5STRING:_xmpp-server.{a_label(d)}")
            if xmpp_addr:
                # FORMAT:UTF8: otherwise openssl reads the bytes as Latin-1.
                sans.append(f"otherName.{2 * i + 1} = {XMPP_ADDR_OID};FORMAT:UTF8,UTF8:{d}")
        sans.extend(extra_sans)
        text = ("[v3]\n"
                "basicConstraints = CA:FALSE\n"
                "keyUsage = critical, digitalSignature, keyEncipherment\n"
                # Both: the same certificate serves incoming and outgoing s2s.
                "extendedKeyUsage = serverAuth, clientAuth\n"
                "subjectKeyIdentifier = hash\n"
                "authorityKeyIdentifier = keyid\n")
        if sans:
            text += "subjectAltName = @alt\n[alt]\n" + "\n".join(sans) + "\n"
        ext = self._write(f"{name}.ext", text)

        cn = a_label(domains[0]) if cn is None else cn
        subj = f"/O=Parley tests/CN={cn}" if cn else "/O=Parley tests"
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", key, "-out", csr, "-subj", subj, "-utf8")
        os.chmod(key, 0o600)
        _openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                 "-set_serial", str(next(self._serial)), "-days", str(self.days),
                 "-sha256", "-extfile", ext, "-extensions", "v3", "-out", cert)
        os.unlink(csr)
        with open(chain, "w") as out:
            for part in (cert, self.cert):
                with open(part) as f:
                    out.write(f.read())
        return Cert(cert, key, chain)

    def self_signed(self, domain, name=None):
        """A certificate for `domain` with the same names, signed by itself:
        right names, untrusted chain."""
        name = name or f"{a_label(domain)}-self"
        cert = os.path.join(self.dir, f"{name}.pem")
        key = os.path.join(self.dir, f"{name}.key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", key, "-out", cert, "-days", str(self.days),
                 "-subj", f"/CN={a_label(domain)}", "-addext",
                 f"subjectAltName=DNS:{a_label(domain)}")
        os.chmod(key, 0o600)
        return Cert(cert, key, cert)


if __name__ == "__main__":
    # Show what a certificate looks like: python3 testca.py p.test münchen.test
    import sys
    ca = TestCA()
    c = ca.server_cert(sys.argv[1:] or ["p.test"])
    print(_openssl("x509", "-in", c.cert, "-noout", "-text", "-nameopt", "utf8"))
    print(_openssl("verify", "-CAfile", ca.cert, c.cert))
