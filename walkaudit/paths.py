"""Where the device's data lives (standard library only: main.py reads it before the first
screen, and anything heavier here would be paid on every cold start of the phone app)."""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """--data, else $WALKAUDIT_DATA, else the Flet app's storage, else ~/.local/share."""
    for var in ("WALKAUDIT_DATA", "FLET_APP_STORAGE_DATA"):
        if os.environ.get(var):
            return Path(os.environ[var])
    return Path.home() / ".local" / "share" / "walkaudit"
