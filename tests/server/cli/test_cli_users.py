"""`walkaudit-server users …` and `api-keys …`, in-process through `sync_server.cli.main`.

Passwords come from a piped stdin (a StringIO is not a tty) or, at a terminal, from getpass —
never from argv. The users made here sign in through the real login form.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from sync_server.cli import main
from sync_server.workspace import accounts
from tests.server.conftest import CHEAP_HASHER, Server
from tests.server.workspace_support import login, sign_in

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

SECRET = "ett-långt-lösenord"  # noqa: S105 - the test's own user


class Terminal(io.StringIO):
    """A stdin that says it is a terminal (getpass is then used)."""

    def isatty(self) -> bool:
        return True


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str | Path,
    stdin: str | io.StringIO = "",
) -> tuple[int, str, str]:
    fake = stdin if isinstance(stdin, io.StringIO) else io.StringIO(stdin)
    monkeypatch.setattr("sys.stdin", fake)
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data(server: Server) -> Path:
    path: Path = server.services.settings.data_dir
    return path


def test_users_add_from_a_pipe_and_sign_in(
    server: Server, data: Path, capsys: Any, monkeypatch: Any
) -> None:
    code, out, err = run(
        capsys,
        monkeypatch,
        "--data",
        data,
        "users",
        "add",
        "anna",
        "--role",
        "coordinator",
        "--email",
        "anna@kommun.example",
        stdin=SECRET + "\n",
    )
    assert (code, out) == (0, "") and "Added coordinator anna" in err
    assert SECRET not in out + err
    client = TestClient(server.app)
    sign_in(client, "anna", SECRET)
    assert client.get("/c/devices").status_code == 200

    code, out, _ = run(capsys, monkeypatch, "--data", data, "users", "list", "--json")
    (listed,) = json.loads(out)
    assert {k: listed[k] for k in ("name", "role", "email", "state")} == {
        "name": "anna",
        "role": "coordinator",
        "email": "anna@kommun.example",
        "state": "active",
    }
    assert not any("hash" in key or "password" in key for key in listed)
    code, out, _ = run(capsys, monkeypatch, "--data", data, "users", "list")
    assert code == 0 and "anna" in out and "coordinator" in out and "NAME" in out


def test_users_add_at_a_terminal_asks_twice(data: Path, capsys: Any, monkeypatch: Any) -> None:
    answers = iter([SECRET, SECRET + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = run(
        capsys,
        monkeypatch,
        "--data",
        data,
        "users",
        "add",
        "bo",
        "--role",
        "viewer",
        stdin=Terminal(),
    )
    assert code == 1 and "the two passwords differ" in err

    answers = iter([SECRET, SECRET])
    code, _, err = run(
        capsys,
        monkeypatch,
        "--data",
        data,
        "users",
        "add",
        "bo",
        "--role",
        "viewer",
        stdin=Terminal(),
    )
    assert code == 0 and "Added viewer bo" in err


def test_password_stdin_even_at_a_terminal(data: Path, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("asked at the terminal"))
    code, _, _ = run(
        capsys,
        monkeypatch,
        "--data",
        data,
        "users",
        "add",
        "cia",
        "--role",
        "admin",
        "--password-stdin",
        stdin=Terminal(SECRET + "\n"),
    )
    assert code == 0


@pytest.mark.parametrize(
    ("argv", "stdin", "words"),
    [
        (["users", "add", "dan", "--role", "viewer"], "", "no password on standard input"),
        (["users", "add", "dan", "--role", "viewer"], "kort\n", "at least 10 characters"),
        (["users", "add", "dan", "--role", "viewer"], "   " * 5 + "\n", "only spaces"),
        (["users", "add", "dan lind", "--role", "viewer"], SECRET + "\n", "without spaces"),
        (
            ["users", "add", "ADMIN", "--role", "viewer"],
            SECRET + "\n",
            "already a user called ADMIN",
        ),
        (["users", "disable", "nobody"], "", "there is no user called nobody"),
        (["users", "passwd", "nobody"], SECRET + "\n", "there is no user called nobody"),
    ],
)
def test_refusals_are_sentences_with_exit_code_1(
    data: Path,
    server: Server,
    capsys: Any,
    monkeypatch: Any,
    argv: list[str],
    stdin: str,
    words: str,
) -> None:
    accounts.add_user(server.db, "admin", "admin", SECRET, hasher=CHEAP_HASHER)
    code, out, err = run(capsys, monkeypatch, "--data", data, *argv, stdin=stdin)
    assert (code, out) == (1, "") and words in err and err.startswith("walkaudit-server: ")
    assert [u.name for u in accounts.list_users(server.db)] == ["admin"]


def test_an_unknown_role_is_a_usage_error(data: Path, capsys: Any, monkeypatch: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(capsys, monkeypatch, "--data", data, "users", "add", "x", "--role", "boss")
    assert exit_.value.code == 2
    assert "invalid choice: 'boss'" in capsys.readouterr().err


def test_disable_ends_sessions_and_enable_lets_in(
    server: Server, data: Path, capsys: Any, monkeypatch: Any
) -> None:
    accounts.add_user(server.db, "eva", "coordinator", SECRET, hasher=CHEAP_HASHER)
    client = TestClient(server.app)
    sign_in(client, "eva", SECRET)

    code, _, err = run(capsys, monkeypatch, "--data", data, "users", "disable", "eva")
    assert code == 0 and "Disabled eva" in err
    bounced = client.get("/c/devices", follow_redirects=False)
    assert bounced.status_code == 303 and bounced.headers["location"].startswith("/c/login")
    refused = login(client, "eva", SECRET)
    assert refused.status_code == 401
    code, out, _ = run(capsys, monkeypatch, "--data", data, "users", "list", "--json")
    assert json.loads(out)[0]["state"] == "disabled"

    code, _, err = run(capsys, monkeypatch, "--data", data, "users", "disable", "eva")
    assert code == 0 and "already disabled" in err
    code, _, err = run(capsys, monkeypatch, "--data", data, "users", "enable", "EVA")
    assert code == 0 and "Enabled eva" in err
    sign_in(client, "eva", SECRET)


def test_passwd_changes_the_password_and_ends_sessions(
    server: Server, data: Path, capsys: Any, monkeypatch: Any
) -> None:
    accounts.add_user(server.db, "fia", "viewer", SECRET, hasher=CHEAP_HASHER)
    client = TestClient(server.app)
    sign_in(client, "fia", SECRET)
    code, _, err = run(
        capsys, monkeypatch, "--data", data, "users", "passwd", "fia", stdin="ett-nytt-lösenord\n"
    )
    assert code == 0 and "sessions have ended" in err
    assert client.get("/c/findings", follow_redirects=False).status_code == 303
    with pytest.raises(accounts.BadCredentials):
        accounts.login(server.db, "fia", SECRET, "test", hasher=CHEAP_HASHER)
    sign_in(client, "fia", "ett-nytt-lösenord")


def test_api_keys_add_list_revoke(
    server: Server, data: Path, capsys: Any, monkeypatch: Any
) -> None:
    code, out, err = run(capsys, monkeypatch, "--data", data, "api-keys", "add", "Kommunens system")
    assert code == 0 and out.count("\n") == 1 and "shown only now" in err
    key = out.strip()
    assert key not in err
    assert (
        server.client.get("/open311/v2/requests.json", params={"api_key": key}).status_code == 200
    )

    code, out, _ = run(capsys, monkeypatch, "--data", data, "api-keys", "list", "--json")
    (listed,) = json.loads(out)
    assert (listed["name"], listed["state"], listed["owner_id"]) == (
        "Kommunens system",
        "active",
        None,
    )
    assert key not in out and not any("hash" in k for k in listed)
    code, out, _ = run(capsys, monkeypatch, "--data", data, "api-keys", "list")
    assert code == 0 and "Kommunens system" in out and listed["id"] in out

    code, _, err = run(capsys, monkeypatch, "--data", data, "api-keys", "revoke", listed["id"])
    assert code == 0 and "Revoked" in err
    assert (
        server.client.get("/open311/v2/requests.json", params={"api_key": key}).status_code == 403
    )
    code, _, err = run(capsys, monkeypatch, "--data", data, "api-keys", "revoke", listed["id"])
    assert code == 0 and "already revoked" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["api-keys", "revoke", "no-such-key"], "there is no api key no-such-key"),
        (
            ["api-keys", "add", "System", "--owner", "no-such-owner"],
            "there is no owner no-such-owner",
        ),
        (["api-keys", "add", "   "], "give the api key a name"),
    ],
)
def test_api_key_refusals(
    data: Path, capsys: Any, monkeypatch: Any, argv: list[str], words: str
) -> None:
    code, out, err = run(capsys, monkeypatch, "--data", data, *argv)
    assert (code, out) == (1, "") and words in err
