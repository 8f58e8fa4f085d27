"""parley.py — what every integration test needs: TAP output, a temp dir
per test, a config file written into it, free loopback ports, and the
processes the test starts, stopped by PID when it ends (even on failure).

Run tests with /usr/bin/python3 (Debian's, which sees python3-slixmpp).
Environment: PARLEY_BUILD (the build tree holding the binaries, default
_build/test), PARLEY_SRC (the source tree), PARLEY_KEEP=1 keeps the temp dir,
PARLEY_PORT_RANGE=LO-HI the ports free_port() picks from (tests/run gives each
test running side by side a range of its own).
"""
import atexit
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("PARLEY_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.environ.get("PARLEY_BUILD") or os.path.join(SRC, "_build", "test")

# The unprivileged account processes drop to in tests (Debian has both).
TEST_USER = "nobody"
TEST_GROUP = "nogroup"


class Tap:
    """One TAP line per check; done() prints the plan and exits non-zero
    if anything failed."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}", flush=True)
            if diag:
                for line in str(diag).splitlines()[-30:]:
                    print(f"# {line}", flush=True)
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, f"got {got!r}, want {want!r}")

    def skip(self, name, why):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {why}", flush=True)

    def done(self):
        print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failed else 0)


def _port_range():
    lo, hi = 10000, 32000
    spec = os.environ.get("PARLEY_PORT_RANGE", "")
    if spec:
        a, _, b = spec.partition("-")
        lo, hi = int(a), int(b)
    return lo, hi


_ports_given = set()


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port nobody listens on right now, never the same one twice in a
    process. Picked below the kernel's ephemeral range (32768 and up), so no
    outgoing connection can take it before the test's server binds it, and
    inside PARLEY_PORT_RANGE so that tests running side by side never pick
    the same one."""
    lo, hi = _port_range()
    for _ in range(1000):
        port = random.randint(lo, hi)
        if port in _ports_given:
            continue
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise RuntimeError(f"no free TCP port in {lo}-{hi}")


def wait_until(pred, timeout=10.0, interval=0.02):
    """Poll pred() until it returns something true or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def proc_status(pid):
    """/proc/PID/status as a dict (Uid, NoNewPrivs, Seccomp…), {} if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return {}


class Process:
    def __init__(self, name, popen, log_path):
        self.name = name
        self.popen = popen
        self.pid = popen.pid
        self.log_path = log_path

    def alive(self):
        return self.popen.poll() is None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout=5.0):
        """SIGTERM, then SIGKILL after timeout; returns the exit status."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait()
        return self.popen.returncode

    def wait(self, timeout=10.0):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


class Suite:
    """A temp dir and the processes started in it; everything is stopped
    and removed at exit."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix=f"parley-{name}-")
        # Processes drop to TEST_USER: let them reach their files.
        os.chmod(self.dir, 0o755)
        self.procs = []
        atexit.register(self.cleanup)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def mkdir(self, *parts, mode=0o755, owner=None):
        """A dir in the temp dir; owner="test" gives it to TEST_USER."""
        p = self.path(*parts)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, mode)
        if owner == "test" and os.geteuid() == 0:
            import grp
            import pwd
            os.chown(p, pwd.getpwnam(TEST_USER).pw_uid, grp.getgrnam(TEST_GROUP).gr_gid)
        return p

    def write(self, rel, text, mode=0o644):
        p = self.path(rel)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def config(self, sections=None, top="", hosts=("example.test",),
               secret="router-secret-0123456789"):
        """Write parley.conf with every path inside the temp dir, logs on
        stderr at debug level, the test user, the router secret and the
        build tree as parleyd's bin_dir. `sections` maps a section name
        ("router", "parleyd", "c2s"…) to settings written inside it, after
        the defaults for it; `top` is added at the top level. Returns the
        file's path."""
        run = self.mkdir("run", owner="test")
        data = self.mkdir("data", owner="test")
        host_list = ", ".join(f'"{h}"' for h in hosts)
        merged = {"router": f'secret = "{secret}";', "parleyd": f'bin_dir = "{BUILD}";'}
        for name, body in (sections or {}).items():
            merged[name] = (merged.get(name, "") + "\n" + body).strip()
        # The same tests on other storage (tests/integration/test_im_sql):
        # PARLEY_TEST_DB="KIND:DIR:PORT" names a server dbserver.py runs;
        # each configuration gets a fresh database on it.
        # PARLEY_TEST_SM="settings" are added to sm's section.
        if os.environ.get("PARLEY_TEST_DB") and "storage" not in (sections or {}):
            merged["storage"] = self._test_db()
        if os.environ.get("PARLEY_TEST_SM"):
            merged["sm"] = (merged.get("sm", "") + "\n" + os.environ["PARLEY_TEST_SM"]).strip()
        text = (f'hosts = [ {host_list} ];\n'
                f'user = "{TEST_USER}";\ngroup = "{TEST_GROUP}";\n'
                f'run_dir = "{run}";\ndata_dir = "{data}";\n'
                f'log = {{ target = "stderr"; level = "debug"; }};\n' + top + "\n")
        for name, body in merged.items():
            text += f"{name} = {{\n{body}\n}};\n"
        return self.write("parley.conf", text)

    def _test_db(self):
        import dbserver
        kind, dir, port = os.environ["PARLEY_TEST_DB"].split(":")
        self._dbs = getattr(self, "_dbs", 0) + 1
        name = "t%d_%d_%s" % (os.getpid(), self._dbs, os.urandom(3).hex())
        dbserver.server(kind, dir, int(port)).create_database(name)
        return (f'driver = "{kind}";\n'
                f'sql = {{ host = "127.0.0.1"; port = {port}; database = "{name}";\n'
                f'  user = "{dbserver.USER}"; password = "{dbserver.PASSWORD}"; tls = "disable";\n'
                f'  hold = "{os.environ.get("PARLEY_TEST_SQL_HOLD", "5s")}"; }};')

    def start(self, name, argv, env=None, stdin=subprocess.DEVNULL):
        """Start argv[0] (a path, or a binary name in the build tree) with
        output going to NAME.log in the temp dir."""
        exe = argv[0] if os.path.sep in argv[0] else os.path.join(BUILD, argv[0])
        log_path = self.path(f"{name}.log")
        logf = open(log_path, "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        popen = subprocess.Popen([exe] + list(argv[1:]), stdout=logf, stderr=subprocess.STDOUT,
                                 stdin=stdin, env=full_env, cwd=self.dir)
        logf.close()
        p = Process(name, popen, log_path)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception:
                pass
        # Keep the processes' logs where tests/run collects logs, so a
        # failure in CI can be read after the temp dir is gone.
        keep = os.environ.get("PARLEY_LOG_DIR")
        if keep:
            dest = os.path.join(keep, os.path.basename(self.dir))
            try:
                os.makedirs(dest, exist_ok=True)
                for root, _, files in os.walk(self.dir):
                    for f in files:
                        if f.endswith(".log"):
                            subprocess.run(["cp", os.path.join(root, f), dest])
            except OSError:
                pass
        if os.environ.get("PARLEY_KEEP") != "1":
            subprocess.run(["rm", "-rf", self.dir])
        else:
            print(f"# kept {self.dir}", flush=True)
