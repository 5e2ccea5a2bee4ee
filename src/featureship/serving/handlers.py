"""Error responses: every failure answers `{"detail": "<a sentence a person can act on>"}`.

- request body errors (bad JSON, wrong schema) → 422, with `errors` listing each problem;
- a list of inputs over --max-batch, or a text over --max-text-chars → 413 naming the flag;
- a `FeatureshipError` raised by a model → its `status_code` attribute if any, else 422;
- anything unexpected → 500 with a generic message; the traceback goes to the server log.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from featureship.endpoints import Endpoint, json_type
from featureship.errors import FeatureshipError
from featureship.serving.settings import ServerSettings

logger = logging.getLogger("featureship.serving")

INTERNAL_ERROR = (
    "Internal server error while answering this request; the details are in the server log. "
    "The server is still running."
)

_SHOWN_PROBLEMS = 3


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(FeatureshipError, _model_error)
    app.add_exception_handler(ResponseValidationError, _response_invalid)
    app.add_exception_handler(Exception, _unexpected)


def describe_problems(errors: list[dict[str, Any]], example: dict[str, Any] | None) -> str:
    """One readable paragraph for pydantic's error list, e.g.
    "Invalid request body: 'inputs' should be a valid list (got "text"). Expected a body like ..."
    """
    if any(e.get("type") == "json_invalid" for e in errors):
        error = next(e for e in errors if e.get("type") == "json_invalid")
        reason = (error.get("ctx") or {}).get("error", "syntax error")
        where = error["loc"][-1] if len(error.get("loc", ())) > 1 else "?"
        sentence = f"The request body is not valid JSON ({reason} at character {where})."
    else:
        parts = [_describe(e) for e in errors[:_SHOWN_PROBLEMS]]
        more = len(errors) - _SHOWN_PROBLEMS
        sentence = "Invalid request body: " + "; ".join(parts)
        sentence += f" (and {more} more problems)." if more > 0 else "."
    shown = json.dumps(example, ensure_ascii=False) if example else ""
    return sentence + (f" Expected a JSON body like {shown}." if shown else "")


def _describe(error: dict[str, Any]) -> str:
    path = _path(error.get("loc", ()))
    kind, message, value = error.get("type", ""), str(error.get("msg", "")), error.get("input")
    if not path:  # the body as a whole
        if kind == "missing":
            return "the body is empty; send a JSON object"
        if kind in ("model_attributes_type", "dict_type", "model_type"):
            if isinstance(value, (bytes, str)):
                return "the body must be a JSON object sent with 'Content-Type: application/json'"
            return f"the body must be a JSON object, not {json_type(value)}"
        return message.removeprefix("Value error, ")
    if kind == "missing":
        return f"the field '{path}' is required"
    if kind == "extra_forbidden":
        return f"'{path}' is not a field of this request"
    if message.startswith("Value error, "):  # our own validators already say what was wrong
        return f"'{path}': {message.removeprefix('Value error, ')}"
    # pydantic's "Input should be a valid list" reads better as "'inputs' should be a valid list"
    message = message.replace(" after validation", "")
    for subject in ("Input ", "List ", "String ", "Value "):
        if message.startswith(subject):
            message = message[len(subject) :]
            break
    got = "" if kind.startswith("too_") else f" (got {_short(value)})"
    return f"'{path}' {message}{got}"


def _path(loc: tuple[Any, ...] | list[Any]) -> str:
    text = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _endpoint(request: Request) -> Endpoint | None:
    route = request.scope.get("route")
    return getattr(getattr(route, "endpoint", None), "endpoint_spec", None)


def _over_limit(errors: list[dict[str, Any]], endpoint: Endpoint | None,
                settings: ServerSettings) -> str | None:
    """A sentence for inputs beyond the server's --max-batch / --max-text-chars, else None."""
    if endpoint is None or (endpoint.batch is None and endpoint.uploads is None):
        return None
    field = endpoint.batch[0] if endpoint.batch else endpoint.uploads[0]  # type: ignore[index]
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "too_long" and loc == ("body", field):
            count = len(error.get("input") or ())
            return (f"This request has {count:,} inputs; the server accepts at most "
                    f"{settings.max_batch:,} per request (server flag --max-batch). Split the "
                    "inputs into smaller requests, or restart the server with a larger --max-batch.")
        if error.get("type") == "string_too_long" and loc[:2] == ("body", field) and len(loc) == 3:
            length = len(error.get("input") or "")
            return (f"{field}[{loc[2]}] has {length:,} characters; the longest text accepted is "
                    f"{settings.max_text_chars:,} (server flag --max-text-chars). Shorten the "
                    "text, or restart the server with a larger --max-text-chars.")
        if (error.get("type") == "string_too_long" and endpoint.uploads is not None and len(loc) == 4
                and loc[1:2] == (endpoint.uploads[0],) and loc[3] == endpoint.uploads[1]):
            size = len(error.get("input") or "") * 3 // 4
            return (f"{loc[1]}[{loc[2]}].{loc[3]} holds about {size:,} bytes; the largest "
                    f"image accepted is {settings.max_image_bytes:,} bytes (server flag "
                    "--max-image-bytes). Send a smaller image, or restart the server with a larger "
                    "--max-image-bytes.")
    return None


async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    endpoint = _endpoint(request)
    too_big = _over_limit(errors, endpoint, request.app.state.settings)
    if too_big:
        return JSONResponse({"detail": too_big}, status_code=413)
    # The caller's own input is left out: it can be megabytes, and they already have it.
    listed = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors
    ]
    return JSONResponse(
        {"detail": describe_problems(errors, endpoint.example if endpoint else None),
         "errors": listed},
        status_code=422,
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI answers a body that is not UTF-8 with a bare 400; it is malformed JSON: 422
        detail = (f"The request body is not valid JSON: it is not UTF-8 text ({exc.__cause__.reason} "
                  f"at byte {exc.__cause__.start}). Send UTF-8 encoded JSON.")
        return JSONResponse({"detail": detail, "errors": [
            {"loc": ["body"], "msg": "not UTF-8", "type": "json_invalid"}]}, status_code=422)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _model_error(request: Request, exc: Exception) -> JSONResponse:
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int) or not 400 <= status < 500:
        status = 422
    return JSONResponse({"detail": str(exc)}, status_code=status)


async def _response_invalid(request: Request, exc: Exception) -> JSONResponse:
    # The model returned something that does not fit the documented response: a server bug.
    # Only where and what kind: the values could quote the request, and bodies are never logged.
    problems = [(e.get("loc"), e.get("type")) for e in getattr(exc, "errors", list)()]
    logger.error("response for %s does not match its schema: %s", request.url.path, problems)
    return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    from featureship.serving.worker import describe_failure

    logger.error("unexpected error on %s %s: %s", request.method, request.url.path,
                 describe_failure(exc))
    return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)
