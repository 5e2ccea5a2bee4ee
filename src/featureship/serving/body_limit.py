"""Refuse oversized request bodies (413) before they are read into memory and parsed."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from featureship.serving.settings import ServerSettings

# Worst case for one character in a JSON string is a 6-byte "\uXXXX" escape; the slack covers
# the keys, quotes and commas around the texts.
_BYTES_PER_CHAR = 6
_SLACK_BYTES = 1 << 20


def max_body_bytes(settings: ServerSettings) -> int:
    """The largest body a request within --max-batch and --max-text-chars can need."""
    return settings.max_batch * settings.max_text_chars * _BYTES_PER_CHAR + _SLACK_BYTES


class BodyLimitMiddleware:
    """Pure ASGI middleware: a declared Content-Length above the limit is answered 413 unread.

    Bodies sent without a Content-Length (chunked) are not checked here; the per-request
    --max-batch / --max-text-chars checks still apply to them after parsing.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = dict(scope["headers"]).get(b"content-length", b"0")
            if declared.isdigit() and int(declared) > self.limit:
                await _refuse(send, int(declared), self.limit)
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, declared: int, limit: int) -> None:
    detail = (
        f"The request body is {declared:,} bytes; this server accepts at most {limit:,} "
        "(set by its --max-batch and --max-text-chars flags). Send fewer or shorter inputs."
    )
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
