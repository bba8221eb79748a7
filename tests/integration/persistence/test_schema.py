"""The schema under Alembic: at head after migrate, checked, and reversible."""

from __future__ import annotations

import pytest

from persistence import schema
from persistence.errors import SchemaNotAtHeadError


def test_empty_database_is_not_at_head(empty_database_url: str) -> None:
    with pytest.raises(SchemaNotAtHeadError, match="alphap migrate"):
        schema.ensure_at_head(empty_database_url)


def test_migrated_database_is_at_head(database_url: str) -> None:
    schema.ensure_at_head(database_url)
    assert schema.current_revision(database_url) == schema.head_revision()


def test_downgrade_to_base_and_up_again(database_url: str) -> None:
    schema.downgrade(database_url, "base")
    assert schema.current_revision(database_url) is None
    schema.upgrade(database_url)
    schema.ensure_at_head(database_url)
