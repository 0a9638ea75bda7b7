"""The Flet field app: the only package that imports flet. Entry: `walkaudit app` or main.py."""

from __future__ import annotations

from pathlib import Path


def run(data_dir: Path, *, web: bool = False, port: int = 0, host: str | None = None) -> None:
    """Start the app on a data directory (web mode serves the Flet web client, no CDN)."""
    import flet as ft

    from walkaudit.ui.app import make_main

    assets = Path(__file__).resolve().parent.parent.parent / "assets"
    ft.run(
        make_main(data_dir),
        view=ft.AppView.WEB_BROWSER if web else ft.AppView.FLET_APP,
        port=port,
        host=host,
        assets_dir=str(assets) if assets.is_dir() else None,
        no_cdn=True,
    )
