"""The official kiteconnect client against the fake Kite: the fake speaks Kite's wire format."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, datetime

import kiteconnect
import kiteconnect.exceptions as kite_errors
import pytest
import requests

from tests.fixtures.fake_kite import DATA_DIR, FakeKite, Fault, Reply, csv_rows
from tests.fixtures.shared_data import shared_path


@pytest.fixture
def client(fake_kite: FakeKite) -> Iterator[kiteconnect.KiteConnect]:
    kite = kiteconnect.KiteConnect(fake_kite.api_key, root=fake_kite.url, timeout=10)
    yield kite
    kite.reqsession.close()


def test_generate_session_with_the_right_checksum_returns_the_session(
    fake_kite: FakeKite, client: kiteconnect.KiteConnect
) -> None:
    session = client.generate_session(fake_kite.request_token, fake_kite.api_secret)
    assert session["access_token"] == fake_kite.access_token
    assert session["login_time"] == datetime(2026, 11, 27, 10, 0)
    assert client.access_token == fake_kite.access_token
    sent = fake_kite.requests("/session/token")[0].form
    assert set(sent) == {"api_key", "request_token", "checksum"}
    assert fake_kite.api_secret not in json.dumps(sent)


def test_generate_session_with_a_wrong_checksum_is_a_token_error(
    fake_kite: FakeKite, client: kiteconnect.KiteConnect
) -> None:
    with pytest.raises(kite_errors.TokenException, match="checksum") as caught:
        client.generate_session(fake_kite.request_token, "not-the-secret")
    assert caught.value.code == 403
    assert client.access_token is None


def test_a_request_token_works_once(fake_kite: FakeKite, client: kiteconnect.KiteConnect) -> None:
    client.generate_session(fake_kite.request_token, fake_kite.api_secret)
    with pytest.raises(kite_errors.TokenException, match="invalid or has expired"):
        client.generate_session(fake_kite.request_token, fake_kite.api_secret)
    fresh = fake_kite.new_request_token()
    assert client.generate_session(fresh, fake_kite.api_secret)["user_id"] == "AP1234"


def test_profile_needs_the_session_token_in_the_authorization_header(
    fake_kite: FakeKite, client: kiteconnect.KiteConnect
) -> None:
    with pytest.raises(kite_errors.TokenException):
        client.profile()
    client.set_access_token(fake_kite.access_token)
    assert client.profile()["user_name"] == "Alphap Test Trader"
    assert fake_kite.authorizations("/user/profile") == [None, fake_kite.expected_authorization]


def test_instruments_csv_parses_with_the_official_client(
    fake_kite: FakeKite, client: kiteconnect.KiteConnect
) -> None:
    rows = client.instruments()
    assert len(rows) == 20
    assert {row["exchange"] for row in rows} == {"NSE", "NFO", "BSE"}
    future = next(row for row in rows if row["tradingsymbol"] == "NIFTY26DECFUT")
    assert future["instrument_token"] == 12683010
    assert future["expiry"] == date(2026, 12, 29)
    assert future["lot_size"] == 75
    nfo = client.instruments("NFO")
    assert len(nfo) == 8
    assert {row["segment"] for row in nfo} == {"NFO-FUT", "NFO-OPT"}
    assert fake_kite.count("/instruments") == 1
    assert fake_kite.count("/instruments/NFO") == 1


def test_instrument_fixture_is_shaped_like_kites_dump() -> None:
    body = (DATA_DIR / "instruments.csv").read_bytes()
    assert body.count(b"\r\n") == 21
    rows = csv_rows(body)
    assert len(rows) == 20
    assert all(int(r["exchange_token"]) == int(r["instrument_token"]) >> 8 for r in rows)


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        (Fault.RATE_LIMIT, kite_errors.NetworkException, 429),
        (Fault.SERVER_ERROR, kite_errors.GeneralException, 500),
        (Fault.BAD_GATEWAY, kite_errors.DataException, 502),
        (Fault.UNAVAILABLE, kite_errors.NetworkException, 503),
        (Fault.TOKEN, kite_errors.TokenException, 403),
        (Fault.PERMISSION, kite_errors.PermissionException, 403),
        (Fault.INPUT, kite_errors.InputException, 400),
    ],
)
def test_injected_faults_reach_the_client_as_kites_own_errors(
    fake_kite: FakeKite,
    client: kiteconnect.KiteConnect,
    fault: Fault,
    error: type[Exception],
    status: int,
) -> None:
    client.set_access_token(fake_kite.access_token)
    fake_kite.fail_next(fault, path="/user/profile")
    with pytest.raises(error) as caught:
        client.profile()
    assert caught.value.code == status  # type: ignore[attr-defined]
    assert client.profile()["user_id"] == "AP1234"


def test_a_dropped_connection_is_a_requests_connection_error(
    fake_kite: FakeKite, client: kiteconnect.KiteConnect
) -> None:
    fake_kite.fail_next(Fault.DROP, times=2)
    for _ in range(2):
        with pytest.raises(requests.exceptions.ConnectionError):
            client.instruments()
    assert len(client.instruments()) == 20
    assert fake_kite.count("/instruments") == 3


def test_faults_can_target_one_path(fake_kite: FakeKite, client: kiteconnect.KiteConnect) -> None:
    client.set_access_token(fake_kite.access_token)
    fake_kite.fail_next(Fault.UNAVAILABLE, path="/instruments")
    assert client.profile()["user_id"] == "AP1234"
    with pytest.raises(kite_errors.NetworkException):
        client.instruments()


def test_the_clients_expiry_hook_fires_when_the_session_is_flushed(
    fake_kite: FakeKite, client: kiteconnect.KiteConnect
) -> None:
    fired = threading.Event()
    client.set_session_expiry_hook(fired.set)
    client.set_access_token(fake_kite.access_token)
    fake_kite.expire_session()
    with pytest.raises(kite_errors.TokenException):
        client.profile()
    assert fired.is_set()


def test_logout_invalidates_the_token(fake_kite: FakeKite, client: kiteconnect.KiteConnect) -> None:
    client.set_access_token(fake_kite.access_token)
    assert client.invalidate_access_token() is True
    with pytest.raises(kite_errors.TokenException):
        client.profile()


def test_extra_routes_and_unknown_routes(
    fake_kite: FakeKite, client: kiteconnect.KiteConnect
) -> None:
    client.set_access_token(fake_kite.access_token)
    fake_kite.respond("GET", "/portfolio/holdings", Reply.success([{"tradingsymbol": "X"}]))
    fake_kite.route(
        "GET",
        "/orders/{order_id}",
        lambda _request, params: Reply.success([{"order_id": params["order_id"]}]),
    )
    assert client.holdings() == [{"tradingsymbol": "X"}]
    assert client.order_history("42")[0]["order_id"] == "42"
    with pytest.raises(kite_errors.GeneralException) as caught:
        client.margins()
    assert caught.value.code == 404


def test_official_mocks_are_served_as_kite_wrote_them(official_kite: FakeKite) -> None:
    mocks = shared_path("kite-mocks")
    client = kiteconnect.KiteConnect(official_kite.api_key, root=official_kite.url, timeout=10)
    try:
        session = client.generate_session(official_kite.request_token, official_kite.api_secret)
        expected = json.loads((mocks / "generate_session.json").read_text())["data"]
        assert session.pop("login_time") == datetime(2021, 1, 1, 16, 15, 14)
        expected.pop("login_time")
        assert session == expected
        profile = json.loads((mocks / "profile.json").read_text())["data"]
        assert client.profile() == profile
        holdings = json.loads((mocks / "holdings.json").read_text())["data"]
        assert client.holdings() == holdings
        assert len(client.instruments()) == 99
        assert {row["exchange"] for row in client.instruments("NSE")} == {"NSE"}
        assert len(client.instruments("NFO")) == 25
    finally:
        client.reqsession.close()
