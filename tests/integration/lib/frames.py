"""frames.py — the internal protocol's frame codec in Python, written from
doc/component-protocol.md (not from common/frame.c), and a small test peer
that speaks it over the router's Unix socket.

The encoder does what it is told, including what the protocol forbids
(a wrong length, an unknown type, a frame before HELLO), so tests can play
an adversarial peer as easily as a good one. The decoder checks the
header and the attribute layout, which is all a test needs to read what
the router says.
"""
import select
import socket
import ssl
import struct
import time

# A TLS socket that must wait: the same as a plain one's EAGAIN.
_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)

VERSION = 2
HEADER_SIZE = 12
ATTR_HEADER_SIZE = 6
MAX_DEFAULT = 1024 * 1024 + 64 * 1024

# Frame types.
HELLO, HELLO_OK, ERROR, BIND, BIND_OK, UNBIND, PEER_UP, PEER_DOWN, PING, PONG = range(1, 11)
ROUTE, ACK = 16, 17
SESSION_START, SESSION_STARTED, SESSION_END, SESSION_ENDED = 32, 33, 34, 35
SASL_START, SASL_STEP, SASL_RESULT = 48, 49, 50

TYPE_NAMES = {
    HELLO: "HELLO", HELLO_OK: "HELLO_OK", ERROR: "ERROR", BIND: "BIND", BIND_OK: "BIND_OK",
    UNBIND: "UNBIND", PEER_UP: "PEER_UP", PEER_DOWN: "PEER_DOWN", PING: "PING", PONG: "PONG",
    ROUTE: "ROUTE", ACK: "ACK", SESSION_START: "SESSION_START",
    SESSION_STARTED: "SESSION_STARTED", SESSION_END: "SESSION_END",
    SESSION_ENDED: "SESSION_ENDED", SASL_START: "SASL_START", SASL_STEP: "SASL_STEP",
    SASL_RESULT: "SASL_RESULT",
}

# Flags.
F_DEFAULT_ROUTE, F_SHARED, F_RESENT, F_REANNOUNCE, F_ABORT, F_KEPT, F_REJECTED = \
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40

# Attribute tags and their kinds.
(NAME, ROLE, SECRET, PID, FROM, TO, ROUTE_KEY, SESSION_ID, STANZA, CODE, TEXT, REF_SEQ,
 REF_TO, ACK_SEQ, JID, HOST, CLIENT_ADDR, MECHANISM, SASL_DATA, CB_TYPE, CB_DATA,
 PEER_CERT, STATUS) = range(1, 24)
_STR = {NAME, ROLE, FROM, TO, ROUTE_KEY, SESSION_ID, TEXT, REF_TO, JID, HOST, CLIENT_ADDR,
        MECHANISM, CB_TYPE}
_U32 = {PID, CODE, REF_SEQ, ACK_SEQ, STATUS}

# ERROR codes.
ERR_PROTOCOL, ERR_NOT_AUTHORIZED, ERR_CONFLICT, ERR_NOT_ALLOWED, ERR_NO_ROUTE, \
    ERR_PEER_GONE, ERR_OVERLOADED, ERR_INTERNAL, ERR_AWAY = range(1, 10)


def attr(tag, value):
    """One attribute: str values get their NUL, ints become u32."""
    if tag in _U32 and isinstance(value, int):
        data = struct.pack(">I", value)
    elif isinstance(value, str):
        data = value.encode() + (b"\0" if tag in _STR else b"")
    else:
        data = bytes(value)
    return struct.pack(">HI", tag, len(data)) + data


def encode(ftype, attrs=(), flags=0, seq=0, version=VERSION, length=None):
    """A frame from (tag, value) pairs. `length` overrides the real one."""
    payload = b"".join(attr(t, v) for t, v in attrs)
    n = HEADER_SIZE + len(payload) if length is None else length
    return struct.pack(">IBBHI", n, version, ftype, flags, seq) + payload


class Frame:
    def __init__(self, raw):
        self.raw = bytes(raw)
        self.length, self.version, self.type, self.flags, self.seq = \
            struct.unpack(">IBBHI", raw[:HEADER_SIZE])
        self.attrs = []
        off = HEADER_SIZE
        while off < self.length:
            tag, n = struct.unpack(">HI", raw[off:off + ATTR_HEADER_SIZE])
            off += ATTR_HEADER_SIZE
            if off + n > self.length:
                raise ValueError("attribute runs past the end of the frame")
            self.attrs.append((tag, bytes(raw[off:off + n])))
            off += n

    @staticmethod
    def _value(tag, data):
        if tag in _STR:
            return data[:-1].decode(errors="replace")
        if tag in _U32:
            return struct.unpack(">I", data)[0]
        return data

    def get(self, tag, default=None):
        for t, d in self.attrs:
            if t == tag:
                return self._value(t, d)
        return default

    def all(self, tag):
        return [self._value(t, d) for t, d in self.attrs if t == tag]

    @property
    def name(self):
        return TYPE_NAMES.get(self.type, f"type-{self.type}")

    def __repr__(self):
        parts = ", ".join(f"{t}={self._value(t, d)!r}" for t, d in self.attrs)
        return f"<{self.name} flags={self.flags:#x} seq={self.seq} {parts}>"


def decode(buf):
    """(Frame, bytes used) for the first whole frame of buf, or (None, 0)."""
    if len(buf) < HEADER_SIZE:
        return None, 0
    n = struct.unpack(">I", buf[:4])[0]
    if n < HEADER_SIZE:
        raise ValueError(f"frame length {n}")
    if len(buf) < n:
        return None, 0
    return Frame(buf[:n]), n


class Peer:
    """A test peer on the router's Unix socket (or any connected socket).
    Frames that a wait skips are kept in `backlog`, in order."""

    def __init__(self, path=None, sock=None, timeout=5.0):
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(path)
        self.sock = sock
        self.sock.setblocking(False)
        self.buf = bytearray()
        self.seq = 0
        self.eof = False
        self.reset = False
        self.backlog = []
        self.auto_pong = True

    # --- sending -----------------------------------------------------------

    def send_raw(self, data, timeout=5.0):
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except _WOULD_BLOCK:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the router does not take our bytes")
                select.select([], [self.sock], [], left)

    def try_send_raw(self, data):
        """Send what the socket takes now; returns the bytes sent."""
        try:
            return self.sock.send(data)
        except _WOULD_BLOCK:
            return 0

    def send(self, ftype, attrs=(), flags=0, seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        self.send_raw(encode(ftype, attrs, flags, seq))
        return seq

    def hello(self, name, secret, role=None, pid=None):
        attrs = [(NAME, name), (ROLE, role or name.split(".")[0]), (SECRET, secret.encode())]
        if pid is not None:
            attrs.append((PID, pid))
        self.send(HELLO, attrs)
        return self.wait(lambda f: f.type in (HELLO_OK, ERROR))

    def bind(self, name, flags=0):
        seq = self.send(BIND, [(NAME, name)], flags)
        return self.wait(lambda f: (f.type == BIND_OK and f.get(NAME) == name) or
                         (f.type == ERROR and f.get(REF_SEQ) == seq))

    def unbind(self, name):
        return self.send(UNBIND, [(NAME, name)])

    def route(self, frm, to, stanza, key=None, sid=None, flags=0):
        attrs = [(FROM, frm), (TO, to)]
        if key is not None:
            attrs.append((ROUTE_KEY, key))
        if sid is not None:
            attrs.append((SESSION_ID, sid))
        attrs.append((STANZA, stanza.encode() if isinstance(stanza, str) else stanza))
        return self.send(ROUTE, attrs, flags)

    # --- receiving ---------------------------------------------------------

    def _fill(self, timeout):
        """Read what is there, waiting at most timeout; False at EOF."""
        if self.eof:
            return False
        # TLS may hold decrypted bytes the socket knows nothing of.
        pending = self.sock.pending() if isinstance(self.sock, ssl.SSLSocket) else 0
        if not pending:
            r, _, _ = select.select([self.sock], [], [], max(timeout, 0))
            if not r:
                return True
        try:
            data = self.sock.recv(1 << 20)
        except _WOULD_BLOCK:
            return True
        except (ConnectionResetError, ssl.SSLError):
            self.eof = self.reset = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def recv(self, timeout=5.0):
        """The next frame, or None on timeout or EOF (see .eof)."""
        deadline = time.monotonic() + timeout
        while True:
            f, n = decode(self.buf)
            if f is not None:
                del self.buf[:n]
                if f.type == PING and self.auto_pong:
                    self.send(PONG, [(REF_SEQ, f.seq)])
                return f
            left = deadline - time.monotonic()
            before = len(self.buf)
            if not self._fill(max(left, 0)):
                return None
            if left <= 0 and len(self.buf) == before:
                return None

    def wait(self, pred, timeout=5.0):
        """The first frame (backlog first) for which pred is true; the
        others stay in the backlog. None if none came in time."""
        for i, f in enumerate(self.backlog):
            if pred(f):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv(max(deadline - time.monotonic(), 0))
            if f is None:
                return None
            if pred(f):
                return f
            self.backlog.append(f)

    def wait_type(self, ftype, timeout=5.0):
        return self.wait(lambda f: f.type == ftype, timeout)

    def drain(self, timeout=0.2):
        """Every frame that arrives within timeout, backlog first."""
        out, self.backlog = self.backlog, []
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv(max(deadline - time.monotonic(), 0))
            if f is None:
                return out
            out.append(f)

    def closed_by_router(self, timeout=5.0):
        """True once the router has closed the connection (frames before
        the end go to the backlog)."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            f = self.recv(max(deadline - time.monotonic(), 0))
            if f is not None:
                self.backlog.append(f)
            elif not self.eof:
                return False
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def connect_tls(host, port, cafile, server_name, timeout=5.0):
    """A Peer over TCP with TLS, the router's certificate checked against
    cafile for server_name (the handshake is done here)."""
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection((host, port), timeout=timeout)
    return Peer(sock=ctx.wrap_socket(raw, server_hostname=server_name))


def connect(path, name, secret, role=None, timeout=5.0):
    """A peer that has said HELLO and got HELLO_OK (else AssertionError)."""
    p = Peer(path, timeout=timeout)
    ok = p.hello(name, secret, role)
    if ok is None or ok.type != HELLO_OK:
        p.close()
        raise AssertionError(f"HELLO of {name} refused: {ok!r}")
    return p
