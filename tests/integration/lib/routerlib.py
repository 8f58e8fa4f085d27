"""routerlib.py — starting a parley-router for a test: its own config in
the suite's temp dir, waiting until its socket answers, and reading its
log. Used by tests/integration/test_router*."""
import os
import socket

from parley import wait_until

SECRET = "router-secret-0123456789"


def socket_answers(path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect(path)
            return True
    except OSError:
        return False


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def start_router(suite, name="router", settings="", args=(), wait=True, top="", log_file=None):
    """Write a config whose router section holds `settings` (the component
    port is off unless they say otherwise) into a directory of its own,
    start parley-router -f on it, and wait until it says it listens (in
    `log_file` if the settings send the log there). Returns (process,
    socket path, config path)."""
    run = suite.mkdir(f"{name}-run", owner="test")  # so that it can remove its socket
    sock = os.path.join(run, "router.sock")
    body = f'socket = "{sock}";\n'  # the secret is in suite.config()'s defaults
    if "component_port" not in settings:
        body += "component_port = 0;\n"
    body += settings
    conf = suite.config({"router": body}, top=top, secret=SECRET)
    path = suite.path(f"{name}.conf")
    os.rename(conf, path)
    proc = suite.start(name, ["parley-router", "-f", "-c", path] + list(args))
    # "listening on" is logged once the sandbox is in place (the socket
    # itself answers earlier: it is opened before the sandbox).
    if wait:
        wait_until(lambda: not proc.alive() or
                   ("listening on" in (read(log_file) if log_file else proc.log())
                    and socket_answers(sock)), 10)
    return proc, sock, path
