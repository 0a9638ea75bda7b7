"""The tile source: whether packages may be prepared from it, and how its tiles are addressed.

The server prepares packages only from its one configured template, `tile_url`, and never from
OpenStreetMap's tile servers, whose usage policy forbids bulk downloads (`check_source` refuses
them with a sentence naming sources that allow it). The requests themselves, polite and cached,
are `fetch`'s; this module only reads the configuration and the source's answers.
"""

from __future__ import annotations

from importlib import metadata
from urllib.parse import urlsplit

from sync_server.config import Settings
from sync_server.field.tile_packages.area import tms_row
from sync_server.field.tile_packages.errors import NoAllowedSource

FORBIDDEN_HOSTS = ("tile.openstreetmap.org",)  # and their subdomains (a.tile…, b.tile…)
ALLOWED_SOURCES = (
    "the deployment's own tile server, the municipality's, or Lantmäteriet's open topographic map"
)


def check_source(template: str) -> str:
    """The tile template, if packages may be prepared from it; NoAllowedSource otherwise."""
    template = template.strip()
    if not template:
        raise NoAllowedSource(
            "this server has no map tile source (WALKAUDIT_TILE_URL is empty), so it cannot "
            f"prepare map packages; whoever runs it can set one that allows it: {ALLOWED_SOURCES}"
        )
    parts = urlsplit(template.replace("{s}", "a"))
    has_y = "{y}" in template or "{-y}" in template
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not has_y
        or any(key not in template for key in ("{z}", "{x}"))
    ):
        raise NoAllowedSource(
            "this server's WALKAUDIT_TILE_URL is not a tile template like "
            "https://tiles.example.se/{z}/{x}/{y}.png, so it cannot prepare map packages; "
            f"whoever runs it can set one from {ALLOWED_SOURCES}"
        )
    host = parts.hostname.lower().rstrip(".")
    if any(host == h or host.endswith("." + h) for h in FORBIDDEN_HOSTS):
        raise NoAllowedSource(
            f"this server's map tiles come from {host}, whose usage policy forbids downloading "
            "map packages for offline use; whoever runs the server can set WALKAUDIT_TILE_URL to "
            f"a source that allows it: {ALLOWED_SOURCES}"
        )
    return template


def tile_url(template: str, z: int, x: int, y: int) -> str:
    """The template filled in ({s} spread over a/b/c, {-y} the TMS row, {r} no retina)."""
    return (
        template.replace("{z}", str(z))
        .replace("{x}", str(x))
        .replace("{-y}", str(tms_row(z, y)))
        .replace("{y}", str(y))
        .replace("{s}", "abc"[(x + y) % 3])
        .replace("{r}", "")
    )


def image_format(data: bytes) -> str | None:
    """ "png" or "jpg" by the file's signature; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    return None


def user_agent(settings: Settings) -> str:
    try:
        version = metadata.version("walkaudit")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"walkaudit-server/{version} (offline map packages for safety walks; +{settings.url})"
