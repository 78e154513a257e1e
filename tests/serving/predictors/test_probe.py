"""backend="auto": measured per machine and model, cached, never slower than fp32 torch."""

import json
import time

import pytest

from serving.predictors.factory import load_predictor
from serving.predictors.probe import cache_path, choose


class Timed:
    """A predictor whose speed is set: ``seconds`` per paragraph."""

    def __init__(self, name: str, seconds: float):
        self.name, self.seconds = name, seconds

    def predict(self, texts):
        time.sleep(self.seconds * len(texts))
        return []


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


def test_auto_measures_each_installed_backend_and_caches_the_choice(trained_models):
    predictor = load_predictor(trained_models["transformer"], backend="auto", threads=2)
    probe = predictor.describe()["backend_probe"]
    assert set(probe["rates"]) == {"torch", "torch-bf16", "onnx"}
    rates, chosen = probe["rates"], probe["chosen"]
    assert chosen == "torch" or rates[chosen] > rates["torch"]
    assert predictor.describe()["backend"].startswith(chosen) and not probe["cached"]
    stored = json.loads(cache_path().read_text())
    assert stored[probe["key"]]["chosen"] == chosen
    again = load_predictor(trained_models["transformer"], backend="auto", threads=2)
    assert again.describe()["backend_probe"]["cached"] is True
    assert again.describe()["backend"] == predictor.describe()["backend"]


def test_a_faster_candidate_wins_and_a_slower_one_never_does(trained_models):
    from serving.store import find_model

    _, info = find_model(trained_models["transformer"])
    speeds = {"torch": 0.002, "torch-bf16": 0.004, "onnx": 0.001}
    chosen, record = choose(info, 1, lambda b: Timed(b, speeds[b]))
    assert chosen.name == record["chosen"] == "onnx"
    speeds.update(onnx=0.003)
    chosen, record = choose(info, 3, lambda b: Timed(b, speeds[b]))  # another key: re-measured
    assert chosen.name == "torch" and not record["cached"]


def test_a_backend_that_cannot_load_is_skipped(trained_models):
    from serving.store import find_model

    _, info = find_model(trained_models["transformer"])

    def load(backend):
        if backend == "onnx":
            raise ImportError("onnxruntime is not installed")
        return Timed(backend, 0.001 if backend == "torch" else 0.002)

    chosen, record = choose(info, 1, load)
    assert chosen.name == "torch" and set(record["rates"]) == {"torch", "torch-bf16"}


def test_choose_backend_reads_the_cache_without_loading_the_model(trained_models, monkeypatch):
    from serving.predictors import factory
    from serving.predictors.probe import probe_key, write_cache
    from serving.store import find_model

    _, info = find_model(trained_models["transformer"])
    write_cache(probe_key(info, 2, 16), {"chosen": "onnx", "rates": {}})

    def no_load(*args, **kwargs):
        raise AssertionError("a cached choice must not load the model")

    monkeypatch.setattr(factory, "load_predictor", no_load)
    assert factory.choose_backend(trained_models["transformer"], threads=2, batch_size=16) == "onnx"
    assert factory.choose_backend("no-such-model") == "torch"
