"""ldapserver.py — a private OpenLDAP slapd for tests (Debian's slapd):
a cn=config made with `slapadd -n0` in a temp dir (an mdb database for
dc=example,dc=test with a root DN and password), a few users loaded with
`slapadd -n1` before the first start, slapd in the foreground on a free
loopback port, stopped by its PID. Optionally with a TLS certificate, for
StartTLS and ldaps://.

    d = LDAPServer(suite.path("ldap"))
    d.add_user("alice", "wonderland")          # before start(); {SSHA} hashed
    d.add_service("parley", "s3cret")          # a DN to search as
    d.start()
    d.uri                                      # "ldap://127.0.0.1:PORT/"
    d.stop(); d.start()                        # same port, same data

Access: anyone may read entries (anonymous searches work), userPassword is
usable only to bind with, and the root DN may do anything. Not a test itself
(not executable; tests/run skips it)."""
import atexit
import os
import subprocess
import time

from parley import free_port, port_open, wait_until

SUFFIX = "dc=example,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "root-secret"
PEOPLE = f"ou=people,{SUFFIX}"
SERVICES = f"ou=services,{SUFFIX}"
SCHEMAS = ("core", "cosine", "inetorgperson")


def ssha(password):
    """The {SSHA} form of a password, made by slappasswd."""
    r = subprocess.run(["slappasswd", "-h", "{SSHA}", "-s", password], capture_output=True,
                       text=True, timeout=30, check=True)
    return r.stdout.strip()


def _ldif_value(attr, value):
    """One attribute line; base64 (attr:: ) when the value is not plain ASCII
    or starts with something LDIF would misread."""
    import base64
    raw = value.encode("utf-8")
    if (not raw or any(b > 126 or b < 32 for b in raw) or raw[:1] in (b" ", b":", b"<")
            or raw.endswith(b" ")):
        return f"{attr}:: {base64.b64encode(raw).decode()}"
    return f"{attr}: {value}"


class LDAPServer:
    def __init__(self, directory, port=None, tls_cert=None, tls_key=None):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.port = port or free_port()
        self.tls = tls_cert is not None
        self.tls_port = free_port() if self.tls else None
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.config_dir = os.path.join(directory, "slapd.d")
        self.db_dir = os.path.join(directory, "db")
        self.log_path = os.path.join(directory, "slapd.log")
        self.entries = []
        self.loaded = False
        self.proc = None
        self._atexit = False
        self._configure()

    @property
    def uri(self):
        return f"ldap://127.0.0.1:{self.port}/"

    @property
    def ldaps_uri(self):
        return f"ldaps://127.0.0.1:{self.tls_port}/"

    def _configure(self):
        os.makedirs(self.config_dir, exist_ok=True)
        os.makedirs(self.db_dir, exist_ok=True)
        tls = ""
        if self.tls:
            tls = (f"olcTLSCertificateFile: {self.tls_cert}\n"
                   f"olcTLSCertificateKeyFile: {self.tls_key}\n")
        includes = "".join(f"include: file:///etc/ldap/schema/{s}.ldif\n\n" for s in SCHEMAS)
        text = f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {self.dir}/slapd.pid
olcArgsFile: {self.dir}/slapd.args
{tls}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{includes}dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: 500

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {self.db_dir}
olcDbMaxSize: 16777216
olcSuffix: {SUFFIX}
olcRootDN: {ROOT_DN}
olcRootPW: {ssha(ROOT_PW)}
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by * read
"""
        path = os.path.join(self.dir, "config.ldif")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run(["slapadd", "-n0", "-F", self.config_dir, "-l", path],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"slapadd -n0: {r.stderr.strip()}")
        self.entries.append(f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n"
                            "dc: example\no: Example\n")
        for ou in ("people", "services"):
            self.entries.append(f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\n"
                                f"ou: {ou}\n")

    def add_user(self, uid, password, ou="people", mail=None):
        """An inetOrgPerson uid=UID under ou=OU (made if new), before start()."""
        if self.loaded:
            raise RuntimeError("add entries before the first start")
        parent = f"ou={ou},{SUFFIX}"
        if not any(e.startswith(f"dn: {parent}\n") for e in self.entries):
            self.entries.append(f"dn: {parent}\nobjectClass: organizationalUnit\nou: {ou}\n")
        lines = [_ldif_value("dn", f"uid={uid},{parent}"), "objectClass: inetOrgPerson",
                 _ldif_value("uid", uid), _ldif_value("cn", uid), _ldif_value("sn", uid)]
        if mail:
            lines.append(_ldif_value("mail", mail))
        if password is not None:
            lines.append(f"userPassword: {ssha(password)}")
        self.entries.append("\n".join(lines) + "\n")
        return f"uid={uid},{parent}"

    def add_service(self, cn, password):
        """A DN to search as (cn=CN,ou=services), before start()."""
        dn = f"cn={cn},{SERVICES}"
        self.entries.append(f"dn: {dn}\nobjectClass: applicationProcess\n"
                            f"objectClass: simpleSecurityObject\ncn: {cn}\n"
                            f"userPassword: {ssha(password)}\n")
        return dn

    def _load(self):
        path = os.path.join(self.dir, "data.ldif")
        with open(path, "w") as f:
            f.write("\n".join(self.entries))
        r = subprocess.run(["slapadd", "-n1", "-F", self.config_dir, "-l", path],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"slapadd -n1: {r.stderr.strip()}")
        self.loaded = True

    def start(self, timeout=15):
        if not self.loaded:
            self._load()
        urls = self.uri + ("" if not self.tls else " " + self.ldaps_uri)
        logf = open(self.log_path, "ab")
        # -d 0: stay in the foreground (so the PID is ours to stop) without
        # debug output; "-s" stats-level logging would go to syslog anyway.
        self.proc = subprocess.Popen(["slapd", "-d", "0", "-h", urls, "-F", self.config_dir],
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        logf.close()
        if not self._atexit:
            # Stopped even when the test ends early (a failed assertion, an exception).
            atexit.register(self.stop)
            self._atexit = True
        if not wait_until(lambda: self.proc.poll() is not None or port_open(self.port), timeout) \
                or self.proc.poll() is not None:
            raise RuntimeError(f"slapd did not start: {self.log()[-800:]}")
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        # The port is free again once nothing listens there.
        deadline = time.monotonic() + timeout
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def search(self, base, flt, *attrs):
        """ldapsearch as the root DN; the LDIF text it prints."""
        r = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", self.uri, "-D", ROOT_DN, "-w",
                            ROOT_PW, "-b", base, flt] + list(attrs), capture_output=True,
                           text=True, timeout=30)
        return r.stdout + r.stderr

    def modify(self, ldif):
        """ldapmodify as the root DN; (returncode, output)."""
        r = subprocess.run(["ldapmodify", "-x", "-H", self.uri, "-D", ROOT_DN, "-w", ROOT_PW],
                           input=ldif, capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr
