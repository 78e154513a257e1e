"""HTTP plumbing around the BentoML service: the one place that parses and bounds request bodies,
and ``GET /model``.

:class:`RequestGuard` answers malformed requests before BentoML sees them, so every bad request
gets a 4xx with ``{"error": message}`` instead of an internal error or a held connection:

* 415: a POST that is not ``application/json``, or a body with a ``Content-Encoding`` (gzip...);
* 413: a body over the size limit;
* 408: a body that does not arrive within ``body_timeout_s`` (slow senders hold no worker);
* 503 with ``Retry-After``: a valid request while no model is loaded (says why);
* 400: a body that is not UTF-8 JSON, is nested deeper than ``MAX_JSON_DEPTH``, or has unknown
  fields at the top level of a known route (``{"paragraphs": [...], "bar": 1}``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from serving.api_types import MAX_ARTICLE_CHARS, MAX_PARAGRAPHS, MAX_TEXT_CHARS

# Worst case JSON escaping makes a character six bytes ("\uXXXX"); add room for the envelope
# (ids, field names) so that no request within the documented limits is refused.
MAX_BODY_BYTES = 6 * max(MAX_ARTICLE_CHARS, MAX_PARAGRAPHS * MAX_TEXT_CHARS) + 65536
# Valid requests nest four levels ({"paragraphs": [{"text": ...}]}); anything far deeper is an
# attack on the recursive decoders behind the guard (Python's json and pydantic).
MAX_JSON_DEPTH = 32
BODY_TIMEOUT_S = 10.0

_info_provider: Callable[[], dict[str, Any]] | None = None
_unavailable: str | None = None


def set_info_provider(provider: Callable[[], dict[str, Any]]) -> None:
    """Register the function that ``GET /model`` reports (the service's ``describe``)."""
    global _info_provider
    _info_provider = provider


def set_unavailable(reason: str | None) -> None:
    """Mark the service unable to answer (no model loaded): valid POSTs then get a 503 with
    ``reason`` and ``Retry-After`` (BentoML hides the message of errors raised in an API)."""
    global _unavailable
    _unavailable = reason


def model_info_app() -> FastAPI:
    """A small FastAPI app serving ``GET /model``; BentoML merges its routes into the service's
    OpenAPI document."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get(
        "/model",
        summary="Models behind the service",
        response_description="Versions, schema, thresholds and metrics of both models, which "
        "one is active, and why one is missing.",
        responses={503: {"description": "The service is starting."}},
    )
    def model_info() -> dict[str, Any]:
        if _info_provider is None:
            return JSONResponse({"error": "service is starting"}, status_code=503)
        return _info_provider()

    page = (Path(__file__).parent / "static" / "ui.html").read_text(encoding="utf-8")

    @app.get("/ui", include_in_schema=False)
    def ui() -> HTMLResponse:
        """The analyst's page: paste text, see frames, evidence and people (no external
        requests; it calls ``POST /classify_article`` on this service)."""
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    return app


def json_depth(body: bytes) -> int:
    """Deepest nesting of arrays and objects in a JSON text, without recursion (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


ERROR_SCHEMA = {
    "type": "object",
    "title": "Error",
    "properties": {
        "error": {"type": "string", "description": "What was wrong, in words."},
        "detail": {
            "type": "string",
            "description": "For validation errors: each failing field's location and reason.",
        },
    },
    "required": ["error"],
}
GUARD_RESPONSES = {
    "400": "Invalid JSON, nesting too deep, unknown or invalid fields (the message says which).",
    "408": "The request body did not arrive in time.",
    "413": "The request body is over the size limit.",
    "415": "Not application/json, or a content encoding such as gzip.",
    "503": "No model is loaded, or the service is overloaded (the message says which); retry "
    "after the Retry-After seconds.",
}


def _flatten_validation_error(body: Any) -> Any:
    """Every 400 as the documented ``{"error", "detail"?}`` object: BentoML's validation errors
    carry pydantic's error list in ``detail`` (made one string naming each field's location), and
    its errors raised from an API arrive wrapped in a one-element array (unwrapped)."""
    if isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict):
        body = body[0]
    if not isinstance(body, dict):
        return body
    detail = body.get("detail")
    if isinstance(detail, list):
        parts = []
        for err in detail:
            if isinstance(err, dict):
                loc = ".".join(str(x) for x in err.get("loc", ())) or "body"
                parts.append(f"{loc}: {err.get('msg', '')}")
            else:
                parts.append(str(err))
        body = {**body, "detail": "; ".join(parts)}
    return body


RETRY_AFTER_S = 5


_NOTES: ContextVar[dict[str, str] | None] = ContextVar("stanceframe_request_notes", default=None)
"""Per guarded request, what the service wants the client to read in a 5xx (BentoML replaces
every 5xx message with "An unexpected error has occurred")."""


def note_error(message: str) -> None:
    """Record the reason for a 503 the service is about to raise, for this request's answer."""
    notes = _NOTES.get()
    if notes is not None:
        notes["error"] = message


def _overloaded(body: Any, notes: dict[str, str] | None = None) -> dict[str, str]:
    """A 503 raised while serving says why (:func:`note_error`); one from BentoML itself, whose
    message says nothing, says the service is overloaded."""
    if notes and notes.get("error"):
        return {"error": f"{notes['error']}; retry after {RETRY_AFTER_S} s"}
    return {
        "error": "overloaded: the service cannot take this request now; "
        f"retry after {RETRY_AFTER_S} s or send smaller batches"
    }


class _Rewrite:
    """An ASGI ``send`` that buffers a JSON response with one of the given statuses and rewrites
    its body (``rewrites``: status -> function of the decoded body)."""

    def __init__(self, send, rewrites: dict[int, Callable[[Any], Any]]):
        self.send = send
        self.rewrites = rewrites
        self.rewrite: Callable[[Any], Any] | None = None
        self.start: dict[str, Any] | None = None
        self.body = bytearray()

    async def __call__(self, message) -> None:
        if message["type"] == "http.response.start":
            self.rewrite = self.rewrites.get(message["status"])
            if self.rewrite is None:
                self.start = None
                await self.send(message)
                return
            self.start = message
            return
        if self.start is None or message["type"] != "http.response.body":
            await self.send(message)
            return
        self.body += message.get("body", b"")
        if message.get("more_body", False):
            return
        body = bytes(self.body)
        try:
            body = json.dumps(self.rewrite(json.loads(body))).encode()
        except ValueError:  # not JSON: pass it on unchanged
            pass
        headers = [
            (k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        if self.start["status"] == 503 and not any(k.lower() == b"retry-after" for k, _ in headers):
            headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})


async def _reject(send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    head += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware validating the envelope of POST requests (encoding, size, time, JSON).

    ``fields`` maps a route to its allowed top-level fields; unknown ones get a 400 naming them.
    """

    def __init__(
        self,
        app,
        fields: Mapping[str, Collection[str]] | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_timeout_s: float = BODY_TIMEOUT_S,
    ):
        self.app = app
        self.fields = {route: set(names) for route, names in (fields or {}).items()}
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET" and scope.get("path") == "/docs.json":
            await self.app(scope, receive, _Rewrite(send, {200: self.document}))
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
        if ctype != "application/json":
            await _reject(send, 415, f"Content-Type must be application/json, got '{ctype}'")
            return
        encoding = headers.get(b"content-encoding", b"identity").strip().lower().decode("latin-1")
        if encoding not in ("", "identity"):
            await _reject(
                send, 415, f"content encoding '{encoding}' not supported; send plain JSON"
            )
            return
        try:
            body = await asyncio.wait_for(self._read(receive), self.body_timeout_s)
        except TimeoutError:
            await _reject(send, 408, f"request body not received within {self.body_timeout_s:g} s")
            return
        if body is None:  # client went away
            return
        if len(body) > self.max_body_bytes:
            await _reject(send, 413, f"request body over {self.max_body_bytes} bytes")
            return
        path = scope.get("path", "").rstrip("/")
        error = self._check(path, body)
        if error:
            await _reject(send, 400, error)
            return
        if _unavailable and path in self.fields:
            await _reject(send, 503, _unavailable, {"retry-after": "30"})
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        notes: dict[str, str] = {}
        _NOTES.set(notes)  # a dict, so a note made in a copied context still reaches us
        rewrites = {400: _flatten_validation_error, 503: lambda body: _overloaded(body, notes)}
        await self.app(scope, replay, _Rewrite(send, rewrites))

    def document(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The OpenAPI document with the guard's own answers on every POST it guards."""
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas["Error"] = ERROR_SCHEMA
        ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for path, item in spec.get("paths", {}).items():
            post = item.get("post") if isinstance(item, dict) else None
            if post is None:
                continue
            for status, why in GUARD_RESPONSES.items():
                if status == "503" and path not in self.fields:
                    continue  # only the classification routes need a model
                post.setdefault("responses", {})[status] = {"description": why, **ref}
        return spec

    async def _read(self, receive) -> bytearray | None:
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body_bytes:
                break
        return body

    def _check(self, path: str, body: bytes) -> str | None:
        """The reason a body is refused, or None."""
        depth = json_depth(body)
        if depth > MAX_JSON_DEPTH:
            return f"invalid JSON body: nested {depth} levels deep; at most {MAX_JSON_DEPTH}"
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return f"invalid JSON body: {exc}"
        allowed = self.fields.get(path)
        if allowed is not None and isinstance(data, dict):
            unknown = sorted(set(data) - allowed)
            if unknown:
                return (
                    f"unknown field(s) at the top level (body): {', '.join(map(repr, unknown))}; "
                    f"expected {', '.join(map(repr, sorted(allowed)))}"
                )
        return None
