"""`alphap instruments load`: the instrument master from a Kite instruments CSV dump.

The dump comes from a file (`--file`) or from Kite itself (`--kite`), with the
access token of the session `alphap login` stored.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actors.errors import KiteError
from actors.instruments import NoKiteSessionError, fetch_kite_dump, stored_access_token
from actors.session import utc_now
from alphap.database import database_pool, token_cipher
from alphap.errors import AlphapError
from alphap.kite import require_kite_access
from alphap.output import say
from alphap.settings import Settings
from alphap.wiring import server_urls
from persistence import schema
from persistence.errors import PersistenceError
from persistence.instruments import DumpSource, LoadResult, load_instruments
from persistence.pool import Pool

_SHOWN_SKIPPED = 20


def register(subparsers: Any) -> None:
    instruments = subparsers.add_parser("instruments", help="the instrument master")
    sub = instruments.add_subparsers(dest="instruments_command", metavar="COMMAND", required=True)
    load = sub.add_parser(
        "load",
        help="load a Kite instruments CSV dump",
        description=(
            "Load a Kite instruments CSV dump in one transaction: new instruments are "
            "inserted, changed ones updated, and (unless --partial) those the dump no "
            "longer lists are marked inactive, never deleted. Any invalid row stops the "
            "load with its line number and changes nothing, unless --skip-invalid. "
            "--kite downloads today's dump with the session `alphap login` stored."
        ),
    )
    source = load.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", type=Path, help="the CSV dump to load")
    source.add_argument(
        "--kite", action="store_true", help="download the full dump from Kite (kite.instruments())"
    )
    load.add_argument(
        "--skip-invalid", action="store_true", help="load the valid rows, report the others"
    )
    load.add_argument(
        "--partial",
        action="store_true",
        help="the dump is not complete: do not deactivate instruments it does not list",
    )
    load.set_defaults(handler=run_load)


def _progress(total: int) -> Callable[[int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(sent: int) -> None:
        percent = 100 * sent // total if total else 100
        sys.stderr.write(f"\rsending {sent / 1e6:.1f} of {total / 1e6:.1f} MB ({percent}%)")
        sys.stderr.flush()

    return show


def _kite_dump(settings: Settings, pool: Pool) -> str:
    access = require_kite_access(settings)
    try:
        token = stored_access_token(pool, token_cipher(settings), utc_now())
        return fetch_kite_dump(access, token)
    except NoKiteSessionError as exc:
        raise AlphapError(str(exc)) from None
    except KiteError as exc:
        raise AlphapError(f"downloading the instruments from Kite: {exc}") from None


def run_load(settings: Settings, args: argparse.Namespace) -> int:
    path: Path | None = args.file
    if path is not None and not path.is_file():
        raise AlphapError(f"{path}: no such file")
    if args.kite:
        require_kite_access(settings)
    progress: Callable[[int], None] | None = None
    with server_urls(settings, need_redis=False) as urls:
        try:
            schema.ensure_at_head(urls.database)
            with database_pool(settings, urls.database) as pool:
                source: DumpSource
                if path is not None:
                    source, size = path, path.stat().st_size
                else:
                    text = _kite_dump(settings, pool)
                    source, size = io.StringIO(text, newline=""), len(text.encode())
                progress = _progress(size)
                started = time.perf_counter()
                with pool.connection() as conn, conn.transaction():
                    result = load_instruments(
                        conn,
                        source,
                        full=not args.partial,
                        skip_invalid=args.skip_invalid,
                        progress=progress,
                    )
                elapsed = time.perf_counter() - started
        except PersistenceError as exc:
            raise AlphapError(str(exc)) from None
        finally:
            if progress is not None:
                sys.stderr.write("\n")
    _report(result, elapsed)
    return 0


def _report(result: LoadResult, elapsed: float) -> None:
    if result.invalid:
        say(f"skipped {len(result.invalid)} invalid row(s):")
        for problem in result.invalid[:_SHOWN_SKIPPED]:
            say(f"  {problem}")
        if len(result.invalid) > _SHOWN_SKIPPED:
            say(f"  ... and {len(result.invalid) - _SHOWN_SKIPPED} more")
    say(
        f"loaded {result.rows} rows: {result.inserted} inserted, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.deactivated} deactivated "
        f"in {elapsed:.2f} s"
    )
