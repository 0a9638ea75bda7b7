"""The one Jinja2 environment factory: the coordinator web, the owner page and the mails render
their templates (web/templates/) with the same rules, so a rule is changed in one place.

The rules: HTML is autoescaped, a misspelt variable is an error (StrictUndefined: it fails a
test, not a page or a mail) and block tags leave no blank lines. Mails differ in two ways only:
a plain-text mail keeps its trailing newline, and no string template is escaped by default.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from sync_server.core.files import TEMPLATES


def environment(folder: Path = TEMPLATES, *, for_mail: bool = False) -> Environment:
    """A Jinja2 environment over the templates in `folder` (each caller adds its own globals)."""
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html"], default_for_string=not for_mail, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=for_mail,
    )
