#!/usr/bin/python3
"""xep0114_component.py — a real XEP-0114 component (python3-slixmpp's
ComponentXMPP), for the router's component tests. It connects to the
router's component port and reports what happens, one line per event on
stdout (flushed), so the test can follow its log:

    SESSION_START
    MESSAGE from=… to=… type=… body=…
    ERROR_MESSAGE from=… to=… condition=…
    STREAM_ERROR condition
    DISCONNECTED

After the handshake it sends one message (if --send-to is given); every
message whose body starts with "echo " is answered with "reply: …".
It exits when the connection ends (no reconnection) or after --seconds.

usage: xep0114_component.py DOMAIN SECRET PORT [--send-to JID] [--seconds N]
"""
import argparse
import logging
import sys

from slixmpp import ComponentXMPP


def say(line):
    print(line, flush=True)


class Component(ComponentXMPP):
    def __init__(self, domain, secret, port, send_to):
        super().__init__(domain, secret, "127.0.0.1", port)
        self.send_to = send_to
        self.add_event_handler("session_start", self.started)
        self.add_event_handler("message", self.message)
        self.add_event_handler("message_error", self.message_error)
        self.add_event_handler("stream_error", self.stream_error)
        self.add_event_handler("disconnected", self.gone)
        self.add_event_handler("connection_failed", self.gone)

    def started(self, _):
        say("SESSION_START")
        if self.send_to:
            self.send_message(mto=self.send_to, mfrom=f"bot@{self.boundjid.bare}",
                              mbody="hello from the component", mtype="chat")

    def message(self, msg):
        say(f"MESSAGE from={msg['from']} to={msg['to']} type={msg['type']} body={msg['body']}")
        if msg["body"].startswith("echo "):
            msg.reply("reply: " + msg["body"][5:]).send()

    def message_error(self, msg):
        say(f"ERROR_MESSAGE from={msg['from']} to={msg['to']} "
            f"condition={msg['error']['condition']}")

    def stream_error(self, err):
        say(f"STREAM_ERROR {err['condition']}")

    def gone(self, *_):
        say("DISCONNECTED")
        self.loop.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("domain")
    ap.add_argument("secret")
    ap.add_argument("port", type=int)
    ap.add_argument("--send-to")
    ap.add_argument("--seconds", type=float, default=30)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

    xmpp = Component(args.domain, args.secret, args.port, args.send_to)
    xmpp.connect()
    xmpp.loop.call_later(args.seconds, xmpp.loop.stop)
    xmpp.loop.run_forever()


if __name__ == "__main__":
    main()
