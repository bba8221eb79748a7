"""The Kite gateway over the real client and the fake Kite: retries, errors, secrets."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from actors.errors import KiteRejectedError, KiteUnavailableError, LoginRequired
from actors.kite import KiteGateway, RetryPolicy, TokenBucket
from actors.session_expiry import access_token_expiry
from supervision.redaction import Redactor
from tests.fixtures.fake_kite import DATA_DIR, FakeKite, Fault, Reply, csv_rows

POLICY = RetryPolicy(max_attempts=4, backoff_base_s=0.001, backoff_max_s=0.004)
PROFILE = "/user/profile"


class Recorder:
    """Stands in for time.sleep and for the expiry callback, recording each call."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.expired = threading.Event()
        self.expiry_calls = 0

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def token_expired(self) -> None:
        self.expiry_calls += 1
        self.expired.set()


GatewayFactory = Callable[..., KiteGateway]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_gateway(fake_kite: FakeKite, recorder: Recorder) -> Iterator[GatewayFactory]:
    made: list[KiteGateway] = []

    def make(**overrides: Any) -> KiteGateway:
        arguments: dict[str, Any] = {
            "api_key": fake_kite.api_key,
            "api_secret": fake_kite.api_secret,
            "root": fake_kite.url,
            "timeout": 10,
            "retry_policy": POLICY,
            "on_token_expired": recorder.token_expired,
            "redactor": Redactor(),
            "sleep": recorder.sleep,
        }
        arguments.update(overrides)
        gateway = KiteGateway(**arguments)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(make_gateway: GatewayFactory, fake_kite: FakeKite) -> KiteGateway:
    """A gateway holding a live session, as after a login earlier in the day."""
    return make_gateway(access_token=fake_kite.access_token)


def _retries(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == "kite_call_retrying"]


def test_login_generates_a_session_and_later_calls_carry_its_token(
    make_gateway: GatewayFactory, fake_kite: FakeKite
) -> None:
    gateway = make_gateway()
    assert not gateway.has_session
    assert gateway.login_url().endswith(f"?api_key={fake_kite.api_key}&v=3")
    session = gateway.generate_session(fake_kite.request_token)
    assert session["login_time"] == datetime(2026, 11, 27, 4, 30, tzinfo=UTC)
    assert access_token_expiry(session["login_time"]) == datetime(2026, 11, 28, 0, 30, tzinfo=UTC)
    assert gateway.has_session
    assert gateway.profile()["user_id"] == "AP1234"
    assert fake_kite.authorizations(PROFILE) == [fake_kite.expected_authorization]


def test_instruments_come_back_as_kites_raw_csv(gateway: KiteGateway, fake_kite: FakeKite) -> None:
    assert gateway.instruments_csv() == (DATA_DIR / "instruments.csv").read_bytes().decode()
    nfo = csv_rows(gateway.instruments_csv("NFO"))
    assert len(nfo) == 8
    assert {row["exchange"] for row in nfo} == {"NFO"}
    assert nfo[0]["strike"] == "0.0"
    assert fake_kite.count("/instruments/NFO") == 1


@pytest.mark.parametrize("fault", [Fault.RATE_LIMIT, Fault.SERVER_ERROR, Fault.UNAVAILABLE])
def test_rate_limits_and_server_errors_are_retried_with_backoff(
    gateway: KiteGateway, fake_kite: FakeKite, recorder: Recorder, fault: Fault
) -> None:
    fake_kite.fail_next(fault, times=3, path=PROFILE)
    with capture_logs() as logs:
        assert gateway.profile()["user_id"] == "AP1234"
    assert fake_kite.count(PROFILE) == 4
    retries = _retries(logs)
    assert [entry["wait_s"] for entry in retries] == [0.001, 0.002, 0.004]
    assert [entry["attempt"] for entry in retries] == [1, 2, 3]
    assert {entry["status"] for entry in retries} == {fault.value[0]}
    assert recorder.sleeps == [0.001, 0.002, 0.004]
    assert not recorder.expired.is_set()


def test_a_dropped_connection_is_retried(
    gateway: KiteGateway, fake_kite: FakeKite, recorder: Recorder
) -> None:
    fake_kite.fail_next(Fault.DROP, times=1, path="/instruments")
    with capture_logs() as logs:
        assert len(csv_rows(gateway.instruments_csv())) == 20
    assert fake_kite.count("/instruments") == 2
    assert "ConnectionError" in _retries(logs)[0]["error"]
    assert recorder.sleeps == [0.001]


def test_retries_give_up_after_the_last_attempt(
    gateway: KiteGateway, fake_kite: FakeKite, recorder: Recorder
) -> None:
    fake_kite.fail_next(Fault.UNAVAILABLE, times=10, path=PROFILE)
    with pytest.raises(KiteUnavailableError) as caught:
        gateway.profile()
    assert caught.value.status == 503
    assert fake_kite.count(PROFILE) == POLICY.max_attempts
    assert len(recorder.sleeps) == POLICY.max_attempts - 1


def test_every_attempt_passes_the_rate_limiter(
    make_gateway: GatewayFactory, fake_kite: FakeKite
) -> None:
    waits: list[float] = []
    bucket = TokenBucket(rate=10, capacity=1, clock=lambda: 0.0, sleep=waits.append)
    gateway = make_gateway(access_token=fake_kite.access_token, rate_limiter=bucket)
    fake_kite.fail_next(Fault.RATE_LIMIT, times=2, path=PROFILE)
    gateway.profile()
    assert waits == pytest.approx([0.1, 0.2])


def test_a_token_error_is_not_retried_and_asks_for_a_login(
    gateway: KiteGateway, fake_kite: FakeKite, recorder: Recorder
) -> None:
    fake_kite.expire_session()
    with pytest.raises(LoginRequired) as caught:
        gateway.profile()
    assert caught.value.status == 403
    assert fake_kite.count(PROFILE) == 1
    assert recorder.expired.is_set()
    assert recorder.expiry_calls == 1
    assert recorder.sleeps == []


def test_a_fresh_login_after_expiry_restores_the_session(
    gateway: KiteGateway, fake_kite: FakeKite
) -> None:
    fake_kite.expire_session()
    with pytest.raises(LoginRequired):
        gateway.profile()
    gateway.generate_session(fake_kite.new_request_token())
    assert gateway.profile()["user_id"] == "AP1234"


def test_a_wrong_api_secret_means_login_required(
    make_gateway: GatewayFactory, fake_kite: FakeKite, recorder: Recorder
) -> None:
    gateway = make_gateway(api_secret=fake_kite.api_secret[::-1])
    with pytest.raises(LoginRequired, match="checksum"):
        gateway.generate_session(fake_kite.request_token)
    assert fake_kite.count("/session/token") == 1
    assert recorder.expired.is_set()
    assert not gateway.has_session


@pytest.mark.parametrize(("fault", "status"), [(Fault.INPUT, 400), (Fault.PERMISSION, 403)])
def test_input_and_permission_errors_are_not_retried(
    gateway: KiteGateway, fake_kite: FakeKite, recorder: Recorder, fault: Fault, status: int
) -> None:
    fake_kite.fail_next(fault, path=PROFILE)
    with pytest.raises(KiteRejectedError) as caught:
        gateway.profile()
    assert caught.value.status == status
    assert fake_kite.count(PROFILE) == 1
    assert recorder.sleeps == []
    assert not recorder.expired.is_set()


def test_a_token_expiry_callback_that_fails_still_raises_login_required(
    make_gateway: GatewayFactory, fake_kite: FakeKite
) -> None:
    def broken() -> None:
        raise RuntimeError("callback bug")

    gateway = make_gateway(access_token=fake_kite.access_token, on_token_expired=broken)
    fake_kite.fail_next(Fault.TOKEN)
    with capture_logs() as logs, pytest.raises(LoginRequired):
        gateway.profile()
    assert any(entry["event"] == "kite_token_expired_hook_failed" for entry in logs)


def test_logout_invalidates_the_session_and_tolerates_an_expired_one(
    gateway: KiteGateway, fake_kite: FakeKite, recorder: Recorder
) -> None:
    gateway.invalidate()
    assert not gateway.has_session
    assert fake_kite.count("/session/token") == 1
    gateway.invalidate()
    assert fake_kite.count("/session/token") == 1
    gateway.set_access_token(fake_kite.access_token)
    gateway.invalidate()
    assert not gateway.has_session
    assert not recorder.expired.is_set()


def _assert_no_secret(secrets: list[str], *texts: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_secrets_stay_out_of_retry_logs_and_errors(
    make_gateway: GatewayFactory, recorder: Recorder
) -> None:
    # Logging out of a Kite that has gone away: requests puts the whole URL,
    # access_token query parameter included, into its exception message.
    with FakeKite() as fake:
        gateway = make_gateway(api_key=fake.api_key, api_secret=fake.api_secret, root=fake.url)
        gateway.generate_session(fake.request_token)
    secrets = [fake.access_token, fake.api_secret, fake.request_token]
    with capture_logs() as logs, pytest.raises(KiteUnavailableError) as caught:
        gateway.invalidate()
    original = caught.value.__context__
    assert original is not None
    assert fake.access_token in str(original), "the test must exercise a leaking message"
    assert len(_retries(logs)) == POLICY.max_attempts - 1
    assert "invalidate: ConnectionError" in str(caught.value)
    _assert_no_secret(secrets, repr(logs), str(caught.value), repr(caught.value))
    assert caught.value.__suppress_context__


def test_secrets_echoed_by_kite_are_scrubbed(
    gateway: KiteGateway, fake_kite: FakeKite, recorder: Recorder
) -> None:
    echo = f"bad header token {fake_kite.api_key}:{fake_kite.access_token}"
    fake_kite.respond("GET", PROFILE, Reply.error(400, "InputException", echo))
    fake_kite.respond("GET", "/instruments", Reply.error(503, "NetworkException", echo))
    secrets = [fake_kite.access_token, fake_kite.api_secret]
    with capture_logs() as logs:
        with pytest.raises(KiteRejectedError) as rejected:
            gateway.profile()
        with pytest.raises(KiteUnavailableError) as unavailable:
            gateway.instruments_csv()
    assert "bad header token" in str(rejected.value)
    assert len(_retries(logs)) == POLICY.max_attempts - 1
    _assert_no_secret(secrets, repr(logs), str(rejected.value), str(unavailable.value))


def test_secrets_are_never_logged_on_the_happy_path(
    make_gateway: GatewayFactory, fake_kite: FakeKite
) -> None:
    gateway = make_gateway()
    fake_kite.fail_next(Fault.RATE_LIMIT, path="/session/token")
    with capture_logs() as logs:
        session = gateway.generate_session(fake_kite.request_token)
        gateway.profile()
        gateway.invalidate()
    assert session["access_token"] == fake_kite.access_token
    assert len(_retries(logs)) == 1
    _assert_no_secret(
        [fake_kite.access_token, fake_kite.api_secret, fake_kite.request_token], repr(logs)
    )


def test_instruments_answered_without_csv_is_an_error(
    gateway: KiteGateway, fake_kite: FakeKite
) -> None:
    fake_kite.respond("GET", "/instruments", Reply.success([]), authenticated=False)
    with pytest.raises(KiteUnavailableError, match="without a CSV body"):
        gateway.instruments_csv()
