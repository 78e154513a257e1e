import numpy as np

from serving.thresholds import tune_thresholds


def test_threshold_is_the_f1_maximum_on_held_out_scores():
    y = np.array([[1], [1], [1], [0], [0], [0]])
    p = np.array([[0.35], [0.32], [0.31], [0.2], [0.1], [0.05]])  # real-text-like: low scores
    [t] = tune_thresholds(y, p)
    assert 0.2 < t <= 0.31  # every positive in, every negative out


def test_flat_f1_curve_keeps_the_threshold_near_the_default():
    y = np.array([[1], [0]])
    p = np.array([[0.99], [0.01]])
    assert tune_thresholds(y, p, default=0.5)[0] == 0.5


def test_label_without_positives_keeps_the_default():
    y = np.array([[0, 1], [0, 0]])
    p = np.array([[0.9, 0.8], [0.1, 0.2]])
    assert tune_thresholds(y, p, default=0.4)[0] == 0.4
