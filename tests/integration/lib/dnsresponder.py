"""dnsresponder.py — a tiny authoritative DNS server on loopback UDP for the
s2s tests: answers SRV, A and AAAA from a table, NXDOMAIN for names it does
not know, NODATA for known names without the asked type, never answers the
names marked silent, and answers the names marked slow after a delay. It
logs every question (name, type) so a test can count what reached it.

    zone = {
        "_xmpp-server._tcp.a.test": [("SRV", 10, 60, 5269, "x1.a.test")],
        "x1.a.test": [("A", "192.0.2.1"), ("AAAA", "2001:db8::1")],
    }
    with DnsResponder(zone, silent={"slow.test"}) as dns:
        ... dns.port ... dns.questions ...

Runs in a thread of the test process; only the parts of RFC 1035 that
udns needs (no compression when writing, EDNS ignored).
"""
import socket
import struct
import threading
import time

TYPES = {"A": 1, "AAAA": 28, "SRV": 33}
NAMES = {v: k for k, v in TYPES.items()}


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def decode_name(pkt, off):
    labels = []
    while True:
        n = pkt[off]
        if n == 0:
            return ".".join(labels), off + 1
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(pkt[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


def rdata(rec):
    kind = rec[0]
    if kind == "A":
        return socket.inet_pton(socket.AF_INET, rec[1])
    if kind == "AAAA":
        return socket.inet_pton(socket.AF_INET6, rec[1])
    if kind == "SRV":
        _, prio, weight, port, target = rec
        return struct.pack("!HHH", prio, weight, port) + encode_name(target)
    raise ValueError(kind)


class DnsResponder:
    def __init__(self, zone, silent=(), slow=None, ttl=300, host="127.0.0.1"):
        self.zone = {k.lower().strip("."): v for k, v in zone.items()}
        self.silent = {s.lower() for s in silent}  # suffixes never answered
        self.slow = {k.lower(): v for k, v in (slow or {}).items()}  # suffix -> delay s
        self.ttl = ttl
        self.questions = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()

    def count(self, name=None):
        with self.lock:
            return sum(1 for q in self.questions if name is None or q[0] == name)

    def _matches(self, name, suffixes):
        return any(name == s or name.endswith("." + s) for s in suffixes)

    def _serve(self):
        while not self.stopping:
            try:
                pkt, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self._answer(pkt, peer)
            except (ValueError, IndexError, struct.error):
                continue

    def _answer(self, pkt, peer):
        qid, flags, qd = struct.unpack("!HHH", pkt[:6])
        if qd != 1:
            return
        name, off = decode_name(pkt, 12)
        qtype, qclass = struct.unpack("!HH", pkt[off:off + 4])
        question = pkt[12:off + 4]
        name = name.lower()
        with self.lock:
            self.questions.append((name, NAMES.get(qtype, str(qtype))))
        if self._matches(name, self.silent):
            return
        delay = next((d for s, d in self.slow.items() if self._matches(name, [s])), 0)
        records = self.zone.get(name)
        rcode = 3 if records is None else 0  # NXDOMAIN
        answers = b""
        count = 0
        for rec in records or []:
            if TYPES[rec[0]] != qtype:
                continue
            data = rdata(rec)
            answers += encode_name(name) + struct.pack("!HHIH", qtype, 1, self.ttl, len(data)) + data
            count += 1
        # QR, AA, and RD copied from the question; RA.
        out_flags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
        reply = struct.pack("!HHHHHH", qid, out_flags, 1, count, 0, 0) + question + answers
        if delay:
            threading.Timer(delay, self._send, (reply, peer)).start()
        else:
            self._send(reply, peer)

    def _send(self, reply, peer):
        try:
            self.sock.sendto(reply, peer)
        except OSError:
            pass


def wait_questions(responder, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    while responder.count() < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return responder.count()
