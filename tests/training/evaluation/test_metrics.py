"""Metric functions, calibration and the bootstrap against hand-computed values.

Label names here are arbitrary strings: the functions take whatever the schema supplies.
"""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluation.bootstrap import (
    bootstrap_ci,
    bootstrap_samples,
    percentile_interval,
    point_statistic,
    resample_weights,
)
from training.evaluation.calibration import (
    bin_index,
    expected_calibration_error,
    frame_calibration,
    reliability_bins,
)
from training.evaluation.metrics import (
    confusion_arrays,
    f1_array,
    lookup_path,
    multiclass_metrics,
    multilabel_metrics,
    nanmean_last,
    prf,
    ratio_array,
    set_detection_metrics,
)

LABELS = ["a", "b", "c"]
# Rows are paragraphs. a: tp 1, fp 1, fn 1. b: tp 1, fn 1. c: nothing in gold or predictions.
GOLD = [[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 1, 0]]
PRED = [[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]]


def test_prf_counts_and_undefined_ratios():
    assert prf(1, 1, 1) == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert prf(0, 0, 0) == {"precision": None, "recall": None, "f1": None}
    # Predictions but no gold positives: precision and F1 are 0, recall undefined.
    assert prf(0, 2, 0) == {"precision": 0.0, "recall": None, "f1": 0.0}
    assert prf(0, 0, 3) == {"precision": None, "recall": 0.0, "f1": 0.0}


def test_multilabel_metrics_by_hand():
    m = multilabel_metrics(np.array(GOLD), np.array(PRED), LABELS)
    a, b, c = (m["per_label"][k] for k in LABELS)
    assert (a["precision"], a["recall"], a["f1"], a["support"]) == (0.5, 0.5, 0.5, 2)
    assert (b["precision"], b["recall"], b["support"]) == (1.0, 0.5, 2)
    assert b["f1"] == pytest.approx(2 / 3)
    # No gold positives and no predictions: None, and left out of the macro average.
    assert (c["precision"], c["recall"], c["f1"], c["support"]) == (None, None, None, 0)
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert m["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))  # tp 2, fp 1, fn 2
    assert m["exact_match"] == 0.5 and m["n"] == 4


def test_label_predicted_without_gold_counts_as_zero_in_macro():
    m = multilabel_metrics(np.array([[1, 0]]), np.array([[1, 1]]), ["x", "y"])
    assert m["per_label"]["y"]["f1"] == 0.0
    assert m["macro_f1"] == 0.5


def test_all_negative_data_and_predictions():
    zeros = np.zeros((3, 3), dtype=int)
    m = multilabel_metrics(zeros, zeros, LABELS)
    assert all(v["f1"] is None for v in m["per_label"].values())
    assert m["macro_f1"] is None and m["micro_f1"] is None
    assert m["exact_match"] == 1.0


def test_empty_input():
    m = multilabel_metrics(np.zeros((0, 3)), np.zeros((0, 3)), LABELS)
    assert m["exact_match"] is None and m["n"] == 0 and m["macro_f1"] is None
    s = multiclass_metrics([], [], ["neg", "pos"])
    assert s["accuracy"] is None and s["macro_f1"] is None


def test_multiclass_metrics_by_hand():
    classes = ["neg", "neu", "pos"]
    m = multiclass_metrics(["neg", "neg", "neu", "pos"], ["neg", "neu", "neu", "neg"], classes)
    assert m["accuracy"] == 0.5
    assert m["confusion"] == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    # neg: tp1 fp1 fn1 -> 0.5; neu: tp1 fp1 fn0 -> 2/3; pos: tp0 fn1 -> 0.
    assert m["per_class"]["neu"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0.0) / 3)


def test_multiclass_class_absent_everywhere_is_left_out():
    m = multiclass_metrics(["neg", "neu"], ["neg", "neu"], ["neg", "neu", "pos"])
    assert m["per_class"]["pos"]["f1"] is None
    assert m["macro_f1"] == 1.0


def test_set_detection_by_hand():
    m = set_detection_metrics([{"A", "B"}, {"C"}, set()], [{"A"}, {"C", "D"}, set()])
    assert (m["tp"], m["fp"], m["fn"]) == (2, 1, 1)
    assert m["precision"] == m["recall"] == m["f1"] == pytest.approx(2 / 3)


def test_vectorised_forms_match_the_scalar_ones():
    assert ratio_array([1, 1], [2, 0])[0] == 0.5 and np.isnan(ratio_array([1, 1], [2, 0])[1])
    f1 = f1_array([1, 1, 0], [1, 0, 0], [1, 1, 0])
    assert f1[0] == 0.5 and f1[1] == pytest.approx(2 / 3) and np.isnan(f1[2])
    assert nanmean_last(f1) == pytest.approx(multilabel_metrics(GOLD, PRED, LABELS)["macro_f1"])
    assert np.isnan(nanmean_last(np.array([np.nan, np.nan])))
    classes = ["neg", "neu", "pos"]
    ref = multiclass_metrics(["neg", "neg", "neu", "pos"], ["neg", "neu", "neu", "neg"], classes)
    vec = confusion_arrays(np.array([ref["confusion"]]))
    assert vec["accuracy"][0] == ref["accuracy"]
    assert vec["macro_f1"][0] == pytest.approx(ref["macro_f1"])


def test_lookup_path_walks_nested_and_dotted_keys():
    metrics = {"frames": {"macro_f1": 0.4}, "ci": {"frames.macro_f1": {"low": 0.1}}}
    assert lookup_path(metrics, "frames.macro_f1") == 0.4
    assert lookup_path(metrics, "ci.frames.macro_f1.low") == 0.1
    with pytest.raises(KeyError):
        lookup_path(metrics, "frames.macro")
    with pytest.raises(KeyError):
        lookup_path(metrics, "frames.macro_f1.x")


# ---------------------------------------------------------------------------------- calibration
def test_ece_by_hand():
    probs = np.array([0.1, 0.2, 0.7, 0.9])
    outcome = np.array([0, 0, 1, 0])
    # Two bins: [0, .5): mean p .15, fraction 0 -> gap .15; [.5, 1]: mean .8, fraction .5 -> .3.
    assert expected_calibration_error(probs, outcome, n_bins=2) == pytest.approx(
        0.5 * 0.15 + 0.5 * 0.3
    )
    # Ten bins: every prediction alone in its bin: mean |p - y| = (.1 + .2 + .3 + .9) / 4.
    assert expected_calibration_error(probs, outcome) == pytest.approx(1.5 / 4)


def test_perfect_calibration_and_empty_input():
    assert expected_calibration_error(np.array([0.0, 1.0]), np.array([0, 1])) == 0.0
    assert expected_calibration_error(np.array([]), np.array([])) is None


def test_bins_are_equal_width_and_one_goes_in_the_last():
    assert bin_index(np.array([0.0, 0.05, 0.1, 0.99, 1.0])).tolist() == [0, 0, 1, 9, 9]
    bins = reliability_bins(np.array([0.05, 0.15, 0.16]), np.array([1, 0, 1]))
    assert len(bins) == 10 and bins[1]["count"] == 2
    assert bins[1]["mean_predicted"] == pytest.approx(0.155)
    assert bins[1]["fraction_positive"] == 0.5
    assert bins[5]["count"] == 0 and bins[5]["mean_predicted"] is None


def test_frame_calibration_pools_and_splits_by_label():
    scores = np.array([[0.1, 0.9], [0.7, 0.2]])
    gold = np.array([[0, 1], [1, 0]])
    cal = frame_calibration(scores, gold, ["x", "y"], n_bins=2)
    assert cal["per_label"]["x"]["ece"] == pytest.approx((0.1 + 0.3) / 2)
    assert cal["per_label"]["y"]["ece"] == pytest.approx((0.1 + 0.2) / 2)
    assert cal["ece"] == pytest.approx((0.1 + 0.3 + 0.1 + 0.2) / 4)
    assert cal["n_bins"] == 2 and cal["n"] == 2


# ------------------------------------------------------------------------------------ bootstrap
def _mean_statistic(sums):
    """Mean of a 0/1 outcome per resample."""
    return {"mean": ratio_array(sums["hit"], sums["one"])}


def _tables(n: int = 40, seed: int = 1) -> dict[str, np.ndarray]:
    hits = (np.random.default_rng(seed).random(n) < 0.6).astype(int)
    return {"hit": hits, "one": np.ones(n)}


def test_resample_weights_draw_n_with_replacement():
    w = resample_weights(7, 50, np.random.default_rng(0))
    assert w.shape == (50, 7) and (w.sum(1) == 7).all() and (w >= 0).all()


def test_bootstrap_ci_contains_the_point_estimate_and_is_seeded():
    tables = _tables()
    point = point_statistic(tables, _mean_statistic)["mean"]
    assert point == pytest.approx(tables["hit"].mean())
    ci = bootstrap_ci(tables, _mean_statistic, n_resamples=500, seed=3)["mean"]
    assert ci["low"] < point < ci["high"]
    assert bootstrap_ci(tables, _mean_statistic, n_resamples=500, seed=3)["mean"] == ci
    assert bootstrap_ci(tables, _mean_statistic, n_resamples=500, seed=4)["mean"] != ci


def test_bootstrap_chunks_give_the_requested_number_of_resamples():
    samples = bootstrap_samples(_tables(), _mean_statistic, n_resamples=601, seed=0)
    assert samples["mean"].shape == (601,)


def test_constant_data_gives_a_zero_width_interval():
    tables = {"hit": np.ones(5), "one": np.ones(5)}
    assert bootstrap_ci(tables, _mean_statistic, n_resamples=100)["mean"] == {
        "low": 1.0,
        "high": 1.0,
    }


def test_undefined_resamples_are_left_out_and_all_undefined_is_none():
    assert percentile_interval(np.array([np.nan, 1.0, 1.0])) == (1.0, 1.0)
    assert percentile_interval(np.array([np.nan, np.nan])) is None
    tables = {"hit": np.zeros(4), "one": np.zeros(4)}  # denominator always 0
    assert bootstrap_ci(tables, _mean_statistic, n_resamples=20)["mean"] is None
    assert bootstrap_ci({"hit": np.zeros(0), "one": np.zeros(0)}, _mean_statistic) == {}
