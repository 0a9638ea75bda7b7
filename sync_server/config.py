"""Server settings, read from the environment (`WALKAUDIT_*`) or passed in by the caller."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Everything the server can be told; `create_app(Settings(...))` takes one explicitly."""

    model_config = SettingsConfigDict(env_prefix="WALKAUDIT_", extra="ignore")

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

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

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
