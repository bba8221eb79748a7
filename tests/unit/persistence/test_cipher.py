"""The token cipher: newest key encrypts, any key decrypts, errors never show secrets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from persistence.cipher import TokenCipher, generate_key, looks_encrypted, parse_keys
from persistence.errors import (
    InvalidTokenKeyError,
    PersistenceError,
    TokenDecryptError,
    TokenKeyMissingError,
)

OLD, NEW = generate_key(), generate_key()


@given(st.text())
def test_encrypt_then_decrypt_is_identity(plaintext: str) -> None:
    cipher = TokenCipher([NEW, OLD])
    token = cipher.encrypt(plaintext)
    assert looks_encrypted(token)
    assert cipher.decrypt(token) == plaintext


def test_rotate_moves_a_token_to_the_newest_key() -> None:
    token = TokenCipher([OLD]).encrypt("acc-tok-123")
    rotated = TokenCipher([NEW, OLD]).rotate(token)
    assert TokenCipher([NEW]).decrypt(rotated) == "acc-tok-123"
    with pytest.raises(TokenDecryptError):
        TokenCipher([NEW]).decrypt(token)


def test_keys_are_parsed_newest_first_ignoring_blanks() -> None:
    assert parse_keys(f" {NEW} , ,{OLD},") == [NEW, OLD]
    assert parse_keys(None) == []
    assert TokenCipher.from_text(f"{NEW},{OLD}").key_count == 2


def test_no_key_is_a_clear_persistence_error() -> None:
    cipher = TokenCipher.from_text("")
    assert not cipher.has_keys
    with pytest.raises(TokenKeyMissingError, match="no token key is configured") as caught:
        cipher.encrypt("acc-tok-123")
    assert isinstance(caught.value, PersistenceError)
    with pytest.raises(TokenKeyMissingError):
        cipher.decrypt("gAAAAA")


def test_errors_never_contain_keys_or_tokens() -> None:
    with pytest.raises(InvalidTokenKeyError) as bad_key:
        TokenCipher([NEW, "not-a-key-but-a-secret-value"])
    assert "key 2 of 2" in str(bad_key.value)
    assert "not-a-key-but-a-secret-value" not in str(bad_key.value)
    token = TokenCipher([OLD]).encrypt("acc-tok-123")
    with pytest.raises(TokenDecryptError) as undecryptable:
        TokenCipher([NEW]).decrypt(token)
    with pytest.raises(TokenDecryptError, match="not encrypted") as plaintext:
        TokenCipher([NEW]).decrypt("acc-tok-plain-456")
    for error in (undecryptable.value, plaintext.value):
        for secret in (NEW, OLD, token, "acc-tok-plain-456", "acc-tok-123"):
            assert secret not in str(error)
    assert NEW not in repr(TokenCipher([NEW]))


def test_plaintext_never_looks_encrypted() -> None:
    assert not looks_encrypted("")
    assert not looks_encrypted("0123456789abcdefABCDEF0123456789")
    assert not looks_encrypted("acc tok with spaces")
    assert not looks_encrypted("gAAAAABshort")
