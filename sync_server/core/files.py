"""Where the server's own files are (templates, static files, fonts, municipal boundaries, demo
photos): one place, so that moving a module never breaks a path counted in `parent.parent`."""

from __future__ import annotations

from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent  # sync_server/
WEB = SERVER / "web"
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"
FONTS = WEB / "fonts"
DATA = SERVER / "data"
DEMO_PHOTOS = SERVER.parent / "assets" / "demo"
