"""Fixtures of the dead-letter integration tests."""

from __future__ import annotations

import pytest
import redis

from supervision.deadletters import DeadLetterRegistry


@pytest.fixture
def registry(redis_client: redis.Redis, redis_prefix: str) -> DeadLetterRegistry:
    """A registry under this test's own prefix."""
    return DeadLetterRegistry(redis_client, redis_prefix)
