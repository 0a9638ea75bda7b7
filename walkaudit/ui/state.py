"""The app's state: the store and its companions, settings, and the translator (no flet here).

Everything the views read goes through AppState, so the views stay thin and the headless tests can
inspect the same object the screens use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from walkaudit import i18n
from walkaudit.drafts import Draft as Draft  # re-exported: the new-finding screen's state
from walkaudit.inbox import Inbox
from walkaudit.remote import RemoteFindings
from walkaudit.store import PendingCounts, Store

DEFAULT_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
THEMES = ("light", "dark", "contrast")
PHOTO_EDGES = (1280, 1600, 2048)


@dataclass
class Settings:
    """The walker's choices, kept in the store's meta table (so they survive restarts)."""

    lang: str = i18n.DEFAULT_LANGUAGE
    theme: str = "light"
    max_edge: int = 2048
    tile_url: str = DEFAULT_TILES

    @classmethod
    def load(cls, store: Store) -> Settings:
        edge = store.get_meta("ui.max_edge")
        return cls(
            lang=store.get_meta("ui.lang") or i18n.DEFAULT_LANGUAGE,
            theme=store.get_meta("ui.theme") or "light",
            max_edge=int(edge) if edge and edge.isdigit() else 2048,
            tile_url=store.get_meta("ui.tile_url") or DEFAULT_TILES,
        )

    def save(self, store: Store) -> None:
        store.set_meta(
            **{
                "ui.lang": self.lang,
                "ui.theme": self.theme,
                "ui.max_edge": str(self.max_edge),
                "ui.tile_url": self.tile_url,
            }
        )


class AppState:
    """The store, inbox, remote cache, settings and translator of one data directory."""

    def __init__(self, store: Store, data_dir: Path) -> None:
        self.store = store
        self.data_dir = data_dir
        self.inbox = Inbox(store)
        self.remote = RemoteFindings(store)
        self.settings = Settings.load(store)
        self.t = i18n.Translator(self.settings.lang)
        self.last_position: tuple[float, float, float | None] | None = None

    @classmethod
    def open(cls, data_dir: Path) -> AppState:
        """Open the data directory (the CLI's format) and its store."""
        return cls(Store.open(data_dir), data_dir)

    def set_language(self, lang: str) -> None:
        self.settings.lang = lang
        self.t = i18n.Translator(lang)
        self.settings.save(self.store)

    @property
    def enrolled(self) -> bool:
        return bool(self.store.get_meta("token"))

    def pending(self) -> PendingCounts:
        """What waits for the server — the store's one definition (inbox captures included)."""
        return self.store.pending_counts()

    def pending_items(self) -> int:
        """The number on the badge: walks, findings, photos, answers and captures that wait.

        A walk counts once for its start, end and route points together; see PendingCounts.
        "Allt är synkat" is shown only when this is 0.
        """
        return self.pending().total
