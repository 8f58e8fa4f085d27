#!/usr/bin/python3
"""test_router_sandbox.py — parley-router gives up what it does not need:
it runs as the unprivileged user with no_new_privs and a seccomp filter,
a forbidden system call (--sandbox-test: execve) kills it with SIGSYS after
a log line naming the call, and what it still must do inside the sandbox
(reopen a rotated log file on SIGHUP, remove its socket when it stops)
works. Prints TAP."""
import os
import pwd
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import frames as F  # noqa: E402
from parley import TEST_USER, Suite, Tap, proc_status, wait_until  # noqa: E402
from routerlib import SECRET, socket_answers, start_router  # noqa: E402

t = Tap()
suite = Suite("router-sandbox")
nobody = pwd.getpwnam(TEST_USER)

proc, sock, _ = start_router(suite, "router")
t.ok(proc.alive() and socket_answers(sock), "the router starts as root and listens", proc.log())
st = proc_status(proc.pid)
t.eq(st.get("Uid", "").split(), [str(nobody.pw_uid)] * 4,
     f"it runs as {TEST_USER} (real, effective, saved and filesystem uid)")
t.eq(st.get("Gid", "").split(), [str(nobody.pw_gid)] * 4, "and as its group")
t.eq(st.get("Groups", "").split(), [str(nobody.pw_gid)], "with no other group")
t.eq(st.get("NoNewPrivs"), "1", "NoNewPrivs: 1")
t.eq(st.get("Seccomp"), "2", "Seccomp: 2 (a filter is loaded)")
t.ok("sandbox: running as nobody:nogroup" in proc.log() and "system calls: stdio unix" in proc.log(),
     "the sandbox it applied is logged")
p = F.connect(sock, "c2s.1", SECRET)
t.eq(getattr(p.bind("c2s.1"), "type", None), F.BIND_OK, "and it still serves peers")
p.close()
proc.stop()

# --sandbox-test: execve must be fatal, and say so.
proc, sock, _ = start_router(suite, "router-test", args=["--sandbox-test"], wait=False)
status = proc.wait(10)
t.eq(status, -signal.SIGSYS, "--sandbox-test: the router dies of SIGSYS")
log = proc.log()
t.ok("sandbox test: calling execve" in log, "it said what it was about to try", log)
t.ok("seccomp: system call execve" in log and "is outside the policy" in log,
     "and the violation is logged, naming execve", log)
t.ok("not stopped by the sandbox" not in log, "execve never ran")

# A log file: SIGHUP reopens it after rotation, from inside the sandbox.
logdir = suite.mkdir("logs")
os.chown(logdir, nobody.pw_uid, nobody.pw_gid)
logfile = os.path.join(logdir, "router.log")
proc, sock, _ = start_router(suite, "router-file", settings=f'log = {{ target = "{logfile}"; }};\n',
                             log_file=logfile)
t.ok(proc.alive() and wait_until(lambda: os.path.exists(logfile)), "the router logs to its file",
     proc.log())
t.ok(wait_until(lambda: "system calls: stdio unix cpath" in open(logfile).read()),
     "with a file to reopen, the policy allows creating it")
os.rename(logfile, logfile + ".1")
proc.signal(signal.SIGHUP)
t.ok(wait_until(lambda: os.path.exists(logfile) and "log reopened" in open(logfile).read()),
     "after rotation, SIGHUP reopens the log file", proc.log())
t.ok(proc.alive() and proc_status(proc.pid).get("Seccomp") == "2", "and the router lives on")
t.eq(proc.stop(), 0, "SIGTERM: a clean stop")
t.ok(not os.path.exists(sock), "the socket is removed from inside the sandbox")
t.ok("stopped" in open(logfile).read(), "and the last line went to the reopened file")

# With a log file, the violation line goes to the file too.
proc, sock, _ = start_router(suite, "router-file-test", args=["--sandbox-test"], wait=False,
                             settings=f'log = {{ target = "{logfile}"; }};\n')
t.eq(proc.wait(10), -signal.SIGSYS, "--sandbox-test with a log file: SIGSYS")
t.ok("seccomp: system call execve" in open(logfile).read(),
     "and the violation line is in the log file")

# SIGHUP with the log on stderr changes nothing, and kills nothing.
proc, sock, _ = start_router(suite, "router-hup")
proc.signal(signal.SIGHUP)
t.ok(wait_until(lambda: "log reopened" in proc.log()) and proc.alive(),
     "SIGHUP with the log on stderr is harmless")
proc.stop()

t.done()
