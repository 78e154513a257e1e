"""The evaluation report built by run_evaluation on the tiny models."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import tiny_records, write_jsonl
from training.evaluation.report import format_table, safe_name, table_rows
from training.evaluation.run import run_evaluation

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def both_run(trained_models, tiny_corpus, tmp_path_factory):
    """One report on the tiny gold set for both tiny models, with a gate that passes."""
    out = tmp_path_factory.mktemp("report") / "eval"
    return run_evaluation(
        [tiny_corpus["gold"]],
        "both",
        out,
        fail_under=["figures.detection.recall=0"],
        n_resamples=200,
        seed=7,
    )


def test_report_files_exist_with_non_empty_pngs(both_run):
    out = both_run.out_dir
    expected = ["per_label_f1.png"]
    for model in ("baseline", "transformer"):
        expected += [f"confusion_{model}.png", f"reliability_{model}.png"]
    for name in expected:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000, name
    report = (out / "report.md").read_text()
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report):
        assert (out / image).is_file(), image
    assert set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)) == set(expected)


def test_metrics_json_parses_and_matches_the_run(both_run, schema):
    saved = json.loads((both_run.out_dir / "metrics.json").read_text())
    assert saved["models"].keys() == {"baseline", "transformer"}
    assert saved["labels"]["frames"] == schema.frame_names
    assert saved["calibration"]["n_bins"] == 10 and saved["bootstrap"]["resamples"] == 200
    assert saved == json.loads(json.dumps(both_run.metrics))  # everything, nothing lost
    for model in saved["models"].values():
        ci = model["ci"]["frames.micro_f1"]
        assert ci is None or ci["low"] <= model["frames"]["micro_f1"] <= ci["high"]
    assert (
        saved["failures"] == [] and saved["fail_under"][0]["metric"] == "figures.detection.recall"
    )


def table_body(table: str) -> dict[str, str]:
    """Table lines below the header rule, by metric path."""
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---")) + 1
    return {line.split()[0]: line for line in lines[start:]}


def test_terminal_table_lists_every_headline_row_for_both_models(both_run, schema):
    header = next(line for line in both_run.table.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "baseline", "95", "%", "CI", "transformer", "95", "%", "CI"]
    assert "200 paragraph resamples, seed 7" in both_run.table
    assert "1 gate(s) passed" in both_run.summary
    paths = [p for p, _ in table_rows(both_run.metrics)]
    for name in schema.frame_names:
        assert f"frames.per_label.{name}.f1" in paths
        assert f"calibration.per_label.{name}.ece" in paths
    assert not any(p.startswith(("robustness", "newsmtsc")) for p in paths)
    body = table_body(both_run.table)
    assert list(body) == paths
    interval = r"\[\d\.\d{3}, \d\.\d{3}\]"
    value = r"(\d\.\d{3}|n/a)"
    # Headline rows: value and CI for each model; precision rows: values only.
    with_ci = rf"frames\.micro_f1 +{value} +{interval} +{value} +{interval}"
    assert re.fullmatch(with_ci, body["frames.micro_f1"])
    without = rf"figures\.detection\.precision +{value} +{value}"
    assert re.fullmatch(without, body["figures.detection.precision"])


def test_aligned_pairs_add_a_robustness_section(trained_models, tmp_path):
    rows = tiny_records("o") + [
        {**r, "aligned_with": f"o{i}"} for i, r in enumerate(tiny_records("c"))
    ]
    data = write_jsonl(tmp_path / "pairs.jsonl", rows)
    run = run_evaluation([data], "baseline", tmp_path / "out", n_resamples=50)
    robustness = run.metrics["models"]["baseline"]["robustness"]
    # Identical texts: a deterministic model agrees with itself everywhere.
    assert robustness["pairs"] == len(rows) // 2
    assert robustness["frames"]["exact_match"] == 1.0
    assert robustness["figure_sentiment"]["agreement"] == 1.0
    assert "robustness.frames.exact_match" in format_table(run.metrics)
    assert "## Robustness on aligned pairs" in (run.out_dir / "report.md").read_text()


def test_safe_name_for_tags():
    assert safe_name("stanceframe-baseline:abc123") == "stanceframe-baseline_abc123"
