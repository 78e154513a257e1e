"""The main job's pieces: reuse of stored models and the Bento build."""

import subprocess
import sys

import pytest

from tests.conftest import REPO, free_port
from training.up import ensure_models, serve


def test_stored_models_are_reused_not_retrained(trained_models):
    messages = []
    status = ensure_models(echo=messages.append)
    assert status == {"baseline": "stored", "transformer": "stored"}
    assert messages == []


@pytest.mark.slow
def test_bento_builds_with_both_models(trained_models):
    proc = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "--output", "tag"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "stanceframe:" in proc.stdout


@pytest.mark.slow
def test_serve_once_shows_the_sample_answer(trained_models):
    messages = []
    assert serve(free_port(), once=True, echo=messages.append) == 0
    text = "\n".join(messages)
    assert "HTTP 200" in text and '"model": "transformer"' in text


def test_missing_models_are_trained_on_first_use(tiny_corpus, tmp_path, monkeypatch):
    import yaml

    import training.up as up

    data = {
        "train": [str(tiny_corpus["train"])],
        "gold": [str(tiny_corpus["gold"])],
        "labels_dir": str(REPO / "labels"),
    }
    for kind, source in (("baseline", "baseline"), ("transformer", "tiny")):
        cfg = yaml.safe_load((REPO / "training" / "configs" / f"{source}.yaml").read_text())
        cfg.update(model_name=f"first-use-{kind}", data=data)
        cfg.setdefault("baseline", {}).update(min_df=1, threshold_folds=2)
        (tmp_path / f"{kind}.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setattr(up, "CONFIG_DIR", tmp_path)
    messages = []
    status = ensure_models(echo=messages.append)
    assert all(v.startswith(f"trained first-use-{k}:") for k, v in status.items())
    assert len(messages) == 2
    assert ensure_models(echo=messages.append) == {"baseline": "stored", "transformer": "stored"}
