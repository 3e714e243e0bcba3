import numpy as np
import pytest

from seqhealth.models.metrics import (
    best_threshold,
    binary_metrics,
    multiclass_metrics,
    patient_utility,
    physionet2019_utility,
    sens_at_spec,
)


def test_official_docstring_example():
    # Example from the official compute_prediction_utility docstring.
    assert patient_utility([0, 0, 0, 0, 1, 1], [0, 0, 1, 1, 1, 1]) == pytest.approx(3.388888888888889)


def test_hand_computed_small_example():
    # First positive label at index 6 -> onset t_sepsis = 12.
    labels = np.array([0] * 6 + [1] * 10)
    # t=0 early TP: max(1/6*(0-12)+2, -0.05) = 0 ; t=1: 1/6 ; t=15 late FN: -2/9*(15-12)+... = -2
    preds = np.zeros(16, dtype=int)
    preds[[0, 1]] = 1
    # FN late for t in 7..15: m3*(t-12)+b3 with m3=-2/9, b3=-4/3
    expected = 0 + 1 / 6 + sum(-2 / 9 * (t - 12) - 4 / 3 for t in range(7, 16))
    assert patient_utility(labels, preds) == pytest.approx(expected)
    assert patient_utility(np.zeros(5), [1, 0, 1, 0, 0]) == pytest.approx(-0.1)


def _cohort():
    labels = [np.r_[np.zeros(20), np.ones(10)], np.zeros(15), np.r_[np.zeros(3), np.ones(8)]]
    best = []
    for y in labels:
        p = np.zeros(len(y), dtype=int)
        if y.any():
            t_sepsis = int(np.argmax(y)) + 6
            p[max(0, t_sepsis - 12): min(t_sepsis + 4, len(y))] = 1
        best.append(p)
    return labels, best


def test_normalised_utility_properties():
    labels, best = _cohort()
    assert physionet2019_utility(labels, best) == pytest.approx(1.0)
    assert physionet2019_utility(labels, [np.zeros(len(y)) for y in labels]) == pytest.approx(0.0)
    alarms = physionet2019_utility(labels, [np.ones(len(y)) for y in labels])
    assert alarms < 1.0
    probabilities = [p * 0.9 + 0.05 for p in best]
    assert physionet2019_utility(labels, probabilities, threshold=0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="0/1"):
        physionet2019_utility(labels, probabilities)
    with pytest.raises(ValueError, match="patient 1"):
        physionet2019_utility(labels, [best[0], best[1][:-1], best[2]])


def test_binary_and_multiclass_metrics():
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.8, 0.7, 0.75, 0.9])
    m = binary_metrics(y, p)
    assert m["auroc"] == pytest.approx(8 / 9)
    assert m["f1"] == pytest.approx(6 / 7)
    assert binary_metrics(y, p, threshold=best_threshold(y, p))["f1"] >= m["f1"]
    assert binary_metrics(y, p, threshold=0.85)["f1"] == pytest.approx(0.5)
    assert sens_at_spec(y, p, 0.6) == 1.0
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    mc = multiclass_metrics([0, 1, 2, 2], np.eye(3)[[0, 1, 2, 1]])
    assert mc["accuracy"] == 0.75
