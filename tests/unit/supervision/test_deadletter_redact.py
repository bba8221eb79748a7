"""Redacting a letter: payload, original, error message and traceback."""

from __future__ import annotations

import json

from supervision.deadletters import DeadLetter
from supervision.deadletters.redact import redact_letter
from supervision.redaction import DEFAULT_REDACTOR, Redactor


def test_every_free_text_field_is_masked() -> None:
    letter = DeadLetter(
        actor="session",
        message_type="Login",
        payload={"request_token": "rqT0ken123", "user": "AB1234"},
        original=json.dumps({"api_secret": "sh-secret-1", "user": "AB1234"}),
        error_message="connect failed: postgresql://u:pw-xyz-987@h/db",
        traceback="Authorization: token apikey1:acc3sst0ken",
    )
    clean = redact_letter(letter, DEFAULT_REDACTOR)
    text = clean.model_dump_json()
    for secret in ("rqT0ken123", "sh-secret-1", "pw-xyz-987", "acc3sst0ken"):
        assert secret not in text
    assert clean.payload["user"] == "AB1234"
    assert clean.id == letter.id


def test_redacting_twice_changes_nothing_more() -> None:
    letter = DeadLetter(
        actor="a",
        message_type="m",
        original='{"password": "hunter22", "x": 1}',
        error_message="password=hunter22",
    )
    once = redact_letter(letter, Redactor())
    assert redact_letter(once, Redactor()) == once


def test_a_non_json_original_is_redacted_as_text() -> None:
    letter = DeadLetter(actor="a", message_type="m", original="dsn=redis://:pa55word@r:6379/0")
    assert redact_letter(letter, Redactor()).original == "dsn=redis://:***@r:6379/0"


def test_json_nested_too_deep_to_walk_is_redacted_as_text() -> None:
    for depth in (600, 5_000, 100_000):
        original = "[" * depth + '"redis://:hunter22@r:6379/0"' + "]" * depth
        clean = redact_letter(
            DeadLetter(actor="a", message_type="m", original=original), Redactor()
        )
        assert clean.original == original.replace("hunter22", "***")
        clean.model_dump_json()


def test_a_rewritten_original_stays_storable_with_a_lone_surrogate_escape() -> None:
    original = '{"note": "\\ud800", "password": "hunter22"}'
    clean = redact_letter(DeadLetter(actor="a", message_type="m", original=original), Redactor())
    assert clean.original is not None and "hunter22" not in clean.original
    assert json.loads(clean.original) == {"note": "\ud800", "password": "***"}
    assert DeadLetter.model_validate_json(clean.model_dump_json()) == clean
    assert redact_letter(clean, Redactor()) == clean


def test_long_runs_of_letters_are_redacted_in_linear_time() -> None:
    # Quadratic before: this took hours and stalled the dead-letter actor (the test timeout
    # would fail it); now well under a second.
    padding = "z" * 2_000_000
    original = json.dumps({"pad": padding, "dsn": "postgresql://u:pw-xyz-987@h/db"})
    clean = redact_letter(DeadLetter(actor="a", message_type="m", original=original), Redactor())
    assert clean.original is not None and "pw-xyz-987" not in clean.original
    assert Redactor().text(padding + "x://u:pw-xyz-987@h") == padding + "x://u:***@h"
