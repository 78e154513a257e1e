"""The model store: models saved with pickle are refused, baseline files with foreign types too."""

import pickle

import pytest

from serving.predictors.base import BASELINE_FILE
from serving.predictors.factory import load_predictor
from serving.store import find_model, has_model, save_model


def test_model_saved_with_pickle_is_refused_with_the_reason(trained_models):
    _, info = find_model(trained_models["baseline"])

    def write(folder):
        (folder / "baseline.pkl").write_bytes(pickle.dumps({"frames": None}))

    save_model("stanceframe-legacy", info, write)
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


def test_stored_info_that_lacks_a_field_is_refused_with_its_name(trained_models):
    import json

    from serving.store import INFO_FILE

    _, info = find_model(trained_models["baseline"])
    tag = save_model("stanceframe-broken-info", info, lambda folder: None)
    folder, _ = find_model(tag)
    stored = json.loads((folder / INFO_FILE).read_text())
    del stored["thresholds"]
    (folder / INFO_FILE).write_text(json.dumps(stored))
    with pytest.raises(LookupError, match="lacks thresholds"):
        find_model(tag)
