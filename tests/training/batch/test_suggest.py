"""Active learning: ranking terms, diversity, bad input, and the Label Studio tasks written."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from serving.results import FigureResult, FrameScore, ParagraphResult
from tests.conftest import TINY, write_jsonl
from training.batch.readers import LabelError
from training.batch.suggest import (
    disagreement,
    frame_uncertainty,
    pick_diverse,
    sentiment_uncertainty,
    suggest,
)
from training.cli import app

TEXTS = [text for _, text, _, _ in TINY]


def result(scores, present, figures=()):
    frames = [
        FrameScore(f"f{i}", s, p) for i, (s, p) in enumerate(zip(scores, present, strict=True))
    ]
    return ParagraphResult(frames=frames, figures=list(figures), model="m", model_version="v")


def fig(name, sentiment, top):
    rest = (1 - top) / 2
    scores = {"negative": rest, "neutral": rest, "positive": rest, sentiment: top}
    return FigureResult(name, name, 0, len(name), True, sentiment, scores)


def test_uncertainty_is_highest_on_the_threshold():
    t = np.array([0.3, 0.5])
    assert frame_uncertainty(result([0.3, 0.9], [True, True]), t) == pytest.approx(1.0)
    assert frame_uncertainty(result([0.0, 1.0], [False, True]), t) == pytest.approx(0.0)
    assert sentiment_uncertainty(result([0.1], [False], [fig("A", "neutral", 0.4)])) == (
        pytest.approx(0.6)
    )


def test_disagreement_counts_frames_and_shared_figures():
    a = result([0.9, 0.1], [True, False], [fig("A", "negative", 0.9)])
    b = result([0.2, 0.1], [False, False], [fig("A", "neutral", 0.9)])
    assert disagreement(a, b) == pytest.approx(2 / 3)
    assert disagreement(a, a) == 0.0


def test_near_duplicates_are_not_picked_twice():
    texts = [
        "Head office sent activists to the wrong seats in the north.",
        "Head office sent activists to the wrong seats in the north!",
        "The digital team's videos reached millions of voters.",
    ]
    assert pick_diverse(texts, [0, 1, 2], n=2, max_similarity=0.8) == [0, 2]
    assert pick_diverse(texts, [1, 0, 2], n=3, max_similarity=0.8) == [1, 2]  # order kept


def test_suggest_ranks_real_predictions_and_writes_valid_tasks(trained_models, tmp_path):
    src = write_jsonl(
        tmp_path / "in.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(TEXTS)]
    )
    out = tmp_path / "tasks.json"
    result_ = CliRunner().invoke(app, ["suggest", str(src), "--out", str(out), "--n", "3"])
    assert result_.exit_code == 0, result_.output
    tasks = json.loads(out.read_text())
    assert [t["meta"]["rank"] for t in tasks] == [1, 2, 3]
    scores = [t["meta"]["score"] for t in tasks]
    assert scores == sorted(scores, reverse=True)
    assert all(t["predictions"][0]["result"][0]["from_name"] == "frames" for t in tasks)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"n": 0}, "at least 1"), ({"n": 3, "max_similarity": 0}, "max_similarity")],
)
def test_bad_arguments_are_clear_errors(trained_models, tmp_path, kwargs, needle):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": "x"}])
    with pytest.raises(LabelError, match=needle):
        suggest([src], **kwargs)


def test_missing_input_and_bad_rows(trained_models, tmp_path):
    missing = CliRunner().invoke(app, ["suggest", str(tmp_path / "nope.jsonl"), "--out", "x.json"])
    assert missing.exit_code == 1 and "no such file" in missing.output
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": TEXTS[0]}, "{bad", {"txt": "y"}])
    picks, bad, _ = suggest([src], 5)
    assert len(picks) == 1 and bad == 2
