#!/usr/bin/python3
"""test_parleyctl.py — parleyctl's first verbs: check, status, init.

check: a good config passes; schema errors and the errors only a process
finds at start (unreadable secret, bad domain, unknown user, a frame too
small for the stanzas, a key that belongs to another certificate...) are
each printed as FILE:LINE and the exit status is 1.
init: the directory it writes passes check, holds the ports asked for (or
the standard ones), keeps its secrets private, and is not overwritten
without --force.
status: with nothing running it says so and fails; with a real
parley-router, a state file and a raw peer that binds a name, it shows the
router's PID and the bound name. Last, parleyd runs an init'ed directory
as it is.
"""
import os
import re
import signal
import socket
import stat
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import parley  # noqa: E402
from parley import BUILD, Suite, Tap, wait_until  # noqa: E402

PARLEYCTL = os.path.join(BUILD, "parleyctl")
SECRET = "router-secret-0123456789"

tap = Tap()


def ctl(*args, timeout=30):
    p = subprocess.run([PARLEYCTL] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def line_of(path, needle):
    """The 1-based line of the first line of `path` holding `needle`."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n
    raise AssertionError(f"{needle!r} not in {path}")


def has_error(text, path, line, setting, words):
    """An error line "PATH:LINE: SETTING: ..." that contains `words`."""
    prefix = f"{path}:{line}: {setting}: "
    return any(l.startswith(prefix) and words in l for l in text.splitlines())


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# --- the internal protocol, just enough for a raw peer ----------------------

VERSION = 2  # FRAME_PROTOCOL_VERSION
HELLO, HELLO_OK, ERROR, BIND, BIND_OK = 1, 2, 3, 4, 5
F_DEFAULT_ROUTE = 0x1
T_NAME, T_ROLE, T_SECRET, T_PID = 1, 2, 3, 4


def frame(ftype, seq, attrs, flags=0):
    body = b""
    for tag, value in attrs:
        if isinstance(value, str):
            value = value.encode() + b"\0"
        elif isinstance(value, int):
            value = struct.pack(">I", value)
        body += struct.pack(">HI", tag, len(value)) + value
    return struct.pack(">IBBHI", 12 + len(body), VERSION, ftype, flags, seq) + body


def read_frame(sock):
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError("router closed the connection")
            data += chunk
        return data
    length, _version, ftype, flags, seq = struct.unpack(">IBBHI", exactly(12))
    return ftype, flags, exactly(length - 12)


class RawPeer:
    """A peer that says HELLO and binds one name, then stays connected."""

    def __init__(self, path, name, role, secret=SECRET, flags=0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(path)
        self.sock.sendall(frame(HELLO, 1, [(T_NAME, name), (T_ROLE, role),
                                           (T_SECRET, secret.encode()), (T_PID, os.getpid())]))
        ftype, _, _ = read_frame(self.sock)
        if ftype != HELLO_OK:
            raise RuntimeError(f"HELLO answered with frame type {ftype}")
        self.sock.sendall(frame(BIND, 2, [(T_NAME, name)], flags=flags))
        # PEER_UPs of names bound earlier may come first.
        while True:
            ftype, _, _ = read_frame(self.sock)
            if ftype == BIND_OK:
                break
            if ftype == ERROR:
                raise RuntimeError("BIND refused")

    def close(self):
        self.sock.close()


# --- fixtures -------------------------------------------------------------------

def init_dir(suite, name, *args):
    d = suite.path(name)
    rc, out, err = ctl("init", d, *args)
    if rc != 0:
        raise AssertionError(f"init {name} failed: {out}{err}")
    return d


def placeholder(proc):
    """Whether a process that exited is still the foundation's placeholder."""
    return not proc.alive() and "not built yet" in proc.log()


# --- usage ------------------------------------------------------------------------

def test_usage():
    rc, out, err = ctl()
    tap.eq(rc, 2, "no verb: exit 2")
    tap.ok(all(v in err for v in ("check", "status", "init")), "no verb: usage lists the verbs",
           err)
    rc, out, err = ctl("-h")
    tap.ok(rc == 0 and all(v in out for v in ("check", "status", "init")),
           "-h: usage on stdout, exit 0", out + err)
    rc, out, err = ctl("frobnicate")
    tap.ok(rc == 2 and "unknown verb 'frobnicate'" in err and "usage:" in err,
           "unknown verb: usage and exit 2", err)
    rc, out, err = ctl("check", "--frob")
    tap.ok(rc == 2 and "usage:" in err, "bad option: usage and exit 2", err)
    rc, out, err = ctl("init", "/nonexistent-parley")
    tap.ok(rc == 2 and "--domain" in err, "init without --domain: exit 2", err)


# --- check ------------------------------------------------------------------------

def test_check_good():
    s = Suite("ctl-good")
    tls = init_dir(s, "tls-source", "--domain", "example.test")
    conf = s.config(top=f'tls = {{ certificate = "{tls}/tls/example.test.crt";\n'
                        f'key = "{tls}/tls/example.test.key"; }};\n')
    rc, out, err = ctl("-c", conf, "check")
    tap.eq(rc, 0, "check: a good config exits 0")
    tap.ok(out.strip() == f"{conf}: OK", "check: a good config prints FILE: OK", out + err)
    # -c after the verb works as well.
    rc, out, err = ctl("check", "-c", conf)
    tap.ok(rc == 0 and "OK" in out, "check: -c FILE after the verb", out + err)


def test_check_schema_errors():
    s = Suite("ctl-schema")
    conf = s.write("parley.conf", 'hosts = [ "example.test" ];\n'
                                  'c2s = {\n'
                                  '\tmax_stanza_sise = "1M";\n'
                                  '\tmax_depth = 4;\n'
                                  '};\n'
                                  'router = { secret = "short"; };\n')
    rc, out, err = ctl("-c", conf, "check")
    tap.eq(rc, 1, "check: schema errors exit 1")
    tap.ok(has_error(err, conf, 3, "c2s.max_stanza_sise", "unknown setting"),
           "check: unknown key at its FILE:LINE", err)
    tap.ok(has_error(err, conf, 4, "c2s.max_depth", "between"),
           "check: out-of-range value at its FILE:LINE", err)
    tap.ok(has_error(err, conf, 6, "router.secret", "too short"),
           "check: short secret at its FILE:LINE", err)
    tap.ok("OK" not in out, "check: no OK when there are errors", out)


def test_check_start_errors():
    s = Suite("ctl-start")
    conf = s.config(hosts=("example.test", "a..b"),
                    top='parleyd = { bin_dir = "/nonexistent-parley-bin"; };\n',
                    sections={"c2s": 'max_stanza_size = "2M";'})
    # Replace the harness's good values with bad ones, one per line.
    text = open(conf).read()
    text = text.replace('user = "nobody";', 'user = "no-such-user-parley";')
    text = text.replace(f'secret = "{SECRET}";',
                        f'secret_file = "{s.path("missing.secret")}";\nmax_frame = "64K";')
    text = re.sub(r'run_dir = "[^"]*";', 'run_dir = "/etc/passwd/run";', text)
    # The harness puts parleyd's bin_dir in its own section: drop that one.
    text = re.sub(r'parleyd = \{\nbin_dir = "[^"]*";\n\};\n', "", text)
    with open(conf, "w") as f:
        f.write(text)
    rc, out, err = ctl("-c", conf, "check")
    tap.eq(rc, 1, "check: start-time errors exit 1")
    tap.ok(has_error(err, conf, line_of(conf, "hosts ="), "hosts", '"a..b" is not a valid domain'),
           "check: a host that fails stringprep, at FILE:LINE", err)
    tap.ok(has_error(err, conf, line_of(conf, "user ="), "user", "no such user"),
           "check: an unknown user, at FILE:LINE", err)
    tap.ok(has_error(err, conf, line_of(conf, "run_dir ="), "run_dir",
                     "/etc/passwd is not a directory"),
           "check: a run_dir that cannot be created, at FILE:LINE", err)
    tap.ok(has_error(err, conf, line_of(conf, "secret_file ="), "router.secret_file",
                     "cannot read"),
           "check: an unreadable secret file, at FILE:LINE", err)
    tap.ok(has_error(err, conf, line_of(conf, "max_frame ="), "router.max_frame",
                     "c2s.max_stanza_size"),
           "check: a max_frame too small for the stanzas, at FILE:LINE", err)
    tap.ok(has_error(err, conf, line_of(conf, "bin_dir ="), "parleyd.bin_dir",
                     "parley-router"),
           "check: a bin_dir without the daemons, at FILE:LINE", err)
    # Sorted by line, as the file reads.
    lines = [int(m.group(1)) for m in re.finditer(rf"^{re.escape(conf)}:(\d+): ", err, re.M)]
    tap.ok(lines == sorted(lines) and len(lines) >= 6, "check: errors come in file order", err)

    # A short secret in a world-readable file: an error; a good one there: a warning.
    secret = s.write("short.secret", "tooshort\n", mode=0o640)
    text2 = text.replace(s.path("missing.secret"), secret)
    text2 = text2.replace('user = "no-such-user-parley";', 'user = "nobody";')
    text2 = text2.replace('max_frame = "64K";', "").replace('"2M"', '"256K"')
    text2 = text2.replace('run_dir = "/etc/passwd/run";', f'run_dir = "{s.path("run")}";')
    text2 = text2.replace('"example.test", "a..b"', '"example.test"')
    text2 = text2.replace('bin_dir = "/nonexistent-parley-bin";', f'bin_dir = "{BUILD}";')
    conf2 = s.write("short.conf", text2)
    rc, out, err = ctl("-c", conf2, "check")
    tap.ok(rc == 1 and has_error(err, conf2, line_of(conf2, "secret_file ="),
                                 "router.secret_file", "too short"),
           "check: a secret file holding a short secret", err)
    s.write("short.secret", "a-long-enough-secret-0123456789\n", mode=0o644)
    rc, out, err = ctl("-c", conf2, "check")
    tap.ok(rc == 0 and "readable by every user" in err and "OK" in out,
           "check: a world-readable secret file is a warning, not an error", out + err)


def test_check_domains():
    s = Suite("ctl-domains")
    conf = s.config(hosts=("bücher.example", "xn--bcher-kva.example"), sections={
        "router": 'components = (\n'
                  '{ domain = "bücher.example"; secret = "a-component-secret-0123"; },\n'
                  '{ domain = "muc.example"; secret = "a-component-secret-0123"; },\n'
                  '{ domain = "MUC.example"; secret = "a-component-secret-0123"; }\n);'})
    rc, out, err = ctl("-c", conf, "check")
    tap.eq(rc, 1, "check: clashing domains exit 1")
    tap.ok(has_error(err, conf, line_of(conf, "hosts ="), "hosts", "are the same domain"),
           "check: a host written twice in two forms (U-label, A-label)", err)
    tap.ok(has_error(err, conf, line_of(conf, '{ domain = "bücher.example"'),
                     "router.components[0].domain", "served domain"),
           "check: a component on a served domain, at its FILE:LINE", err)
    tap.ok(has_error(err, conf, line_of(conf, '{ domain = "MUC.example"'),
                     "router.components[2].domain", "another component's"),
           "check: two components on one domain, at FILE:LINE", err)


def test_check_mismatched_key():
    s = Suite("ctl-tls")
    a = init_dir(s, "a", "--domain", "example.test")
    b = init_dir(s, "b", "--domain", "example.test")
    conf = s.config(top=f'tls = {{\ncertificate = "{a}/tls/example.test.crt";\n'
                        f'key = "{b}/tls/example.test.key";\n}};\n')
    rc, out, err = ctl("-c", conf, "check")
    tap.eq(rc, 1, "check: a key of another certificate exits 1")
    tap.ok(has_error(err, conf, line_of(conf, "certificate ="), "tls.certificate",
                     "does not match"),
           "check: the mismatch is reported at tls.certificate's FILE:LINE", err)

    # A key file that holds no key is reported at tls.key.
    conf = s.config(top=f'tls = {{\ncertificate = "{a}/tls/example.test.crt";\n'
                        f'key = "{a}/tls/example.test.crt";\n}};\n')
    rc, out, err = ctl("-c", conf, "check")
    tap.ok(rc == 1 and has_error(err, conf, line_of(conf, "key ="), "tls.key", "no private key"),
           "check: a key file without a key, at tls.key's FILE:LINE", err)

    # A certificate for another domain loads, with a warning.
    other = init_dir(s, "other", "--domain", "other.test")
    conf = s.config(top=f'tls = {{\ncertificate = "{other}/tls/other.test.crt";\n'
                        f'key = "{other}/tls/other.test.key";\n}};\n')
    rc, out, err = ctl("-c", conf, "check")
    tap.ok(rc == 0 and 'not valid for "example.test"' in err,
           "check: a certificate that does not name a host is a warning", out + err)

    # A per-domain certificate (tls.domains) with another's key, at its own FILE:LINE;
    # a host with its own certificate gets no warning about tls.certificate.
    conf = s.config(top=f'tls = {{\ncertificate = "{a}/tls/example.test.crt";\n'
                        f'key = "{a}/tls/example.test.key";\n'
                        f'domains = ( {{ domain = "other.test";\n'
                        f'certificate = "{other}/tls/other.test.crt";\n'
                        f'key = "{a}/tls/example.test.key"; }} );\n}};\n',
                    hosts=("example.test", "other.test"))
    rc, out, err = ctl("-c", conf, "check")
    tap.ok(rc == 1 and has_error(err, conf, line_of(conf, f'certificate = "{other}'),
                                 "tls.domains[0].certificate", "does not match")
           and 'not valid for "other.test"' not in err,
           "check: a per-domain certificate with the wrong key, at its FILE:LINE", err)


# --- init ---------------------------------------------------------------------------

def test_init():
    s = Suite("ctl-init")
    d = s.path("site")
    rc, out, err = ctl("init", d, "--domain", "example.test", "--c2s-port", 15222,
                       "--c2s-tls-port", 15223, "--s2s-port", 15269, "--component-port", 15347)
    tap.eq(rc, 0, "init: exit 0")
    conf = os.path.join(d, "parley.conf")
    text = open(conf).read()
    rc2, out2, err2 = ctl("-c", conf, "check")
    tap.ok(rc2 == 0 and f"{conf}: OK" in out2, "init: the config passes check", out2 + err2)
    tap.ok("component_port = 15347;" in text, "init: --component-port is set", text)
    tap.ok("port = 15222; tls = \"starttls\";" in text and "port = 15223; tls = \"direct\";" in text
           and "port 15269 was chosen" in text,
           "init: the c2s listeners are set and the s2s port recorded in the file", text)
    tap.ok(re.search(r'^hosts = \[ "example.test" \];$', text, re.M) is not None,
           "init: hosts holds the domain", text)
    tap.ok(f'run_dir = "{d}/run";' in text and f'path = "{d}/data/parley.db";' in text,
           "init: every path inside DIR", text)
    # (bin_dir names the build tree parleyctl ran from: the daemons are there.)
    tap.ok(all(not l.strip() or l.lstrip().startswith("#") or d in l or "/" not in l
               or l.lstrip().startswith("bin_dir = ")
               for l in text.splitlines()),
           "init: no active setting points outside DIR", text)
    rc3, out3, err3 = ctl("-c", conf, "storage", "init")
    tap.ok(rc3 == 0 and re.search(r"the sqlite database is at schema version [1-9]", out3)
           and os.path.exists(os.path.join(d, "data", "parley.db")),
           "storage init: creates the SQLite database and says its schema version", out3 + err3)
    rc4, out4, err4 = ctl("-c", conf, "storage", "migrate")
    tap.ok(rc4 == 0 and out4.replace("migrate", "init") == out3,
           "storage migrate: an up-to-date database stays at the same version", out4 + err4)
    rc5, _, err5 = ctl("-c", conf, "storage", "upgrade")
    tap.eq(rc5, 2, "storage: an unknown action is a usage error")
    secret = os.path.join(d, "router.secret")
    tap.eq(mode_of(secret), 0o640, "init: router.secret has mode 0640")
    tap.ok(len(open(secret).read().strip()) >= 32, "init: the secret is long and random")
    key = os.path.join(d, "tls", "example.test.key")
    tap.ok(mode_of(key) & 0o077 == 0, f"init: the key is private (mode {mode_of(key):04o})")
    tap.ok(mode_of(conf) & 0o007 == 0, "init: parley.conf is not world-readable")
    st = os.stat(os.path.join(d, "run"))
    tap.ok(st.st_uid == 65534, "init: run/ belongs to the unprivileged user")

    # Defaults when no port is given.
    d2 = init_dir(s, "defaults", "--domain", "example.test")
    text2 = open(os.path.join(d2, "parley.conf")).read()
    tap.ok("component_port = 5347;" in text2 and "port = 5222; tls = \"starttls\";" in text2
           and "port = 5223; tls = \"direct\";" in text2
           and "port 5269 was chosen" in text2, "init: standard ports by default", text2)
    tap.ok('component_address = "127.0.0.1";' in text2, "init: components on loopback only")

    # Refuses to overwrite; --force does.
    before = open(conf).read()
    rc, out, err = ctl("init", d, "--domain", "other.test")
    tap.ok(rc == 1 and "already exists" in err and open(conf).read() == before,
           "init: refuses to overwrite parley.conf", err)
    rc, out, err = ctl("init", d, "--domain", "other.test", "--force")
    tap.ok(rc == 0 and '"other.test"' in open(conf).read(), "init: --force overwrites",
           out + err)

    # A component domain makes a real entry; a secret alone, an example.
    d3 = init_dir(s, "comp", "--domain", "example.test", "--component-domain",
                  "muc.example.test", "--component-secret", "s3cret-for-the-muc-service")
    conf3 = os.path.join(d3, "parley.conf")
    text3 = open(conf3).read()
    tap.ok(re.search(r'^\t+\{ domain = "muc.example.test"; secret = "s3cret-for-the-muc-service"; \}',
                     text3, re.M) is not None, "init: --component-domain writes a components entry",
           text3)
    rc, out, err = ctl("-c", conf3, "check")
    tap.ok(rc == 0, "init: the config with a component passes check", out + err)
    d4 = init_dir(s, "comp-secret", "--domain", "example.test", "--component-secret", "xyz-secret")
    text4 = open(os.path.join(d4, "parley.conf")).read()
    tap.ok('#components = ( { domain = "muc.example.test"; secret = "xyz-secret"; } );' in text4,
           "init: --component-secret alone writes a commented example", text4)

    # An IDN domain: canonical in hosts, A-labels in file names.
    d5 = init_dir(s, "idn", "--domain", "Bücher.example")
    text5 = open(os.path.join(d5, "parley.conf")).read()
    tap.ok('hosts = [ "bücher.example" ];' in text5 and
           os.path.exists(os.path.join(d5, "tls", "xn--bcher-kva.example.crt")),
           "init: an IDN domain", text5)

    rc, out, err = ctl("init", s.path("bad"), "--domain", "juliet@example.test")
    tap.ok(rc == 1 and "juliet@example.test" in err and not os.path.exists(s.path("bad")),
           "init: refuses a domain that is not one, before writing anything", err)
    locked = s.mkdir("locked", mode=0o700)
    rc, out, err = ctl("init", os.path.join(locked, "site"), "--domain", "example.test")
    tap.ok(rc == 1 and "not searchable" in err and not os.path.exists(os.path.join(locked, "site")),
           "init: refuses a DIR the user cannot reach, before creating it", err)
    rc, out, err = ctl("init", locked, "--domain", "example.test")
    tap.ok(rc == 0 and mode_of(locked) & 0o001 and not mode_of(locked) & 0o004,
           "init: opens DIR itself to the user (search, not listing)", out + err)
    rc, out, err = ctl("init", s.path("bad"), "--domain", "example.test", "--s2s-port", 5222)
    tap.ok(rc == 1 and "both 5222" in err, "init: refuses two services on one port", err)


# --- status ------------------------------------------------------------------------

def test_status_nothing_running():
    s = Suite("ctl-status-none")
    conf = s.config()
    rc, out, err = ctl("-c", conf, "status", "-t", 2)
    tap.eq(rc, 1, "status: nothing running exits 1")
    tap.ok("parleyd: not running" in out and "router: not reachable" in out,
           "status: says parleyd is not running and the router is not reachable", out + err)

    # A state file whose processes are dead.
    s.write("run/parleyd.state", "router 999999 running 0\n")
    rc, out, err = ctl("-c", conf, "status", "-t", 2)
    tap.ok(rc == 1 and re.search(r"^router\s+999999\s+dead", out, re.M) is not None,
           "status: a PID that is gone shows as dead", out + err)


def test_status_with_router():
    s = Suite("ctl-status-router")
    conf = s.config({"parleyd": 'services = [ "router" ];'})
    sock = s.path("run", "router.sock")
    router = s.start("router", ["parley-router", "-f", "-c", conf])
    wait_until(lambda: os.path.exists(sock) or not router.alive(), 10)
    if placeholder(router):
        tap.skip("status: router running, names bound", "parley-router is not built yet")
        return
    if not tap.ok(router.alive() and os.path.exists(sock), "status: parley-router comes up",
                  router.log()):
        return
    peers = []
    try:
        peers.append(RawPeer(sock, "c2s.1", "c2s"))
        peers.append(RawPeer(sock, "s2s", "s2s", flags=F_DEFAULT_ROUTE))
    except Exception as e:  # noqa: BLE001 — reported, not raised
        tap.ok(False, "status: raw peers bind c2s.1 and s2s", f"{e}\n{router.log()}")
    s.write("run/parleyd.state", f"router {router.pid} running 0\n")
    # parleyd's pid file names a live process: this test stands in for it.
    s.write("run/parleyd.pid", f"{os.getpid()}\n")
    rc, out, err = ctl("-c", conf, "status")
    tap.eq(rc, 0, "status: everything configured runs: exit 0")
    tap.ok(f"parleyd: running, pid {os.getpid()}" in out, "status: parleyd's pid from its pid file",
           out)
    tap.ok(re.search(rf"^router\s+{router.pid}\s+running\s+0$", out, re.M) is not None,
           "status: the router is running with its PID", out + err)
    if len(peers) == 2:
        tap.ok(re.search(r"^c2s\.1\s+c2s\s+-$", out, re.M) is not None,
               "status: the name a peer bound, with its role", out + err)
        tap.ok(re.search(r"^s2s\s+s2s\s+default$", out, re.M) is not None,
               "status: the default route, with its flag", out + err)
        tap.ok("2 names bound" in out, "status: counts the bound names", out)
    for peer in peers:
        peer.close()

    # A secret the router does not know: refused, and said so.
    wrong = s.write("wrong.conf", open(conf).read().replace(SECRET, "another-secret-0123456789"))
    rc, out, err = ctl("-c", wrong, "status")
    tap.ok(rc == 1 and re.search(r"^router: .*refused parleyctl: not-authorized", out, re.M),
           "status: a wrong secret is reported as refused", out + err)
    # Without parleyd, the processes it left run unsupervised: not all is well.
    os.unlink(s.path("run", "parleyd.pid"))
    rc, out, err = ctl("-c", conf, "status")
    tap.ok(rc == 1 and "parleyd: not running" in out and "still run" in out,
           "status: a router without parleyd: exit 1", out + err)
    s.write("run/parleyd.pid", f"{os.getpid()}\n")
    # A process the state file does not list.
    s.write("run/parleyd.state", "")
    rc, out, err = ctl("-c", conf, "status")
    tap.ok(rc == 1 and re.search(r"^router\s+-\s+absent", out, re.M),
           "status: a configured process missing from the state file: exit 1", out + err)
    tap.ok(re.search(r"^parleyctl\.", out, re.M) is None, "status: parleyctl itself binds nothing",
           out)
    tap.ok(router.alive(), "status: the router is still running afterwards", router.log())
    router.stop()


def test_parleyd_runs_init_dir():
    parleyd = os.path.join(BUILD, "parleyd")
    s = Suite("ctl-parleyd")
    d = init_dir(s, "site", "--domain", "example.test", "--component-port", 0,
                 "--c2s-port", parley.free_port(), "--c2s-tls-port", parley.free_port(),
                 "--s2s-port", parley.free_port())
    conf = os.path.join(d, "parley.conf")
    p = s.start("parleyd", [parleyd, "-f", "-c", conf])
    state = os.path.join(d, "run", "parleyd.state")
    log_path = os.path.join(d, "log", "parley.log")

    def all_running():
        try:
            text = open(state).read()
        except OSError:
            return None
        return all(re.search(rf"^{name} [1-9]\d* running ", text, re.M)
                   for name in ("router", "auth", "sm", r"c2s\.1", "s2s"))
    up = wait_until(lambda: all_running() or not p.alive(), 20)
    if placeholder(p):
        tap.skip("parleyd runs an init'ed directory", "parleyd is not built yet")
        return
    log = p.log() + (open(log_path).read() if os.path.exists(log_path) else "")
    if not tap.ok(up and p.alive(),
                  "parleyd -c DIR/parley.conf starts router, auth, sm, c2s and s2s",
                  log):
        return
    rc, out, err = ctl("-c", conf, "status")
    tap.ok(rc == 0 and re.search(r"^parleyd: running, pid \d+", out, re.M) is not None
           and all(re.search(rf"^{n}\s+\d+\s+running", out, re.M) is not None
                   for n in ("router", "auth", "sm", r"c2s\.1", "s2s")),
           "parleyd: status shows parleyd and every process running", out + err)
    tap.eq(p.stop(timeout=15), 0, "parleyd: stops cleanly on SIGTERM")


def main():
    if not os.access(PARLEYCTL, os.X_OK):
        tap.ok(False, "parleyctl is built", PARLEYCTL)
        tap.done()
    test_usage()
    test_check_good()
    test_check_schema_errors()
    test_check_start_errors()
    test_check_domains()
    test_check_mismatched_key()
    test_init()
    test_status_nothing_running()
    test_status_with_router()
    test_parleyd_runs_init_dir()
    tap.done()


if __name__ == "__main__":
    main()
