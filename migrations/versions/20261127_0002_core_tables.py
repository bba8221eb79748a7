"""Core tables: sessions, strategies, snapshots, the event journal, instruments.

On a database the old system made with create_all, the old tables are adopted:
set aside, created here as on a fresh database, and their rows copied in, with
the rows that break the new unique keys moved into legacy_duplicates
(persistence/legacy.py). Adoption is one-way: downgrading drops the tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

from persistence import legacy

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind().connection.driver_connection
    adopting = bool(legacy.legacy_tables(conn))
    if adopting:
        legacy.set_aside(conn)
    op.execute(
        """
        CREATE TABLE trading_sessions (
            id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            session_id      TEXT NOT NULL,
            user_id         TEXT NOT NULL,
            broker          TEXT NOT NULL DEFAULT 'zerodha',
            start_time      TIMESTAMPTZ NOT NULL DEFAULT now(),
            end_time        TIMESTAMPTZ,
            expires_at      TIMESTAMPTZ NOT NULL,
            is_active       BOOLEAN NOT NULL DEFAULT TRUE,
            -- token fields inside are Fernet ciphertext, never plaintext
            session_data    JSONB NOT NULL DEFAULT '{}'::jsonb,
            last_validated  TIMESTAMPTZ,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT trading_sessions_user_id_key UNIQUE (user_id)
        );
        CREATE INDEX ix_trading_sessions_updated_at ON trading_sessions (updated_at);

        CREATE TABLE strategy_configurations (
            id                       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            strategy_id              TEXT NOT NULL,
            name                     TEXT NOT NULL DEFAULT '',
            strategy_type            TEXT NOT NULL DEFAULT '',
            parameters               JSONB NOT NULL DEFAULT '{}'::jsonb,
            instruments              JSONB NOT NULL DEFAULT '[]'::jsonb,
            is_active                BOOLEAN NOT NULL DEFAULT TRUE,
            zerodha_trading_enabled  BOOLEAN NOT NULL DEFAULT FALSE,
            created_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT strategy_configurations_strategy_id_key UNIQUE (strategy_id)
        );

        CREATE TABLE portfolio_snapshots (
            id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            broker_namespace      TEXT NOT NULL,
            portfolio_id          TEXT NOT NULL,
            strategy_id           TEXT NOT NULL DEFAULT '',
            positions             JSONB NOT NULL DEFAULT '{}'::jsonb,
            cash                  NUMERIC NOT NULL,
            total_realized_pnl    NUMERIC NOT NULL DEFAULT 0,
            total_unrealized_pnl  NUMERIC NOT NULL DEFAULT 0,
            total_pnl             NUMERIC NOT NULL DEFAULT 0,
            -- the last journal id whose fill this snapshot includes (0: none)
            last_journal_id       BIGINT NOT NULL DEFAULT 0,
            snapshot_time         TIMESTAMPTZ NOT NULL DEFAULT now(),
            created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT portfolio_snapshots_namespace_portfolio_key
                UNIQUE (broker_namespace, portfolio_id)
        );
        CREATE INDEX ix_portfolio_snapshots_namespace_time
            ON portfolio_snapshots (broker_namespace, snapshot_time DESC);

        CREATE TABLE trading_events (
            journal_id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_id          UUID NOT NULL,
            event_type        TEXT NOT NULL,
            broker_namespace  TEXT NOT NULL,
            portfolio_id      TEXT,
            strategy_id       TEXT,
            instrument_token  BIGINT,
            correlation_id    TEXT,
            event_timestamp   TIMESTAMPTZ NOT NULL,
            event_data        JSONB NOT NULL,
            recorded_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT trading_events_event_id_key UNIQUE (event_id)
        );
        CREATE INDEX ix_trading_events_namespace_timestamp
            ON trading_events (broker_namespace, event_timestamp);
        CREATE INDEX ix_trading_events_correlation_id ON trading_events (correlation_id);
        CREATE INDEX ix_trading_events_portfolio_journal
            ON trading_events (broker_namespace, portfolio_id, journal_id)
            WHERE event_type = 'order_filled';

        CREATE TABLE instruments (
            instrument_token  BIGINT PRIMARY KEY,
            exchange_token    BIGINT NOT NULL,
            tradingsymbol     TEXT NOT NULL,
            name              TEXT NOT NULL DEFAULT '',
            last_price        NUMERIC NOT NULL DEFAULT 0,
            expiry            DATE,
            strike            NUMERIC NOT NULL DEFAULT 0,
            tick_size         NUMERIC NOT NULL DEFAULT 0,
            lot_size          INTEGER NOT NULL DEFAULT 0,
            instrument_type   TEXT NOT NULL,
            segment           TEXT NOT NULL,
            exchange          TEXT NOT NULL,
            active            BOOLEAN NOT NULL DEFAULT TRUE,
            created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_instruments_exchange_symbol ON instruments (exchange, tradingsymbol);

        -- RESTRICT, not CASCADE: instruments are never deleted (a full dump only
        -- marks missing ones inactive), so a delete that reaches a registered
        -- instrument is a mistake to stop, not to propagate.
        CREATE TABLE instrument_registry (
            id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            instrument_token  BIGINT NOT NULL
                REFERENCES instruments (instrument_token) ON DELETE RESTRICT,
            tradingsymbol     TEXT NOT NULL,
            exchange          TEXT NOT NULL,
            is_active         BOOLEAN NOT NULL DEFAULT TRUE,
            created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT instrument_registry_instrument_token_key UNIQUE (instrument_token)
        );

        -- Whole rows of an adopted legacy database that the new unique keys or
        -- foreign key could not keep; created everywhere so every database at
        -- head has one schema.
        CREATE TABLE legacy_duplicates (
            id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source_table  TEXT NOT NULL,
            row_data      JSONB NOT NULL,
            moved_at      TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """
    )
    if adopting:
        legacy.adopt(conn)


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE legacy_duplicates;
        DROP TABLE instrument_registry;
        DROP TABLE instruments;
        DROP TABLE trading_events;
        DROP TABLE portfolio_snapshots;
        DROP TABLE strategy_configurations;
        DROP TABLE trading_sessions;
        """
    )
