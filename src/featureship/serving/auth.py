"""API keys: `featureship serve --api-key-env VAR` requires `Authorization: Bearer <key>`.

What needs a key when keys are on:
- every `/v1` route (the models, their predictions, the model list, drift verdicts);
- `/metrics`: it carries traffic volumes and the distribution of predicted labels, which are
  the business's data; Prometheus sends the key with `authorization: {credentials: ...}` in
  its scrape config.
What stays open:
- `/healthz` and `/readyz`: probes (load balancers, Kubernetes) carry no credentials and
  they reveal nothing beyond "up";
- `/docs`, its assets and `/openapi.json`: they describe the API's shape only (routes and
  schemas, no data, no keys), and Swagger UI must fetch the schema before a user can enter
  a key with its "Authorize" button to try calls.

Keys are compared in constant time against every configured key (no early exit on the first
match, so timing does not tell which key or how much of one matched) and never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from featureship.errors import SettingsError

logger = logging.getLogger("featureship.serving")

SCHEME = "bearerAuth"
_SHORT_KEY = 16


def read_api_keys(variable: str) -> tuple[str, ...]:
    """The keys in environment variable `variable`: one key or a comma-separated list.

    >>> os.environ["FEATURESHIP_KEYS"] = "k1-long-random,k2-long-random"
    >>> read_api_keys("FEATURESHIP_KEYS")
    ('k1-long-random', 'k2-long-random')
    """
    if not variable or not variable.strip():
        raise SettingsError("--api-key-env needs the name of an environment variable that holds "
                            "the API key(s), e.g. --api-key-env FEATURESHIP_API_KEYS.")
    raw = os.environ.get(variable)
    if raw is None:
        raise SettingsError(f"--api-key-env {variable}: the environment variable {variable} is "
                            f"not set. Set it to one key or a comma-separated list of keys, "
                            f"e.g. export {variable}=\"$(openssl rand -hex 32)\".")
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if not keys:
        raise SettingsError(f"--api-key-env {variable}: the environment variable {variable} is "
                            "empty. Set it to one key or a comma-separated list of keys.")
    if any(" " in k or "\t" in k for k in keys):
        raise SettingsError(f"--api-key-env {variable}: a key contains whitespace; a bearer key "
                            "is one token. Separate several keys with commas.")
    short = sum(len(k) < _SHORT_KEY for k in keys)
    if short:
        logger.warning("%d of the %d API key(s) in %s are shorter than %d characters; use long "
                       "random keys (e.g. openssl rand -hex 32).", short, len(keys), variable,
                       _SHORT_KEY)
    return keys


def needs_key(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/") or path == "/metrics"


def key_matches(given: str, keys: tuple[str, ...]) -> bool:
    given_bytes = given.encode("utf-8", "surrogateescape")
    matched = False
    for key in keys:  # all compared: the time does not depend on which key matched
        matched |= hmac.compare_digest(given_bytes, key.encode("utf-8"))
    return matched


class ApiKeyMiddleware:
    """Pure ASGI middleware: a request to a guarded path without a valid key is answered 401
    before its body is read."""

    def __init__(self, app: ASGIApp, keys: tuple[str, ...]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_key(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if not header:
            await _refuse(send, "This server requires an API key: send the header "
                          "'Authorization: Bearer <key>'.", 'Bearer realm="featureship"')
            return
        if scheme.lower() != "bearer" or not key_matches(token.strip(), self.keys):
            await _refuse(send, "The API key is not valid (send 'Authorization: Bearer <key>' "
                          "with a key this server was started with).",
                          'Bearer realm="featureship", error="invalid_token"')
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send, detail: str, challenge: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", challenge.encode()),
    ]})
    await send({"type": "http.response.body", "body": body})


def declare_bearer(openapi: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Wrap `app.openapi` so the schema declares the bearer scheme on every guarded route."""
    def schema() -> dict[str, Any]:
        document = openapi()
        if document.get("components", {}).get("securitySchemes", {}).get(SCHEME):
            return document  # FastAPI caches the schema: decorate it once
        document.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = {
            "type": "http", "scheme": "bearer",
            "description": "One of the keys in the server's --api-key-env variable."}
        for path, operations in document.get("paths", {}).items():
            if not needs_key(path):
                continue
            for operation in operations.values():
                operation["security"] = [{SCHEME: []}]
                operation.setdefault("responses", {})["401"] = {
                    "description": "No API key, or not a valid one.",
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/ErrorBody"}}}}
        document.setdefault("components", {}).setdefault("schemas", {}).setdefault(
            "ErrorBody", {"title": "ErrorBody", "type": "object", "required": ["detail"],
                          "properties": {"detail": {"type": "string", "title": "Detail"}}})
        return document

    return schema
