"""Secrets never reach a log event, whatever shape they arrive in."""

from __future__ import annotations

from structlog.testing import capture_logs

from alphap.logs import redact_processor
from supervision.redaction import Redactor


def _redacted(redactor: Redactor, **event: object) -> dict[str, object]:
    with capture_logs(processors=[redact_processor(redactor)]) as logs:
        import structlog

        structlog.get_logger().info("evt", **event)
    return logs[0]


def test_secret_keys_and_known_values_and_shapes_are_masked() -> None:
    redactor = Redactor(["s3cr3t-api-secret"])
    fernet_key = "q6fOUH8oQ0R9Xw2mNrbQ8l0g1Vd6bZcR8YHq3dQKx9M="
    event = _redacted(
        redactor,
        access_token="abc123token",  # noqa: S106 - a fake secret to mask
        nested={"request_token": "rq-1", "ok": "fine"},
        message="calling with s3cr3t-api-secret now",
        dsn="postgresql://alice:hunter22@db.example:5432/alphap",
        conninfo="host=db password=hunter22 dbname=x",
        key_material=f"keys: {fernet_key}",
        header="Authorization: token myapikey:accesstok99",
    )
    text = repr(event)
    for secret in (
        "abc123token",
        "rq-1",
        "s3cr3t-api-secret",
        "hunter22",
        fernet_key,
        "accesstok99",
    ):
        assert secret not in text
    assert event["nested"] == {"request_token": "***", "ok": "fine"}
    assert event["dsn"] == "postgresql://alice:***@db.example:5432/alphap"
