"""Refuse oversized request bodies (413) before they are parsed, declared or chunked alike."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from featureship.serving.settings import ServerSettings

# Worst case for one character in a JSON string is a 6-byte "\uXXXX" escape; the slack covers
# the keys, quotes and commas around the texts.
_BYTES_PER_CHAR = 6
_SLACK_BYTES = 1 << 20


def max_body_bytes(settings: ServerSettings, images: bool = False) -> int:
    """The largest body a request within --max-batch and --max-text-chars (or, when a served
    endpoint takes images, --max-image-bytes, base64-encoded in JSON) can need.

    The image allowance counts only when some model takes images: it is far larger than any
    text request, and a text-only server should not accept gigabyte bodies because of it.
    """
    texts = settings.max_batch * settings.max_text_chars * _BYTES_PER_CHAR
    pictures = settings.max_batch * (settings.max_image_bytes * 4 // 3 + 64) if images else 0
    return max(texts, pictures) + _SLACK_BYTES


class BodyLimitMiddleware:
    """Pure ASGI middleware: a body above the limit is answered 413 and never parsed.

    A declared Content-Length above the limit is refused unread. A body sent without one
    (chunked) is counted as it arrives and refused as soon as it passes the limit; what was
    read so far is replayed to the app, so at most `limit` bytes are ever held.
    """

    def __init__(self, app: ASGIApp, limit: int, upload: tuple[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        # (path prefix, limit): the console's uploads of tables and image folders
        self.upload = upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, fix = self.limit, _FIX
        if self.upload is not None and scope["path"].startswith(self.upload[0]):
            limit, fix = self.upload[1], _UPLOAD_FIX
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > limit:
                await _refuse(send, f"The request body is {int(declared):,} bytes", limit, fix)
                return
            await self.app(scope, receive, send)
            return
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await _refuse(send, f"The request body passed {limit:,} bytes", limit, fix)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)


_FIX = "(set by its --max-batch and --max-text-chars flags). Send fewer or shorter inputs."
_UPLOAD_FIX = ("in one upload (set by featureship console --max-upload-mb). Upload a smaller file, "
               "or restart the console with a larger --max-upload-mb.")


async def _refuse(send: Send, what: str, limit: int, fix: str = _FIX) -> None:
    detail = f"{what}; this server accepts at most {limit:,} {fix}"
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
