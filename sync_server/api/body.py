"""Reading a request body within a limit: the one bounded-body reader of the HTTP layer.

A body is bounded before it is parsed, so an oversized push, form or upload costs the server
no more memory than the limit. `Content-Length` is believed when it says too much (the answer
can come before a byte is read); when it is missing or says little, the bytes are counted as
they arrive. Each caller turns `BodyTooLarge` into its own answer (a push's 413, Open311's error
form, the owner page's message at the form).
"""

from __future__ import annotations

from fastapi import Request


class BodyTooLarge(Exception):
    """The body is larger than `limit`; `declared` is its Content-Length when that said so."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        super().__init__(f"body larger than {limit} bytes")
        self.limit, self.declared = limit, declared


def declared_length(request: Request) -> int | None:
    """The Content-Length header as a number; None when it is missing or not a number."""
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


async def read_bounded(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it is known to exceed `limit` bytes."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit, declared)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)


async def discard(request: Request, declared: int, up_to: int) -> None:
    """Read and drop a refused body if it declares at most `up_to` bytes.

    A browser that is cut off mid-upload shows a connection error, not the page explaining the
    refusal; so a refused body is read to its end when that is cheap enough, then answered.
    """
    if declared > up_to:
        return
    async for _chunk in request.stream():
        pass
