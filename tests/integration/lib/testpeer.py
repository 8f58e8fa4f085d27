"""testpeer.py — drive tests/tools/testpeer, a scriptable Parley peer on
common/router_link, from an integration test: start it with pipes, send it
commands, wait (bounded) for the events it prints. The command and event
grammar is at the top of tests/tools/testpeer.c; in short:

    a = TestPeer(suite, "c2s.1", binds=["c2s.1"], user="nobody")
    a.expect(r"^bound c2s\\.1 ")
    seq = a.route("sm", "<message/>")          # the seq the link gave it
    b.expect(r"^route c2s\\.1 sm - <message/>$")
    a.stop()

expect() consumes events in order (what it skips is gone for later
expect() calls, so two expects check an order); the answers to commands
(route(), status(), count(), sync()) are taken alone and leave the events
around them for expect().

The peer is registered with the suite like any process it starts, so it is
stopped by PID when the test ends, and its stderr (the link's log lines) is
kept in the temp dir as testpeer-NAME.log.
"""
import os
import queue
import re
import subprocess
import threading
import time

import parley

TESTPEER = os.path.join(parley.BUILD, "tests", "tools", "testpeer")


class TestPeer:
    _serial = 0

    def __init__(self, suite, name, socket=None, secret=None, secret_file=None, role="c2s",
                 binds=(), echo=False, count=False, user=None, from_name=None, extra=()):
        """Start testpeer as instance `name`. `socket` defaults to the
        suite's run/router.sock, `secret` to the harness config's secret.
        `binds` are names, each optionally followed by ",shared" and/or
        ",default". `user` drops the peer to that user before it connects
        (the router accepts the configured user by default)."""
        if socket is None:
            socket = suite.path("run", "router.sock")
        if secret is None and secret_file is None:
            secret = "router-secret-0123456789"  # parley.Suite.config()'s default
        argv = [TESTPEER, "-s", socket, "-n", name, "-r", role]
        argv += ["-K", secret_file] if secret_file else ["-k", secret]
        for b in binds:
            argv += ["-b", b]
        if echo:
            argv.append("--echo")
        if count:
            argv.append("--count")
        if user:
            argv += ["-u", user]
        if from_name:
            argv += ["-f", from_name]
        argv += list(extra)

        TestPeer._serial += 1
        self.name = name
        log_path = suite.path(f"testpeer-{name}-{TestPeer._serial}.log")
        with open(log_path, "ab") as logf:
            self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=logf, cwd=suite.dir)
        self.process = parley.Process(f"testpeer {name}", self.popen, log_path)
        self.pid = self.popen.pid
        suite.procs.append(self.process)

        self.history = []          # every event line, in order
        self._pos = 0              # events before this one were consumed by expect()
        self._taken = set()        # indices of lines taken as replies to commands
        self._lines = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.popen.stdout:
            self._lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self._lines.put(None)

    def _pump(self, timeout):
        """Move lines from the reader into history; False at EOF."""
        try:
            line = self._lines.get(timeout=max(timeout, 0))
        except queue.Empty:
            return True
        if line is None:
            self._lines.put(None)  # stay at EOF for the next caller
            return False
        self.history.append(line)
        return True

    def send(self, command):
        """One command line (no newline needed)."""
        self.popen.stdin.write(command.encode() + b"\n")
        self.popen.stdin.flush()

    def expect(self, pattern, timeout=5.0):
        """Wait for the next event matching `pattern` (a regex, searched)
        after the last one expect() returned; events in between are skipped
        (they stay in history). Returns the match, or None on timeout or
        if the peer exited."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            while self._pos < len(self.history):
                i = self._pos
                self._pos += 1
                if i in self._taken:
                    continue
                m = rx.search(self.history[i])
                if m:
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not self._pump(min(left, 0.1)) and self._pos >= len(self.history):
                return None

    def _reply(self, pattern, timeout):
        """The answer to a command just sent: the first matching line not
        yet consumed, taken alone, so that the events around it stay for
        expect()."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = self._pos
        while True:
            while i < len(self.history):
                if i not in self._taken:
                    m = rx.search(self.history[i])
                    if m:
                        self._taken.add(i)
                        return m
                i += 1
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not self._pump(min(left, 0.1)) and i >= len(self.history):
                return None

    def _drain(self):
        """Take every line the reader has so far, without waiting."""
        while not self._lines.empty() and self._pump(0):
            pass

    def saw(self, pattern):
        """Whether any event so far (consumed or not) matches `pattern`."""
        self._drain()
        rx = re.compile(pattern)
        return any(rx.search(line) for line in self.history)

    def count_events(self, pattern):
        """How many events so far (consumed or not) match `pattern`."""
        self._drain()
        rx = re.compile(pattern)
        return sum(1 for line in self.history if rx.search(line))

    def route(self, to, stanza, key="-", timeout=5.0):
        """Send a ROUTE from the peer's -f name; returns its seq (int), or
        the send-error text (str) if the link refused it, or None."""
        self.send(f"route {to} {key} {stanza}")
        m = self._reply(r"^(?:sent (\d+)|send-error (.*))$", timeout)
        if m is None:
            return None
        return int(m.group(1)) if m.group(1) is not None else m.group(2)

    def send_route(self, frm, to, stanza, key="-", session="-", timeout=5.0):
        """A ROUTE with every field given; returns as route() does."""
        self.send(f"send {frm} {to} {key} {session} {stanza}")
        m = self._reply(r"^(?:sent (\d+)|send-error (.*))$", timeout)
        if m is None:
            return None
        return int(m.group(1)) if m.group(1) is not None else m.group(2)

    def sync(self, timeout=5.0):
        """Wait until the peer has handled every command sent so far."""
        TestPeer._serial += 1
        token = f"sync-{TestPeer._serial}"
        self.send(f"mark {token}")
        return self._reply(rf"^mark {token}$", timeout) is not None

    def status(self, timeout=5.0):
        """(state, queued bytes, next seq), or None."""
        self.send("status")
        m = self._reply(r"^status (\S+) (\d+) (\d+)$", timeout)
        return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None

    def count(self, timeout=5.0):
        """(ROUTEs received, stanza bytes received), or None."""
        self.send("count")
        m = self._reply(r"^count (\d+) (\d+)$", timeout)
        return (int(m.group(1)), int(m.group(2))) if m else None

    def alive(self):
        return self.process.alive()

    def log(self):
        return self.process.log()

    def quit(self, timeout=5.0):
        """Ask the peer to exit; returns its exit status (None if it hung)."""
        if self.alive():
            try:
                self.send("quit")
            except (BrokenPipeError, OSError):
                pass
        return self.process.wait(timeout)

    def stop(self):
        return self.process.stop()

    def diag(self):
        """The events and the log, for a failed check's diagnostics."""
        return "events:\n" + "\n".join(self.history[-40:]) + "\nlog:\n" + self.log()[-3000:]
