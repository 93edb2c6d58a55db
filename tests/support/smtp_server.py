#!/usr/bin/env python3
"""A real SMTP submission server for the smtp connector's contract tests (aiosmtpd).

Listens on 127.0.0.1 on a free port and prints that port on stdout (one line) once it accepts
connections. Offers STARTTLS with the given certificate and requires it before anything else
(or, with --implicit-tls, speaks TLS from the first byte as on port 465), then requires AUTH
PLAIN/LOGIN with the given user and password. Every transaction that reaches
DATA is written as one JSON line to --record: the envelope, whether the session was TLS and
authenticated, the raw message, and the message as Python's email package parses it (decoded
headers, parts, defects), so that the tests check the message with an independent parser.

Failures are scripted by arguments: --rcpt-code 451:1 answers the first RCPT with 451 and then
accepts; --data-code 550 answers every DATA with 550; --auth-fail answers AUTH with 535.

Only python3 and aiosmtpd (Debian: python3-aiosmtpd) are needed.
"""

import argparse
import asyncio
import email
import email.policy
import json
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

REPLIES = {
    421: "421 4.3.2 Service shutting down",
    450: "450 4.2.1 Mailbox busy, try later",
    451: "451 4.3.0 Temporary failure, try later",
    452: "452 4.3.1 Insufficient system storage",
    550: "550 5.1.1 Mailbox unavailable",
    553: "553 5.1.3 Mailbox name not allowed",
    554: "554 5.7.1 Message rejected",
}


class ScriptedReply:
    """A reply code to give `times` times (None: always), then None (accept)."""

    def __init__(self, spec):
        self.code = None
        self.times = None
        if spec:
            code, _, times = spec.partition(":")
            self.code = int(code)
            self.times = int(times) if times else None

    def next(self):
        if self.code is None or self.times == 0:
            return None
        if self.times is not None:
            self.times -= 1
        return REPLIES.get(self.code, f"{self.code} Scripted reply")


def parse_message(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parsed = {
        "headers": [[name, str(value)] for name, value in msg.items()],
        "content_type": msg.get_content_type(),
        "boundary": msg.get_boundary(),
        "defects": [type(d).__name__ for d in msg.defects],
        "addresses": {},
        "parts": [],
    }
    for name in ("From", "To", "Reply-To", "Cc", "Bcc"):
        if msg[name] is not None:
            parsed["addresses"][name] = [[a.display_name, a.addr_spec]
                                         for a in msg[name].addresses]
    if msg.is_multipart():
        for part in msg.iter_parts():
            parsed["parts"].append({
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "encoding": part.get("Content-Transfer-Encoding", ""),
                "text": part.get_content(),
                "defects": [type(d).__name__ for d in part.defects],
            })
    return parsed


class Handler:
    def __init__(self, args):
        self.record = args.record
        self.rcpt = ScriptedReply(args.rcpt_code)
        self.data = ScriptedReply(args.data_code)

    def write(self, entry):
        with open(self.record, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt.next()
        if reply:
            self.write({"event": "rcpt_refused", "reply": reply, "rcpt": address})
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        entry = {
            "event": "message",
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": (session.ssl is not None
                    or server.transport.get_extra_info("ssl_object") is not None),
            "auth_mechanism": getattr(session, "handoff_auth_mechanism", None),
            "auth_login": getattr(session, "handoff_auth_login", None),
            "raw": raw.decode("utf-8", errors="replace"),
            "raw_has_bare_lf": b"\n" in raw.replace(b"\r\n", b""),
            "max_line": max((len(line) for line in raw.split(b"\r\n")), default=0),
        }
        reply = self.data.next()
        entry["accepted"] = reply is None
        try:
            entry["parsed"] = parse_message(raw)
        except Exception as e:  # a broken message is what the tests want to see, not a crash
            entry["parse_error"] = repr(e)
        self.write(entry)
        return reply or "250 2.0.0 Message accepted for delivery"


def make_authenticator(args):
    def authenticate(server, session, envelope, mechanism, auth_data):
        # handled=False makes aiosmtpd answer a failure with 535 itself.
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        session.handoff_auth_mechanism = mechanism
        session.handoff_auth_login = auth_data.login.decode("utf-8", errors="replace")
        ok = (not args.auth_fail and auth_data.login == args.user.encode()
              and auth_data.password == args.password.encode())
        return AuthResult(success=ok, handled=False)
    return authenticate


async def serve(args):
    loop = asyncio.get_running_loop()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(args.cert, args.key)
    handler = Handler(args)
    authenticator = make_authenticator(args)

    def factory():
        if args.implicit_tls:
            # The socket is TLS from the first byte (smtps://), so STARTTLS is not offered and
            # AUTH needs no upgrade first.
            return SMTP(handler, hostname="handoff-test-smtp", auth_required=True,
                        auth_require_tls=False, authenticator=authenticator, loop=loop)
        return SMTP(handler, hostname="handoff-test-smtp", tls_context=tls, require_starttls=True,
                    auth_required=True, auth_require_tls=True, authenticator=authenticator,
                    loop=loop)

    server = await loop.create_server(factory, host="127.0.0.1", port=0,
                                      ssl=tls if args.implicit_tls else None)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main():
    # aiosmtpd 1.4 warns about its own use of Session.login_data on every successful AUTH.
    warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cert", required=True, help="PEM certificate for STARTTLS")
    p.add_argument("--key", required=True, help="PEM private key for STARTTLS")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--record", required=True, help="file receiving one JSON line per message")
    p.add_argument("--rcpt-code", help="CODE[:TIMES] to answer RCPT with (default: accept)")
    p.add_argument("--data-code", help="CODE[:TIMES] to answer DATA with (default: accept)")
    p.add_argument("--implicit-tls", action="store_true",
                   help="TLS from the first byte (smtps://) instead of STARTTLS")
    p.add_argument("--auth-fail", action="store_true", help="answer every AUTH with 535")
    args = p.parse_args()
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
