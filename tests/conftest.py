"""Fixtures shared by every kind of test."""

pytest_plugins = ["tests.fixtures.servers"]
