"""Guessing costs (issue 10, cases 4 and 9): wrong codes, tokens, links, keys and passwords are
limited per address, a limit never locks out the innocent, and X-Forwarded-For is believed only
from a configured proxy.

Everything runs against `walkaudit-server serve` on loopback. Clients come from distinct
addresses for real: Linux routes all of 127.0.0.0/8 to the loopback, so an httpx client bound to
127.0.0.2 reaches the server on 127.0.0.1 from 127.0.0.2. The limits are the server's own (10
wrong codes, 30 unknown tokens, 5 wrong passwords per name, 30 per address in 15 minutes).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from sync_server.config import parse_trusted_proxies
from sync_server.core.db import Database
from sync_server.core.throttle import (
    API_KEYS,
    DEVICE_TOKENS,
    ENROL_OVERALL,
    ENROL_PER_ADDRESS,
    Limit,
    Throttle,
    address_key,
)
from sync_server.owners import links
from sync_server.workspace import accounts
from tests.conftest import make_finding
from tests.support import ServerProcess, run
from walkaudit.store import Store
from walkaudit.sync import SyncClient, enrol

PASSWORD = "rätt-lösenord-123"
WINDOW_S = 15 * 60
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _server(root: Path, **env: str) -> ServerProcess:
    return ServerProcess(root, env={"WALKAUDIT_REPORT_INTERVAL_S": "0", **env}).start()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the tests that each use addresses of their own."""
    server = _server(tmp_path_factory.mktemp("throttle") / "server")
    yield server
    server.stop()


def client(server: ServerProcess, address: str) -> httpx.Client:
    """An HTTP client whose connections come from `address` (a loopback address)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=30)


def wrong_code() -> str:
    return "ZZZZ-" + secrets.token_hex(2).upper()


def try_code(http: httpx.Client, code: str, **headers: str) -> httpx.Response:
    return http.post("/v1/enrol", json={"code": code, "device_name": "phone"}, headers=headers)


def retry_after(response: httpx.Response) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= WINDOW_S
    return seconds


def log_lines(server: ServerProcess, start: str) -> list[str]:
    return [line for line in server.log.read_text().splitlines() if start in line]


# ---- enrolment codes ------------------------------------------------------------------------


def test_the_eleventh_wrong_code_from_one_address_is_refused_and_others_still_enrol(
    live: ServerProcess,
) -> None:
    with client(live, "127.0.0.2") as guesser, client(live, "127.0.0.3") as walker:
        for _ in range(ENROL_PER_ADDRESS.most):
            answer = try_code(guesser, wrong_code())
            assert answer.status_code == 401 and "unknown" in answer.json()["detail"]
        refused = try_code(guesser, wrong_code())
        assert refused.status_code == 429
        retry_after(refused)
        assert "from your address" in refused.json()["detail"]
        assert "try again in" in refused.json()["detail"]
        # Even the right code waits: were it checked, so would every guess be.
        code = live.enrol_code()
        assert try_code(guesser, code).status_code == 429
        # Another address is not held up by the guesser, and the code was not used up.
        assert try_code(walker, code).status_code == 201


def test_a_limit_reached_is_logged_once_not_per_refused_try(live: ServerProcess) -> None:
    with client(live, "127.0.0.4") as guesser:
        answers = [try_code(guesser, wrong_code()).status_code for _ in range(40)]
    assert answers.count(401) == ENROL_PER_ADDRESS.most and answers.count(429) == 30
    lines = log_lines(live, "enrolment: 10 wrong codes from 127.0.0.4 in the last 15 min")
    assert len(lines) == 1, lines
    assert "refusing until" in lines[0]


def test_the_overall_limit_does_not_lock_out_a_phone_whose_code_is_right(tmp_path: Path) -> None:
    server = _server(tmp_path / "server")
    try:
        per_address = ENROL_PER_ADDRESS.most
        addresses = [f"127.0.1.{n}" for n in range(ENROL_OVERALL.most // per_address)]
        for address in addresses:
            with client(server, address) as guesser:
                for _ in range(per_address - 1):  # each stays under its own limit
                    assert try_code(guesser, wrong_code()).status_code == 401
        with client(server, "127.0.1.200") as last:
            for _ in range(len(addresses)):  # the server-wide count reaches its limit
                try_code(last, wrong_code())
        # A guessing address below its own limit is now refused by the server-wide one …
        with client(server, addresses[0]) as guesser:
            refused = try_code(guesser, wrong_code())
        assert refused.status_code == 429 and "on this server" in refused.json()["detail"]
        retry_after(refused)
        # … but a phone that gets its code right the first time still enrols.
        with client(server, "127.0.2.1") as officer:
            assert try_code(officer, server.enrol_code("police")).status_code == 201
    finally:
        server.stop()


# ---- X-Forwarded-For --------------------------------------------------------------------------


def test_forwarded_for_from_an_untrusted_client_neither_resets_nor_moves_its_count(
    live: ServerProcess,
) -> None:
    """The loopback itself is not a proxy unless configured: a local process that writes a new
    X-Forwarded-For for every try is still one address."""
    with client(live, "127.0.0.1") as local:
        for n in range(ENROL_PER_ADDRESS.most):
            spoofed = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
            assert try_code(local, wrong_code(), **spoofed).status_code == 401
        fresh = {"X-Forwarded-For": "198.51.100.99"}
        assert try_code(local, wrong_code(), **fresh).status_code == 429
    with client(live, "127.0.0.5") as other:  # and the spoofed addresses were not charged
        assert (
            try_code(other, wrong_code(), **{"X-Forwarded-For": "198.51.100.1"}).status_code == 401
        )


def test_forwarded_for_from_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    server = _server(tmp_path / "server", WALKAUDIT_TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8")
    try:
        with client(server, "127.0.0.1") as proxy:
            behind = {"X-Forwarded-For": "203.0.113.7"}
            for _ in range(ENROL_PER_ADDRESS.most):
                assert try_code(proxy, wrong_code(), **behind).status_code == 401
            assert try_code(proxy, wrong_code(), **behind).status_code == 429
            # Another client behind the same proxy is counted on its own …
            assert (
                try_code(proxy, wrong_code(), **{"X-Forwarded-For": "203.0.113.8"}).status_code
                == 401
            )
            # … what the client wrote in front of the proxy's entry does not count, trusted hops
            # behind it are skipped: the client is the rightmost address that is not a proxy.
            chain = {"X-Forwarded-For": "203.0.113.99, 203.0.113.7, 10.1.2.3"}
            assert try_code(proxy, wrong_code(), **chain).status_code == 429
        # A client that is not a configured proxy cannot use the header to start afresh.
        with client(server, "127.0.0.6") as direct:
            for _ in range(ENROL_PER_ADDRESS.most):
                try_code(direct, wrong_code(), **{"X-Forwarded-For": "203.0.113.50"})
            assert (
                try_code(direct, wrong_code(), **{"X-Forwarded-For": "203.0.113.51"}).status_code
                == 429
            )
    finally:
        server.stop()


# ---- sign-in ----------------------------------------------------------------------------------


def add_user(server: ServerProcess, name: str, role: str = "coordinator") -> None:
    r = run("walkaudit-server", "--data", server.data, "users", "add", name, "--role", role,
            input=PASSWORD + "\n")  # fmt: skip
    assert r.code == 0, r.err


def sign_in(http: httpx.Client, name: str, password: str) -> httpx.Response:
    """The sign-in form as a browser posts it (with the token its page set)."""
    page = http.get("/c/login")
    found = _CSRF.search(page.text)
    assert found, "the sign-in form carries no csrf field"
    form = {"name": name, "password": password, "csrf": found.group(1)}
    return http.post("/c/login", data=form, follow_redirects=False)


def test_one_person_behind_a_shared_address_cannot_lock_the_coordinators_out(
    live: ServerProcess,
) -> None:
    add_user(live, "anna", "admin")
    add_user(live, "bertil")
    with client(live, "127.0.0.7") as office:
        answers = [sign_in(office, "anna", f"gissning-{n}").status_code for n in range(31)]
        assert answers.count(401) == accounts.MAX_FAILURES_PER_NAME
        assert answers.count(429) == 31 - accounts.MAX_FAILURES_PER_NAME
        # The failing name stays limited from here, even with the right password …
        blocked = sign_in(office, "anna", PASSWORD)
        assert blocked.status_code == 429 and "För många misslyckade försök" in blocked.text
        retry_after(blocked)
        # … and a colleague behind the same address signs in.
        signed = sign_in(office, "bertil", PASSWORD)
        assert signed.status_code == 303 and "wa_session" in signed.headers["set-cookie"]
    with client(live, "127.0.0.8") as home:  # anna herself, from elsewhere
        assert sign_in(home, "anna", PASSWORD).status_code == 303
    lines = log_lines(live, "sign-in: 5 failed sign-ins for 'anna' from 127.0.0.7")
    assert len(lines) == 1, lines


def test_trying_many_names_from_one_address_spares_the_names_that_did_not_fail(
    live: ServerProcess,
) -> None:
    add_user(live, "cecilia")
    add_user(live, "david")
    with client(live, "127.0.0.9") as office:
        names = [f"gissat-namn-{n}" for n in range(6)]
        for name in names:  # 6 × 5 = 30 failures from the address, under each name's limit
            for n in range(accounts.MAX_FAILURES_PER_NAME):
                assert sign_in(office, name, f"gissning-{n}").status_code == 401
        # A name that failed is refused from here once the address has its 30 …
        with client(live, "127.0.0.10") as elsewhere:
            assert sign_in(elsewhere, "david", "fel-lösenord-1").status_code == 401
        assert sign_in(office, "david", PASSWORD).status_code == 429
        # … a name without failures is still checked: the right password signs in.
        assert sign_in(office, "cecilia", PASSWORD).status_code == 303


# ---- tokens: device tokens, owner links, api keys ---------------------------------------------


def test_guessing_device_tokens_gets_429_but_a_real_device_behind_that_address_syncs(
    live: ServerProcess, tmp_path: Path
) -> None:
    store = Store.open(tmp_path / "phone", orphan_grace_s=0)
    with client(live, "127.0.0.11") as http:
        enrol(store, http, live.url, live.enrol_code("phone behind the NAT"))
        guesses = []
        for _ in range(DEVICE_TOKENS.most + 5):
            wrong = {"Authorization": f"Bearer wa_{secrets.token_urlsafe(32)}"}
            guesses.append(http.get("/v1/sync/pull", params={"since": 0}, headers=wrong))
        codes = [g.status_code for g in guesses]
        assert codes.count(401) == DEVICE_TOKENS.most and codes.count(429) == 5
        assert "try again in" in guesses[-1].json()["detail"]
        retry_after(guesses[-1])
        # The phone on the same address pushes a finding and pulls, with its real token.
        store.save_finding(make_finding(note="Trasig lampa bakom samma NAT"), [])
        report = SyncClient(store, http).sync()
    assert report.records_confirmed >= 1 and store.pending_counts().total == 0
    lines = log_lines(live, "device tokens: 30 unknown device tokens from 127.0.0.11")
    assert len(lines) == 1, lines


def _owner_link(server: ServerProcess, tmp_path: Path) -> str:
    """An owner imported with the CLI, and a link for it made as `send-reports` makes one."""
    area = {"type": "Polygon", "coordinates": [[[15.20, 59.27], [15.21, 59.27], [15.21, 59.28],
                                                [15.20, 59.28], [15.20, 59.27]]]}  # fmt: skip
    feature = {
        "type": "Feature",
        "geometry": area,
        "properties": {"owner": "Fastighet AB", "email": "drift@fastighet.example.se"},
    }
    registry = tmp_path / "owners.geojson"
    registry.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    assert server.cli("owners", "import", str(registry)).code == 0
    listed = json.loads(server.cli("owners", "list", "--json", "--kind", "owner").out)
    [owner_id] = [o["id"] for o in listed if o["name"] == "Fastighet AB"]
    db = Database(server.data / "walkaudit.db")
    try:
        return links.create_link(db, owner_id)
    finally:
        db.close()


def test_guessing_owner_links_gets_a_429_page_but_a_real_link_opens(
    live: ServerProcess, tmp_path: Path
) -> None:
    token = _owner_link(live, tmp_path)
    with client(live, "127.0.0.12") as browser:
        pages = [browser.get(f"/o/{secrets.token_urlsafe(32)}") for _ in range(31)]
        assert [p.status_code for p in pages[:30]] == [404] * 30
        refused = pages[30]
        assert refused.status_code == 429
        retry_after(refused)
        text = refused.text
        assert text.index("För många felaktiga länkar") < text.index("Too many wrong links")
        english = browser.get(f"/o/{secrets.token_urlsafe(32)}?lang=en")
        assert english.text.index("Too many wrong links") < english.text.index("För många")
        real = browser.get(f"/o/{token}")
        assert real.status_code == 200 and "Fastighet AB" in real.text


def test_guessing_api_keys_gets_429_in_open311_form_but_a_real_key_reads(
    live: ServerProcess,
) -> None:
    r = run("walkaudit-server", "--data", live.data, "api-keys", "add", "kommunens system")
    assert r.code == 0, r.err
    key = r.out.strip()
    with client(live, "127.0.0.13") as system:
        url = "/open311/v2/requests.json"
        answers = [system.get(url, params={"api_key": f"o311_{n}"}) for n in range(API_KEYS.most)]
        assert {a.status_code for a in answers} == {403}
        refused = system.get(url, params={"api_key": "o311_one-more"})
        assert refused.status_code == 429
        retry_after(refused)
        [error] = refused.json()
        assert error["code"] == 429 and "try again in" in error["description"]
        assert system.get(url, params={"api_key": key}).status_code == 200


# ---- the counter itself (in-process, with a clock the test moves) ------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_retry_after_is_when_the_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    throttle = Throttle(Limit("test", "failures", 3, timedelta(minutes=15)), clock=clock)
    for _ in range(3):  # failures at t, t + 100 s, t + 200 s
        assert throttle.attempt("10.0.0.7") == 0
        clock.now += 100
    clock.now -= 50
    assert throttle.attempt("10.0.0.7") == 900 - 250  # the first failure is 250 s old
    clock.now += 650  # it has left the window: exactly one more try
    assert throttle.attempt("10.0.0.7") == 0
    assert throttle.attempt("10.0.0.7") == 100  # then the second one's turn
    throttle.forgive("10.0.0.7")  # a try that succeeded is taken back
    assert throttle.count("10.0.0.7") == 2


def test_many_addresses_cannot_grow_the_counter_without_bound() -> None:
    throttle = Throttle(Limit("test", "failures", 5), max_keys=2000)
    for n in range(20_000):
        throttle.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert throttle.count("10.0.78.31") == 1  # the newest are kept …
    assert len(throttle._states) <= 2000  # … within the bound


def test_an_ipv6_network_counts_as_one_address() -> None:
    assert address_key("2001:db8:1:2::7") == address_key("2001:db8:1:2:ffff::1")
    assert address_key("2001:db8:1:3::7") != address_key("2001:db8:1:2::7")
    assert address_key("::ffff:192.0.2.4") == "192.0.2.4"


def test_a_trusted_proxies_setting_that_is_not_addresses_is_refused_with_the_entry() -> None:
    assert len(parse_trusted_proxies(" 127.0.0.1, 10.0.0.0/8 ,::1,")) == 3
    with pytest.raises(ValueError, match="'proxy.example' is not an IP address or network"):
        parse_trusted_proxies("127.0.0.1, proxy.example")
