"""Devices and users in the coordinator web, in-process: enrolment codes that really enrol, QR codes
that really decode, revocation that really stops sync, users that really cannot sign in.

The QR check decodes the SVG the page shows with a small decoder written here from the standard
(ISO/IEC 18004: format bits, masks, the zigzag order, block interleaving, numeric/alphanumeric/
byte segments), not with the `qrcode` package that drew it. It reads a perfect matrix, so it
skips error correction, and it knows versions 1-9 at level M, which is what our URLs need.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest

from sync_server import open311
from sync_server.api.workspace.devices import enrol_url
from sync_server.core.time import iso
from sync_server.documents import qr
from sync_server.field import devices
from sync_server.workspace import accounts
from tests.server.workspace_support import PASSWORD, Staff, login, sign_in
from walkaudit.model import new_id, utcnow

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

_CODE = re.compile(r'id="code">([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})<')
_SVG = re.compile(r"<svg[^>]*>.*?</svg>", re.DOTALL)


# ---- a small QR decoder ------------------------------------------------------------------------

_ALIGN = {1: [], 2: [6, 18], 3: [6, 22], 4: [6, 26], 5: [6, 30], 6: [6, 34], 7: [6, 22, 38],
          8: [6, 24, 42], 9: [6, 26, 46]}  # fmt: skip
# Level M: (blocks, data codewords per block) groups, and EC codewords per block.
_BLOCKS_M = {1: [(1, 16)], 2: [(1, 28)], 3: [(1, 44)], 4: [(2, 32)], 5: [(2, 43)], 6: [(4, 27)],
             7: [(4, 31)], 8: [(2, 38), (2, 39)], 9: [(3, 36), (2, 37)]}  # fmt: skip
_EC_M = {1: 10, 2: 16, 3: 26, 4: 18, 5: 24, 6: 16, 7: 18, 8: 22, 9: 22}
_MASKS = [
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
]
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def svg_modules(svg: str) -> list[list[bool]]:
    """The dark modules an SVG from documents.qr draws, cut to the symbol (no quiet zone)."""
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg)[1])  # type: ignore[index]
    grid = [[False] * size for _ in range(size)]
    path = re.search(r'<path[^>]* d="([^"]+)"', svg)[1]  # type: ignore[index]
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", path)
    assert "".join(f"M{x} {y}h{n}v1h-{n}z" for x, y, n in runs) == path, "unexpected path shape"
    for x, y, n in runs:
        for dx in range(int(n)):
            grid[int(y)][int(x) + dx] = True
    rows = [y for y in range(size) if any(grid[y])]
    cols = [x for x in range(size) if any(grid[y][x] for y in range(size))]
    return [row[cols[0] : cols[-1] + 1] for row in grid[rows[0] : rows[-1] + 1]]


def _format_code(data: int) -> int:
    value = data << 10
    for shift in range(14, 9, -1):
        if value >> shift & 1:
            value ^= 0x537 << (shift - 10)
    return ((data << 10) | value) ^ 0b101010000010010


def _reserved(size: int, version: int) -> list[list[bool]]:
    """Modules that carry no data: finders with separators and format info, timing, alignment."""
    used = [[False] * size for _ in range(size)]

    def box(r0: int, c0: int, r1: int, c1: int) -> None:
        for r in range(max(0, r0), min(size, r1)):
            for c in range(max(0, c0), min(size, c1)):
                used[r][c] = True

    box(0, 0, 9, 9)
    box(0, size - 8, 9, size)
    box(size - 8, 0, size, 9)
    box(6, 0, 7, size)
    box(0, 6, size, 7)
    centres = _ALIGN[version]
    for r in centres:
        for c in centres:
            if not ((r, c) == (6, 6) or (r, c) == (6, centres[-1]) or (r, c) == (centres[-1], 6)):
                box(r - 2, c - 2, r + 3, c + 3)
    if version >= 7:
        box(0, size - 11, 6, size - 8)
        box(size - 11, 0, size - 8, 6)
    return used


def decode_qr(matrix: list[list[bool]]) -> str:
    """The text in a QR symbol (level M, versions 1-9)."""
    size = len(matrix)
    version = (size - 17) // 4
    assert size == 17 + 4 * version and version in _BLOCKS_M, f"size {size}"
    rows = [*range(6), 7, 8, *range(size - 7, size)]
    read = [int(matrix[r][8]) for r in rows]
    as_int = [int("".join(map(str, bits)), 2) for bits in (read, read[::-1])]
    fmt = next(d for d in range(32) if _format_code(d) in as_int)
    assert fmt >> 3 == 0b00, "error correction level is not M"
    mask = _MASKS[fmt & 7]
    reserved = _reserved(size, version)
    bits: list[int] = []
    col, upward = size - 1, True
    while col > 0:
        if col == 6:
            col -= 1
        for r in range(size - 1, -1, -1) if upward else range(size):
            for c in (col, col - 1):
                if not reserved[r][c]:
                    bits.append(int(matrix[r][c]) ^ int(mask(r, c)))
        upward, col = not upward, col - 2
    lengths = [n for count, n in _BLOCKS_M[version] for _ in range(count)]
    total = sum(lengths) + _EC_M[version] * len(lengths)
    assert len(bits) // 8 == total, "the data area does not hold this version's codewords"
    codewords = [int("".join(map(str, bits[i * 8 : i * 8 + 8])), 2) for i in range(total)]
    blocks: list[list[int]] = [[] for _ in lengths]
    stream = iter(codewords)
    for i in range(max(lengths)):
        for b, n in enumerate(lengths):
            if i < n:
                blocks[b].append(next(stream))
    data = "".join(f"{byte:08b}" for block in blocks for byte in block)
    pos = 0

    def take(n: int) -> int:
        nonlocal pos
        pos += n
        return int(data[pos - n : pos], 2)

    out = bytearray()
    while pos + 4 <= len(data) and (mode := take(4)) != 0:
        if mode == 0b0100:
            out += bytes(take(8) for _ in range(take(8)))
        elif mode == 0b0010:
            n = take(9)
            for _ in range(n // 2):
                out += "".join(_ALNUM[v] for v in divmod(take(11), 45)).encode()
            if n % 2:
                out += _ALNUM[take(6)].encode()
        elif mode == 0b0001:
            n = take(10)
            for _ in range(n // 3):
                out += f"{take(10):03d}".encode()
            if n % 3:
                width = 7 if n % 3 == 2 else 4
                out += f"{take(width):0{n % 3}d}".encode()
        else:
            raise AssertionError(f"unexpected segment mode {mode:04b}")
    return out.decode("utf-8")


@pytest.mark.parametrize("text", [
    "http://127.0.0.1:8470/enrol#K7QM-2XPD",
    "https://trygghet.upplands-vasby.example/walkaudit/enrol#ABCD-2345",  # two blocks
    "https://vandring.örebro.example/enrol#HJKM-NPQR",  # UTF-8
    "HTTP://EXAMPLE.ORG/ENROL#12345678901234567890123",  # alphanumeric and numeric segments
])  # fmt: skip
def test_the_qr_svg_decodes_to_the_text(text: str) -> None:
    svg = qr.svg(text, "label")
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert decode_qr(svg_modules(svg)) == text


# ---- devices -----------------------------------------------------------------------------------


def create_code(staff: Staff, name: str, role: str = "coordinator") -> tuple[Any, str]:
    page = staff.post(role, "/c/devices/codes", {"name": name})
    assert page.status_code == 200, page.text
    found = _CODE.search(page.text)
    assert found, "the page shows no code"
    return page, found[1]


def test_a_code_from_the_page_enrols_one_device_once(staff: Staff) -> None:
    server = staff.server
    page, code = create_code(staff, "Anna Berg, kommunpolis")
    settings = server.services.settings
    assert settings.url in page.text  # the address the phone must use
    assert "Giltig till" in page.text and "Anna Berg, kommunpolis" in page.text
    assert page.headers["cache-control"] == "no-store"

    first = server.client.post("/v1/enrol", json={"code": code.lower().replace("-", " ")})
    assert first.status_code == 201, first.text
    again = server.client.post("/v1/enrol", json={"code": code})
    assert again.status_code == 401 and "already used" in again.json()["detail"]

    listed = staff.coordinator.get("/c/devices").text
    assert "Anna Berg, kommunpolis" in listed and first.json()["device_id"][-8:] in listed


def test_the_qr_code_on_the_page_opens_the_enrol_page_with_this_code(staff: Staff) -> None:
    page, code = create_code(staff, "Bo")
    svg = _SVG.search(page.text)
    assert svg, "no inline SVG on the page"
    url = decode_qr(svg_modules(svg[0]))
    assert url == enrol_url(staff.server.services.settings.url, code)
    assert url.endswith(f"/enrol#{code}")
    path, fragment = url.split("#")
    public = staff.anonymous.get(path.removeprefix(staff.server.services.settings.url))
    assert public.status_code == 200
    # The code lives in the fragment (never sent); the page shows the address, a script the code.
    assert code not in public.text and staff.server.services.settings.url in public.text
    assert '<script src="/static/coord-enrol.js">' in public.text
    assert public.headers["referrer-policy"] == "no-referrer"
    script = staff.anonymous.get("/static/coord-enrol.js")
    assert script.status_code == 200 and "location.hash" in script.text


def test_the_public_enrol_page_lists_nothing_else(staff: Staff) -> None:
    staff.server.enrol("Hemlig telefon")
    create_code(staff, "Cecilia Hemlig")
    public = staff.anonymous.get("/enrol")
    assert public.status_code == 200
    assert "Hemlig" not in public.text and "csrf" not in public.text
    assert "/c/devices" not in public.text and "/c/users" not in public.text


def test_a_code_needs_a_name(staff: Staff) -> None:
    count = "SELECT count(*) FROM enrol_codes"
    (before,) = staff.server.rows(count)[0]
    empty = staff.post("coordinator", "/c/devices/codes", {"name": "   "})
    assert empty.status_code == 422 and "Skriv vem koden är till" in empty.text
    huge = staff.post("coordinator", "/c/devices/codes", {"name": "Å" * 300})
    assert huge.status_code == 422 and "högst 200 tecken" in huge.text
    assert "Å" * 300 in huge.text  # what was typed is still in the field
    assert staff.server.rows(count)[0] == (before,)


def test_unused_codes_are_listed_until_used(staff: Staff) -> None:
    _, code = create_code(staff, "Dana Väntar")
    page = staff.coordinator.get("/c/devices").text
    unused = page.split("Koder som inte har använts")[1]
    assert "Dana Väntar" in unused and code not in page  # the name and times, never the code
    assert staff.server.client.post("/v1/enrol", json={"code": code}).status_code == 201
    page = staff.coordinator.get("/c/devices").text
    assert "Koder som inte har använts" not in page and "Dana Väntar" in page  # now a device


def test_revoke_stops_sync_and_a_second_click_changes_nothing(staff: Staff) -> None:
    server = staff.server
    device = server.enrol("Telefon 7")
    assert server.client.get("/v1/sync/pull", headers=device.headers).status_code == 200
    done = staff.post("coordinator", f"/c/devices/{device.id}/revoke")
    assert done.status_code == 303 and "notice=admin.devices.revoked" in done.headers["location"]
    assert server.client.get("/v1/sync/pull", headers=device.headers).status_code == 401
    revoked_at = devices.get_device(server.db, device.id).revoked_at

    again = staff.post("coordinator", f"/c/devices/{device.id}/revoke")
    assert "notice=admin.devices.already_revoked" in again.headers["location"]
    page = staff.coordinator.get(again.headers["location"])
    assert "var redan återkallad" in page.text
    assert devices.get_device(server.db, device.id).revoked_at == revoked_at

    unknown = staff.post("coordinator", "/c/devices/no-such-device/revoke")
    assert unknown.status_code == 404 and "Det finns ingen enhet med det id:t" in unknown.text


def test_who_may_manage_devices(staff: Staff) -> None:
    assert staff.viewer.get("/c/devices").status_code == 403
    assert staff.post("viewer", "/c/devices/codes", {"name": "x"}).status_code == 403
    anonymous = staff.anonymous.get("/c/devices", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/c/login")
    assert staff.admin.get("/c/devices").status_code == 200
    assert staff.post("coordinator", "/c/devices/codes", {"name": "x", "csrf": "wrong"}
                      ).status_code == 403  # fmt: skip


# ---- users -------------------------------------------------------------------------------------


def new_user(**changes: str) -> dict[str, str]:
    return {"name": "eva.lind", "role": "viewer", "email": "eva@polisen.example",
            "password": "långt-nog-lösen", "password2": "långt-nog-lösen", **changes}  # fmt: skip


def test_an_admin_adds_a_user_who_can_then_sign_in(staff: Staff) -> None:
    added = staff.post("admin", "/c/users", new_user())
    assert added.status_code == 303 and "notice=admin.users.added" in added.headers["location"]
    page = staff.admin.get(added.headers["location"]).text
    assert "Användaren är tillagd" in page and "eva.lind" in page and "eva@polisen.example" in page
    user = accounts.get_user(staff.server.db, "eva.lind")
    assert (user.role, user.email) == ("viewer", "eva@polisen.example")
    client = TestClient(staff.server.app)
    sign_in(client, "eva.lind", "långt-nog-lösen")
    assert client.get("/c/users").status_code == 403  # a viewer


@pytest.mark.parametrize(("changes", "message"), [
    ({"password2": "något-annat-lösen"}, "Lösenorden är inte lika"),
    ({"password": "k9#q", "password2": "k9#q"}, "minst 10 tecken"),
    ({"password": " " * 12, "password2": " " * 12}, "bara mellanslag"),
    ({"password": "x" * 1025, "password2": "x" * 1025}, "högst 1024 tecken"),
    ({"name": "eva lind"}, "utan mellanslag"),
    ({"name": ""}, "utan mellanslag"),
    ({"name": "ADMIN1"}, "Det finns redan en användare som heter ADMIN1"),
    ({"role": "superuser"}, "Välj en roll"),
    ({"email": "inte-en-adress"}, "ser inte ut som en adress"),
])  # fmt: skip
def test_a_refused_user_keeps_what_was_typed_but_the_password(
    staff: Staff, changes: dict[str, str], message: str
) -> None:
    form = new_user(**changes)
    before = len(accounts.list_users(staff.server.db))
    page = staff.post("admin", "/c/users", form)
    assert page.status_code == 422 and message in page.text
    if form["name"]:
        assert f'value="{form["name"]}"' in page.text
    assert f'value="{form["email"]}"' in page.text
    if form["role"] in accounts.ROLES:
        assert f'value="{form["role"]}" selected' in page.text
    if form["password"].strip():
        assert form["password"] not in page.text
    assert not re.search(r'type="password"[^>]* value=', page.text)
    assert "skriv det på nytt" in page.text
    assert len(accounts.list_users(staff.server.db)) == before


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(staff: Staff) -> None:
    db = staff.server.db
    kim = accounts.add_user(db, "kim", "coordinator", PASSWORD, hasher=staff.server.services.hasher)
    client = TestClient(staff.server.app)
    sign_in(client, "kim")
    assert client.get("/c/devices").status_code == 200

    done = staff.post("admin", f"/c/users/{kim.id}/disable")
    assert "notice=admin.users.disabled" in done.headers["location"]
    assert "Avstängd" in staff.admin.get("/c/users").text
    bounced = client.get("/c/devices", follow_redirects=False)
    assert bounced.status_code == 303 and bounced.headers["location"].startswith("/c/login")
    assert login(client, "kim").status_code == 401

    again = staff.post("admin", f"/c/users/{kim.id}/disable")
    assert "notice=admin.users.already_disabled" in again.headers["location"]
    enabled = staff.post("admin", f"/c/users/{kim.id}/enable")
    assert "notice=admin.users.enabled" in enabled.headers["location"]
    sign_in(client, "kim")
    assert client.get("/c/devices").status_code == 200


def test_an_admin_cannot_disable_themself(staff: Staff) -> None:
    me = accounts.get_user(staff.server.db, "admin1")
    page = staff.post("admin", f"/c/users/{me.id}/disable")
    assert page.status_code == 409 and "Du kan inte stänga av dig själv" in page.text
    assert accounts.get_user(staff.server.db, "admin1").disabled_at is None
    assert staff.admin.get("/c/users").status_code == 200  # still signed in
    unknown = staff.post("admin", "/c/users/nobody/disable")
    assert unknown.status_code == 404 and "Det finns ingen användare" in unknown.text


@pytest.mark.parametrize("role", ["coordinator", "viewer"])
def test_only_admins_see_and_change_users(staff: Staff, role: str) -> None:
    assert staff.clients[role].get("/c/users").status_code == 403
    assert staff.post(role, "/c/users", new_user(name="intrang")).status_code == 403
    target = accounts.get_user(staff.server.db, "admin1")
    assert staff.post(role, f"/c/users/{target.id}/disable").status_code == 403
    assert accounts.get_user(staff.server.db, "admin1").disabled_at is None
    with pytest.raises(accounts.UnknownUser):
        accounts.get_user(staff.server.db, "intrang")


def test_the_users_page_in_english(staff: Staff) -> None:
    page = staff.admin.get("/c/users?lang=en")
    assert page.status_code == 200 and "Add the user" in page.text and "Lägg till" not in page.text


# ---- Open311 API keys --------------------------------------------------------------------------

_KEY = re.compile(r'id="new-key">([^<]+)<')


def add_owner(staff: Staff, name: str) -> str:
    owner_id = new_id()
    stamp = iso(utcnow())
    with staff.server.db.write() as tx:
        tx.execute(
            "INSERT INTO owners (id, name, kind, email, created_at, updated_at)"
            " VALUES (?, ?, 'owner', 'felanmalan@vasbyhem.example', ?, ?)",
            [owner_id, name, stamp, stamp],
        )
    return owner_id


def test_a_key_is_shown_once_works_and_stops_when_revoked(staff: Staff) -> None:
    owner = add_owner(staff, "Väsbyhem AB")
    page = staff.post("admin", "/c/users/api-keys", {"name": "Väsbyhems felanmälan",
                                                     "owner": owner})  # fmt: skip
    assert page.status_code == 200
    key = _KEY.search(page.text)[1]  # type: ignore[index]
    assert "visas bara nu" in page.text
    read = staff.anonymous.get("/open311/v2/requests.json", params={"api_key": key})
    assert read.status_code == 200, read.text

    listed = staff.admin.get("/c/users").text
    table = listed.split('id="api-keys"')[1]
    assert "Väsbyhems felanmälan" in table and "Väsbyhem AB" in table
    assert key not in listed  # shown once: only the page that made it had it
    (row,) = [k for k in open311.list_api_keys(staff.server.db) if k.name == "Väsbyhems felanmälan"]
    assert row.owner_id == owner

    done = staff.post("admin", f"/c/users/api-keys/{row.id}/revoke")
    assert "notice=admin.keys.revoked" in done.headers["location"]
    assert staff.anonymous.get("/open311/v2/requests.json",
                               params={"api_key": key}).status_code == 403  # fmt: skip
    again = staff.post("admin", f"/c/users/api-keys/{row.id}/revoke")
    assert "notice=admin.keys.already_revoked" in again.headers["location"]
    assert "var redan återkallad" in staff.admin.get(again.headers["location"]).text
    unknown = staff.post("admin", "/c/users/api-keys/nope/revoke")
    assert unknown.status_code == 404 and "Det finns ingen nyckel" in unknown.text


@pytest.mark.parametrize(("form", "message"), [
    ({"name": "  "}, "Skriv vem nyckeln är till"),
    ({"name": "Systemet", "owner": "no-such-owner"}, "finns inte i ägarregistret"),
    ({"name": "K" * 101}, "högst 100 tecken"),
    ({"name": "kommunens system"}, "Det finns redan en aktiv nyckel"),
])  # fmt: skip
def test_a_refused_key_keeps_what_was_typed(staff: Staff, form: dict[str, str],
                                             message: str) -> None:  # fmt: skip
    open311.create_api_key(staff.server.db, "Kommunens system")
    before = len(open311.list_api_keys(staff.server.db))
    page = staff.post("admin", "/c/users/api-keys", form)
    assert page.status_code == 422 and message in page.text
    if form["name"].strip():
        assert f'value="{form["name"]}"' in page.text
    assert len(open311.list_api_keys(staff.server.db)) == before


def test_only_admins_make_keys(staff: Staff) -> None:
    for role in ("coordinator", "viewer"):
        assert staff.post(role, "/c/users/api-keys", {"name": "x"}).status_code == 403
    assert open311.list_api_keys(staff.server.db) == []
