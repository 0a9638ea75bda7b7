"""The one translation mechanism: Swedish first, English second (the app, the server's pages,
emails and PDFs).

Messages are keyed; each key has a Swedish and an English text with `{name}` placeholders.
Category and severity labels come from here too, so every front end says the same thing.
A missing key is a bug, not a blank button: `t()` raises KeyError (a test checks every key has
both languages). The catalogues themselves are elsewhere (the app's in this package, the
server's in sync_server.texts) and are added with `register`.
"""

from __future__ import annotations

from walkaudit import categories

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"

# Every registered message: key → (Swedish, English).
MESSAGES: dict[str, tuple[str, str]] = {}


def register(messages: dict[str, tuple[str, str]]) -> None:
    """Add a catalogue (the app's, the server's emails, the owner page) to the one set of messages.

    A key may be registered once only: two texts for one key would make it a matter of import
    order which one a person reads.
    """
    clash = sorted(k for k in messages if k in MESSAGES and MESSAGES[k] != messages[k])
    if clash:
        raise ValueError(f"message keys registered twice: {', '.join(clash)}")
    MESSAGES.update(messages)


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The message for `key` in `lang` (Swedish unless 'en'), with placeholders filled in."""
    sv, en = MESSAGES[key]
    text = en if lang == "en" else sv
    return text.format(**values) if values else text


def category_label(code: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A category's label in the language."""
    return categories.get(code).label(lang)


class Translator:
    """`t` bound to a language, for a front end that can switch language at run time."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)

    def category(self, code: str) -> str:
        """A category's label."""
        return category_label(code, self.lang)
