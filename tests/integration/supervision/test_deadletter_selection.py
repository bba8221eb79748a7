"""Verbs over a selection already made: get_many, scan, purge_ids, requeue_ids."""

from __future__ import annotations

from datetime import timedelta

from supervision.deadletters import DeadLetterRegistry, LetterFilter
from tests.integration.supervision.letters import BASE_TIME, RecordingRequeuer, make_letter


def test_get_many_keeps_the_order_and_marks_the_missing(registry: DeadLetterRegistry) -> None:
    first, second = make_letter(), make_letter()
    registry.add(first)
    registry.add(second)
    assert registry.get_many([second.id, "gone", first.id]) == [second, None, first]
    assert registry.get_many([]) == []


def test_scan_visits_every_match_oldest_first_in_batches(registry: DeadLetterRegistry) -> None:
    letters = [
        make_letter("ingress" if i % 3 else "journal", at=BASE_TIME + timedelta(seconds=i))
        for i in range(11)
    ]
    for letter in reversed(letters):
        registry.add(letter)
    where = LetterFilter(actor="ingress")
    assert list(registry.scan(where, batch=2)) == [x for x in letters if where.matches(x)]


def test_scan_leaves_out_what_goes_and_skips_what_comes(registry: DeadLetterRegistry) -> None:
    letters = [make_letter(at=BASE_TIME + timedelta(seconds=i)) for i in range(4)]
    for letter in letters:
        registry.add(letter)
    seen = []
    for letter in registry.scan(batch=2):
        if not seen:
            registry.remove(letters[3].id)
            registry.add(make_letter(at=BASE_TIME + timedelta(seconds=9)))
        seen.append(letter)
    assert seen == letters[:3]


def test_purge_ids_removes_exactly_those_ids(registry: DeadLetterRegistry) -> None:
    kept, doomed, other = make_letter(), make_letter(), make_letter(actor="journal")
    for letter in (kept, doomed, other):
        registry.add(letter)
    assert registry.purge_ids([doomed.id, other.id, "never-stored"]) == 2
    assert list(registry.get_ids()) == [kept.id]
    assert registry.stats().by_actor == {"portfolio": 1}
    assert registry.add(doomed) == -1


def test_requeue_ids_follows_the_given_order_and_reports(registry: DeadLetterRegistry) -> None:
    letters = [make_letter(at=BASE_TIME + timedelta(seconds=i)) for i in range(3)]
    for letter in letters:
        registry.add(letter)
    target = RecordingRequeuer()
    order = [letters[2].id, letters[0].id, "never-stored"]
    report = registry.requeue_ids(order, target)
    assert target.ids == order[:2]
    assert report.requeued == tuple(order[:2])
    assert report.skipped == ("never-stored",)
    assert list(registry.get_ids()) == [letters[1].id]
