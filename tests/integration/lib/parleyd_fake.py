#!/usr/bin/python3
"""parleyd_fake.py — stands in for parley-router, parley-auth, parley-sm,
parley-c2s and parley-s2s in parleyd's tests. The test copies it into a
temp bin_dir under each of those names.

It reads fake.json beside itself:
  {"events": PATH, "socket": PATH, "behave": {NAME-or-SERVICE: BEHAVIOUR}}
and appends one line per event to the events file:
  TIME EVENT NAME PID [ARGS]      (EVENT: start, ready, hup, term)
where NAME is "router", "sm", "c2s.2"... (the instance comes from -i N).

Behaviours: "run" (the default: wait for signals; the router listens on the
socket and says "ready"), "slow-ready SECONDS" (the router listens only
after that long), "no-ready" (the router never listens), "exit N" (exit at
once with status N), "sigsys-once" (the first run dies of SIGSYS, later
runs run), "ignore-term" (runs, but SIGTERM does not stop it).
"""
import json
import os
import resource
import signal
import socket
import sys
import time


def main():
    here = os.path.dirname(os.path.abspath(sys.argv[0]))
    service = os.path.basename(sys.argv[0])[len("parley-"):]
    with open(os.path.join(here, "fake.json")) as f:
        ctl = json.load(f)
    args = sys.argv[1:]
    instance = int(args[args.index("-i") + 1]) if "-i" in args else 0
    name = f"{service}.{instance}" if instance else service
    pid = os.getpid()

    def event(what, extra=""):
        line = f"{time.time():.6f} {what} {name} {pid} {extra}".rstrip() + "\n"
        fd = os.open(ctl["events"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, line.encode())
        os.close(fd)

    event("start", " ".join(args))
    sys.stderr.write(f"fake {name} (pid {pid}) started\n")
    sys.stderr.flush()

    behave = ctl["behave"].get(name) or ctl["behave"].get(service) or "run"
    kind, _, arg = behave.partition(" ")
    if kind == "exit":
        sys.exit(int(arg or 1))
    if kind == "sigsys-once":
        marker = os.path.join(here, f"{name}.sigsys-done")
        if not os.path.exists(marker):
            open(marker, "w").close()
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            os.kill(pid, signal.SIGSYS)
            time.sleep(5)

    def on_term(signo, frame):
        event("term")
        if kind != "ignore-term":
            os._exit(0)

    signal.signal(signal.SIGHUP, lambda signo, frame: event("hup"))
    signal.signal(signal.SIGTERM, on_term)

    if service == "router" and kind != "no-ready":
        if kind == "slow-ready":
            time.sleep(float(arg))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(ctl["socket"])
        except FileNotFoundError:
            pass
        sock.bind(ctl["socket"])
        sock.listen(16)
        event("ready")
        while True:
            conn, _ = sock.accept()
            conn.close()
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
