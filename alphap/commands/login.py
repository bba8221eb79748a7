"""`alphap login`: a Kite login completed from the command line, stored encrypted.

Prints Kite's login URL; after the browser login Kite redirects to the app's
redirect URL with `request_token` and `status=success` in its query. Give that
URL (`--redirect-url`, or paste it when asked on a terminal) or just the token
(`--request-token`). The session is exchanged through the official client and
upserted on user_id, so concurrent logins of one user leave one row. Runs
without the daemon; the daemon's session actor picks the session up when it
next validates or starts.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from actors.errors import KiteError, LoginRequired
from actors.session import complete_login, utc_now
from actors.session_expiry import KITE_ZONE
from alphap.database import database_pool, token_cipher
from alphap.errors import AlphapError
from alphap.kite import require_kite_access
from alphap.output import emit_json, say
from alphap.settings import Settings
from alphap.wiring import server_urls
from persistence import schema
from persistence.cipher import TokenCipher
from persistence.errors import PersistenceError


def register(subparsers: Any) -> None:
    login = subparsers.add_parser(
        "login",
        help="log in to Kite and store the session (encrypted)",
        description=(
            "Print the Kite login URL, then take the URL Kite redirected to after the "
            "login (or its request token) and store the session, its tokens encrypted "
            "with ALPHAP_TOKEN_KEYS. Needs ALPHAP_KITE_API_KEY and ALPHAP_KITE_API_SECRET."
        ),
    )
    given = login.add_mutually_exclusive_group()
    given.add_argument("--redirect-url", metavar="URL", help="the URL Kite redirected to")
    given.add_argument("--request-token", metavar="TOKEN", help="the request_token of that URL")
    login.add_argument("--json", action="store_true", help="print the result as JSON")
    login.set_defaults(handler=run_login)


def request_token_from_url(url: str) -> str:
    """The request token in Kite's redirect URL; AlphapError unless the login succeeded."""
    query = parse_qs(urlsplit(url.strip()).query)
    status = query.get("status", [""])[0]
    if status and status != "success":
        raise AlphapError(f"Kite reports the login as {status!r}, not 'success': log in again")
    tokens = query.get("request_token", [])
    if not tokens or not tokens[0]:
        raise AlphapError("the redirect URL has no request_token in its query")
    return tokens[0]


def _cipher(settings: Settings) -> TokenCipher:
    try:
        cipher = token_cipher(settings)
    except PersistenceError as exc:
        raise AlphapError(str(exc)) from None
    if not cipher.has_keys:
        raise AlphapError(
            "missing setting ALPHAP_TOKEN_KEYS: sessions are stored encrypted "
            "(`alphap keys generate` makes a key)"
        )
    return cipher


def _request_token(args: argparse.Namespace) -> str:
    if args.request_token:
        return str(args.request_token).strip()
    if args.redirect_url:
        return request_token_from_url(args.redirect_url)
    if not sys.stdin.isatty():
        raise AlphapError("give --redirect-url or --request-token (stdin is not a terminal)")
    sys.stderr.write("paste the URL Kite redirected to: ")
    sys.stderr.flush()
    return request_token_from_url(sys.stdin.readline())


def _local(moment: datetime) -> str:
    return moment.astimezone(KITE_ZONE).strftime("%Y-%m-%d %H:%M %Z")


def run_login(settings: Settings, args: argparse.Namespace) -> int:
    access = require_kite_access(settings)
    cipher = _cipher(settings)
    gateway = access.gateway()
    login_url = gateway.login_url()
    try:
        if not args.json:
            say(f"log in to Kite at: {login_url}")
        token = _request_token(args)
        with server_urls(settings, need_redis=False) as urls:
            schema.ensure_at_head(urls.database)
            with database_pool(settings, urls.database) as pool:
                session = complete_login(gateway, pool, cipher, token, utc_now())
    except LoginRequired as exc:
        raise AlphapError(f"Kite refused the login (request tokens work once): {exc}") from None
    except (KiteError, PersistenceError) as exc:
        raise AlphapError(str(exc)) from None
    finally:
        gateway.close()
    if args.json:
        emit_json(
            {
                "user_id": session.user_id,
                "expires_at": session.expires_at.isoformat(),
                "login_url": login_url,
            }
        )
    else:
        say(f"logged in as {session.user_id}; the session expires {_local(session.expires_at)}")
    return 0
