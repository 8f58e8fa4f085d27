#!/usr/bin/python3
"""test_sandbox_all.py — issue 8's sandbox checks for every process parleyd
runs: router, auth, sm, c2s.1, c2s.2 and s2s, under one parleyd.

parleyd passes nothing but `-f -c CONFIG [-i N]` to what it starts, so its
bin_dir here holds a small wrapper per program that execs the real one
(same PID) with --sandbox-test on the first start of each instance: right
after its sandbox is in place the process calls execve(), which its seccomp
policy forbids. So each process is seen to
  - die of SIGSYS, after a log line naming the call (`seccomp: system call
    execve (59) is outside the policy "…"`), and parleyd to log the death as
    a sandbox violation and start it again;
then, for the second (normal) start of each,
  - /proc/PID/status: every uid and gid non-root (the configured user and
    group), no supplementary group but that one, NoNewPrivs: 1, Seccomp: 2
    (a filter), no capability left (CapEff, CapPrm, CapAmb all 0);
  - the sandbox it applied is logged (user, Landlock paths, policy), with
    no warning that a part of it could not be applied.
The TLS private key (c2s ×2, s2s): what can be shown from outside the
process is that
  - it works: a client gets TLS from each c2s, so the key was read before
    the drop;
  - the process holds no descriptor on the key file (read, then closed);
  - the key file is root's, mode 0600, and the process's uid (with its
    groups) cannot open it: tried by a child of this test that switches to
    exactly that uid and gid;
  - the process has no capability that would get around file permissions
    (CapEff 0 above), and its Landlock ruleset grants no file at all
    ("files: none" in its log: Landlock domains are not visible in
    /proc, so this is the process's own account of what it asked for).
Prints TAP.
"""
import os
import re
import stat
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import xmppraw  # noqa: E402
from parley import BUILD, TEST_GROUP, TEST_USER, Suite, Tap, proc_status  # noqa: E402
from parleydsite import ParleydSite  # noqa: E402
from traffic import scaled  # noqa: E402

import grp  # noqa: E402
import pwd  # noqa: E402

t = Tap()
suite = Suite("sandbox-all")
PROGRAMS = ["router", "auth", "sm", "c2s", "s2s"]

# The wrappers: --sandbox-test on the first start of each instance.
bin_dir = suite.mkdir("bin")
marks = suite.mkdir("marks")
for prog in PROGRAMS:
    path = os.path.join(bin_dir, f"parley-{prog}")
    with open(path, "w") as f:
        f.write(f"""#!/bin/sh
# Written by test_sandbox_all.py: the first start of each instance proves
# its seccomp filter kills (--sandbox-test); later starts run normally.
inst=1
prev=
for a in "$@"; do [ "$prev" = "-i" ] && inst=$a; prev=$a; done
mark="{marks}/parley-{prog}.$inst"
if [ ! -e "$mark" ]; then
	: > "$mark"
	exec "{BUILD}/parley-{prog}" --sandbox-test "$@"
fi
exec "{BUILD}/parley-{prog}" "$@"
""")
    os.chmod(path, 0o755)

site = ParleydSite(suite, c2s_instances=2, bin_dir=bin_dir)
NAMES = site.names
PROCESS = {n: "parley-" + n.split(".")[0] for n in NAMES}
site.start(timeout=1)  # returns early: the first starts die by design
running = site.wait_running(timeout=scaled(30))
log = site.log()
t.ok(running, "after one sandbox test each, parleyd has every process running",
     f"{site.state()}\n{log[-4000:]}")
if not running:
    t.done()
t.eq(sorted(os.listdir(marks)),
     sorted(f"parley-{n.split('.')[0]}.{n.split('.')[1] if '.' in n else 1}" for n in NAMES),
     "each instance was started once with --sandbox-test")

# --- each forbidden call kills, is logged, and parleyd restarts ---------------

for n in NAMES:
    died = re.findall(rf"parleyd\[\d+\] error: {re.escape(n)} \(pid (\d+)\) was killed by SIGSYS "
                      r"\(a sandbox violation", log)
    first = int(died[0]) if died else 0
    t.ok(first, f"{n}: --sandbox-test kills it with SIGSYS, logged by parleyd as a sandbox "
         "violation", log[-3000:])
    if not first:
        continue
    said = re.search(rf"{PROCESS[n]}\[{first}\] info: sandbox test: calling execve", log)
    named = re.search(rf"{PROCESS[n]}\[{first}\] fatal: seccomp: system call execve \(\d+\) is "
                      r"outside the policy \"[^\"]+\"; the process dies of SIGSYS", log)
    t.ok(said and named, f"{n}: its log names the forbidden call (execve) and its policy",
         "\n".join(line for line in log.splitlines() if f"[{first}]" in line)[-2000:])
    t.ok(not re.search(rf"{PROCESS[n]}\[{first}\] \S+: sandbox test: execve.*was not stopped",
                       log), f"{n}: execve never ran")
    t.ok(running[n] != first and re.search(rf"parleyd\[\d+\] info: {re.escape(n)}: restarting in",
                                           log),
         f"{n}: parleyd started it again (pid {first} -> {running[n]})")

# --- every running process: user, no_new_privs, seccomp, no capabilities -------

nobody = pwd.getpwnam(TEST_USER)
nogroup = grp.getgrnam(TEST_GROUP)
for n in NAMES:
    pid = running[n]
    st = proc_status(pid)
    uids, gids = st.get("Uid", "").split(), st.get("Gid", "").split()
    t.ok(len(uids) == 4 and all(u == str(nobody.pw_uid) for u in uids) and nobody.pw_uid != 0,
         f"{n}: runs as {TEST_USER} (real, effective, saved and filesystem uid non-root)", st)
    t.ok(len(gids) == 4 and all(g == str(nogroup.gr_gid) for g in gids)
         and st.get("Groups", "").split() == [str(nogroup.gr_gid)],
         f"{n}: and as {TEST_GROUP}, with no other group", (st.get("Gid"), st.get("Groups")))
    t.eq(st.get("NoNewPrivs"), "1", f"{n}: NoNewPrivs: 1")
    t.eq(st.get("Seccomp"), "2", f"{n}: Seccomp: 2 (a filter is loaded)")
    caps = {k: st.get(k) for k in ("CapEff", "CapPrm", "CapAmb")}
    t.ok(all(v is not None and int(v, 16) == 0 for v in caps.values()),
         f"{n}: no capability left", caps)
    lines = [line for line in log.splitlines() if f"[{pid}]" in line]
    applied = next((line for line in lines if "info: sandbox: running as" in line), None)
    t.ok(applied and f"running as {TEST_USER}:{TEST_GROUP}; files: " in applied
         and "; system calls: " in applied, f"{n}: the sandbox it applied is logged", lines[:8])
    t.ok(not any(re.search(r"\b(warn|error)\b: sandbox", line) for line in lines),
         f"{n}: no part of its sandbox was left out", [x for x in lines if "sandbox" in x])

# --- the TLS key: used, closed, out of reach -------------------------------------

key = site.key
kst = os.stat(key)
t.ok(kst.st_uid == 0 and stat.S_IMODE(kst.st_mode) == 0o600,
     "the TLS key file is root's, mode 0600", oct(kst.st_mode))


def tls_from_each_instance(tries=16):
    """STARTTLS on new connections until each c2s instance has completed
    a handshake (the kernel spreads connections over them); returns the set
    of instances that did."""
    served = set()
    for _ in range(tries):
        try:
            c = xmppraw.Client(site.port)
            if c.open_stream() and c.starttls() and c.tls_version is not None:
                inst = site.instance_of_port(c.sock.getsockname()[1])
                if inst:
                    served.add(inst)
            c.close()
        except OSError:
            pass
        if len(served) == site.c2s_instances:
            break
    return served


def can_open_as(uid, gid, path):
    """Whether a process with exactly this uid and gid (no other group)
    can open `path` for reading: a child of ours switches and tries."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([gid])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            try:
                with open(path, "rb") as f:
                    f.read(1)
                res = b"open"
            except PermissionError:
                res = b"denied"
            except OSError as e:
                res = f"error {e.errno}".encode()
            os.write(w, res)
        finally:
            os._exit(0)
    os.close(w)
    res = os.read(r, 64).decode()
    os.close(r)
    os.waitpid(pid, 0)
    return res


served = tls_from_each_instance()
t.eq(sorted(served), ["c2s.1", "c2s.2"],
     "clients get TLS from each c2s instance: the key was loaded before the drop")
for n in [x for x in NAMES if x.startswith("c2s.") or x == "s2s"]:
    pid = running[n]
    fds = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            fds.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    t.ok(os.path.realpath(key) not in fds and key not in fds,
         f"{n}: holds no descriptor on the TLS key file", fds)
    st = proc_status(pid)
    uid, gid = int(st["Uid"].split()[1]), int(st["Gid"].split()[1])
    t.eq(can_open_as(uid, gid, key), "denied",
         f"{n}: its uid and gid cannot open the key file")
    applied = next((line for line in log.splitlines()
                    if f"[{pid}] info: sandbox: running as" in line), "")
    t.ok("; files: none;" in applied, f"{n}: its Landlock ruleset grants no file at all", applied)

t.eq(site.stop(), 0, "parleyd stops cleanly")
t.done()
