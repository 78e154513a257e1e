"""HTTP plumbing around the BentoML service: request guard and ``GET /model``.

:class:`RequestGuard` answers malformed requests before BentoML sees them, so every bad request
gets a 4xx with a message instead of an internal error: a POST that is not JSON (415), a body
over the size limit (413), or a body that does not parse as JSON (400).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from serving.api_types import MAX_ARTICLE_CHARS, MAX_PARAGRAPHS, MAX_TEXT_CHARS

# Worst case JSON escaping makes a character six bytes ("\uXXXX"); add room for the envelope
# (ids, field names) so that no request within the documented limits is refused.
MAX_BODY_BYTES = 6 * max(MAX_ARTICLE_CHARS, MAX_PARAGRAPHS * MAX_TEXT_CHARS) + 65536

_info_provider: Callable[[], dict[str, Any]] | None = None


def set_info_provider(provider: Callable[[], dict[str, Any]]) -> None:
    """Register the function that ``GET /model`` reports (the service's ``describe``)."""
    global _info_provider
    _info_provider = provider


async def _model_info(_: Request) -> JSONResponse:
    if _info_provider is None:
        return JSONResponse({"error": "service is starting"}, status_code=503)
    return JSONResponse(_info_provider())


def model_info_app() -> Starlette:
    """A small ASGI app serving ``GET /model``, mounted beside the BentoML routes."""
    return Starlette(routes=[Route("/model", _model_info, methods=["GET"])])


async def _reject(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware validating the envelope of POST requests (content type, size, JSON)."""

    def __init__(self, app, max_body_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
        if ctype != "application/json":
            await _reject(send, 415, f"Content-Type must be application/json, got '{ctype}'")
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body_bytes:
                await _reject(send, 413, f"request body over {self.max_body_bytes} bytes")
                return
        try:
            json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            await _reject(send, 400, f"invalid JSON body: {exc}")
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
