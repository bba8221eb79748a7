"""`alphap keys generate` and `alphap keys rotate`: the keys that encrypt broker tokens."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from alphap.database import database_pool, token_cipher
from alphap.errors import AlphapError
from alphap.output import say
from alphap.settings import Settings
from alphap.wiring import server_urls
from persistence import schema
from persistence.cipher import generate_key
from persistence.errors import PersistenceError
from persistence.repositories.sessions import SessionRepository
from persistence.uow import unit_of_work


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser("keys", help="token encryption keys")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)
    generate = keys_sub.add_parser(
        "generate",
        help="print a new token key (the only command that ever prints a key, on purpose)",
        description=(
            "Print a new Fernet key on stdout. This is the only place alphap ever shows "
            "key material, on purpose: put it FIRST in ALPHAP_TOKEN_KEYS (comma-separated, "
            "newest first) or the ALPHAP_TOKEN_KEYS credential, then run `alphap keys rotate`."
        ),
    )
    generate.set_defaults(handler=run_generate)
    rotate = keys_sub.add_parser(
        "rotate",
        help="re-encrypt every stored token under the newest key",
        description=(
            "Re-encrypt every stored token under the newest key (the first of "
            "ALPHAP_TOKEN_KEYS) in one transaction, and encrypt any plaintext token a "
            "legacy database holds. Afterwards the older keys may be removed."
        ),
    )
    rotate.set_defaults(handler=run_rotate)


def run_generate(_: Settings, __: argparse.Namespace) -> int:
    # Written directly: say() redacts, and a Fernet key is exactly what it masks.
    sys.stdout.write(generate_key() + "\n")
    sys.stdout.flush()
    return 0


def run_rotate(settings: Settings, _: argparse.Namespace) -> int:
    try:
        cipher = token_cipher(settings)
        if not cipher.has_keys:
            raise AlphapError("no token key configured: set ALPHAP_TOKEN_KEYS (newest first)")
        with server_urls(settings, need_redis=False) as urls:
            schema.ensure_at_head(urls.database)
            with database_pool(settings, urls.database) as pool, unit_of_work(pool) as uow:
                result = SessionRepository(cipher).rotate_tokens(uow.conn)
    except PersistenceError as exc:
        raise AlphapError(str(exc)) from None
    say(
        f"rotated {result.rotated} token(s) and encrypted {result.encrypted_plaintext} "
        f"plaintext token(s) in {result.sessions} session(s) under the newest key"
    )
    return 0
