import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from serving.predictors.factory import load_predictor
from serving.schema import load_schema
from tests.conftest import REPO
from training.cli import app
from training.data.augment import SWAP_SUFFIX
from training.data.corpus import load_corpus
from training.fit.config import load_config
from training.fit.distill import TeacherTargets, mix, teacher_targets, write_targets
from training.fit.recipe import train
from training.fit.transformer import Examples, soft_cross_entropy

SCHEMA = load_schema(REPO / "labels" / "schema.yaml")


@pytest.fixture(scope="module")
def targets_file(trained_models, tiny_corpus, tmp_path_factory):
    teacher = load_predictor(trained_models["transformer"])
    paragraphs = load_corpus([tiny_corpus["train"]], SCHEMA)
    path = tmp_path_factory.mktemp("teacher") / "targets.json"
    write_targets(teacher_targets(teacher, paragraphs, chunk=3), path)
    return path, paragraphs, teacher


def test_targets_hold_the_teachers_scores_for_every_paragraph(targets_file):
    path, paragraphs, teacher = targets_file
    frame_probs, sent_probs = teacher.score(
        [p.text for p in paragraphs], [list(p.figures) for p in paragraphs]
    )
    targets = TeacherTargets(path, SCHEMA)
    assert len(targets) == len(paragraphs) and targets.teacher == teacher.version
    for p, fp, sp in zip(paragraphs, frame_probs, sent_probs, strict=True):
        got = targets.get(p)
        np.testing.assert_allclose(got.frames, fp, atol=1e-4)
        assert got.sentiments.shape == (len(p.figures), len(SCHEMA.sentiments))
        np.testing.assert_allclose(got.sentiments, sp, atol=1e-4)


def test_swapped_copy_inherits_its_source_and_edited_text_gets_none(targets_file):
    path, paragraphs, _ = targets_file
    targets = TeacherTargets(path, SCHEMA)
    source = next(p for p in paragraphs if p.figures)
    copy = replace(source, id=source.id + SWAP_SUFFIX, text=source.text.replace("a", "e"))
    np.testing.assert_array_equal(targets.get(copy).frames, targets.get(source).frames)
    assert targets.get(replace(source, text=source.text + " Edited.")) is None
    assert targets.get(replace(source, id="never-scored")) is None


def test_targets_for_another_label_set_are_refused_by_name(targets_file, tmp_path):
    path, _, _ = targets_file
    raw = json.loads(path.read_text())
    raw["frames"] = ["something_else"]
    (bad := tmp_path / "bad.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=r"bad\.json.*frames"):
        TeacherTargets(bad, SCHEMA)
    with pytest.raises(FileNotFoundError, match="teacher targets not found"):
        TeacherTargets(tmp_path / "absent.json", SCHEMA)


def test_mix_weights_gold_and_teacher():
    np.testing.assert_allclose(mix(np.array([1.0, 0.0]), np.array([0.2, 0.6]), 0.25), [0.8, 0.15])
    np.testing.assert_array_equal(mix(np.array([1, 0]), None, 0.25), [1.0, 0.0])


def test_batch_targets_are_one_hot_without_a_teacher_and_mixed_with_one(targets_file):
    path, paragraphs, _ = targets_file
    with_figures = [i for i, p in enumerate(paragraphs) if p.figures][:2]
    plain = Examples.build(paragraphs, SCHEMA)
    frames, sentiments = plain.targets(with_figures, len(SCHEMA.sentiments), 0.5)
    np.testing.assert_array_equal(frames, plain.frames[with_figures])
    assert set(np.unique(sentiments)) <= {0.0, 1.0} and np.allclose(sentiments.sum(1), 1)
    taught = Examples.build(paragraphs, SCHEMA, TeacherTargets(path, SCHEMA))
    frames, sentiments = taught.targets(with_figures, len(SCHEMA.sentiments), 0.5)
    first, teacher = with_figures[0], taught.teacher[with_figures[0]]
    np.testing.assert_allclose(frames[0], 0.5 * plain.frames[first] + 0.5 * teacher.frames)
    assert np.allclose(sentiments.sum(1), 1)


def _distill_config(tiny_corpus, targets, weight: float):
    return load_config(
        REPO / "training" / "configs" / "tiny.yaml",
        {
            "data.train": [str(tiny_corpus["train"])],
            "data.gold": [],
            "data.transfer": [],
            "data.dev_pool": [],
            "data.teacher_targets": str(targets),
            "transformer.distill_weight": weight,
        },
    )


def test_training_with_targets_records_its_teacher(targets_file, tiny_corpus):
    path, paragraphs, teacher = targets_file
    cfg = _distill_config(tiny_corpus, path, 0.7)
    info = train(cfg, save=False).predictor.info
    assert info.teacher["model"] == teacher.version and info.teacher["weight"] == 0.7
    assert 0 < info.teacher["paragraphs_with_targets"] <= info.n_train
    assert info.from_dict(info.to_dict()).teacher == info.teacher


def test_cli_writes_targets_for_the_configs_training_data(trained_models, tiny_corpus, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        f"kind: transformer\ndata:\n  train: [{tiny_corpus['train']}]\n  gold: []\n"
        f"  transfer: []\n  dev_pool: []\n  labels_dir: {REPO / 'labels'}\n"
    )
    out = tmp_path / "t.json"
    result = CliRunner().invoke(
        app,
        [
            "data", "teacher-targets", "--model", trained_models["transformer"],
            "--out", str(out), "--config", str(config),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    n = len(load_corpus([tiny_corpus["train"]], SCHEMA))
    assert f"wrote {out}: {n} paragraphs" in result.output
    missing = CliRunner().invoke(
        app, ["data", "teacher-targets", "--model", "no-such-model", "--out", str(out)]
    )
    assert missing.exit_code == 1 and "error" in missing.output


def test_soft_cross_entropy_on_one_hot_targets_is_weighted_cross_entropy():
    torch.manual_seed(0)
    logits, gold = torch.randn(5, 3), [0, 2, 1, 1, 0]
    weight = torch.tensor([2.0, 0.5, 1.5])
    one_hot = torch.eye(3)[gold]
    expected = torch.nn.CrossEntropyLoss(weight=weight)(logits, torch.tensor(gold))
    assert torch.allclose(soft_cross_entropy(logits, one_hot, weight, gold), expected)
    softened = 0.5 * one_hot + 0.5 * torch.softmax(torch.randn(5, 3), -1)
    assert not torch.allclose(soft_cross_entropy(logits, softened, weight, gold), expected)


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", r"bad\.json:1: not valid JSON"), ('{"frames": []}', "no 'targets' mapping")],
)
def test_malformed_targets_file_names_itself(tmp_path, content, message):
    (bad := tmp_path / "bad.json").write_text(content)
    with pytest.raises(ValueError, match=message):
        TeacherTargets(bad, SCHEMA)


def test_distill_weight_outside_zero_to_one_is_refused(targets_file, tiny_corpus):
    path, _, _ = targets_file
    cfg = _distill_config(tiny_corpus, path, 1.5)
    with pytest.raises(ValueError, match="distill_weight"):
        train(cfg, save=False)
