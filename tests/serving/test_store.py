"""The model store: models saved with pickle are refused, baseline files with foreign types too."""

import pickle

import pytest

from serving.predictors.base import BASELINE_FILE
from serving.predictors.factory import load_predictor
from serving.store import find_model, has_model, save_model


def _info(kind: str = "baseline") -> dict:
    return {"kind": kind, "schema": {"version": "1.0"}}


def test_model_saved_with_pickle_is_refused_with_the_reason():
    def write(folder):
        (folder / "baseline.pkl").write_bytes(pickle.dumps({"frames": None}))

    save_model("stanceframe-legacy", _info(), write)
    with pytest.raises(LookupError, match="pickle"):
        find_model("stanceframe-legacy")
    assert not has_model("stanceframe-legacy")  # so `up` retrains it


def test_baseline_file_holding_untrusted_types_is_not_loaded(trained_models, tmp_path):
    import skops.io as sio

    folder, info = find_model(trained_models["baseline"])

    def write(dest):
        # a Counter subclass from this test module: a type the loader does not trust
        sio.dump({"frames": Untrusted(), "sentiment": Untrusted()}, dest / BASELINE_FILE)

    tag = save_model("stanceframe-untrusted", info, write)
    with pytest.raises(LookupError, match="not trusted"):
        load_predictor(tag)


class Untrusted(dict):
    pass
