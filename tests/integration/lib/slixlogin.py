#!/usr/bin/python3
"""slixlogin.py — one login with python3-slixmpp (Debian's 1.8.3), run as
its own process so each test gets a clean asyncio loop:

    slixlogin.py PORT JID PASSWORD MECHANISM|auto [tls12] [direct]

Prints "OK <bound JID>" after session_start, or "FAIL <why>" ("FAIL auth
CONDITION" when SASL fails), and exits.
The server's self-signed certificate is not checked (loopback test).
slixmpp's -PLUS mechanisms use tls-unique, which exists on TLS 1.2 only:
pass tls12 to cap the client there."""
import asyncio
import logging
import ssl
import sys

import slixmpp


def main():
    port, jid, password, mech = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    flags = set(sys.argv[5:])
    logging.basicConfig(level=logging.ERROR)
    # "auto": let slixmpp choose, as an application using it would.
    xmpp = slixmpp.ClientXMPP(jid, password, sasl_mech=None if mech == "auto" else mech)
    xmpp.ssl_context.check_hostname = False
    xmpp.ssl_context.verify_mode = ssl.CERT_NONE
    if "tls12" in flags:
        xmpp.ssl_context.maximum_version = ssl.TLSVersion.TLSv1_2
    result = {}

    def done(what):
        if not result:
            result["r"] = what
            xmpp.disconnect(wait=0.5)

    xmpp.add_event_handler("session_start", lambda e: done(f"OK {xmpp.boundjid.full}"))
    # The SASL condition too (not-authorized, temporary-auth-failure…).
    xmpp.add_event_handler("failed_auth", lambda e: done(f"FAIL auth {e['condition']}"))
    xmpp.add_event_handler("failed_all_auth", lambda e: done("FAIL all auth"))
    xmpp.add_event_handler("disconnected", lambda e: done("FAIL disconnected"))
    if "direct" in flags:
        xmpp.enable_direct_tls = True
    xmpp.connect(("127.0.0.1", int(port)), use_ssl="direct" in flags)
    loop = asyncio.get_event_loop()
    loop.call_later(15, lambda: done("FAIL timeout"))
    while "r" not in result:
        loop.run_until_complete(asyncio.sleep(0.05))
    loop.run_until_complete(asyncio.sleep(0.3))
    print(result["r"], flush=True)


main()
