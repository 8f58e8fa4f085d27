"""parleydsite.py — a whole Parley server run the way an operator runs it:
parleyd starting router, auth, sm, c2s (one or more instances) and s2s from
one config in a temp dir, on free loopback ports, with accounts made by
`parleyctl user add`. What the fault and sandbox tests (issue 8) need
around it: the PIDs parleyd's state file names, kill -9 of one process and
waiting for parleyd to bring it back, which c2s instance holds a given
client connection, and the log every process writes (parleyd gives them
its stderr).

    site = ParleydSite(Suite("x"), users=["u1", "u2"], c2s_instances=2)
    site.start()                 # {name: pid} once every process runs (None: timeout)
    old = site.kill("sm")        # SIGKILL; returns the old PID
    site.wait_restarted("sm", old)
    site.instance_of_port(client_local_port)   # -> "c2s.1" / "c2s.2" / None
"""
import os
import re
import signal
import subprocess

from c2slib import make_cert
from parley import BUILD, free_port, proc_status, wait_until

SECRET = "router-secret-0123456789"
# What a process logs once it serves (after its sandbox): the router listens,
# the others have their first name bound on the router.
READY = re.compile(r"\[(\d+)\] info: (?:listening on /|router link \S+: bound )")


class ParleydSite:
    def __init__(self, suite, users=(), domain="example.test", c2s_instances=2,
                 services=("router", "auth", "sm", "c2s", "s2s"), s2s_routes=None,
                 bin_dir=None, sections=None, restart_delay="200ms"):
        self.suite = suite
        self.domain = domain
        self.c2s_instances = c2s_instances
        self.names = []
        for s in ("router", "auth", "sm", "c2s", "s2s"):
            if s in services:
                self.names += ([f"c2s.{i}" for i in range(1, c2s_instances + 1)]
                               if s == "c2s" else [s])
        self.cert, self.key = make_cert(suite, domain)
        self.port = free_port()
        self.s2s_port = free_port()
        svc = ", ".join(f'"{s}"' for s in services)
        routes = ""
        if s2s_routes:
            routes = "routes = ( " + ", ".join(
                f'{{ domain = "{d}"; host = "127.0.0.1"; port = {p}; }}'
                for d, p in s2s_routes.items()) + " );\n"
        merged = {
            "router": "component_port = 0;",
            "c2s": (f"instances = {c2s_instances};\n"
                    f'listeners = ( {{ address = "127.0.0.1"; port = {self.port}; '
                    'tls = "starttls"; } );'),
            "s2s": (f'listeners = ( {{ address = "127.0.0.1"; port = {self.s2s_port}; }} );\n'
                    + routes),
            # Quick restarts, and no giving up within a test's few kills.
            "parleyd": (f"services = [ {svc} ];\n"
                        f'restart_delay = "{restart_delay}";\nrestart_delay_max = "2s";\n'
                        "max_restarts = 50;\n"
                        + (f'bin_dir = "{bin_dir}";' if bin_dir else "")),
        }
        for k, v in (sections or {}).items():
            merged[k] = (merged.get(k, "") + "\n" + v).strip()
        conf = suite.config(merged, hosts=(domain,), secret=SECRET,
                            top=f'tls = {{ certificate = "{self.cert}"; key = "{self.key}"; }};\n')
        if bin_dir:
            # suite.config() names the build tree first, and a setting given
            # twice is an error: keep only ours.
            text = open(conf).read().replace(f'bin_dir = "{BUILD}";\n', "", 1)
            with open(conf, "w") as f:
                f.write(text)
        self.conf = conf
        self.state_path = suite.path("run", "parleyd.state")
        self.proc = None
        self._log_pos = 0
        self._ready_pids = set()
        for user in users:
            self.add_user(user)

    def add_user(self, user, password=None):
        r = subprocess.run([os.path.join(BUILD, "parleyctl"), "-c", self.conf, "user", "add",
                            f"{user}@{self.domain}", password or f"pw-{user}"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"parleyctl user add {user}: {r.stdout}{r.stderr}")

    # --- parleyd ---------------------------------------------------------

    def start(self, timeout=20):
        self.proc = self.suite.start("parleyd", ["parleyd", "-f", "-c", self.conf])
        return self.wait_running(timeout=timeout)

    def stop(self, timeout=15):
        return self.proc.stop(timeout) if self.proc else None

    def log(self):
        return self.proc.log() if self.proc else ""

    def state(self):
        """parleyd.state as {name: (pid, state, restarts)}."""
        try:
            with open(self.state_path) as f:
                lines = f.read().splitlines()
        except OSError:
            return {}
        st = {}
        for line in lines:
            parts = line.split()
            if len(parts) == 4:
                st[parts[0]] = (int(parts[1]), parts[2], int(parts[3]))
        return st

    def pid(self, name):
        s = self.state().get(name)
        return s[0] if s and s[1] == "running" else 0

    def _scan_log(self):
        """Read what the log gained since the last call and note every
        process that said it is open for business (logged once its sandbox
        is in place): the router listening, the others bound on the
        router. Incremental, so polling stays cheap under a busy debug log."""
        if self.proc is None:
            return
        try:
            with open(self.proc.log_path, "rb") as f:
                f.seek(self._log_pos)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n")
        if end < 0:
            return
        self._log_pos += end + 1
        for m in READY.finditer(data[:end + 1].decode(errors="replace")):
            self._ready_pids.add(int(m.group(1)))

    def running(self, names=None, exclude=()):
        """{name: pid} when every named process (default all) runs under a
        PID not in `exclude` and is ready; else None. One look, no wait."""
        self._scan_log()
        st = self.state()
        out = {}
        for n in names or self.names:
            s = st.get(n)
            if not s or s[1] != "running" or s[0] <= 0 or s[0] in exclude:
                return None
            if s[0] not in self._ready_pids or not proc_status(s[0]):
                return None
            out[n] = s[0]
        return out

    def wait_running(self, names=None, timeout=20, exclude=()):
        """Wait for running(); returns {name: pid} or None."""
        return wait_until(lambda: self.running(names, exclude), timeout, 0.05)

    def kill(self, name, sig=signal.SIGKILL):
        pid = self.pid(name)
        if pid:
            os.kill(pid, sig)
        return pid

    def wait_restarted(self, name, old_pid, timeout=10):
        """parleyd brought `name` back under a new PID, ready; returns it or 0."""
        r = self.wait_running([name], timeout, exclude=(old_pid,))
        return r[name] if r else 0

    # --- which c2s holds a client ----------------------------------------

    def instance_of_port(self, client_port):
        """The c2s instance whose socket is the server end of the client
        connection from 127.0.0.1:client_port, found through /proc: the
        socket inode in /proc/net/tcp, then the process holding it."""
        inode = None
        want_local = f"{self.port:04X}"
        want_remote = f"{client_port:04X}"
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    next(f)
                    for line in f:
                        fields = line.split()
                        local, remote = fields[1], fields[2]
                        if (local.endswith(":" + want_local) and
                                remote.endswith(":" + want_remote)):
                            inode = fields[9]
                            break
            except OSError:
                continue
            if inode:
                break
        if not inode:
            return None
        target = f"socket:[{inode}]"
        for n, (pid, state, _) in self.state().items():
            if not n.startswith("c2s.") or pid <= 0:
                continue
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                            return n
                    except OSError:
                        pass
            except OSError:
                pass
        return None

