"""`alphap dlq`: every verb against the real Redis, filters honoured exactly, secrets masked."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis
import structlog

from actors.ingress_batch import ingress_letter
from actors.ingress_replay import IngressRequeuer, marker_key
from actors.stream import StreamEntry, stream_key
from alphap.cli import main
from alphap.embedded import free_port
from supervision.deadletters import DeadLetter, DeadLetterRegistry, LetterFilter
from supervision.redaction import Redactor
from tests.integration.supervision.letters import make_letter

NOW = datetime.now(UTC)
IST = timezone(timedelta(hours=5, minutes=30))
UNSET = (
    "CREDENTIALS_DIRECTORY",
    "ALPHAP_DATABASE_URL",
    "ALPHAP_KITE_API_KEY",
    "ALPHAP_KITE_API_SECRET",
    "ALPHAP_KITE_ACCESS_TOKEN",
    "ALPHAP_TOKEN_KEYS",
)


@pytest.fixture
def dlq_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_server_url: str, redis_prefix: str
) -> Iterator[None]:
    """The test Redis under this test's prefix; no database, no env file, no secrets."""
    monkeypatch.setenv("ALPHAP_REDIS_URL", redis_server_url)
    monkeypatch.setenv("ALPHAP_REDIS_PREFIX", redis_prefix)
    monkeypatch.setenv("ALPHAP_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("ALPHAP_STATE_DIR", str(tmp_path / "state"))
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    # Not a terminal unless a test says so: bulk verbs must then refuse without --yes.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    yield
    structlog.reset_defaults()


@pytest.fixture
def registry(dlq_env: None, redis_client: redis.Redis, redis_prefix: str) -> DeadLetterRegistry:
    return DeadLetterRegistry(redis_client, redis_prefix)


class Terminal(io.StringIO):
    """stdin as a terminal on which the operator types `answer`; `before` runs first."""

    def __init__(self, answer: str, before: Callable[[], object] = lambda: None) -> None:
        super().__init__()
        self.answer = answer
        self.before = before
        self.asked = 0

    def isatty(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:
        self.asked += 1
        self.before()
        return self.answer + "\n"


def ingress(
    prefix: str,
    document: str,
    *,
    entry_id: str | None = None,
    error_type: str = "InvalidDocumentError",
    at: datetime | None = None,
) -> DeadLetter:
    """A dead letter as the ingress makes it from an invalid document."""
    entry = StreamEntry(entry_id or f"{uuid.uuid4().int % 10**12}-0", document.encode())
    letter = ingress_letter(
        stream_key(prefix),
        entry,
        message_type="ingress_document",
        error_type=error_type,
        reason="field 'quantity' is missing",
        version="test",
    )
    return letter.model_copy(update={"last_failed_at": at or NOW, "first_failed_at": at or NOW})


def run(*argv: str) -> int:
    return main(["dlq", *argv])


def out_json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def stream_documents(client: redis.Redis, prefix: str) -> list[bytes]:
    return [fields[b"data"] for _, fields in client.xrange(stream_key(prefix))]


def ids_of(registry: DeadLetterRegistry) -> set[str]:
    return set(registry.get_ids())


@pytest.fixture
def mixed(registry: DeadLetterRegistry, redis_prefix: str) -> dict[str, DeadLetter]:
    """Ingress letters of two error types at three ages, and poison messages of two actors."""
    letters = {
        "bad_recent": ingress(redis_prefix, '{"type":"order_filled"}', at=NOW - timedelta(hours=1)),
        "bad_old": ingress(redis_prefix, '{"type":"market_tick"}', at=NOW - timedelta(days=3)),
        "refused": ingress(
            redis_prefix,
            '{"type":"order_filled","quantity":5}',
            error_type="StrategyRefused",
            at=NOW - timedelta(minutes=30),
        ),
        "portfolio": make_letter("portfolio", "AccountingError", at=NOW - timedelta(minutes=10)),
        "journal": make_letter("journal", "ValueError", at=NOW - timedelta(days=2)),
    }
    for letter in letters.values():
        assert registry.add(letter) == 1
    return letters


def test_list_json_has_the_documented_fields_newest_first(
    mixed: dict[str, DeadLetter], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("list", "--json") == 0
    rows = out_json(capsys)
    assert isinstance(rows, list)
    expected = sorted(mixed.values(), key=lambda letter: letter.last_failed_at, reverse=True)
    assert [row["id"] for row in rows] == [letter.id for letter in expected]
    row = next(r for r in rows if r["id"] == mixed["bad_recent"].id)
    letter = mixed["bad_recent"]
    assert row == row | {
        "actor": "ingress",
        "error_type": "InvalidDocumentError",
        "error": "field 'quantity' is missing",
        "attempts": 1,
        "first_failed_at": letter.first_failed_at.isoformat(),
        "last_failed_at": letter.last_failed_at.isoformat(),
        "source": letter.source_id,
        "message": '{"type":"order_filled"}',
        "replayable": True,
    }
    poison = next(r for r in rows if r["id"] == mixed["portfolio"].id)
    assert poison["source"] is None and poison["message"] is None
    assert poison["replayable"] is False


@pytest.mark.parametrize(
    ("options", "names"),
    [
        (["--actor", "ingress"], {"bad_recent", "bad_old", "refused"}),
        (["--error", "StrategyRefused"], {"refused"}),
        (["--actor", "ingress", "--error", "InvalidDocumentError"], {"bad_recent", "bad_old"}),
        (["--since", "2h"], {"bad_recent", "refused", "portfolio"}),
        (["--since", "90m", "--actor", "ingress"], {"bad_recent", "refused"}),
        (["--until", "1d"], {"bad_old", "journal"}),
        (["--actor", "nobody"], set()),
    ],
)
def test_list_filters(
    mixed: dict[str, DeadLetter],
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    names: set[str],
) -> None:
    assert run("list", "--json", *options) == 0
    rows = out_json(capsys)
    assert isinstance(rows, list)
    assert {row["id"] for row in rows} == {mixed[name].id for name in names}


def test_since_takes_iso_8601_with_an_offset(
    mixed: dict[str, DeadLetter], capsys: pytest.CaptureFixture[str]
) -> None:
    # 2.5 days ago, written in India's offset: only the three-day-old letter is older.
    since = (NOW - timedelta(days=2, hours=12)).astimezone(IST).isoformat()
    assert "+05:30" in since
    assert run("list", "--json", "--since", since) == 0
    rows = out_json(capsys)
    assert isinstance(rows, list)
    assert {row["id"] for row in rows} == {
        letter.id for name, letter in mixed.items() if name != "bad_old"
    }


def test_list_table_and_limit(
    mixed: dict[str, DeadLetter], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("list", "--limit", "2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "id", "last_failed_at", "actor", "error_type", "attempts", "source", "error"
    ]  # fmt: skip
    newest = mixed["portfolio"]
    assert lines[1].split()[:5] == [
        newest.id,
        newest.last_failed_at.astimezone(UTC).isoformat(timespec="seconds"),
        "portfolio",
        "AccountingError",
        "3",
    ]
    assert lines[2].split()[0] == mixed["refused"].id
    assert lines[3] == "showing the newest 2 of 5 (see --limit)"
    assert len(lines) == 4


def test_list_says_when_nothing_matches(
    registry: DeadLetterRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("list", "--actor", "ingress") == 0
    assert capsys.readouterr().out == "no dead letters matching actor=ingress\n"


def test_show_in_both_forms(
    mixed: dict[str, DeadLetter], capsys: pytest.CaptureFixture[str]
) -> None:
    letter = mixed["bad_recent"]
    assert run("show", letter.id) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"dead letter {letter.id}\n")
    assert "InvalidDocumentError: field 'quantity' is missing" in text
    assert f"source        {letter.source_id}" in text
    assert 'original document:\n  {"type":"order_filled"}\n' in text
    assert run("show", letter.id, "--json") == 0
    shown = out_json(capsys)
    assert isinstance(shown, dict)
    assert shown["id"] == letter.id and shown["message"] == letter.original
    assert shown["pid"] == letter.pid and shown["traceback"] == ""

    poison = mixed["portfolio"]
    assert run("show", poison.id) == 0
    assert "replayable    no (it keeps no original document)" in capsys.readouterr().out


def test_show_of_an_unknown_id_is_a_clear_error(
    registry: DeadLetterRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("show", "feedface") == 2
    captured = capsys.readouterr()
    assert captured.err == "alphap: no dead letter feedface\n"


def test_stats_by_actor_and_error_type(
    mixed: dict[str, DeadLetter], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("stats") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("5 dead letter(s), oldest ")
    assert lines[1:] == [
        "by actor",
        "  ingress    3",
        "  journal    1",
        "  portfolio  1",
        "by error type",
        "  InvalidDocumentError  2",
        "  AccountingError       1",
        "  StrategyRefused       1",
        "  ValueError            1",
    ]
    assert run("stats", "--json") == 0
    stats = out_json(capsys)
    assert isinstance(stats, dict)
    assert stats["total"] == 5
    assert stats["by_actor"] == {"ingress": 3, "journal": 1, "portfolio": 1}
    assert stats["by_error_type"]["InvalidDocumentError"] == 2


def test_replay_puts_the_exact_original_back_and_removes_the_letter(
    registry: DeadLetterRegistry,
    redis_client: redis.Redis,
    redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = '{"type": "order_filled",  "price": "101.50", "note": "ünïcode"}'
    letter = ingress(redis_prefix, document)
    registry.add(letter)
    assert run("replay", letter.id, "--yes") == 0
    entries = redis_client.xrange(stream_key(redis_prefix))
    assert [fields for _, fields in entries] == [{b"data": document.encode()}]
    assert registry.get(letter.id) is None
    out = capsys.readouterr().out
    assert f"replayed {letter.id} as ingress entry {entries[0][0].decode()}" in out
    assert "replayed 1 of 1" in out


def test_replaying_twice_adds_one_entry(
    registry: DeadLetterRegistry,
    redis_client: redis.Redis,
    redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    letter = ingress(redis_prefix, '{"type":"market_tick"}')
    registry.add(letter)
    assert run("replay", letter.id, "--yes") == 0
    capsys.readouterr()
    assert run("replay", letter.id, "--yes") == 0
    [(entry_id, _)] = redis_client.xrange(stream_key(redis_prefix))
    assert f"{letter.id}: already replayed as ingress entry {entry_id.decode()}" in (
        capsys.readouterr().out
    )
    assert run("replay", "--all", "--yes") == 0
    assert redis_client.xlen(stream_key(redis_prefix)) == 1


def test_a_replay_after_a_crash_between_put_and_removal_adds_no_second_entry(
    registry: DeadLetterRegistry,
    redis_client: redis.Redis,
    redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    letter = ingress(redis_prefix, '{"type":"market_tick"}')
    registry.add(letter)
    # The put of an earlier replay went through; the process died before removing the letter.
    IngressRequeuer(redis_client, redis_prefix).put(letter)
    [(entry_id, _)] = redis_client.xrange(stream_key(redis_prefix))
    assert run("replay", letter.id, "--yes") == 0
    assert redis_client.xlen(stream_key(redis_prefix)) == 1
    assert registry.get(letter.id) is None
    assert f"replayed {letter.id} as ingress entry {entry_id.decode()}" in capsys.readouterr().out
    assert redis_client.ttl(marker_key(redis_prefix, letter.id)) > 0


def test_a_failed_replay_keeps_the_letter(
    registry: DeadLetterRegistry,
    redis_client: redis.Redis,
    redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    letter = ingress(redis_prefix, '{"type":"market_tick"}')
    registry.add(letter)
    # Something that is not a stream under the ingress key: Redis refuses the XADD.
    redis_client.set(stream_key(redis_prefix), "not a stream")
    assert run("replay", letter.id, "--yes") == 1
    out = capsys.readouterr().out
    assert f"{letter.id}: not replayed, the letter is kept: ReplayRefusedError" in out
    assert "WRONGTYPE" in out
    assert "replayed 0 of 1" in out
    assert registry.get(letter.id) == letter
    assert redis_client.get(marker_key(redis_prefix, letter.id)) is None

    redis_client.delete(stream_key(redis_prefix))
    assert run("replay", letter.id, "--yes") == 0
    assert stream_documents(redis_client, redis_prefix) == [b'{"type":"market_tick"}']


def test_letters_without_an_original_are_not_replayed(
    mixed: dict[str, DeadLetter],
    registry: DeadLetterRegistry,
    redis_client: redis.Redis,
    redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    poison = mixed["portfolio"]
    assert run("replay", poison.id, "--yes") == 1
    out = capsys.readouterr().out
    assert f"{poison.id}: cannot be replayed: it keeps no original document" in out
    assert registry.get(poison.id) == poison
    assert not redis_client.exists(stream_key(redis_prefix))

    assert run("replay", "--all", "--since", "1h", "--yes") == 1
    out = capsys.readouterr().out
    assert f"replayed {mixed['refused'].id} as ingress entry" in out
    assert f"{poison.id}: cannot be replayed" in out
    assert "replayed 1 of 2" in out
    assert stream_documents(redis_client, redis_prefix) == [b'{"type":"order_filled","quantity":5}']


def test_replay_all_acts_on_exactly_the_filter_oldest_first(
    mixed: dict[str, DeadLetter],
    registry: DeadLetterRegistry,
    redis_client: redis.Redis,
    redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("replay", "--all", "--error", "InvalidDocumentError", "--yes") == 0
    out = capsys.readouterr().out
    assert "2 dead letter(s) matching error=InvalidDocumentError" in out
    assert stream_documents(redis_client, redis_prefix) == [
        mixed["bad_old"].original.encode(),  # type: ignore[union-attr]
        mixed["bad_recent"].original.encode(),  # type: ignore[union-attr]
    ]
    assert ids_of(registry) == {mixed[n].id for n in ("refused", "portfolio", "journal")}


def test_replay_json(
    mixed: dict[str, DeadLetter],
    redis_client: redis.Redis,
    redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("replay", "--all", "--actor", "ingress", "--since", "2h", "--json", "--yes") == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    entries = [e.decode() for e, _ in redis_client.xrange(stream_key(redis_prefix))]
    assert report["action"] == "replay"
    assert report["filter"]["actor"] == "ingress" and report["filter"]["error"] is None
    assert report["selected"] == 2
    assert report["replayed"] == {
        mixed["refused"].id: entries[1],
        mixed["bad_recent"].id: entries[0],
    }
    assert report["failed"] == {} and report["not_replayable"] == [] and report["missing"] == []
    assert "2 dead letter(s) matching actor=ingress" in captured.err


def test_purge_with_a_filter_touches_only_the_matching_letters(
    registry: DeadLetterRegistry, redis_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    letters = [
        ingress(redis_prefix, "{}", error_type=error, at=NOW - timedelta(minutes=minutes))
        for error in ("InvalidDocumentError", "StrategyRefused")
        for minutes in (5, 50, 500)
    ] + [
        make_letter(actor, error, at=NOW - timedelta(minutes=minutes))
        for actor in ("portfolio", "journal")
        for error in ("InvalidDocumentError", "ValueError")
        for minutes in (5, 500)
    ]
    for letter in letters:
        registry.add(letter)
    where = LetterFilter(
        actor="ingress", error_type="InvalidDocumentError", since=NOW - timedelta(hours=2)
    )
    matching = {letter.id for letter in letters if where.matches(letter)}
    assert len(matching) == 2
    assert run("purge", "--all", "--actor", "ingress", "--error", "InvalidDocumentError",
               "--since", "2h", "--yes") == 0  # fmt: skip
    assert ids_of(registry) == {letter.id for letter in letters} - matching
    assert "purged 2 dead letter(s)" in capsys.readouterr().out


def test_purge_by_id_and_json(
    mixed: dict[str, DeadLetter], registry: DeadLetterRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = [mixed["journal"].id, mixed["bad_old"].id]
    assert run("purge", *chosen, "--yes", "--json") == 0
    report = out_json(capsys)
    assert isinstance(report, dict)
    assert report == {
        "action": "purge",
        "filter": None,
        "selected": 2,
        "purged": 2,
        "ids": [mixed["bad_old"].id, mixed["journal"].id],
        "missing": [],
    }
    assert ids_of(registry) == {mixed[n].id for n in ("bad_recent", "refused", "portfolio")}

    assert run("purge", mixed["portfolio"].id, "cafebabe", "--yes") == 1
    out = capsys.readouterr().out
    assert "cafebabe: no such dead letter" in out and "purged 1 dead letter(s)" in out


@pytest.mark.parametrize("verb", ["purge", "replay"])
def test_bulk_verbs_refuse_without_a_terminal_or_yes(
    mixed: dict[str, DeadLetter],
    registry: DeadLetterRegistry,
    redis_client: redis.Redis,
    capsys: pytest.CaptureFixture[str],
    verb: str,
) -> None:
    assert run(verb, "--all", "--actor", "ingress") == 2
    captured = capsys.readouterr()
    assert f"{verb} 3 dead letter(s) matching actor=ingress" in captured.out
    assert captured.err.startswith(f"alphap: refusing to {verb} 3 dead letter(s) without")
    assert "add --yes" in captured.err
    assert len(ids_of(registry)) == 5
    assert not redis_client.exists(stream_key(registry.keys.prefix))


def test_confirmation_on_a_terminal(
    mixed: dict[str, DeadLetter],
    registry: DeadLetterRegistry,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    declined = Terminal("n")
    monkeypatch.setattr("sys.stdin", declined)
    assert run("purge", "--all", "--actor", "journal") == 1
    captured = capsys.readouterr()
    assert "purge 1 dead letter(s)? [y/N]" in captured.err
    assert "nothing purged" in captured.out
    assert declined.asked == 1 and len(ids_of(registry)) == 5

    monkeypatch.setattr("sys.stdin", Terminal("y"))
    assert run("purge", "--all", "--actor", "journal") == 0
    assert mixed["journal"].id not in ids_of(registry) and len(ids_of(registry)) == 4


def test_a_letter_arriving_during_the_confirmation_is_not_touched(
    mixed: dict[str, DeadLetter],
    registry: DeadLetterRegistry,
    monkeypatch: pytest.MonkeyPatch,
    redis_prefix: str,
) -> None:
    late = ingress(redis_prefix, "{}", at=NOW)
    monkeypatch.setattr("sys.stdin", Terminal("yes", before=lambda: registry.add(late)))
    assert run("purge", "--all", "--actor", "ingress") == 0
    assert ids_of(registry) == {late.id, mixed["portfolio"].id, mixed["journal"].id}


def test_export_round_trip(
    mixed: dict[str, DeadLetter],
    redis_client: redis.Redis,
    redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("export", "--actor", "ingress") == 0
    captured = capsys.readouterr()
    exported = [DeadLetter.model_validate_json(line) for line in captured.out.splitlines()]
    names = ("bad_old", "bad_recent", "refused")
    assert exported == [mixed[name] for name in names]
    assert captured.err.strip().endswith("exported 3 dead letter(s) matching actor=ingress")

    elsewhere = DeadLetterRegistry(redis_client, f"{redis_prefix}:copy")
    for letter in exported:
        assert elsewhere.add(letter) == 1
    assert elsewhere.list() == [mixed[name] for name in reversed(names)]


def test_secrets_stay_masked_in_every_output(
    registry: DeadLetterRegistry,
    redis_client: redis.Redis,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = f"dlq-access-{uuid.uuid4().hex}"
    monkeypatch.setenv("ALPHAP_KITE_ACCESS_TOKEN", secret)
    # Stored by a process that did not know this secret: only the output can mask it.
    unaware = DeadLetterRegistry(redis_client, redis_prefix, redactor=Redactor())
    leaky = ingress(redis_prefix, json.dumps({"type": "order_filled", "note": secret}))
    leaky = leaky.model_copy(update={"error_message": f"bad note {secret}"})
    unaware.add(leaky)
    # A secret under a secret-looking key is masked when stored.
    registry.add(ingress(redis_prefix, '{"type":"order_filled","password":"hunter2-xyz"}'))

    outputs = []
    for argv in (["list"], ["list", "--json"], ["show", leaky.id], ["show", leaky.id, "--json"],
                 ["export"], ["stats"]):  # fmt: skip
        assert run(*argv) == 0, argv
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
    text = "\n".join(outputs)
    assert secret not in text and "hunter2" not in text
    assert "***" in text
    assert redis_client.exists(registry.keys.letter(leaky.id))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["list", "--since", "yesterday"], "is neither an ISO-8601 time"),
        (["list", "--since", "2026-11-01T09:15:00"], "has no UTC offset"),
        (["list", "--limit", "0"], "is not a positive whole number"),
        (["show"], "the following arguments are required: ID"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    registry: DeadLetterRegistry,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(*argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["replay", "abc", "--all"], "give letter ids or --all, not both"),
        (["purge", "--actor", "ingress"], "filters select letters only with --all"),
        (["replay"], "give the ids of the letters to replay, or --all with filters"),
        (["list", "--since", "1h", "--until", "2h"], "--since must be earlier than --until"),
    ],
)
def test_bad_selections_exit_2_with_a_message(
    mixed: dict[str, DeadLetter],
    registry: DeadLetterRegistry,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(ids_of(registry)) == 5


def test_unreachable_redis_is_a_clear_error(
    dlq_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALPHAP_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert run("stats") == 2
    err = capsys.readouterr().err
    assert err.startswith("alphap: Redis failed: ConnectionError")
    assert "Traceback" not in err


def test_without_a_url_it_uses_the_embedded_redis_only(
    dlq_env: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("ALPHAP_REDIS_URL")
    assert run("stats", "--json") == 0
    stats = out_json(capsys)
    assert isinstance(stats, dict) and stats["total"] == 0
    assert (tmp_path / "state" / "redis").is_dir()
    assert not (tmp_path / "state" / "postgres").exists()
