"""The main job's pieces: reuse of stored models and the Bento build."""

import subprocess
import sys

import pytest

from tests.conftest import REPO
from training.up import ensure_models


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
