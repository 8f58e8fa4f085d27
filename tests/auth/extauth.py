#!/usr/bin/python3
"""extauth.py — a tiny external authentication program for tests, speaking
ejabberd's extauth protocol on stdin/stdout: each request is a 2-byte
big-endian length and "cmd:User:Server[:Password]"; each answer is 00 02
and 00 01 (yes) or 00 00 (no).

Accounts are lines "user@server:password" in the file named by the first
argument (read at every request, rewritten on changes), so a restarted
program sees what the previous one changed. Misbehaviour on demand, by
username: "hang" never answers, "die" exits at once, "garbage" answers
something that is not the protocol. Each request is logged to stderr.
"""
import os
import struct
import sys
import time

USERS = sys.argv[1] if len(sys.argv) > 1 else None


def load():
    users = {}
    if USERS and os.path.exists(USERS):
        with open(USERS) as f:
            for line in f:
                line = line.rstrip("\n")
                if ":" in line:
                    who, pw = line.split(":", 1)
                    users[who] = pw
    return users


def save(users):
    if USERS:
        tmp = USERS + ".tmp"
        with open(tmp, "w") as f:
            for who, pw in users.items():
                f.write(f"{who}:{pw}\n")
        os.rename(tmp, USERS)


def answer(ok):
    sys.stdout.buffer.write(struct.pack(">HH", 2, 1 if ok else 0))
    sys.stdout.buffer.flush()


def main():
    stdin = sys.stdin.buffer
    while True:
        head = stdin.read(2)
        if len(head) < 2:
            return
        (n,) = struct.unpack(">H", head)
        msg = stdin.read(n).decode("utf-8", "replace")
        parts = msg.split(":", 3)
        cmd, user, server = parts[0], parts[1] if len(parts) > 1 else "", \
            parts[2] if len(parts) > 2 else ""
        password = parts[3] if len(parts) > 3 else None
        print(f"extauth: {cmd} {user}@{server}", file=sys.stderr, flush=True)
        if user == "hang":
            time.sleep(3600)
        if user == "die":
            sys.exit(3)
        if user == "garbage":
            sys.stdout.buffer.write(b"\x00\x05hello")
            sys.stdout.buffer.flush()
            continue
        users = load()
        key = f"{user}@{server}"
        if cmd == "auth":
            answer(users.get(key) == password)
        elif cmd == "isuser":
            answer(key in users)
        elif cmd == "setpass":
            if key in users and password:
                users[key] = password
                save(users)
                answer(True)
            else:
                answer(False)
        elif cmd == "tryregister":
            if key in users or not password:
                answer(False)
            else:
                users[key] = password
                save(users)
                answer(True)
        elif cmd == "removeuser":
            if key in users:
                del users[key]
                save(users)
                answer(True)
            else:
                answer(False)
        else:
            answer(False)


if __name__ == "__main__":
    main()
