from pathlib import Path

from training.fit.info import _existing


def test_existing_expands_relative_and_absolute_globs_and_skips_missing(tmp_path, monkeypatch):
    (tmp_path / "v2a.jsonl").write_text("")
    (tmp_path / "v2b.jsonl").write_text("")
    (tmp_path / "batch_w1.jsonl").write_text("")
    monkeypatch.chdir(tmp_path)

    assert _existing([str(tmp_path / "v2*.jsonl")]) == [
        tmp_path / "v2a.jsonl",
        tmp_path / "v2b.jsonl",
    ]
    assert _existing(["v2*.jsonl", "missing.jsonl"]) == [Path("v2a.jsonl"), Path("v2b.jsonl")]
    assert _existing(["batch_w1.jsonl"]) == [Path("batch_w1.jsonl")]
