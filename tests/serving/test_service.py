"""The BentoML service in-process (ASGI test client) and as a real `bentoml serve` subprocess."""

import os
from contextlib import contextmanager

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import free_port, stop_process
from training.up import start_server

GOOD = {"paragraphs": [{"id": "p1", "text": "Jeremy Corbyn's aides were blamed by Ms Smeeth."}]}


@contextmanager
def service_client(monkeypatch, **env):
    """A fresh service instance with the given environment (fault injection, model names)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from serving.service import StanceFrame

    _forget_bentoml_http_metrics()

    with TestClient(StanceFrame.to_asgi(), raise_server_exceptions=False) as client:
        yield client


def _forget_bentoml_http_metrics() -> None:
    """BentoML registers its HTTP histograms in the global Prometheus registry at every app
    start-up; a second in-process app would collide, so drop the previous app's (tests only)."""
    from prometheus_client import REGISTRY

    for name, collector in list(REGISTRY._names_to_collectors.items()):
        if name.startswith("bentoml_"):
            try:
                REGISTRY.unregister(collector)
            except KeyError:  # a collector registers several names; the first removal wins
                pass


@pytest.fixture
def client(trained_models, monkeypatch):
    with service_client(monkeypatch) as c:
        yield c


def test_classify_returns_every_schema_label_and_resolved_figures(client, schema):
    resp = client.post("/classify", json=GOOD)
    assert resp.status_code == 200
    [out] = resp.json()
    assert out["id"] == "p1" and out["model"] == "transformer" and out["fallback_reason"] is None
    assert [f["label"] for f in out["frames"]] == schema.frame_names
    assert [f["name"] for f in out["figures"]] == ["Jeremy Corbyn", "Ruth Smeeth"]
    assert out["model_version"].startswith("stanceframe-transformer:")


def test_request_for_baseline_is_answered_by_baseline(client):
    body = {"paragraphs": [{"text": "Labour won Putney.", "model": "baseline"}]}
    [out] = client.post("/classify", json=body).json()
    assert (out["model"], out["fallback_reason"]) == ("baseline", "requested")


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"paragraphs": [{"id": "x"}]}, 400, "Field required"),
        ({"paragraphs": [{"text": ""}]}, 400, "at least 1 character"),
        ({"paragraphs": [{"text": "   \n"}]}, 400, "pattern"),
        ({"paragraphs": [{"text": 42}]}, 400, "valid string"),
        ({"paragraphs": [{"text": "a" * 10001}]}, 400, "at most 10000 characters"),
        ({"paragraphs": [{"text": "x"}] * 65}, 400, "at most 64 items"),
        ({"paragraphs": []}, 400, "at least 1 item"),
        ({"paragraphs": [{"text": "x", "model": "gpt"}]}, 400, "'auto', 'transformer' or"),
        ([1, 2], 400, "object"),
    ],
)
def test_bad_input_gets_4xx_with_message(client, body, status, needle):
    resp = client.post("/classify", json=body)
    assert resp.status_code == status
    assert needle in resp.text
    assert client.post("/classify", json=GOOD).status_code == 200  # the service is unaffected


def test_invalid_json_and_wrong_content_type(client):
    resp = client.post("/classify", content=b"{bad", headers={"content-type": "application/json"})
    assert resp.status_code == 400 and "invalid JSON" in resp.json()["error"]
    resp = client.post("/classify", content=b"hello", headers={"content-type": "text/plain"})
    assert resp.status_code == 415 and "application/json" in resp.json()["error"]
    assert client.post("/classify", json=GOOD).status_code == 200


def test_article_is_split_and_summarised(client):
    text = "Jeremy Corbyn's aides were blamed.\n\nLabour won Putney.\nMr Corbyn spoke."
    resp = client.post("/classify_article", json={"article": {"id": "a", "text": text}})
    assert resp.status_code == 200
    out = resp.json()
    assert [p["id"] for p in out["paragraphs"]] == ["a:p0", "a:p1", "a:p2"]
    [corbyn] = out["summary"]["figures"]
    assert corbyn["name"] == "Jeremy Corbyn" and corbyn["paragraphs"] == 2


def test_model_endpoint_describes_both_models(client):
    info = client.get("/model").json()
    assert info["active"] == "transformer"
    assert info["transformer"]["version"].startswith("stanceframe-transformer:")
    assert info["baseline"]["version"].startswith("stanceframe-baseline:")
    assert "frames" in info["baseline"]["dev_metrics"]


def test_health_endpoints(client):
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"STANCEFRAME_FAIL_TRANSFORMER": "predict"}, "transformer_error"),
        (
            {"STANCEFRAME_FAIL_TRANSFORMER": "slow", "STANCEFRAME_TIMEOUT_S": "0.2"},
            "transformer_timeout",
        ),
        ({"STANCEFRAME_FAIL_TRANSFORMER": "load"}, "transformer_unavailable"),
        ({"STANCEFRAME_TRANSFORMER": "no-such-model"}, "transformer_unavailable"),
    ],
)
def test_each_fallback_path_answers_with_baseline(trained_models, monkeypatch, env, reason):
    with service_client(monkeypatch, **env) as client:
        assert client.get("/readyz").status_code == 200
        [out] = client.post("/classify", json=GOOD).json()
        assert (out["model"], out["fallback_reason"]) == ("baseline", reason)
        if reason == "transformer_unavailable":
            info = client.get("/model").json()
            assert info["active"] == "baseline" and info["transformer_error"]


def test_no_model_at_all_means_not_ready(trained_models, monkeypatch):
    env = {"STANCEFRAME_TRANSFORMER": "absent-1", "STANCEFRAME_BASELINE": "absent-2"}
    with service_client(monkeypatch, **env) as client:
        assert client.get("/readyz").status_code == 503


@contextmanager
def real_server(**env):
    """`bentoml serve` in a subprocess on a free localhost port; yields its base URL."""
    proc, url = start_server(free_port(), {**os.environ, **env}, quiet=True)
    try:
        yield url
    finally:
        stop_process(proc, 20)


@pytest.mark.slow
def test_real_server_answers_and_rejects_bad_input(trained_models):
    with real_server() as url:
        [out] = httpx.post(f"{url}/classify", json=GOOD, timeout=30).json()
        assert out["model"] == "transformer"
        bad = httpx.post(
            f"{url}/classify",
            content=b"{",
            timeout=30,
            headers={"content-type": "application/json"},
        )
        assert bad.status_code == 400
        assert httpx.get(f"{url}/model", timeout=30).json()["active"] == "transformer"
        # Counters live in the real server's /metrics (checked here rather than in-process,
        # where BentoML's global Prometheus registry is shared between app instances).
        metrics = httpx.get(f"{url}/metrics", timeout=30).text
        assert 'stanceframe_paragraphs_total{model="transformer"} 1.0' in metrics


@pytest.mark.slow
def test_real_server_falls_back_when_transformer_fails(trained_models):
    with real_server(STANCEFRAME_FAIL_TRANSFORMER="predict") as url:
        outs = httpx.post(
            f"{url}/classify", json={"paragraphs": GOOD["paragraphs"] * 3}, timeout=30
        ).json()
        assert {(o["model"], o["fallback_reason"]) for o in outs} == {
            ("baseline", "transformer_error")
        }
        metrics = httpx.get(f"{url}/metrics", timeout=30).text
        assert 'stanceframe_fallbacks_total{reason="transformer_error"} 3.0' in metrics


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("\x1c\n\x1f", "no paragraph with text"),
        ("para\n" * 201, "at most 200 are accepted"),
        ("ok\n\n" + "a" * 10001, "paragraph 1 has 10001 characters"),
    ],
)
def test_bad_articles_get_400_with_reason(client, text, needle):
    resp = client.post("/classify_article", json={"article": {"text": text}})
    assert resp.status_code == 400
    assert needle in resp.json()["error"]  # an object, as documented (BentoML sends an array)


@pytest.mark.parametrize(
    ("route", "body", "needle"),
    [
        ("/classify", {"paragraphs": [{"text": "x"}], "bar": 1}, "'bar'"),
        ("/classify_article", {"article": {"text": "x"}, "extra": True}, "'extra'"),
    ],
)
def test_unknown_top_level_field_gets_400_naming_it(client, route, body, needle):
    resp = client.post(route, json=body)
    assert resp.status_code == 400
    assert needle in resp.json()["error"] and "top level" in resp.json()["error"]


@pytest.mark.parametrize("depth", [40, 1000, 5000])
def test_deeply_nested_json_gets_400_at_once(client, depth):
    for route in ("/classify", "/classify_article"):
        resp = client.post(
            route, content=b"[" * depth, headers={"content-type": "application/json"}
        )
        assert resp.status_code == 400 and "nested" in resp.json()["error"]


def test_gzip_body_is_refused_as_unsupported_encoding(client):
    import gzip
    import json

    resp = client.post(
        "/classify",
        content=gzip.compress(json.dumps(GOOD).encode()),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert resp.status_code == 415 and "encoding 'gzip' not supported" in resp.json()["error"]


@pytest.mark.parametrize("text", ["\u200b", "\u200b \u200d\ufeff", "\u2060\n"])
def test_zero_width_only_text_is_blank(client, text):
    assert client.post("/classify", json={"paragraphs": [{"text": text}]}).status_code == 400
    resp = client.post("/classify_article", json={"article": {"text": text}})
    assert resp.status_code == 400


def test_oversized_body_gets_413(trained_models, monkeypatch):
    from serving.http import MAX_BODY_BYTES

    with service_client(monkeypatch) as client:
        resp = client.post(
            "/classify",
            content=b" " * (MAX_BODY_BYTES + 1),
            headers={"content-type": "application/json"},
        )
        assert resp.status_code == 413 and str(MAX_BODY_BYTES) in resp.json()["error"]


def test_valid_request_with_no_model_gets_503_saying_why(trained_models, monkeypatch):
    env = {"STANCEFRAME_TRANSFORMER": "absent-1", "STANCEFRAME_BASELINE": "absent-2"}
    with service_client(monkeypatch, **env) as client:
        resp = client.post("/classify", json=GOOD)
        assert resp.status_code == 503 and "no model can answer" in resp.text


def test_model_endpoint_is_in_the_openapi_document(client):
    spec = client.get("/docs.json").json()
    assert "get" in spec["paths"]["/model"]


def test_article_paragraphs_resolve_people_named_in_earlier_paragraphs(client):
    text = "Sarah Okafor ran the count in Bolsover.\n\nMs Okafor said head office never called."
    resp = client.post("/classify_article", json={"article": {"text": text}})
    first, second = resp.json()["paragraphs"]
    assert [f["name"] for f in first["figures"]] == ["Sarah Okafor"]
    assert [(f["name"], f["mention"]) for f in second["figures"]] == [("Sarah Okafor", "Ms Okafor")]
    [okafor] = resp.json()["summary"]["figures"]
    assert okafor["paragraphs"] == 2


def test_classify_takes_context_names_for_a_paragraph(client):
    body = {"paragraphs": [{"text": "Ms Okafor said so.", "context": ["Sarah Okafor"]}]}
    [out] = client.post("/classify", json=body).json()
    assert [f["name"] for f in out["figures"]] == ["Sarah Okafor"]
    [plain] = client.post("/classify", json={"paragraphs": [{"text": "Ms Okafor said so."}]}).json()
    assert [f["name"] for f in plain["figures"]] == ["Okafor"]


def test_evidence_is_returned_only_when_asked(client):
    text = "The count ran late. Jeremy Corbyn's aides were blamed by Ms Smeeth."
    [plain] = client.post("/classify", json={"paragraphs": [{"text": text}]}).json()
    assert all(f["evidence"] is None for f in plain["frames"] + plain["figures"])
    body = {"paragraphs": [{"text": text, "evidence": True}]}
    [out] = client.post("/classify", json=body).json()
    for frame in out["frames"]:
        assert isinstance(frame["evidence"], list) and bool(frame["evidence"]) == frame["present"]
        assert all(text[e["start"] : e["end"]] == e["text"] for e in frame["evidence"])
    assert {f["evidence"]["text"] for f in out["figures"]} == {
        "Jeremy Corbyn's aides were blamed by Ms Smeeth."
    }
    [same] = client.post("/classify", json=body).json()
    assert [f["score"] for f in same["frames"]] == [f["score"] for f in out["frames"]]


def test_article_evidence_covers_every_paragraph(client):
    text = "The count ran late. Labour lost.\n\nMs Smeeth blamed the leader's office."
    resp = client.post("/classify_article", json={"article": {"text": text, "evidence": True}})
    assert resp.status_code == 200
    for para in resp.json()["paragraphs"]:
        assert all(isinstance(f["evidence"], list) for f in para["frames"])


def test_transformer_failing_with_no_baseline_is_a_503_that_says_why(trained_models, monkeypatch):
    env = {"STANCEFRAME_BASELINE": "absent-baseline", "STANCEFRAME_FAIL_TRANSFORMER": "predict"}
    with service_client(monkeypatch, **env) as client:
        resp = client.post("/classify", json=GOOD)
        assert resp.status_code == 503 and resp.headers.get("retry-after")
        assert resp.json()["error"].startswith("no model can answer (transformer_error)")
