"""What a dead letter of the ingress keeps of the document it refused."""

from __future__ import annotations

from actors.documents.json_text import MAX_DOCUMENT_BYTES
from actors.ingress_batch import ORIGINAL_PREVIEW_BYTES, route
from actors.ingress_replay import replayable
from actors.stream import StreamEntry
from supervision.deadletters import DeadLetter


def refused_letter(data: bytes) -> DeadLetter:
    batch = route(1, [StreamEntry("1-0", data)], stream="s", refusal=lambda _: None, version="v")
    (letter,) = batch.letters
    return letter


def test_a_refused_document_is_kept_whole_for_replay() -> None:
    letter = refused_letter(b'{"type": "order_filled"}')
    assert letter.original == '{"type": "order_filled"}'
    assert replayable(letter)


def test_an_oversized_document_keeps_only_its_size_and_a_preview() -> None:
    data = b'{"type": "market_tick", "pad": "' + b"x" * (4 * MAX_DOCUMENT_BYTES) + b'"}'
    letter = refused_letter(data)
    assert "larger than" in letter.reason
    assert letter.original is None
    assert letter.payload == {
        "original_bytes": len(data),
        "original_preview": data[:ORIGINAL_PREVIEW_BYTES].decode(),
    }
    assert not replayable(letter)
