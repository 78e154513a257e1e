"""The model info contract: a frozen record that survives the JSON round trip."""

import dataclasses
import json

import pytest

from serving.figures import load_registry
from serving.model_info import UNSAVED, ModelInfo
from serving.schema import load_schema
from tests.conftest import REPO


@pytest.fixture
def info() -> ModelInfo:
    schema = load_schema(REPO / "labels" / "schema.yaml")
    return ModelInfo(
        kind="baseline",
        schema=schema,
        registry=load_registry(REPO / "labels" / "figures.yaml"),
        thresholds=tuple(0.5 for _ in schema.frames),
        config={"transformer": {"max_length": 256}},
        history=({"epoch": 1, "dev_score": 0.5},),
        dev_metrics={"frames": {"macro_f1": 0.7}},
    )


def test_json_round_trip_gives_an_equal_info(info):
    stored = json.loads(json.dumps(info.to_dict()))
    back = ModelInfo.from_dict(stored)
    assert back.to_dict() == info.to_dict()
    assert back.schema.frame_names == info.schema.frame_names
    assert len(back.registry) == len(info.registry)
    assert back.tag == UNSAVED


def test_keys_from_a_newer_version_are_kept_on_the_round_trip(info):
    stored = {**info.to_dict(), "calibration": {"method": "isotonic"}}
    back = ModelInfo.from_dict(stored)
    assert back.extra == {"calibration": {"method": "isotonic"}}
    assert back.to_dict()["calibration"] == {"method": "isotonic"}


@pytest.mark.parametrize("field", ["kind", "schema", "registry", "thresholds"])
def test_a_missing_required_field_is_named(info, field):
    stored = info.to_dict()
    del stored[field]
    with pytest.raises(ValueError, match=f"lacks {field}"):
        ModelInfo.from_dict(stored)


def test_threshold_count_must_match_the_frames(info):
    with pytest.raises(ValueError, match="threshold"):
        info.replace(thresholds=info.thresholds[:-1])


def test_unknown_kind_is_refused(info):
    with pytest.raises(ValueError, match="kind 'svm'"):
        info.replace(kind="svm")


def test_info_is_frozen_and_replace_returns_a_copy(info):
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.tag = "x:1"  # type: ignore[misc]
    tagged = info.replace(tag="stanceframe-baseline:abc")
    assert tagged.tag == "stanceframe-baseline:abc" and info.tag == UNSAVED


def test_setting_reads_the_training_config_and_names_a_missing_value(info):
    assert info.setting("transformer", "max_length") == 256
    with pytest.raises(ValueError, match="transformer.stride"):
        info.setting("transformer", "stride")
