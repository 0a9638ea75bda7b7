"""Sign-in to the coordinator web: argon2 hashes, cookies, CSRF, the throttle, session ends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sync_server.app import create_app
from sync_server.config import Settings
from sync_server.workspace import accounts
from tests.server.conftest import CHEAP_HASHER, Server
from tests.server.workspace_support import PASSWORD, Staff, TestClient, login
from walkaudit.model import utcnow


def test_passwords_are_stored_as_argon2_hashes_never_as_text(tmp_path: Path) -> None:
    # An app made as production makes it, without `hasher=` (the `server` fixture's is cheap):
    # argon2id at argon2-cffi's default cost, RFC 9106's low-memory profile.
    app = create_app(Settings(data_dir=tmp_path / "server"))
    with TestClient(app) as client:
        server = Server(app, client)
        accounts.add_user(server.db, "anna", "coordinator", PASSWORD, hasher=server.services.hasher)
        [(stored,)] = server.rows("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("name", "role", "password", "says"),
    [
        ("", "viewer", PASSWORD, "user name"),
        ("två ord", "viewer", PASSWORD, "without spaces"),
        ("anna", "boss", PASSWORD, "unknown role"),
        ("anna", "viewer", "kort", "at least 10"),
        ("anna", "viewer", " " * 12, "only spaces"),
    ],
)
def test_unusable_accounts_are_refused_with_a_reason(
    server: Server, name: str, role: str, password: str, says: str
) -> None:
    with pytest.raises(accounts.InvalidAccount, match=says):
        accounts.add_user(server.db, name, role, password, hasher=CHEAP_HASHER)
    assert server.rows("SELECT count(*) FROM users") == [(0,)]


def test_a_name_is_taken_whatever_its_case(server: Server) -> None:
    accounts.add_user(server.db, "Anna", "viewer", PASSWORD, hasher=CHEAP_HASHER)
    with pytest.raises(accounts.InvalidAccount, match="already a user called ANNA"):
        accounts.add_user(server.db, "ANNA", "admin", PASSWORD, hasher=CHEAP_HASHER)


def test_the_session_cookie_is_httponly_and_samesite_and_the_form_needs_csrf(
    server: Server,
) -> None:
    accounts.add_user(server.db, "anna", "coordinator", PASSWORD, hasher=CHEAP_HASHER)
    client = TestClient(server.app)
    answer = login(client, "anna")
    cookie = answer.headers["set-cookie"]
    assert answer.status_code == 303 and "HttpOnly" in cookie and "SameSite=lax" in cookie
    [(token_hash,)] = server.rows("SELECT token_hash FROM sessions")
    assert token_hash not in cookie  # only the hash is stored
    # Signing out without the form's token (a cross-site request) is refused; nothing ends.
    refused = client.post("/c/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert refused.status_code == 403 and "Ladda om sidan" in refused.text
    assert server.rows("SELECT count(*) FROM sessions") == [(1,)]


def test_a_sign_in_posted_from_another_page_is_refused(server: Server) -> None:
    """Login CSRF: a page elsewhere posts the form with the attacker's account; without the
    token the form's page set, nobody is signed in."""
    accounts.add_user(server.db, "angripare", "viewer", PASSWORD, hasher=CHEAP_HASHER)
    client = TestClient(server.app)
    forged = client.post(
        "/c/login", data={"name": "angripare", "password": PASSWORD}, follow_redirects=False
    )
    assert forged.status_code == 403 and "Ladda om sidan" in forged.text
    assert server.rows("SELECT count(*) FROM sessions") == [(0,)]
    wrong_token = client.post(
        "/c/login",
        data={"name": "angripare", "password": PASSWORD, "csrf": "x" * 32},
        follow_redirects=False,
    )
    assert wrong_token.status_code == 403
    # The refusal draws a fresh form, so the person's next try works.
    assert login(client, "angripare").status_code == 303


def test_wrong_passwords_are_throttled_even_when_the_next_one_is_right(server: Server) -> None:
    accounts.add_user(server.db, "anna", "coordinator", PASSWORD, hasher=CHEAP_HASHER)
    client = TestClient(server.app)
    for _ in range(accounts.MAX_FAILURES_PER_NAME):
        wrong = login(client, "anna", "fel-lösenord-1")
        assert wrong.status_code == 401 and "Fel användarnamn eller lösenord" in wrong.text
    blocked = login(client, "anna")
    assert blocked.status_code == 429 and "För många misslyckade försök" in blocked.text
    assert int(blocked.headers["Retry-After"]) > 0
    assert server.rows("SELECT count(*) FROM sessions") == [(0,)]
    # After the window the right password works again, and clears the count.
    later = utcnow() + accounts.THROTTLE_WINDOW + timedelta(seconds=1)
    user, _ = accounts.login(server.db, "anna", PASSWORD, "127.0.0.1", now=later,
                             hasher=CHEAP_HASHER)  # fmt: skip
    assert user.name == "anna"
    assert server.rows("SELECT count(*) FROM login_failures") == [(0,)]


def test_an_unknown_name_gets_the_same_answer_as_a_wrong_password(server: Server) -> None:
    accounts.add_user(server.db, "anna", "coordinator", PASSWORD, hasher=CHEAP_HASHER)
    client = TestClient(server.app)
    unknown = login(client, "bertil")
    wrong = login(client, "anna", "fel-lösenord-1")
    assert unknown.status_code == wrong.status_code == 401
    assert "Fel användarnamn eller lösenord" in unknown.text


def test_empty_fields_keep_the_name_and_say_what_is_missing(server: Server) -> None:
    page = login(TestClient(server.app), "anna", "")
    assert page.status_code == 422 and "Fyll i användarnamn och lösenord" in page.text
    assert 'value="anna"' in page.text


def test_an_idle_session_ends_and_the_user_is_sent_to_sign_in_again(staff: Staff) -> None:
    db = staff.server.db
    with db.write() as tx:
        tx.execute(
            "UPDATE sessions SET last_seen_at = ?",
            [(utcnow() - accounts.IDLE - timedelta(minutes=1)).isoformat()],
        )
    answer = staff.viewer.get("/c/findings?status=open", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/c/login?next=/c/findings%3Fstatus%3Dopen"


def test_a_disabled_user_is_signed_out_at_once(staff: Staff) -> None:
    accounts.set_disabled(staff.server.db, "coordinator1", True)
    answer = staff.coordinator.get("/c/findings", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/c/login")
    again = login(TestClient(staff.server.app), "coordinator1")
    assert again.status_code == 401


def test_signing_out_ends_the_session_for_good(staff: Staff) -> None:
    out = staff.post("viewer", "/c/logout")
    assert out.status_code == 303 and out.headers["location"] == "/c/login?signed_out=1"
    page = staff.viewer.get("/c/login?signed_out=1")
    assert "Du är utloggad" in page.text
    assert staff.viewer.get("/c/findings", follow_redirects=False).status_code == 303


def test_login_never_redirects_to_another_site(server: Server) -> None:
    accounts.add_user(server.db, "anna", "viewer", PASSWORD, hasher=CHEAP_HASHER)
    client = TestClient(server.app)
    for evil in ("https://evil.example/", "//evil.example/c/", "/o/token"):
        answer = login(client, "anna", next=evil)
        assert answer.headers["location"] == "/c/findings"


def test_the_language_switch_is_remembered(staff: Staff) -> None:
    assert "Findings" in staff.viewer.get("/c/findings?lang=en").text
    assert "Show on map" in staff.viewer.get("/c/findings").text


def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_one_by_one(server: Server) -> None:
    from concurrent.futures import ThreadPoolExecutor

    # At full cost, as in production: the race is parallel tries passing the check while
    # argon2 works on the first ones, which a cheap hash would hardly give the chance to.
    hasher = accounts.full_cost_hasher()
    accounts.add_user(server.db, "anna", "coordinator", PASSWORD, hasher=hasher)

    def guess(n: int) -> str:
        try:
            accounts.login(server.db, "anna", f"gissning-{n:04d}", "10.0.0.9", hasher=hasher)
        except accounts.AccountError as exc:
            return type(exc).__name__
        return "signed in"

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(guess, range(16)))
    assert answers.count("BadCredentials") == accounts.MAX_FAILURES_PER_NAME
    assert answers.count("Throttled") == 16 - accounts.MAX_FAILURES_PER_NAME
