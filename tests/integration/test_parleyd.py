#!/usr/bin/python3
"""test_parleyd.py — parleyd, the supervisor, driving fake processes.

Each scenario gets a temp dir whose bin/ holds lib/parleyd_fake.py under the
names parley-router, parley-auth… (see that file for what a fake does and
the events it records), so the test decides how each process behaves: it
runs, dies at once, dies of SIGSYS, ignores SIGTERM, is slow to listen.
The last scenario runs the real parley-router under parleyd.
"""
import atexit
import datetime
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from parley import BUILD, TEST_GROUP, TEST_USER, Suite, Tap, proc_status, wait_until  # noqa: E402

PARLEYD = os.path.join(BUILD, "parleyd")
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "parleyd_fake.py")
SERVICES = ["router", "auth", "sm", "c2s", "s2s"]
SECRET = "router-secret-0123456789"

tap = Tap()
seen_pids = set()


def gone(pid):
    """The process has exited (a zombie nobody reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def kill_leftovers():
    # Whatever a failed check left behind is still stopped, by PID.
    for pid in seen_pids:
        if not gone(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


atexit.register(kill_leftovers)


class Event:
    def __init__(self, line):
        parts = line.rstrip("\n").split(" ", 4)
        self.t = float(parts[0])
        self.what = parts[1]
        self.name = parts[2]
        self.pid = int(parts[3])
        self.args = parts[4] if len(parts) > 4 else ""


class Fixture:
    """A temp dir with fakes in bin/, their control file, and parley.conf."""

    def __init__(self, name, behave=None, services=SERVICES, c2s_instances=1,
                 parleyd="", log_target="stderr", fake=True, bin_dir=None,
                 restart_delay="300ms"):
        self.suite = Suite(name)
        self.run = self.suite.mkdir("run")
        self.data = self.suite.mkdir("data")
        self.bin = bin_dir or self.suite.mkdir("bin")
        self.events_path = self.suite.path("events")
        self.socket = os.path.join(self.run, "router.sock")
        self.state_path = os.path.join(self.run, "parleyd.state")
        self.pid_file = os.path.join(self.run, "parleyd.pid")
        if fake:
            for s in SERVICES:
                shutil.copy(FAKE, os.path.join(self.bin, f"parley-{s}"))
                os.chmod(os.path.join(self.bin, f"parley-{s}"), 0o755)
            with open(os.path.join(self.bin, "fake.json"), "w") as f:
                json.dump({"events": self.events_path, "socket": self.socket,
                           "behave": behave or {}}, f)
        svc = ", ".join(f'"{s}"' for s in services)
        self.conf = self.suite.write("parley.conf", f"""hosts = [ "example.test" ];
user = "{TEST_USER}";
group = "{TEST_GROUP}";
run_dir = "{self.run}";
data_dir = "{self.data}";
log = {{ target = "{log_target}"; level = "debug"; }};
router = {{ secret = "{SECRET}"; component_port = 0; }};
c2s = {{ instances = {c2s_instances}; }};
parleyd = {{
	services = [ {svc} ];
	bin_dir = "{self.bin}";
	restart_delay = "{restart_delay}";
	{parleyd}
}};
""")
        self.proc = None
        self.fake = fake

    def start(self):
        self.proc = self.suite.start("parleyd", [PARLEYD, "-f", "-c", self.conf])
        seen_pids.add(self.proc.pid)
        return self.proc

    def log(self):
        return self.proc.log() if self.proc else ""

    def events(self, what=None, name=None):
        try:
            with open(self.events_path) as f:
                evs = [Event(line) for line in f if line.strip()]
        except OSError:
            evs = []
        for e in evs:
            seen_pids.add(e.pid)
        return [e for e in evs if (what is None or e.what == what) and
                (name is None or e.name == name)]

    def state(self):
        """parleyd.state as {name: (pid, state, restarts)}, None if absent."""
        try:
            with open(self.state_path) as f:
                lines = f.read().splitlines()
        except OSError:
            return None
        st = {}
        for line in lines:
            name, pid, state, restarts = line.split(" ")
            st[name] = (int(pid), state, int(restarts))
            if int(pid) > 0:
                seen_pids.add(int(pid))
        return st

    def all_running(self, names):
        """Each is running in the state file, and that process has said so
        (a fake writes its start event once Python has started)."""
        st = self.state() or {}
        if not all(n in st and st[n][1] == "running" and st[n][0] > 0 for n in names):
            return False
        if not self.fake:
            return True
        started = {(e.name, e.pid) for e in self.events("start")}
        return all((n, st[n][0]) in started for n in names)


def service_of(name):
    return name.split(".")[0]


def collapse(seq):
    out = []
    for x in seq:
        if not out or out[-1] != x:
            out.append(x)
    return out


# --- a bad config, a missing program --------------------------------------

def test_bad_config():
    fx = Fixture("parleyd-badconf")
    bad = fx.suite.write("bad.conf", f"""hosts = [ "example.test" ];
parleyd = {{
	bin_dir = "{fx.bin}";
	max_restarts = 0;
	restart_dleay = "1s";
}};
""")
    r = subprocess.run([PARLEYD, "-f", "-c", bad], capture_output=True, text=True, timeout=10)
    tap.ok(r.returncode != 0, "bad config: parleyd exits non-zero", r.stderr)
    tap.ok(re.search(rf"^{re.escape(bad)}:4: parleyd\.max_restarts: ", r.stderr, re.M) and
           re.search(rf"^{re.escape(bad)}:5: parleyd\.restart_dleay: ", r.stderr, re.M),
           "bad config: every error is printed as FILE:LINE", r.stderr)

    os.unlink(os.path.join(fx.bin, "parley-sm"))
    r = subprocess.run([PARLEYD, "-f", "-c", fx.conf], capture_output=True, text=True, timeout=10)
    tap.ok(r.returncode != 0 and re.search(
        rf"^{re.escape(fx.conf)}:\d+: parleyd\.bin_dir: "
        rf"cannot execute {re.escape(fx.bin)}/parley-sm",
        r.stderr, re.M), "a program missing from bin_dir is a FILE:LINE error", r.stderr)
    tap.eq(fx.events(), [], "nothing was started from a config that does not work")


# --- start order, state file, SIGHUP, restart, stop -----------------------

def test_start_restart_stop():
    fx = Fixture("parleyd-order", behave={"router": "slow-ready 0.5"}, c2s_instances=2)
    names = ["router", "auth", "sm", "c2s.1", "c2s.2", "s2s"]
    conf = os.path.realpath(fx.conf)
    p = fx.start()
    up = wait_until(lambda: fx.all_running(names), 10)
    tap.ok(up, "every configured process runs", p.log())
    if not up:
        return

    # parleyd's log tells the order it started them in (each fake's own
    # start event waits for Python, which takes its time).
    log = p.log()
    tap.eq(re.findall(r"info: (\S+) started \(pid", log), names,
           "processes start in the order router, auth, sm, c2s.1, c2s.2, s2s")
    ready = log.find("router (pid")
    ready = log.find("accepts connections", ready)
    tap.ok(0 < ready < log.find("auth started (pid"),
           "the others start only once the router accepts connections", log)
    by_name = {e.name: e for e in fx.events("start")}
    tap.eq(by_name["router"].args, f"-f -c {conf}", "a process is given -f -c CONFIG, nothing else")
    tap.eq((by_name["c2s.1"].args, by_name["c2s.2"].args),
           (f"-f -c {conf} -i 1", f"-f -c {conf} -i 2"), "each c2s is told its instance number")

    st = fx.state()
    tap.ok(all(st[n][0] == by_name[n].pid and not gone(st[n][0]) and st[n][2] == 0 for n in names)
           and len(st) == len(names),
           "the state file lists each process with its live pid, running, 0 restarts", st)
    sm_pid = by_name["sm"].pid
    tap.eq(sorted(os.listdir(f"/proc/{sm_pid}/fd")), ["0", "1", "2"],
           "a child holds no descriptor beyond stdin, stdout and stderr")
    tap.eq(os.readlink(f"/proc/{sm_pid}/fd/0"), "/dev/null", "a child's stdin is /dev/null")

    p.signal(signal.SIGHUP)
    hups = wait_until(lambda: {e.name for e in fx.events("hup")} == set(names), 5)
    tap.ok(hups, "SIGHUP to parleyd reaches every process",
           [e.name for e in fx.events("hup")])

    router_pid = by_name["router"].pid
    killed_at = time.time()
    os.kill(sm_pid, signal.SIGKILL)
    again = wait_until(lambda: [e for e in fx.events("start", "sm") if e.pid != sm_pid], 5)
    tap.ok(again, "a process that dies is started again", p.log())
    if again:
        # By parleyd's own clock, from the death it saw to the start it
        # made (the fake's own event would add Python's start-up time).
        log = p.log()
        died = re.search(rf"(\S+)Z parleyd\[\d+\] \w+: sm \(pid {sm_pid}\) was killed", log)
        born = re.search(rf"(\S+)Z parleyd\[\d+\] \w+: sm started \(pid {again[0].pid}\)", log)
        delay = (datetime.datetime.fromisoformat(born.group(1)).timestamp() -
                 datetime.datetime.fromisoformat(died.group(1)).timestamp()
                 if died and born else -1.0)
        tap.ok(0.295 <= delay < 2.0 and again[0].t >= killed_at + 0.29,
               f"it is restarted after restart_delay (300ms; took {delay:.3f}s)", log)
    tap.ok(re.search(rf"sm \(pid {sm_pid}\) was killed by SIGKILL", p.log()),
           "its death is logged with how it died", p.log())
    wait_until(lambda: fx.all_running(names), 5)
    st = fx.state()
    tap.ok(st["sm"][0] == again[0].pid and st["sm"][1] == "running" and st["sm"][2] == 1
           and st["router"][0] == router_pid, "the state file shows the new sm, restarted once; "
           "the others untouched", st)

    p.signal(signal.SIGTERM)
    rc = p.wait(15)
    tap.eq(rc, 0, "SIGTERM: parleyd exits 0")
    terms = [service_of(e.name) for e in fx.events("term")]
    tap.eq(collapse(terms), ["s2s", "c2s", "sm", "auth", "router"],
           "SIGTERM stops every process in reverse order")
    # Each service is stopped only once the one after it is gone.
    evs = fx.events()
    order_ok = True
    for later, earlier in (("s2s", "c2s"), ("c2s", "sm"), ("sm", "auth"), ("auth", "router")):
        t_next = [e.t for e in evs if e.what == "term" and service_of(e.name) == earlier]
        t_prev = [e.t for e in evs if e.what == "term" and service_of(e.name) == later]
        order_ok = order_ok and t_next and t_prev and min(t_next) >= max(t_prev)
    tap.ok(order_ok, "each service is told to stop after the later ones have been")
    tap.ok(all(gone(pid) for pid in seen_pids), "no process is left behind",
           [pid for pid in seen_pids if not gone(pid)])
    tap.ok(not os.path.exists(fx.pid_file) and not os.path.exists(fx.state_path),
           "the pid file and the state file are removed")


# --- backoff, giving up, SIGSYS, a process that will not stop --------------

def test_backoff_and_giving_up():
    fx = Fixture("parleyd-backoff", services=["router", "auth", "sm", "s2s"],
                 behave={"sm": "exit 3", "auth": "sigsys-once", "s2s": "ignore-term"},
                 restart_delay="200ms",
                 parleyd='restart_delay_max = "2s"; max_restarts = 3; stop_timeout = "500ms";')
    p = fx.start()
    failed = wait_until(lambda: (fx.state() or {}).get("sm", (0, ""))[1] == "failed", 10)
    tap.ok(failed, "a process that keeps dying is marked failed", p.log())
    sm = fx.events("start", "sm")
    tap.eq(len(sm), 4, "it was restarted max_restarts (3) times, then no more")
    # From each death to the next start, by parleyd's own clock (a fake's
    # events would add Python's start-up time, which varies).
    gaps, died = [], None
    for line in p.log().splitlines():
        m = re.match(r"(\S+)Z parleyd\[\d+\] \w+: sm (\(pid \d+\) exited|started)", line)
        if not m:
            continue
        t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
        if m.group(2) == "started" and died is not None:
            gaps.append(t - died)
        died = t if m.group(2) != "started" else None
    # Never early; late only by what a busy machine adds (generous: the
    # lower bounds are what tell doubling from a fixed delay).
    tap.ok(len(gaps) == 3 and all(want - 0.005 <= g < want + 0.6
                                  for g, want in zip(gaps, (0.2, 0.4, 0.8))),
           "the delay between restarts doubles (200ms, 400ms, 800ms)",
           [f"{g:.3f}" for g in gaps])
    tap.ok(re.search(r"error: sm: GIVING UP", p.log()),
           "giving up is one loud error line naming the process", p.log())
    tap.ok(sm and re.search(rf"sm \(pid {sm[0].pid}\) exited with status 3", p.log()),
           "an exit is logged with its status")
    st = fx.state()
    tap.eq(st.get("sm"), (0, "failed", 3), "the state file says sm: pid 0, failed, 3 restarts")
    router = fx.events("start", "router")
    tap.ok(len(router) == 1 and st["router"] == (router[0].pid, "running", 0)
           and not gone(router[0].pid), "the other processes keep running", st)

    auth = fx.events("start", "auth")
    tap.ok(auth and re.search(rf"auth \(pid {auth[0].pid}\) was killed by SIGSYS \(a sandbox "
                              r"violation", p.log()),
           "death by SIGSYS is logged as a sandbox violation", p.log())
    tap.ok(len(auth) == 2 and st["auth"] == (auth[1].pid, "running", 1),
           "and that process is restarted", st)

    time.sleep(1.0)
    tap.eq(len(fx.events("start", "sm")), 4, "a process given up on stays down")

    s2s = fx.events("start", "s2s")[0].pid
    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    rc = p.wait(15)
    took = time.monotonic() - t0
    tap.eq(rc, 0, "SIGTERM: parleyd exits 0")
    tap.ok(re.search(rf"s2s \(pid {s2s}\) did not stop within 500ms", p.log()) and took >= 0.5,
           "a process that ignores SIGTERM gets SIGKILL after stop_timeout", p.log())
    tap.ok(all(gone(pid) for pid in seen_pids), "no process is left behind",
           [pid for pid in seen_pids if not gone(pid)])


def test_router_never_ready():
    fx = Fixture("parleyd-noready", services=["router", "sm"], behave={"router": "no-ready"},
                 parleyd='start_timeout = "700ms";')
    t0 = time.time()
    p = fx.start()
    sm = wait_until(lambda: fx.events("start", "sm"), 5)
    router = fx.events("start", "router")
    # From before parleyd started, not from the fake router's own start:
    # on a busy machine the fake takes a while to run, and parleyd's wait
    # began when it forked it.
    tap.ok(sm and router and sm[0].t - t0 >= 0.65,
           "a router that never listens holds the others back for start_timeout only",
           [(e.what, e.name, e.t) for e in fx.events()])
    tap.ok(re.search(r"warn: the router does not accept connections on .* starting the other "
                     r"processes anyway", p.log()), "and that is logged", p.log())
    st = fx.state() or {}
    tap.eq(st.get("router", (0, ""))[1], "starting", "the state file shows the router as starting")
    p.signal(signal.SIGINT)
    tap.eq(p.wait(10), 0, "SIGINT (Ctrl-C) stops parleyd as SIGTERM does: it exits 0")
    tap.ok(all(gone(pid) for pid in seen_pids), "no process is left behind")


# --- daemon mode and the pid file ------------------------------------------

def test_daemon():
    fx = Fixture("parleyd-daemon", services=["router", "sm"])
    logfile = fx.suite.path("parley.log")
    with open(fx.conf) as f:
        text = f.read().replace('target = "stderr"', f'target = "{logfile}"')
    with open(fx.conf, "w") as f:
        f.write(text)

    r = subprocess.run([PARLEYD, "-c", fx.conf], capture_output=True, text=True, timeout=10)
    tap.eq(r.returncode, 0, "daemon mode: the command returns 0 once parleyd runs")
    try:
        with open(fx.pid_file) as f:
            pid = int(f.read())
    except (OSError, ValueError):
        pid = 0
    if pid:
        seen_pids.add(pid)
    tap.ok(pid > 0 and not gone(pid) and open(f"/proc/{pid}/comm").read() == "parleyd\n",
           "the pid file names the running parleyd", r.stderr)
    if not pid or gone(pid):
        return
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tap.ok(int(fields[2]) != os.getpgrp() and int(fields[3]) != os.getsid(0) and fields[4] == "0",
           "the daemon left our process group and session, and has no terminal", fields[:5])
    tap.eq(os.readlink(f"/proc/{pid}/fd/0"), "/dev/null", "the daemon's stdin is /dev/null")

    up = wait_until(lambda: fx.all_running(["router", "sm"]), 10)
    tap.ok(up, "the daemon runs its processes", fx.state())
    second = subprocess.run([PARLEYD, "-c", fx.conf], capture_output=True, text=True, timeout=10)
    tap.ok(second.returncode != 0 and f"already running (pid {pid}" in second.stderr,
           "a second parleyd refuses to start while the pid file names a live one",
           second.stderr)
    fg = subprocess.run([PARLEYD, "-f", "-c", fx.conf], capture_output=True, text=True, timeout=10)
    tap.ok(fg.returncode != 0, "so does a second one in the foreground", fg.stderr)
    tap.eq(open(fx.pid_file).read(), f"{pid}\n", "and the pid file still names the first")
    sm = fx.events("start", "sm")
    with open(logfile) as f:
        log = f.read()
    tap.ok(sm and f"fake sm (pid {sm[0].pid}) started" in log,
           "a child's stderr goes to parleyd's log file", log)
    tap.ok(re.search(rf"parleyd\[?{pid}\]?.*running|parleyd.*running \(pid {pid}, daemon\)", log),
           "the daemon logs to its log file", log)

    os.kill(pid, signal.SIGTERM)
    tap.ok(wait_until(lambda: gone(pid), 10), "SIGTERM stops the daemon")
    tap.ok(wait_until(lambda: all(gone(p) for p in seen_pids), 5) and
           not os.path.exists(fx.pid_file), "its processes are gone and its pid file removed")


# --- kill -9 of parleyd ------------------------------------------------------

def test_kill_9():
    fx = Fixture("parleyd-kill9", c2s_instances=2)
    names = ["router", "auth", "sm", "c2s.1", "c2s.2", "s2s"]
    p = fx.start()
    up = wait_until(lambda: fx.all_running(names), 10)
    tap.ok(up, "every process runs", p.log())
    pids = [v[0] for v in (fx.state() or {}).values()]
    p.signal(signal.SIGKILL)
    p.wait(5)
    tap.ok(wait_until(lambda: all(gone(x) for x in pids), 5),
           "kill -9 of parleyd: every process it started dies with it",
           [x for x in pids if not gone(x)])


def test_kill_9_after_user_change():
    """Changing user clears the parent-death signal; sandbox_drop_user()
    sets it again, so a process that dropped to nobody dies with parleyd."""
    name = "kill -9 of parleyd: a process that switched user dies with it too"
    dropper = os.path.join(BUILD, "tests", "tools", "parleyd_dropper")
    if not os.access(dropper, os.X_OK):
        tap.skip(name, "tests/tools/parleyd_dropper is not built")
        return
    fx = Fixture("parleyd-dropuser", services=["sm"])
    sm = os.path.join(fx.bin, "parley-sm")
    os.unlink(sm)
    os.symlink(dropper, sm)
    p = fx.start()
    nobody = str(pwd.getpwnam(TEST_USER).pw_uid)

    def dropped():
        st = (fx.state() or {}).get("sm", (0, ""))
        return st[0] if st[1] == "running" and \
            proc_status(st[0]).get("Uid", "").split()[:1] == [nobody] else 0
    pid = wait_until(dropped, 5)
    tap.ok(pid, "the stand-in process runs as the unprivileged user", p.log())
    p.signal(signal.SIGKILL)
    p.wait(5)
    tap.ok(pid and wait_until(lambda: gone(pid), 5), name, p.log())


# --- the real router -------------------------------------------------------

def router_built():
    if not os.access(os.path.join(BUILD, "parley-router"), os.X_OK):
        return False
    r = subprocess.run([os.path.join(BUILD, "parley-router"), "-f", "-c", "/nonexistent"],
                       capture_output=True, text=True, timeout=10)
    return "not built yet" not in r.stderr + r.stdout


def accepts(path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(path)
            return True
    except OSError:
        return False


def test_real_router():
    name = "the real router under parleyd"
    if not router_built():
        for what in ("starts", "comes back after kill -9", "SIGTERM leaves nothing behind"):
            tap.skip(f"{name}: {what}", "parley-router is not built yet")
        return
    fx = Fixture("parleyd-router", services=["router"], fake=False, bin_dir=BUILD)
    p = fx.start()
    up = wait_until(lambda: fx.all_running(["router"]) and accepts(fx.socket), 10)
    tap.ok(up, f"{name}: starts and accepts connections", p.log())
    if not up:
        return
    old = fx.state()["router"][0]
    os.kill(old, signal.SIGKILL)
    back = wait_until(lambda: (fx.state() or {}).get("router", (0, ""))[0] not in (0, old)
                      and fx.all_running(["router"]) and accepts(fx.socket), 8)
    new = (fx.state() or {}).get("router", (0,))[0]
    tap.ok(back and not gone(new), f"{name}: comes back after kill -9 with a new pid, "
           "its socket accepting", p.log())
    p.signal(signal.SIGTERM)
    rc = p.wait(15)
    tap.ok(rc == 0 and gone(old) and gone(new) and not os.path.exists(fx.pid_file),
           f"{name}: SIGTERM leaves nothing behind", p.log())


def main():
    test_bad_config()
    test_start_restart_stop()
    test_backoff_and_giving_up()
    test_router_never_ready()
    test_daemon()
    test_kill_9()
    test_kill_9_after_user_change()
    test_real_router()
    tap.done()


if __name__ == "__main__":
    main()
