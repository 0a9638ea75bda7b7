"""Entry point for `flet run` and `flet build`: the field app on the app's own storage.

On the phone Flet sets FLET_APP_STORAGE_DATA (writable, private to the app); under plain
`python main.py` we fall back to the same directory the CLI uses by default.
"""

import flet as ft

from walkaudit.paths import default_data_dir
from walkaudit.ui.app import make_main

data_dir = default_data_dir()
data_dir.mkdir(parents=True, exist_ok=True)
ft.run(make_main(data_dir), assets_dir="assets")
