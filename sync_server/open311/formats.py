"""Open311 answers in JSON and XML: a list of items, or the standard's error list.

JSON is an array of the items. XML uses the standard's element names (`ITEM`): a nested mapping
becomes nested elements, None and "" an empty element, booleans true/false.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

ITEM = {"services": "service", "service_requests": "request",
        "service_request_updates": "request_update", "errors": "error"}  # fmt: skip
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render(kind: str, items: list[dict[str, Any]], fmt: str) -> bytes:
    """A list answer: a JSON array, or XML with the standard's element names."""
    if fmt == "json":
        return json.dumps(items, ensure_ascii=False).encode()
    # Written as text (element names are ours, values escaped): ElementTree took 50 ms a page.
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n', f"<{kind}>"]
    for item in items:
        parts.append(f"<{ITEM[kind]}>")
        _fill(parts, item)
        parts.append(f"</{ITEM[kind]}>")
    parts.append(f"</{kind}>")
    return "".join(parts).encode()


def _fill(parts: list[str], values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if isinstance(value, Mapping):
            parts.append(f"<{name}>")
            _fill(parts, value)
            parts.append(f"</{name}>")
        elif value is None or value == "":
            parts.append(f"<{name} />")
        else:
            if isinstance(value, bool):
                value = "true" if value else "false"
            # XML 1.0 cannot carry control characters: a walker's note must not break the answer.
            parts.append(f"<{name}>{escape(_NOT_XML.sub('', str(value)))}</{name}>")


def error_items(status: int, description: str) -> list[dict[str, Any]]:
    """The standard's error answer: [{code, description}]."""
    return [{"code": status, "description": description}]
