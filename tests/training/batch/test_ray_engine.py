"""The Ray Data engine against the local engine, on a real local Ray instance."""

import json
import math

import pytest

from tests.conftest import TINY, write_jsonl
from training.batch.driver import errors_path, label_corpus
from training.batch.readers import LabelOptions

pytest.importorskip("ray")


def _close(a, b, tol=1e-3):
    """Equal, except that floats may differ by ``tol`` (thread counts change float sums)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, abs_tol=tol)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    return a == b


def _rows(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.mark.ray
def test_ray_engine_writes_the_same_rows_as_the_local_engine(trained_models, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    texts = [text for _, text, _, _ in TINY]
    write_jsonl(folder / "a.jsonl", [{"text": t} for t in texts * 3] + ["{broken"])
    (folder / "b.txt").write_text("\n\n".join(texts[:5]), encoding="utf-8")
    results = {}
    for engine in ("local", "ray"):
        options = LabelOptions(
            model="transformer", engine=engine, chunk_size=16, batch_size=8, progress=False
        )
        summary = label_corpus([folder], tmp_path / f"{engine}.jsonl", options)
        assert (summary.labelled, summary.bad) == (len(texts) * 3 + 5, 1)
        results[engine] = (_rows(summary.out), _rows(errors_path(summary.out)))
    (local, local_errors), (ray_rows, ray_errors) = results["local"], results["ray"]
    assert [r["id"] for r in ray_rows] == [r["id"] for r in local]
    assert all(_close(a, b) for a, b in zip(local, ray_rows, strict=True))
    assert ray_errors == local_errors
