"""A real SMTP server for tests: aiosmtpd on loopback, collecting what it receives.

    with MailServer() as smtp:                      # or the `smtp_server` fixture (conftest)
        settings = Settings(..., smtp_url=smtp.url, mail_from="walkaudit@example.se")
        ...
        smtp.stop()                                 # "SMTP down": connections are refused
        smtp.start()                                # back, on the same port
        [msg] = smtp.parsed()                       # EmailMessage objects (policy.default)

`refuse` holds addresses answered with 550 at RCPT (a mailbox that does not exist).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One message as the SMTP server got it: the envelope and the raw bytes."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    def parsed(self) -> EmailMessage:
        message = BytesParser(policy=policy.default).parsebytes(self.content)
        assert isinstance(message, EmailMessage)
        return message


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.server.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        received = Received(str(envelope.mail_from), list(envelope.rcpt_tos), envelope.content)
        with self.server.lock:
            self.server.received.append(received)
        return "250 Message accepted for delivery"


class MailServer:
    """aiosmtpd's Controller on 127.0.0.1 and a free port; stop() and start() at will."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        """The WALKAUDIT_SMTP_URL for this server."""
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> MailServer:
        if self._controller is None:
            controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening: a client now gets 'connection refused', as when the relay is down."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def parsed(self) -> list[EmailMessage]:
        """Every message received so far, parsed with email.policy.default."""
        with self.lock:
            return [r.parsed() for r in self.received]

    def to(self, address: str) -> list[EmailMessage]:
        """The messages whose envelope names this recipient."""
        with self.lock:
            return [r.parsed() for r in self.received if address in r.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.received)}")

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# ---- owners and assignments, as routing will leave them (until owners.routing lands) ----


def add_owner(
    db: Any,
    name: str,
    email: str,
    *,
    language: str = "sv",
    kind: str = "owner",
    area: dict[str, Any] | None = None,
) -> str:
    """An owners row (and its area polygon, as GeoJSON); returns the owner's id."""
    from walkaudit.model import new_id, utcnow

    owner_id, now = new_id(), utcnow().isoformat()
    with db.write() as tx:
        tx.execute(
            "INSERT INTO owners (id, name, kind, email, language, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [owner_id, name, kind, email, language, now, now],
        )
        if area is not None:
            ring = area["coordinates"][0]
            lons, lats = [p[0] for p in ring], [p[1] for p in ring]
            tx.execute(
                "INSERT INTO owner_areas (owner_id, feature, geojson, min_lon, min_lat, max_lon,"
                " max_lat) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [owner_id, name, json.dumps(area), min(lons), min(lats), max(lons), max(lats)],
            )
    return owner_id


def assign(
    db: Any,
    finding_id: str,
    owner_id: str | None,
    *,
    deadline: str | None = "2027-05-31",
    email: str | None = None,
    reason: str = "area",
) -> None:
    """An assignments row; owner_id None puts the finding on the triage list."""
    from walkaudit.model import utcnow

    with db.write() as tx:
        tx.execute(
            "INSERT OR REPLACE INTO assignments (finding_id, owner_id, email, reason, deadline,"
            " routed_at) VALUES (?, ?, ?, ?, ?, ?)",
            [finding_id, owner_id, email, reason, deadline, utcnow().isoformat()],
        )


def box(lon: float, lat: float, d: float = 0.002) -> dict[str, Any]:
    """A square GeoJSON Polygon around a point."""
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
