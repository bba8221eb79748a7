"""The broker session: one row per user, its token fields encrypted at rest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import structlog
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from persistence import jsonb
from persistence.cipher import TokenCipher, looks_encrypted

log = structlog.get_logger(__name__)

TOKEN_FIELDS = frozenset(
    {"access_token", "refresh_token", "public_token", "enctoken", "request_token"}
)


class Session(BaseModel):
    """A broker session; `session_data` holds plaintext tokens in memory only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(min_length=1)
    session_id: str
    broker: str = "zerodha"
    session_data: dict[str, Any] = Field(default_factory=dict, repr=False)
    expires_at: AwareDatetime
    is_active: bool = True
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    last_validated: AwareDatetime | None = None
    id: int | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


@dataclass(frozen=True)
class RotationResult:
    """What `rotate_tokens` did."""

    sessions: int
    rotated: int
    encrypted_plaintext: int


def _encrypt_tokens(data: Mapping[str, Any], cipher: TokenCipher) -> dict[str, Any]:
    return {
        key: cipher.encrypt(value) if key in TOKEN_FIELDS and isinstance(value, str) else value
        for key, value in data.items()
    }


def _decrypt_tokens(data: Mapping[str, Any], cipher: TokenCipher) -> dict[str, Any]:
    return {
        key: cipher.decrypt(value) if key in TOKEN_FIELDS and isinstance(value, str) else value
        for key, value in data.items()
    }


class SessionRepository:
    """Reads and writes trading_sessions, encrypting tokens with `cipher`."""

    def __init__(self, cipher: TokenCipher) -> None:
        self._cipher = cipher

    def save(self, conn: psycopg.Connection[Any], session: Session) -> int:
        """Insert or replace the user's session (one row per user); return its row id."""
        data = _encrypt_tokens(session.session_data, self._cipher)
        row = conn.execute(
            """
            INSERT INTO trading_sessions AS s (
                user_id, session_id, broker, start_time, end_time, expires_at,
                is_active, session_data, last_validated
            )
            VALUES (%(user_id)s, %(session_id)s, %(broker)s, COALESCE(%(start_time)s, now()),
                    %(end_time)s, %(expires_at)s, %(is_active)s, %(data)s, %(last_validated)s)
            ON CONFLICT (user_id) DO UPDATE SET
                session_id = EXCLUDED.session_id,
                broker = EXCLUDED.broker,
                start_time = EXCLUDED.start_time,
                end_time = EXCLUDED.end_time,
                expires_at = EXCLUDED.expires_at,
                is_active = EXCLUDED.is_active,
                session_data = EXCLUDED.session_data,
                last_validated = EXCLUDED.last_validated,
                updated_at = now()
            RETURNING id
            """,
            {
                "user_id": session.user_id,
                "session_id": session.session_id,
                "broker": session.broker,
                "start_time": session.start_time,
                "end_time": session.end_time,
                "expires_at": session.expires_at,
                "is_active": session.is_active,
                "data": Jsonb(data, dumps=jsonb.dumps),
                "last_validated": session.last_validated,
            },
        ).fetchone()
        assert row is not None  # INSERT ... ON CONFLICT DO UPDATE always returns the row
        log.debug(
            "session_saved",
            id=row[0],
            user_id=session.user_id,
            session_id=session.session_id,
            expires_at=session.expires_at,
            encrypted_fields=sorted(TOKEN_FIELDS & session.session_data.keys()),
        )
        return int(row[0])

    def latest(self, conn: psycopg.Connection[Any], user_id: str | None = None) -> Session | None:
        """The most recently updated session (of `user_id`, or of anyone), tokens decrypted."""
        with conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                """
                SELECT id, user_id, session_id, broker, start_time, end_time, expires_at,
                       is_active, session_data, last_validated, created_at, updated_at
                FROM trading_sessions
                WHERE %(user_id)s::text IS NULL OR user_id = %(user_id)s::text
                ORDER BY updated_at DESC, id DESC
                LIMIT 1
                """,
                {"user_id": user_id},
            ).fetchone()
        if row is None:
            return None
        row["session_data"] = _decrypt_tokens(row["session_data"], self._cipher)
        session = Session.model_validate(row)
        log.debug(
            "session_loaded",
            id=session.id,
            user_id=session.user_id,
            session_id=session.session_id,
            expires_at=session.expires_at,
            is_active=session.is_active,
        )
        return session

    def mark_expired(self, conn: psycopg.Connection[Any], now: datetime) -> int:
        """Deactivate every active session that expired by `now`; return how many."""
        cur = conn.execute(
            """
            UPDATE trading_sessions
            SET is_active = FALSE, end_time = COALESCE(end_time, %(now)s), updated_at = now()
            WHERE is_active AND expires_at <= %(now)s
            """,
            {"now": now},
        )
        return cur.rowcount

    def rotate_tokens(self, conn: psycopg.Connection[Any]) -> RotationResult:
        """Re-encrypt every stored token under the newest key; encrypt plaintext leftovers.

        Sessions a legacy adoption moved into legacy_duplicates are included:
        their tokens rest in the database too.
        """
        rows = conn.execute(
            "SELECT id, session_data FROM trading_sessions ORDER BY id FOR UPDATE"
        ).fetchall()
        ids: list[int] = []
        documents: list[Jsonb] = []
        rotated = plaintext = 0
        for row_id, data in rows:
            updated, row_rotated, row_plaintext = self._reencrypt(data)
            rotated += row_rotated
            plaintext += row_plaintext
            if updated != data:
                ids.append(row_id)
                documents.append(Jsonb(updated, dumps=jsonb.dumps))
        if ids:
            conn.execute(
                """
                UPDATE trading_sessions AS s SET session_data = u.data, updated_at = now()
                FROM unnest(%s::bigint[], %s::jsonb[]) AS u(id, data)
                WHERE s.id = u.id
                """,
                (ids, documents),
            )
        legacy = self._rotate_legacy_duplicates(conn)
        return RotationResult(
            sessions=len(ids) + legacy.sessions,
            rotated=rotated + legacy.rotated,
            encrypted_plaintext=plaintext + legacy.encrypted_plaintext,
        )

    def _reencrypt(self, data: dict[str, Any]) -> tuple[dict[str, Any], int, int]:
        updated = dict(data)
        rotated = plaintext = 0
        for key in TOKEN_FIELDS & updated.keys():
            value = updated[key]
            if not isinstance(value, str) or not value:
                continue
            if looks_encrypted(value):
                updated[key] = self._cipher.rotate(value)
                rotated += 1
            else:
                updated[key] = self._cipher.encrypt(value)
                plaintext += 1
        return updated, rotated, plaintext

    def _rotate_legacy_duplicates(self, conn: psycopg.Connection[Any]) -> RotationResult:
        exists = conn.execute("SELECT to_regclass('legacy_duplicates') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return RotationResult(sessions=0, rotated=0, encrypted_plaintext=0)
        rows = conn.execute(
            """
            SELECT id, row_data FROM legacy_duplicates
            WHERE source_table = 'trading_sessions'
              AND jsonb_typeof(row_data -> 'session_data') = 'object'
            ORDER BY id FOR UPDATE
            """
        ).fetchall()
        changed = rotated = plaintext = 0
        for row_id, row_data in rows:
            updated, row_rotated, row_plaintext = self._reencrypt(row_data["session_data"])
            if row_rotated or row_plaintext:
                conn.execute(
                    "UPDATE legacy_duplicates SET row_data = %s WHERE id = %s",
                    (Jsonb({**row_data, "session_data": updated}, dumps=jsonb.dumps), row_id),
                )
                changed += 1
                rotated += row_rotated
                plaintext += row_plaintext
        return RotationResult(sessions=changed, rotated=rotated, encrypted_plaintext=plaintext)
