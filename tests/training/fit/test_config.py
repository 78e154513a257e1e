"""Configuration: the dataclass defaults are the shipped values; YAML files only override."""

import dataclasses

import pytest

from tests.conftest import REPO
from training.fit.config import TrainConfig, load_config


@pytest.mark.parametrize("name", ["baseline", "transformer"])
def test_shipped_yaml_only_names_the_kind_everything_else_is_the_default(name):
    cfg = load_config(REPO / "training" / "configs" / f"{name}.yaml")
    default = TrainConfig()
    assert cfg.kind == name
    for section in ("data", "baseline", "transformer"):
        assert getattr(cfg, section) == getattr(default, section), section
    assert cfg.seed == default.seed


def test_overrides_use_dotted_keys():
    cfg = load_config(
        REPO / "training" / "configs" / "baseline.yaml", {"baseline.C": 0.5, "data.name_swap": 0}
    )
    assert cfg.baseline.C == 0.5 and cfg.data.name_swap == 0
    assert dataclasses.replace(cfg.baseline, C=4.0) == TrainConfig().baseline


@pytest.mark.parametrize(
    ("name", "changed"),
    [
        ("transformer-l3", {"encoder_layers": 3}),
        ("transformer-mpnet", {"precision": "bf16", "epochs": 2}),
    ],
)
def test_sibling_configs_load_and_override_only_their_own_values(name, changed):
    cfg = load_config(REPO / "training" / "configs" / f"{name}.yaml")
    assert cfg.kind == "transformer" and cfg.model_name == f"stanceframe-{name}"
    for key, value in changed.items():
        assert getattr(cfg.transformer, key) == value
    assert cfg.data == TrainConfig().data
