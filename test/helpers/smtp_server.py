"""A mail relay on loopback for the tests: aiosmtpd (Debian python3-aiosmtpd) with STARTTLS required
and AUTH PLAIN/LOGIN (after STARTTLS only). Each message received is appended as one JSON line to
LOG; how the relay answers the n-th message (0-based) comes from PLAN, read at every message:
{"sequence": ["transient", "ok", ...], "then": "ok"}, where ok is 250, transient 451, permanent 550
hang never answers and slow answers 250 after 0.3 s.

usage: smtp_server.py PORT CERT KEY LOG PLAN USER PASSWORD
"""
import asyncio
import json
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, log, plan, user, password = sys.argv[1:8]


class Handler:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        n = self.n
        self.n += 1
        try:
            with open(plan) as f:
                p = json.load(f)
        except (OSError, ValueError):
            p = {}
        seq = p.get("sequence", [])
        mode = seq[n] if n < len(seq) else p.get("then", "ok")
        text = envelope.content.decode("utf8", errors="replace")
        message_id = ""
        for line in text.splitlines():
            if line.lower().startswith("message-id:"):
                message_id = line.split(":", 1)[1].strip()
                break
        record = {
            "n": n,
            "mode": mode,
            "messageId": message_id,
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": session.authenticated,
            "at": time.time(),
            "data": text,
        }
        with open(log, "a") as f:
            f.write(json.dumps(record) + "\n")
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode == "slow":
            await asyncio.sleep(0.3)
        if mode == "transient":
            return "451 4.3.0 try again later"
        if mode == "permanent":
            return "550 5.7.1 message refused"
        return "250 2.0.0 queued"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok)


ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=ctx,
    require_starttls=True,
    authenticator=authenticator,
    auth_required=True,
    auth_require_tls=True,
)
controller.start()
print("ready", flush=True)
try:
    sys.stdin.read()
finally:
    controller.stop()
