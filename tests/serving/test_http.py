"""The request guard as plain ASGI: body timeout, depth counting, and properties (hypothesis)."""

import asyncio
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from serving.http import MAX_JSON_DEPTH, RequestGuard, json_depth


async def _ok_app(scope, receive, send):
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(guard, chunks, headers=None, delay_s=0.0):
    """Send ``chunks`` as one POST /classify through ``guard``; returns (status, body)."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/classify",
        "headers": headers or [(b"content-type", b"application/json")],
    }
    queue = list(chunks)
    sent = []

    async def receive():
        await asyncio.sleep(delay_s)
        chunk = queue.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(queue)}

    async def send(message):
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_slow_body_gets_408_instead_of_holding_the_connection():
    guard = RequestGuard(_ok_app, body_timeout_s=0.2)
    status, body = _call(guard, [b"{", b'"paragraphs": []}'], delay_s=0.15)
    assert status == 408 and b"not received within" in body


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth(b'{"a": "[[[[{{{"}') == 1
    assert json_depth(b'{"a": "\\"[[["}') == 1
    assert json_depth(b"[[[]]]") == 3


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_json_depth_matches_the_parsed_structure(value):
    assert json_depth(json.dumps(value).encode()) == _depth(value)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_guard_answers_any_body_with_200_or_a_4xx_message(body):
    status, out = _call(RequestGuard(_ok_app), [body])
    if status != 200:
        assert 400 <= status < 500 and "error" in json.loads(out)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=MAX_JSON_DEPTH + 1, max_value=20000))
def test_any_nesting_beyond_the_limit_is_a_400(depth):
    status, out = _call(RequestGuard(_ok_app), [b"[" * depth])
    assert status == 400 and b"nested" in out


def test_a_503_from_the_service_says_overloaded_and_carries_retry_after():
    async def shedding_app(scope, receive, send):
        await receive()
        body = b'{"error": "An unexpected error has occurred, please check the server log."}'
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": body})

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/classify",
        "headers": [(b"content-type", b"application/json")],
    }
    asyncio.run(RequestGuard(shedding_app)(scope, receive, send))
    assert sent[0]["status"] == 503 and (b"retry-after", b"5") in sent[0]["headers"]
    assert b"overloaded" in sent[1]["body"]


def test_fields_given_to_the_guard_reject_an_unknown_top_level_field():
    guard = RequestGuard(_ok_app, fields={"/classify": ["paragraphs"]})
    status, out = _call(guard, [b'{"paragraphs": [], "bar": 1}'])
    assert status == 400 and b"bar" in out
    status, _ = _call(guard, [b'{"paragraphs": []}'])
    assert status == 200


def test_a_guard_without_fields_checks_only_the_envelope():
    status, _ = _call(RequestGuard(_ok_app), [b'{"paragraphs": [], "bar": 1}'])
    assert status == 200
