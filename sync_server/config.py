"""Server settings, read from the environment (`WALKAUDIT_*`) or passed in by the caller.

The settings' own parsers live here too (`parse_trusted_proxies`, `smtp_config`): a setting is
checked once, where it is read, and this module imports nothing else of the server's, so every
layer above may import it (the mail delivery turns `smtp_config`'s ValueError into its BadSmtpUrl).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The data directory is for the server's user alone: the outbox holds owner links, the database
# names, addresses and notes. Directories 0700, files 0600 (see `make_private`).
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

log = logging.getLogger("walkaudit.server")


class Settings(BaseSettings):
    """Everything the server can be told; `create_app(Settings(...))` takes one explicitly."""

    # hide_input_in_errors: a bad WALKAUDIT_SMTP_URL must not print its password in the error.
    model_config = SettingsConfigDict(
        env_prefix="WALKAUDIT_", extra="ignore", hide_input_in_errors=True
    )

    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = Field(default=8470, ge=1, le=65535)
    # The address phones use to reach this server, when it differs from http://host:port
    # (behind a reverse proxy, say). Only used in messages.
    public_url: str | None = None
    max_photo_bytes: int = Field(default=25 * MiB, gt=0)
    max_batch_bytes: int = Field(default=8 * MiB, gt=0)
    enrol_code_ttl_hours: float = Field(default=24, gt=0)
    # A photo chunk that sends nothing for this long is treated as cut (the lock is released).
    upload_idle_timeout_s: float = Field(default=30, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # /healthz answers 503 when the data directory has less free space than this (MB): a full
    # disk refuses photos and findings (507), so monitoring should hear of it before that.
    min_free_mb: int = Field(default=200, ge=0)
    # Addresses of reverse proxies whose X-Forwarded-For is believed (comma-separated IPs or
    # networks, e.g. "127.0.0.1,10.0.0.0/8"). Empty: the header is ignored and every limit per
    # address counts the connecting address, so a client cannot reset its own count.
    trusted_proxies: str = ""

    # ---- reports to owners and their delivery (sync_server.reports, sync_server.mail) ----
    # ONE setting for the mail server: smtp://host:port, smtp+starttls://user:pw@host:587 or
    # smtps://user:pw@host:465 (user and password percent-encoded). Unset: messages are written
    # as .eml files under {data_dir}/outbox/ instead (the demo). A secret: it holds a password.
    smtp_url: SecretStr | None = None
    mail_from: str | None = None  # the sender; required with smtp_url
    coordinator_email: str | None = None  # Reply-To of reports; gets the weekly summary
    report_interval_s: float = Field(default=300, ge=0)  # `serve` runs a pass this often; 0: off
    # A walk that was never ended (a flat battery) must not hold its findings back for ever.
    report_settle_hours: float = Field(default=24, gt=0)
    # Late findings of a walk already reported to an owner are batched: one mail a day at most.
    report_batch_hours: float = Field(default=24, gt=0)
    mail_max_attempts: int = Field(default=6, ge=1)
    reminder_interval_days: float = Field(default=14, gt=0)
    mail_max_bytes: int = Field(default=10 * MiB, gt=0)  # beyond it photos go by link
    mail_photo_px: int = Field(default=800, ge=200, le=2048)  # long edge of photos in the email
    geocoder_url: str | None = None  # a Nominatim server, e.g. https://nominatim.example.org
    geocoder_timeout_s: float = Field(default=3, gt=0)

    # ---- the coordinator web and Open311 ----
    # Map tiles for the coordinator's maps (Leaflet). Empty: no background map, points only.
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "© OpenStreetMap contributors"
    # Offline map packages for phones (field.tile_packages) are prepared from tile_url, at
    # most this large (MB); an area whose estimate is larger is refused (413).
    tile_package_max_mb: int = Field(default=50, gt=0)
    # A package neither asked for nor downloaded for this many days is removed (the sweep at
    # start-up and every few hours); asked for again, it is prepared again.
    tile_package_keep_days: float = Field(default=90, gt=0)
    # Open311 GeoReport v2 reads without an api_key, from a view without personal data.
    open311_public_read: bool = False
    # Signed Open311 photo links (media_url) stop working after this many days (410 Gone).
    open311_media_link_days: float = Field(default=7, gt=0)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("smtp_url")
    @classmethod
    def _valid_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            smtp_config(value.get_secret_value())  # the one parser, with its messages
            return value
        return None

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_trusted_proxies(cls, value: str) -> str:
        parse_trusted_proxies(value)  # ValueError names the entry that is not an address
        return value

    @field_validator("geocoder_url")
    @classmethod
    def _valid_geocoder_url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not value.strip().startswith(("http://", "https://")):
            raise ValueError("WALKAUDIT_GEOCODER_URL must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _sender_with_smtp(self) -> Settings:
        if self.smtp_url is not None and not (self.mail_from or "").strip():
            raise ValueError("WALKAUDIT_SMTP_URL is set: set WALKAUDIT_MAIL_FROM (the sender) too")
        return self

    @property
    def outbox_dir(self) -> Path:
        """Where messages go as .eml files when no SMTP server is configured."""
        return self.data_dir / "outbox"

    @property
    def database_path(self) -> Path:
        """The SQLite file inside the data directory."""
        return self.data_dir / "walkaudit.db"

    @property
    def photos_dir(self) -> Path:
        """Root of the content-addressed photo store inside the data directory."""
        return self.data_dir / "photos"

    @property
    def url(self) -> str:
        """Where phones should connect: public_url if set, else http://host:port."""
        if self.public_url:
            return self.public_url.rstrip("/")
        # Listening on every interface: this machine can still be reached on the loopback.
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


def make_private(settings: Settings, extra: Iterable[str] = ()) -> int:
    """Create the data directory if needed and make it and the server's own files in it this
    user's alone (0700 directories, 0600 files); returns how many modes were changed.

    New files are private through the process's umask (the CLI sets it); this mends what an older
    version left readable. Only the server's layout is walked — the database, the outbox, the
    photos and the names in `extra` — never anything else a mistaken --data may point at.
    Symbolic links are neither followed nor changed; what cannot be changed is logged and left.
    """
    data_dir = settings.data_dir
    data_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    database = settings.database_path.name
    names = [database, f"{database}-wal", f"{database}-shm", *extra]
    entries = [(str(data_dir), PRIVATE_DIR_MODE)]
    entries += [(str(data_dir / name), PRIVATE_FILE_MODE) for name in names]
    for folder in (settings.outbox_dir, settings.photos_dir):
        for root, _, files in os.walk(folder):
            entries.append((root, PRIVATE_DIR_MODE))
            entries += [(os.path.join(root, name), PRIVATE_FILE_MODE) for name in files]
    return sum(_restrict(path, mode) for path, mode in entries)


def _restrict(path: str, mode: int) -> bool:
    """chmod to `mode` if it is a file or folder with another; True if it changed."""
    try:
        status = os.lstat(path)
        if stat.S_ISLNK(status.st_mode) or stat.S_IMODE(status.st_mode) == mode:
            return False
        os.chmod(path, mode)
    except FileNotFoundError:
        return False  # not there (yet), or removed meanwhile (a finished partial upload)
    except OSError as exc:
        log.warning("cannot make %s private (mode %o): %s", path, mode, exc)
        return False
    return True


def parse_trusted_proxies(text: str) -> tuple[Network, ...]:
    """The networks in "127.0.0.1, 10.0.0.0/8, ::1"; ValueError names an entry that is none."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"WALKAUDIT_TRUSTED_PROXIES: {entry[:60]!r} is not an IP address or network; give"
                " the reverse proxies' addresses, comma-separated (e.g. 127.0.0.1,10.0.0.0/8)"
            ) from None
    return tuple(networks)


SMTP_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}  # scheme → its default port


@dataclass(frozen=True)
class SmtpConfig:
    """WALKAUDIT_SMTP_URL taken apart: how to reach the mail server."""

    scheme: str
    host: str
    port: int
    username: str | None = field(default=None)
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """The URL without the password, for logs."""
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


def smtp_config(url: str) -> SmtpConfig:
    """smtp://host:port, smtp+starttls://user:pw@host:587, smtps://user:pw@host:465;
    ValueError says what is wrong (never the password)."""
    usage = (
        "WALKAUDIT_SMTP_URL must look like smtp://host:25, smtp+starttls://user:password@host:587"
        " or smtps://user:password@host:465 (user and password percent-encoded)"
    )
    parts = urlsplit(url.strip())
    if parts.scheme not in SMTP_PORTS:
        raise ValueError(f"{usage}; the scheme {parts.scheme or '(none)'!r} is not one of these")
    try:
        port = parts.port or SMTP_PORTS[parts.scheme]
    except ValueError:
        raise ValueError(f"{usage}; the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"{usage}; the host is missing")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{usage}; there is something after the port")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if username and password is None:
        raise ValueError(f"{usage}; a user needs a password (user:password@host)")
    if username and parts.scheme == "smtp":
        raise ValueError(
            "smtp:// would send the password unencrypted; use smtp+starttls:// or smtps://"
        )
    return SmtpConfig(parts.scheme, parts.hostname, port, username, password)
