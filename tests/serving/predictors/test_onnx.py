"""The ONNX backend against torch on the tiny transformer."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from serving.predictors.factory import load_predictor
from serving.predictors.transformer import TransformerPredictor
from serving.store import find_model
from tests.conftest import REPO, TINY, write_jsonl
from training.batch.driver import label_corpus
from training.batch.readers import LabelOptions

pytest.importorskip("onnxruntime")

# Long enough for several 128-token windows, so the exported encoder sees padded windows too.
TEXTS = [text for _, text, _, _ in TINY] + [" ".join(text for _, text, _, _ in TINY)]


def _frames(results):
    return np.array([[f.score for f in r.frames] for r in results])


def _sentiments(results):
    return [[list(f.scores.values()) for f in r.figures] for r in results]


@pytest.fixture(scope="module")
def torch_results(trained_models):
    return load_predictor(trained_models["transformer"]).predict(TEXTS)


def test_int8_backend_is_close_to_torch_on_the_one_predict_path(trained_models, torch_results):
    predictor = load_predictor(trained_models["transformer"], backend="onnx-int8")
    assert isinstance(predictor, TransformerPredictor)
    assert predictor.describe()["backend"] == "onnx-int8"
    results = predictor.predict(TEXTS)
    # Dynamic int8 quantisation moves probabilities by about 1e-3 here; 0.03 leaves headroom.
    np.testing.assert_allclose(_frames(results), _frames(torch_results), atol=0.03)
    assert [[f.name for f in r.figures] for r in results] == [
        [f.name for f in r.figures] for r in torch_results
    ]
    for got, want in zip(_sentiments(results), _sentiments(torch_results), strict=True):
        np.testing.assert_allclose(np.array(got), np.array(want), atol=0.03)


def test_fp32_export_matches_torch_and_exports_are_cached(trained_models, torch_results):
    from serving.predictors.onnx import OnnxTransformerPredictor

    folder, info = find_model(trained_models["transformer"])
    fp32 = load_predictor(trained_models["transformer"], backend="onnx")
    assert isinstance(fp32, OnnxTransformerPredictor) and fp32.precision == "fp32"
    np.testing.assert_allclose(_frames(fp32.predict(TEXTS)), _frames(torch_results), atol=2e-4)
    cached = folder / "onnx" / "encoder.int8.onnx"
    load_predictor(trained_models["transformer"], backend="onnx-int8")
    stamp = cached.stat().st_mtime_ns
    load_predictor(trained_models["transformer"], backend="onnx-int8")
    assert cached.stat().st_mtime_ns == stamp
    assert not [p for p in cached.parent.iterdir() if p.name.startswith(".")]  # no temp files


def test_batch_labelling_with_the_onnx_backend(trained_models, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in TEXTS])
    options = LabelOptions(model="transformer", backend="onnx", progress=False)
    summary = label_corpus([src], tmp_path / "out.jsonl", options)
    rows = [json.loads(line) for line in summary.out.open()]
    assert summary.labelled == len(TEXTS) and {r["model"] for r in rows} == {"transformer"}


def test_auto_is_decided_at_load_and_bf16_keeps_scores_close(trained_models, torch_results):
    from serving.predictors.factory import resolve_backend

    assert resolve_backend("auto") == "auto"  # measured per model and machine when loading
    assert resolve_backend("onnx-int8") == "onnx-int8"
    bf16 = load_predictor(trained_models["transformer"], backend="torch-bf16")
    assert bf16.describe()["backend"] == "torch-bf16"
    np.testing.assert_allclose(_frames(bf16.predict(TEXTS)), _frames(torch_results), atol=0.03)


def test_onnx_backend_without_onnxruntime_falls_back_to_torch_with_a_warning(trained_models):
    """Installed without the `fast` extra (onnxruntime blocked the way Python blocks a module)."""
    code = (
        "import sys, logging; sys.modules['onnxruntime'] = None; logging.basicConfig()\n"
        "from serving.predictors.factory import load_predictor\n"
        f"p = load_predictor({trained_models['transformer']!r}, backend='onnx')\n"
        "print('BACKEND', p.describe()['backend'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert "BACKEND torch" in out.stdout
    assert "onnxruntime" in out.stderr and "stanceframe[fast]" in out.stderr
