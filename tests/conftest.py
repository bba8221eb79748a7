"""Fixtures shared by every kind of test."""

pytest_plugins = ["tests.fixtures.servers", "tests.fixtures.fake_kite"]
