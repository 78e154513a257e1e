"""The main job's pieces: reuse of stored models and the Bento build."""

import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.test_service import _free_port
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
    assert serve(_free_port(), once=True, echo=messages.append) == 0
    text = "\n".join(messages)
    assert "HTTP 200" in text and '"model": "transformer"' in text
