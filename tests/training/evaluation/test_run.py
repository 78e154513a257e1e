"""Evaluation library (training/evaluation/) and the ``stanceframe evaluate`` command."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serving.predictors.factory import load_predictor
from serving.results import FigureResult, FrameScore, ParagraphResult
from tests.conftest import write_jsonl
from training.cli import app
from training.data.corpus import CorpusError, FigureLabel, Paragraph, load_corpus
from training.data.labelstudio import export_labelstudio, labels_as_prediction
from training.evaluation.bootstrap import point_statistic
from training.evaluation.run import (
    Gate,
    check_gates,
    evaluate_model,
    load_evaluation_data,
    load_newsmtsc_tests,
    metric_at,
    model_names,
    parse_gate,
)
from training.evaluation.scoring import (
    aligned_pairs,
    confidence_intervals,
    count_tables,
    evaluate_results,
    headline,
    headline_arrays,
    pair_agreement,
)

runner = CliRunner()


def result(frames: list[str], figures: dict[str, str], labels: list[str], pid=None):
    """A hand-made prediction: ``frames`` present (score .9, else .1), figures name->sentiment."""
    return ParagraphResult(
        frames=[FrameScore(n, 0.9 if n in frames else 0.1, n in frames) for n in labels],
        figures=[FigureResult(n, n, 0, len(n), True, s, {s: 1.0}) for n, s in figures.items()],
        model="test",
        model_version="test:1",
        id=pid,
    )


def para(pid: str, frames=(), figures=(), **meta) -> Paragraph:
    """A paragraph with gold frames and ``(name, sentiment)`` figures (offsets are irrelevant)."""
    figs = tuple(FigureLabel(n, n, 0, len(n), s) for n, s in figures)
    return Paragraph(pid, "s", "test", "text", tuple(frames), figs, meta)


# --------------------------------------------------------------------------- point metrics
def test_bootstrap_tables_reproduce_evaluate_results(schema):
    """The bootstrap's counts give exactly the point metrics training reports."""
    f, (neg, neu, pos) = schema.frame_names, schema.sentiments
    paragraphs = [
        para("p0", [f[0]], [("A", neg), ("B", pos)]),
        para("p1", [f[0], f[1]], [("C", neu)]),
        para("p2", [], []),
        para("p3", [f[2]], [("D", pos)]),
        para("p4", [], [("E", neg)], frames_annotated=False),  # figure sentiment only
    ]
    results = [
        result([f[0]], {"A": neg, "B": neu}, f),
        result([f[1]], {"C": neu, "Z": neg}, f),
        result([f[2]], {}, f),
        result([], {"D": pos}, f),
        result([f[0]], {"E": pos}, f),  # its frames must not count
    ]
    metrics = evaluate_results(paragraphs, results, schema)
    point = point_statistic(
        count_tables(paragraphs, results, schema), partial(headline_arrays, labels=f)
    )
    for path, value in point.items():
        expected = metric_at(metrics, path)
        assert value == pytest.approx(expected) if expected is not None else value is None, path
    # Hand check: frames over p0-p3 only. f0: tp1 fn1; f1: tp1; f2: fp1 fn1; only p0 exact.
    per_label = metrics["frames"]["per_label"]
    assert [per_label[n]["f1"] for n in f] == pytest.approx([2 / 3, 1.0, 0.0])
    assert metrics["frames"]["macro_f1"] == pytest.approx(5 / 9)
    assert metrics["frames"]["micro_f1"] == pytest.approx(4 / 7)  # tp 2, fp 1, fn 2
    assert metrics["frames"]["exact_match"] == 0.25 and metrics["frames"]["n"] == 4
    # Figures: found A B C D E of A B C D E (+Z spurious) -> P 5/6, R 1; sentiment 3 of 5 right.
    assert metrics["figures"]["detection"]["precision"] == pytest.approx(5 / 6)
    assert metrics["figures"]["sentiment"]["accuracy"] == pytest.approx(3 / 5)
    assert headline(metrics)["frames_macro_f1"] == metrics["frames"]["macro_f1"]


def test_confidence_intervals_cover_the_headline_and_are_seeded(schema):
    f, (neg, neu, pos) = schema.frame_names, schema.sentiments
    paragraphs = [para(f"p{i}", [f[i % 3]], [("A", [neg, pos][i % 2])]) for i in range(12)]
    results = [
        result([f[i % 3]] if i % 4 else [], {"A": [neg, pos][i % 2] if i % 3 else neu}, f)
        for i in range(12)
    ]
    metrics = evaluate_results(paragraphs, results, schema)
    ci = confidence_intervals(paragraphs, results, schema, n_resamples=300, seed=5)
    assert ci == confidence_intervals(paragraphs, results, schema, n_resamples=300, seed=5)
    expected = {"frames.macro_f1", "frames.micro_f1", "figures.detection.f1"}
    expected |= {"figures.sentiment.accuracy", "figures.sentiment.macro_f1"}
    expected |= {f"frames.per_label.{name}.f1" for name in f}
    assert expected <= ci.keys()
    for path in expected:
        assert ci[path]["low"] <= metric_at(metrics, path) <= ci[path]["high"], path


# ---------------------------------------------------------------------------------- robustness
def test_aligned_pairs_once_each_and_only_when_both_present():
    paragraphs = [
        para("x1", aligned_with="x2"),
        para("x2", aligned_with="x1"),  # the same pair from the other side
        para("y1", aligned_with="not-in-data"),
        para("y2", aligned_with="y1"),
        para("z"),
    ]
    assert aligned_pairs(paragraphs) == [(0, 1), (3, 2)]
    assert aligned_pairs([para("a"), para("b")]) == []


def test_pair_agreement_by_hand(schema):
    f, (neg, neu, pos) = schema.frame_names, schema.sentiments
    results = [
        result([f[0]], {"X": neg, "Y": pos}, f),
        result([f[0]], {"X": neg}, f),  # pair 1: same frames; X found in both, same sentiment
        result([f[0], f[1]], {"Z": pos}, f),
        result([f[1]], {"Z": neu}, f),  # pair 2: f0 differs; Z found in both, sentiment differs
    ]
    out = pair_agreement(results, [(0, 1), (2, 3)], f)
    assert out["pairs"] == 2
    assert out["frames"]["exact_match"] == 0.5
    assert out["frames"]["per_label"] == {f[0]: 0.5, f[1]: 1.0, f[2]: 1.0}
    assert out["figure_sentiment"] == {"agreement": 0.5, "n": 2}
    none_shared = pair_agreement([result([], {"X": neg}, f), result([], {}, f)], [(0, 1)], f)
    assert none_shared["figure_sentiment"] == {"agreement": None, "n": 0}


# --------------------------------------------------------------------------------------- gates
def test_parse_gate():
    assert parse_gate("frames.macro_f1=0.5") == Gate("frames.macro_f1", 0.5)
    assert parse_gate(" newsmtsc.test_rw.f1m = .7") == Gate("newsmtsc.test_rw.f1m", 0.7)
    for bad in ("frames.macro_f1", "=0.5", "frames.macro_f1=high", "frames.macro_f1=nan"):
        with pytest.raises(ValueError, match="METRIC=VALUE"):
            parse_gate(bad)


def test_gates_fail_under_and_on_undefined():
    models = {
        "good": {"frames": {"macro_f1": 0.6, "micro_f1": None}},
        "bad": {"frames": {"macro_f1": 0.4, "micro_f1": 0.9}},
    }
    assert check_gates(models, [Gate("frames.macro_f1", 0.4)]) == []
    [fail] = check_gates(models, [Gate("frames.macro_f1", 0.5)])
    assert fail == "bad: frames.macro_f1 = 0.4000 < 0.5"
    [undefined] = check_gates(models, [Gate("frames.micro_f1", 0.5)])
    assert undefined.startswith("good: frames.micro_f1 is undefined")


def test_unknown_gate_metric_is_a_clear_error():
    models = {"m": {"frames": {"macro_f1": 0.6, "per_label": {"x": {"f1": 0.5}}}}}
    with pytest.raises(ValueError, match=r"unknown metric 'frames.macro_f'.*frames.macro_f1"):
        check_gates(models, [Gate("frames.macro_f", 0.5)])
    with pytest.raises(ValueError, match="unknown metric 'frames.per_label'"):
        check_gates(models, [Gate("frames.per_label", 0.5)])  # a dict, not a number


def test_model_names():
    assert model_names("both") == ["baseline", "transformer"]
    assert model_names("stanceframe-baseline:abc") == ["stanceframe-baseline:abc"]


# ------------------------------------------------------------------------------------- inputs
def labelstudio_export(paragraphs, schema) -> list[dict]:
    """A Label Studio export in which annotators accepted the gold pre-annotations."""
    tasks = export_labelstudio(paragraphs, schema, [labels_as_prediction(p) for p in paragraphs])
    return [
        {
            "id": k,
            "data": t["data"],
            "annotations": [
                {"id": 100 + k, "result": t["predictions"][0]["result"], "was_cancelled": False}
            ],
        }
        for k, t in enumerate(tasks, start=1)
    ]


def test_label_studio_export_is_read_like_the_jsonl(tmp_path, schema, registry, tiny_corpus):
    gold = load_corpus([tiny_corpus["gold"]], schema)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(labelstudio_export(gold, schema)), encoding="utf-8")
    back = load_evaluation_data([export], schema, registry)
    assert [p.to_dict() for p in back] == [p.to_dict() for p in gold]
    dup = r"export\.json:0: error: duplicate id 'g0' across files \(first in .*gold\.jsonl\)"
    with pytest.raises(CorpusError, match=dup):
        load_evaluation_data([tiny_corpus["gold"], export], schema, registry)


def test_invalid_data_names_file_and_line(tmp_path, schema, registry):
    bad = write_jsonl(tmp_path / "bad.jsonl", ['{"id": 1}'])
    with pytest.raises(CorpusError, match=r"bad\.jsonl:1"):
        load_evaluation_data([bad], schema, registry)


NEWSMTSC_LINE = {
    "primary_gid": "allsides_1_2_3_Ann_0_3",
    "sentence_normalized": "Ann praised Bob, who attacked Cy.",
    "targets": [
        {"Input.gid": "a", "from": 0, "to": 3, "mention": "Ann", "polarity": 4.0},
        {"Input.gid": "b", "from": 12, "to": 15, "mention": "Bob", "polarity": 6.0},
        {"Input.gid": "c", "from": 30, "to": 32, "mention": "Cy", "polarity": 2.0},
    ],
}


@pytest.fixture(scope="module")
def newsmtsc_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("newsmtsc")
    write_jsonl(folder / "test_rw.jsonl", [NEWSMTSC_LINE])
    write_jsonl(folder / "test_mt.jsonl", [NEWSMTSC_LINE, NEWSMTSC_LINE | {"primary_gid": "x"}])
    write_jsonl(folder / "train.jsonl", [NEWSMTSC_LINE])  # never evaluated
    return folder


def test_newsmtsc_test_splits_only(newsmtsc_dir, schema, tmp_path):
    tests = load_newsmtsc_tests(newsmtsc_dir, schema)
    assert list(tests) == ["test_rw", "test_mt"] and len(tests["test_mt"]) == 2
    with pytest.raises(FileNotFoundError, match="no NewsMTSC test split"):
        load_newsmtsc_tests(tmp_path, schema)


def test_evaluate_model_on_tiny_baseline(trained_models, tiny_corpus, newsmtsc_dir, schema):
    predictor = load_predictor(trained_models["baseline"])
    gold = load_corpus([tiny_corpus["gold"]], predictor.schema)
    tests = load_newsmtsc_tests(newsmtsc_dir, predictor.schema)
    out = evaluate_model(predictor, gold, n_resamples=50, seed=1, newsmtsc=tests)
    assert out["model"] == {"kind": "baseline", "version": trained_models["baseline"]}
    assert out["frames"]["n"] == len(gold)
    assert set(out["calibration"]["per_label"]) == set(schema.frame_names)
    assert "robustness" not in out  # no aligned pairs in this data
    rw = out["newsmtsc"]["test_rw"]
    assert rw["f1m"] == rw["macro_f1"] and rw["n"] == 3
    assert out["newsmtsc"]["test_mt"]["n"] == 6


# ------------------------------------------------------------------------------------------ CLI
def test_cli_both_models_side_by_side(trained_models, tiny_corpus, newsmtsc_dir, tmp_path):
    out = tmp_path / "both"
    args = ["evaluate", "--data", str(tiny_corpus["gold"]), "--model", "both"]
    args += ["--newsmtsc", str(newsmtsc_dir), "--out", str(out), "--bootstrap", "100"]
    res = runner.invoke(app, [*args, "--seed", "3"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    header = next(line for line in lines if line.startswith("metric"))
    assert header.split() == ["metric", "baseline", "95", "%", "CI", "transformer", "95", "%", "CI"]
    for path in ("frames.macro_f1", "newsmtsc.test_rw.f1m", "newsmtsc.test_mt.f1m"):
        assert any(line.startswith(f"{path} ") for line in lines), path
    assert f"report {out / 'report.md'}" in res.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics["models"]) == ["baseline", "transformer"]
    assert metrics["bootstrap"]["resamples"] == 100 and metrics["bootstrap"]["seed"] == 3


def test_cli_failing_gate_exits_1_and_names_the_metric(trained_models, tiny_corpus, tmp_path):
    args = ["evaluate", "--data", str(tiny_corpus["gold"]), "--model", "baseline"]
    res = runner.invoke(
        app,
        [
            *args,
            "--out",
            str(tmp_path),
            "--bootstrap",
            "20",
            "--fail-under",
            "frames.macro_f1=1.01",
        ],
    )
    assert res.exit_code == 1
    assert "FAIL baseline: frames.macro_f1" in res.stderr and "< 1.01" in res.stderr
    assert "1 of 1 gate(s) failed" in res.stdout
    passing = ["--fail-under", "figures.detection.recall=0"]
    res = runner.invoke(app, [*args, "--out", str(tmp_path), "--bootstrap", "20", *passing])
    assert res.exit_code == 0 and "1 gate(s) passed" in res.stdout


def test_cli_bad_gate_and_unknown_metric_exit_2(trained_models, tiny_corpus, tmp_path):
    args = ["evaluate", "--data", str(tiny_corpus["gold"]), "--model", "baseline"]
    res = runner.invoke(app, [*args, "--fail-under", "frames.macro_f1"])
    assert res.exit_code == 2 and "METRIC=VALUE" in res.stderr
    out = tmp_path / "unknown"
    res = runner.invoke(
        app, [*args, "--out", str(out), "--bootstrap", "10", "--fail-under", "frames.macro=0.5"]
    )
    assert res.exit_code == 2 and "unknown metric 'frames.macro'" in res.stderr
    assert not out.exists()  # nothing written for a run whose gates cannot be checked


def test_cli_missing_model_or_data_exit_2(trained_models, tiny_corpus, tmp_path):
    res = runner.invoke(app, ["evaluate", "--data", str(tmp_path / "absent.jsonl")])
    assert res.exit_code == 2 and "file not found" in res.stderr
    res = runner.invoke(
        app, ["evaluate", "--data", str(tiny_corpus["gold"]), "--model", "no-such-model"]
    )
    assert res.exit_code == 2 and "no-such-model" in res.stderr


def test_group_tables_sums_counts_per_story():
    import numpy as np

    from training.evaluation.scoring import group_tables

    tables = {"tp": np.array([[1, 0], [1, 1], [0, 1]]), "exact": np.array([True, False, True])}
    out = group_tables(tables, ["s2", "s1", "s2"])
    assert out["tp"].tolist() == [[1, 1], [1, 1]]  # s1 first (sorted), then s2
    assert out["exact"].tolist() == [0, 2]


def test_bootstrap_resamples_stories_only_when_there_are_enough(schema):
    from training.data.corpus import Paragraph
    from training.evaluation.scoring import bootstrap_unit

    def paras(n_stories):
        return [Paragraph(f"p{i}", f"s{i % n_stories}", "t", "x") for i in range(30)]

    assert bootstrap_unit(paras(3)) == "paragraph"
    assert bootstrap_unit(paras(12)) == "story"
