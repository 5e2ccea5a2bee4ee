"""multipart/form-data uploads for endpoints that declare `uploads` (e.g. images).

The route class turns a multipart request into the JSON body the endpoint already declares —
each uploaded file becomes one item `{item field: "<base64 of the file>"}` of the list field — before FastAPI
validates it, so uploads and JSON share one schema, one handler and one set of errors. A file
over the server's --max-image-bytes is answered 413 without being encoded.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile

from featureship.endpoints import Endpoint

_CHUNK = 1 << 20


class UploadRoute(APIRoute):
    """An APIRoute that also accepts multipart/form-data for its declared `uploads`."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        endpoint: Endpoint = self.endpoint.endpoint_spec  # type: ignore[attr-defined]
        list_field, item_field = endpoint.uploads  # type: ignore[misc]

        async def route(request: Request) -> Response:
            if not request.headers.get("content-type", "").startswith("multipart/form-data"):
                return await handler(request)
            limit = request.app.state.settings.max_image_bytes
            try:
                form = await request.form()
            except Exception as exc:  # malformed multipart: the caller's mistake
                return JSONResponse({"detail": f"The multipart body cannot be parsed ({exc}). Send "
                                     "one file part per input."}, status_code=422)
            inputs = []
            for _, value in form.multi_items():
                if not isinstance(value, UploadFile):
                    continue
                data = await _read_capped(value, limit)
                if data is None:
                    return JSONResponse({"detail": (
                        f"Uploaded file {len(inputs)} ('{value.filename}') is over {limit:,} bytes, the "
                        "largest image this server accepts (server flag --max-image-bytes). Send a "
                        "smaller image, or restart the server with a larger --max-image-bytes.")},
                        status_code=413)
                inputs.append({item_field: base64.b64encode(data).decode("ascii")})
            await form.close()
            if not inputs:
                return JSONResponse({"detail": "The multipart body holds no file; send each image as a "
                                     "file part (curl -F 'file=@photo.jpg')."}, status_code=422)
            body = json.dumps({list_field: inputs}).encode()
            headers = [(k, v) for k, v in request.scope["headers"]
                       if k not in (b"content-type", b"content-length")]
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            rebuilt = Request({**request.scope, "headers": headers}, request.receive)
            rebuilt._body = body  # starlette reads a request's body once and caches it here
            return await handler(rebuilt)

        return route


async def _read_capped(upload: UploadFile, limit: int) -> bytes | None:
    """The file's bytes, or None as soon as they pass `limit`."""
    parts, size = [], 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


def multipart_openapi(endpoint: Endpoint) -> dict[str, Any]:
    """Document the multipart alternative next to the JSON body."""
    return {"requestBody": {"content": {"multipart/form-data": {"schema": {
        "type": "object",
        "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"},
                                 "description": "One file per input, in order."}},
    }}}}}
