"""Fixtures of the security tests: the CLI environment of tests/integration/alphap."""

from tests.integration.alphap.conftest import cipher, cli_env, kite_env, token_key

__all__ = ["cipher", "cli_env", "kite_env", "token_key"]
